#pragma once
// rg::BFloat16: the element type of bfloat16 tensors, the upper 16 bits of an
// IEEE float32 (8 exponent bits, 7 mantissa bits). Arithmetic on it goes
// through float: a BFloat16 converts to float exactly, and a float converts
// back by rounding to nearest even, as PyTorch's c10::BFloat16 does.
#include <bit>
#include <cstdint>
#include <limits>

namespace rg {

/// A bfloat16 value: 16 bits, float32's range with 8 significant bits.
/// Converts implicitly from float (rounding to nearest, ties to even; NaN
/// stays a quiet NaN, infinities stay infinite) and to float (exactly), so
/// `BFloat16 y = std::exp(x);` computes in float32 and rounds once.
struct BFloat16 {
    std::uint16_t bits = 0;  ///< the raw bit pattern (sign, 8 exponent bits, 7 mantissa bits)

    /// Zero.
    constexpr BFloat16() = default;
    /// The bfloat16 nearest to `value` (ties to even); NaN gives a quiet NaN of the same sign.
    /// @param value any float, denormals included (they round like any other value)
    constexpr BFloat16(float value) : bits(round_bits(value)) {}  // NOLINT: implicit, as c10::BFloat16
    /// The value as a float (exact: bfloat16 values are float32 values).
    constexpr operator float() const {  // NOLINT: implicit, as c10::BFloat16
        return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16);
    }
    /// Compound assignment: computed in float, rounded once.
    /// @param other the right operand
    constexpr BFloat16& operator+=(float other) { return *this = BFloat16(float(*this) + other); }
    /// @copydoc operator+=
    constexpr BFloat16& operator-=(float other) { return *this = BFloat16(float(*this) - other); }
    /// @copydoc operator+=
    constexpr BFloat16& operator*=(float other) { return *this = BFloat16(float(*this) * other); }
    /// @copydoc operator+=
    constexpr BFloat16& operator/=(float other) { return *this = BFloat16(float(*this) / other); }
    /// The value with bit pattern `raw`, without rounding.
    /// @param raw sign, exponent and mantissa bits
    static constexpr BFloat16 from_bits(std::uint16_t raw) {
        BFloat16 b;
        b.bits = raw;
        return b;
    }
    /// The upper 16 bits of `value` rounded to nearest even; NaN made quiet.
    /// @param value the float to round
    static constexpr std::uint16_t round_bits(float value) {
        const std::uint32_t u = std::bit_cast<std::uint32_t>(value);
        // NaN: keep the sign and set the quiet bit, so that truncating a
        // NaN whose payload sits in the low bits never gives an infinity.
        if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((u >> 16) | 0x0040u);
        const std::uint32_t lsb = (u >> 16) & 1u;
        return static_cast<std::uint16_t>((u + 0x7fffu + lsb) >> 16);
    }
};

}  // namespace rg

/// The limits of bfloat16, as std::numeric_limits<float> gives float's (code
/// written for any element type reads them: max()'s reduction starts from
/// -infinity()).
template <> class std::numeric_limits<rg::BFloat16> {
public:
    static constexpr bool is_specialized = true;  ///< the limits below are bfloat16's
    static constexpr bool is_signed = true;  ///< it has a sign bit
    static constexpr bool is_integer = false;  ///< a floating-point type
    static constexpr bool is_exact = false;  ///< it rounds
    static constexpr bool has_infinity = true;  ///< it has infinities
    static constexpr bool has_quiet_NaN = true;  ///< it has quiet NaNs
    static constexpr int digits = 8;  ///< significant bits, the hidden one included
    static constexpr int radix = 2;  ///< binary
    static constexpr int min_exponent = -125;  ///< as float's: same exponent bits
    static constexpr int max_exponent = 128;  ///< as float's
    /// The smallest positive normal value, 2^-126.
    static constexpr rg::BFloat16 min() noexcept { return rg::BFloat16::from_bits(0x0080); }
    /// The largest finite value, (2 - 2^-7) 2^127.
    static constexpr rg::BFloat16 max() noexcept { return rg::BFloat16::from_bits(0x7f7f); }
    /// The most negative finite value.
    static constexpr rg::BFloat16 lowest() noexcept { return rg::BFloat16::from_bits(0xff7f); }
    /// The gap between 1 and the next value, 2^-7.
    static constexpr rg::BFloat16 epsilon() noexcept { return rg::BFloat16::from_bits(0x3c00); }
    /// Positive infinity.
    static constexpr rg::BFloat16 infinity() noexcept { return rg::BFloat16::from_bits(0x7f80); }
    /// A quiet NaN.
    static constexpr rg::BFloat16 quiet_NaN() noexcept { return rg::BFloat16::from_bits(0x7fc0); }
    /// The smallest positive denormal value, 2^-133.
    static constexpr rg::BFloat16 denorm_min() noexcept { return rg::BFloat16::from_bits(0x0001); }
};
