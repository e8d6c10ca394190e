// The float32 vector kernels of exp, log, tanh, sigmoid, silu, erf and gelu
// (retrograd/detail/transcendental.hpp) against the float64 C library, on
// every instruction set this CPU runs, over a dense sweep of float32 and its
// special values; and the ops that use them (strided views, bfloat16,
// float64 unchanged). The cases are named "float32 ..." so that ctest also
// runs them with RETROGRAD_NO_AVX2=1 and each ONEDNN_MAX_CPU_ISA.
#include <retrograd/detail/transcendental.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <numbers>
#include <string>
#include <vector>

#include "helpers.hpp"

using rg::Tensor;
using rg::detail::VectorIsa;
using rg::detail::VectorMath;

namespace {

constexpr float inf = std::numeric_limits<float>::infinity();
constexpr float smallest_normal = std::numeric_limits<float>::min();

// The standard normal density.
double phi(double x) { return std::exp(-0.5 * x * x) / std::sqrt(2.0 * std::numbers::pi); }

// The exact function in float64, written apart from the kernels.
double reference(VectorMath f, double x) {
    const auto sigmoid = [](double v) { return v >= 0 ? 1 / (1 + std::exp(-v)) : std::exp(v) / (1 + std::exp(v)); };
    switch (f) {
        case VectorMath::exp: return std::exp(x);
        case VectorMath::log: return std::log(x);
        case VectorMath::tanh: return std::tanh(x);
        case VectorMath::sigmoid: return sigmoid(x);
        case VectorMath::silu: return x * sigmoid(x);
        case VectorMath::erf: return std::erf(x);
        case VectorMath::gelu: return 0.5 * x * std::erfc(-x / std::numbers::sqrt2);
        case VectorMath::gelu_slope: return 0.5 * std::erfc(-x / std::numbers::sqrt2) + x * phi(x);
        case VectorMath::gelu_tanh: {
            // x (1 + tanh(u)) / 2 as x σ(2u): 1 + tanh(u) cancels in float64 too.
            const double u = std::sqrt(2 / std::numbers::pi) * (x + 0.044715 * x * x * x);
            return x * sigmoid(2 * u);
        }
    }
    return 0;
}

const char* name(VectorMath f) {
    switch (f) {
        case VectorMath::exp: return "exp";
        case VectorMath::log: return "log";
        case VectorMath::tanh: return "tanh";
        case VectorMath::sigmoid: return "sigmoid";
        case VectorMath::silu: return "silu";
        case VectorMath::erf: return "erf";
        case VectorMath::gelu: return "gelu";
        case VectorMath::gelu_tanh: return "gelu_tanh";
        case VectorMath::gelu_slope: return "gelu_slope";
    }
    return "?";
}

// Floats in order as integers: the distance is the number of floats between
// (ulp), -0 and +0 the same.
std::int64_t ordinal(float v) {
    const auto bits = std::bit_cast<std::int32_t>(v);
    return bits < 0 ? std::int64_t{std::numeric_limits<std::int32_t>::min()} - bits : bits;
}
std::int64_t ulp_distance(float a, float b) { return std::llabs(ordinal(a) - ordinal(b)); }

// The bound each kernel keeps, in ulp of the float32 result. silu and gelu
// multiply by a factor that is itself rounded: where that factor underflows
// (silu below -87) or its argument's rounding is magnified (gelu's tails,
// below -3) the error is bounded relative to the result instead (to the
// smallest normal float for subnormal results).
struct Bound {
    std::int64_t ulp;
    float tail_from = -inf;  // below it, the tail's bound
    double tail_relative = 0;
    // gelu's slope Φ(x) + x φ(x) is a sum of two terms of opposite signs for
    // x < 0, zero near -0.75: its error is bounded relative to the terms'
    // magnitude Φ(x) + |x| φ(x) (the sum of two rounded terms), by
    // terms_relative from tail_from up and by tail_relative below, where
    // erfc's and exp's arguments' rounding is magnified as in gelu's tail.
    bool relative_to_terms = false;
    double terms_relative = 0;
};
Bound bound(VectorMath f) {
    switch (f) {
        case VectorMath::tanh: return {2};
        case VectorMath::silu: return {6, -87.0f, 2e-5};
        case VectorMath::gelu:
        case VectorMath::gelu_tanh: return {16, -3.0f, 2e-5};
        case VectorMath::gelu_slope: return {0, -3.0f, 1e-5, true, 1e-6};
        default: return {4};
    }
}

// A dense sweep of [-100, 100] (steps of about 3e-5 relative), the
// boundaries of exp's range, tiny and subnormal values, infinities and NaN.
std::vector<float> sweep() {
    std::vector<float> xs;
    for (float x = -100.0f; x <= 100.0f; x = std::nextafter(x, inf) + std::abs(x) * 3e-5f + 1e-30f) xs.push_back(x);
    for (float sign : {1.0f, -1.0f})
        for (float v : {88.0f, 88.72f, 88.73f, 89.0f, 103.9f, 104.0f, 1e-8f, 0.0f, 1e-40f,
                        std::numeric_limits<float>::denorm_min(), smallest_normal, 1e30f, inf})
            xs.push_back(sign * v);
    xs.push_back(std::numeric_limits<float>::quiet_NaN());
    return xs;
}

constexpr VectorMath all_functions[] = {VectorMath::exp,     VectorMath::log,       VectorMath::tanh,
                                        VectorMath::sigmoid, VectorMath::silu,      VectorMath::erf,
                                        VectorMath::gelu,    VectorMath::gelu_tanh, VectorMath::gelu_slope};

}  // namespace

TEST_CASE("float32 vector math: within its bound of float64 over a dense sweep, on every instruction set") {
    const std::vector<float> xs = sweep();
    for (VectorIsa isa : {VectorIsa::baseline, VectorIsa::avx2, VectorIsa::avx512}) {
        if (!rg::detail::vector_isa_available(isa)) continue;
        for (VectorMath f : all_functions) {
            const std::string function = name(f);
            CAPTURE(function);
            CAPTURE(static_cast<int>(isa));
            std::vector<float> out(xs.size());
            rg::detail::vector_math(f, xs.data(), out.data(), xs.size(), isa);
            const Bound b = bound(f);
            std::int64_t worst_ulp = 0;
            double worst_tail = 0, worst_terms = 0;
            for (std::size_t i = 0; i < xs.size(); ++i) {
                const double exact = reference(f, xs[i]);
                const auto rounded = static_cast<float>(exact);
                if (std::isnan(rounded) || std::isnan(out[i])) {
                    CHECK_MESSAGE(std::isnan(rounded) == std::isnan(out[i]), "x = ", xs[i], ": ", out[i], " for ",
                                  rounded);
                    continue;
                }
                if (b.relative_to_terms) {
                    const double x = xs[i];
                    const double terms = 0.5 * std::erfc(-x / std::numbers::sqrt2) + std::abs(x) * phi(x);
                    const double scale = std::max(terms, static_cast<double>(smallest_normal));
                    double& worst = xs[i] < b.tail_from ? worst_tail : worst_terms;
                    worst = std::max(worst, std::abs(out[i] - exact) / scale);
                    continue;
                }
                if (xs[i] < b.tail_from) {  // relative to the result, or to the smallest normal float
                    const double scale = std::max(std::abs(exact), static_cast<double>(smallest_normal));
                    worst_tail = std::max(worst_tail, std::abs(out[i] - exact) / scale);
                    continue;
                }
                const std::int64_t d = ulp_distance(out[i], rounded);
                if (d > worst_ulp) worst_ulp = d;
                if (d > b.ulp)
                    CHECK_MESSAGE(d <= b.ulp, "x = ", xs[i], ": ", out[i], " for ", rounded, ", ", d, " ulp");
            }
            CHECK(worst_ulp <= b.ulp);
            CHECK(worst_tail <= b.tail_relative);
            CHECK(worst_terms <= b.terms_relative);
        }
    }
}

TEST_CASE("float32 vector math: signed zeros, infinities and subnormals exactly") {
    const float tiny = std::numeric_limits<float>::denorm_min() * 7;
    for (VectorIsa isa : {VectorIsa::baseline, VectorIsa::avx2, VectorIsa::avx512}) {
        if (!rg::detail::vector_isa_available(isa)) continue;
        CAPTURE(static_cast<int>(isa));
        const auto at = [isa](VectorMath f, float x) {
            float y = 0;
            rg::detail::vector_math(f, &x, &y, 1, isa);
            return y;
        };
        CHECK(at(VectorMath::exp, -inf) == 0.0f);
        CHECK(at(VectorMath::exp, inf) == inf);
        CHECK(at(VectorMath::exp, 89.0f) == inf);
        CHECK(at(VectorMath::exp, -0.0f) == 1.0f);
        CHECK(at(VectorMath::log, 0.0f) == -inf);
        CHECK(at(VectorMath::log, -0.0f) == -inf);
        CHECK(at(VectorMath::log, inf) == inf);
        CHECK(std::isnan(at(VectorMath::log, -1.0f)));
        CHECK(at(VectorMath::log, tiny) == static_cast<float>(std::log(static_cast<double>(tiny))));
        CHECK(std::signbit(at(VectorMath::tanh, -0.0f)));
        CHECK(at(VectorMath::tanh, -0.0f) == 0.0f);
        CHECK(at(VectorMath::tanh, tiny) == tiny);
        CHECK(at(VectorMath::tanh, -inf) == -1.0f);
        CHECK(at(VectorMath::sigmoid, -inf) == 0.0f);
        CHECK(at(VectorMath::sigmoid, inf) == 1.0f);
        CHECK(at(VectorMath::sigmoid, -0.0f) == 0.5f);
        CHECK(at(VectorMath::sigmoid, -104.0f) == static_cast<float>(std::exp(-104.0)));  // subnormal, not 0
        CHECK(at(VectorMath::silu, inf) == inf);
        CHECK(std::signbit(at(VectorMath::erf, -0.0f)));
        CHECK(at(VectorMath::erf, -inf) == -1.0f);
        CHECK(at(VectorMath::gelu, inf) == inf);
        CHECK(at(VectorMath::gelu, -1e30f) == 0.0f);
        CHECK(at(VectorMath::gelu_tanh, -1e30f) == 0.0f);
        CHECK(at(VectorMath::gelu_slope, 1e30f) == 1.0f);
        CHECK(at(VectorMath::gelu_slope, -1e30f) == 0.0f);
        CHECK(at(VectorMath::gelu_slope, 0.0f) == 0.5f);
    }
}

TEST_CASE("float32 vector math: lengths that are not whole vectors, and in place") {
    // Every length up to three AVX-512 vectors: the tail must match the body.
    std::vector<float> xs(48), whole(48);
    for (std::size_t i = 0; i < xs.size(); ++i) xs[i] = static_cast<float>(i) * 0.37f - 8.0f;
    for (VectorMath f : all_functions) {
        rg::detail::vector_math(f, xs.data(), whole.data(), xs.size());
        for (std::size_t n = 0; n <= xs.size(); ++n) {
            std::vector<float> part(xs.begin(), xs.begin() + static_cast<std::ptrdiff_t>(n));
            rg::detail::vector_math(f, part.data(), part.data(), n);  // in place
            for (std::size_t i = 0; i < n; ++i)  // bit for bit (log's NaN for negative x included)
                CHECK(std::bit_cast<std::uint32_t>(part[i]) == std::bit_cast<std::uint32_t>(whole[i]));
        }
    }
}

TEST_CASE("float32 vector math follows RETROGRAD_NO_AVX2 and RETROGRAD_NO_AVX512") {
    const char* off = std::getenv("RETROGRAD_NO_AVX2");
    const char* off512 = std::getenv("RETROGRAD_NO_AVX512");
    if (off && *off && std::string(off) != "0") {
        CHECK(rg::detail::chosen_vector_isa() == VectorIsa::baseline);
    } else {
        CHECK(rg::detail::vector_isa_available(rg::detail::chosen_vector_isa()));
        if (off512 && *off512 && std::string(off512) != "0")
            CHECK(rg::detail::chosen_vector_isa() != VectorIsa::avx512);
    }
    CHECK(rg::detail::vector_isa_available(VectorIsa::baseline));
}

TEST_CASE("float32 exp, log, tanh, sigmoid, silu, erf and gelu: strided views, bfloat16 and float64") {
    using Unary = Tensor (*)(const Tensor&);
    const std::vector<std::pair<std::string, Unary>> ops{{"exp", [](const Tensor& x) { return rg::exp(x); }},
                                                         {"log", [](const Tensor& x) { return rg::log(x); }},
                                                         {"tanh", [](const Tensor& x) { return rg::tanh(x); }},
                                                         {"sigmoid", [](const Tensor& x) { return rg::sigmoid(x); }},
                                                         {"silu", [](const Tensor& x) { return rg::silu(x); }},
                                                         {"erf", [](const Tensor& x) { return rg::erf(x); }},
                                                         {"gelu", [](const Tensor& x) { return rg::gelu(x); }},
                                                         {"gelu_tanh",
                                                          [](const Tensor& x) { return rg::gelu(x, "tanh"); }}};
    for (const auto& entry : ops) {
        const std::string& op = entry.first;
        const Unary f = entry.second;
        CAPTURE(op);
        // log's arguments positive, the others' on both sides of 0.
        const Tensor wide = op == "log" ? rg::rand({6, 40}) * 5.0 + 0.01 : rg::randn({6, 40}) * 3.0;
        const Tensor columns = rg::narrow(wide, 1, 8, 24);  // rows of adjacent values, read in place
        const Tensor transposed = rg::transpose(wide, 0, 1);  // rows of strided values, gathered
        // A view gives the values its contiguous copy gives, bit for bit.
        test::check_values(f(columns), f(columns.contiguous()), 0.0);
        test::check_values(f(transposed), f(transposed.contiguous()), 0.0);
        // bfloat16 is the float32 result rounded once.
        const Tensor bf16 = wide.to(rg::bfloat16);
        test::check_values(f(bf16).to(rg::float32), f(bf16.to(rg::float32)).to(rg::bfloat16).to(rg::float32), 0.0);
        // float32 is within float32's rounding of float64.
        test::check_values(f(wide).to(rg::float64), f(wide.to(rg::float64)), 1e-5);
    }
    // float64 stays the C library's, to the last bit.
    const Tensor f64 = rg::randn({6, 40}, {.dtype = rg::float64});
    const std::vector<double> values = rg::tanh(f64).to_vector();
    const std::vector<double> inputs = f64.to_vector();
    for (std::size_t i = 0; i < values.size(); ++i) CHECK(values[i] == std::tanh(inputs[i]));
}
