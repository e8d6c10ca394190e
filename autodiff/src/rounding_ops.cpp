// Rounding and classification: floor, ceil, round (half to even), trunc,
// frac and nan_to_num, each declared once with its forward and its VJP, and
// isnan, isinf, isfinite, which give bool tensors and are never recorded.
// The rounding ops are piecewise constant: their gradient is zeros of the
// input's shape and dtype, as PyTorch's. Their samples keep each value
// between two jumps, so that gradcheck's differences never straddle one.
#include "op_defs.hpp"

#include <array>
#include <cmath>
#include <limits>
#include <optional>

namespace rg {
namespace {

using detail::map_float;

// The unary shapes, each drawn from its own unit interval between two jumps
// (at the integers, or offset by `shift`), negative and positive values both.
std::vector<OpSample> between_jumps(double shift) {
    std::vector<OpSample> samples;
    constexpr std::array<double, 5> lows{-2.8, -0.8, 0.2, 1.2, 2.2};
    std::size_t k = 0;
    for (OpSample s : detail::unary_samples()) {
        s.low = lows[k] + shift;
        s.high = lows[k] + shift + 0.6;
        samples.push_back(s);
        ++k;
    }
    return samples;
}

OpDef rounding_def(std::string_view name, std::string_view doc, detail::UnaryFn f,
                   std::function<double(double)> reference, double shift = 0.0,
                   std::string_view rule = "dx = 0 (piecewise constant)") {
    OpDef def = detail::unary_call_def(name, {}, doc, rule, f, std::move(reference), 0.0, 1.0);
    def.samples = between_jumps(shift);
    return def;
}

// The VJP of a piecewise-constant op: zeros of the input's shape and dtype.
constexpr auto zero_gradient = [](const OpContext& c, const Tensor&) {
    return GradList{zeros(c.input_shape(0), {c.input_dtype(0)})};
};

// A bool tensor of x's shape, predicate(x) elementwise, for any dtype; never recorded.
template <class F> Tensor classify(const Tensor& x, const char* op, F predicate) {
    Tensor mask = detail::empty_dense<bool>(detail::defined_or_fail(x, op).shape(), op);
    detail::visit_dtype(x.dtype(), op, [&](auto zero) {
        using T = decltype(zero);
        detail::map_values(detail::Strided<T>(x), mask.data_ptr<bool>(),
                           [&](T u) { return predicate(static_cast<double>(u)); });
        return 0;
    });
    return mask;
}

OpDef classify_def(std::string_view name, std::string_view doc, detail::UnaryFn f,
                   std::function<double(double)> reference) {
    return OpDef{.name = name,
                 .signature = {},
                 .doc = doc,
                 .rule = "no gradient (a bool mask)",
                 .kind = OpKind::elementwise,
                 .call = detail::call_unary(f),
                 .samples = detail::unary_samples(),
                 .differentiable = {false},
                 .reference1 = std::move(reference),
                 .accepts_int64 = true};
}

}  // namespace

// ---- rounding ----------------------------------------------------------------------

const OpDef& floor_def = define_op(
    rounding_def("floor", "the largest integer <= x; gradient 0", rg::floor, [](double x) { return std::floor(x); }));
Tensor floor(const Tensor& x) {
    return record(floor_def, map_float(x, "floor", [](auto u) { return std::floor(u); }), {x}, {}, zero_gradient);
}

const OpDef& ceil_def = define_op(
    rounding_def("ceil", "the smallest integer >= x; gradient 0", rg::ceil, [](double x) { return std::ceil(x); }));
Tensor ceil(const Tensor& x) {
    return record(ceil_def, map_float(x, "ceil", [](auto u) { return std::ceil(u); }), {x}, {}, zero_gradient);
}

// Half-way values go to the even neighbour (std::nearbyint in the default
// rounding mode), as torch.round: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2.
const OpDef& round_def = define_op(rounding_def(
    "round", "the nearest integer, half to even (as torch.round); gradient 0", rg::round,
    [](double x) { return x - std::remainder(x, 1.0); }, 0.5));
Tensor round(const Tensor& x) {
    return record(round_def, map_float(x, "round", [](auto u) { return std::nearbyint(u); }), {x}, {}, zero_gradient);
}

const OpDef& trunc_def = define_op(rounding_def("trunc", "x rounded toward 0; gradient 0", rg::trunc,
                                                [](double x) { return x < 0 ? std::ceil(x) : std::floor(x); }));
Tensor trunc(const Tensor& x) {
    return record(trunc_def, map_float(x, "trunc", [](auto u) { return std::trunc(u); }), {x}, {}, zero_gradient);
}

const OpDef& frac_def = define_op(rounding_def(
    "frac", "x - trunc(x), with x's sign", rg::frac,
    [](double x) { return x - (x < 0 ? std::ceil(x) : std::floor(x)); }, 0.0, "dx = g"));
Tensor frac(const Tensor& x) {
    return record(frac_def, map_float(x, "frac", [](auto u) { return u - std::trunc(u); }), {x}, {},
                  [](const OpContext&, const Tensor& g) { return GradList{g}; });
}

// ---- nan_to_num ------------------------------------------------------------------------

const OpDef& nan_to_num_def = define_op([] {
    OpDef def = detail::unary_call_def(
        "nan_to_num", "nan_to_num(x, nan = 0, posinf = max, neginf = lowest)",
        "NaN, +inf and -inf replaced (by default: 0 and the dtype's largest and lowest finite values); int64 and "
        "bool copied",
        "dx = g where x is finite, else 0", [](const Tensor& x) { return nan_to_num(x, 0.0, 1.5, -1.5); },
        [](double x) { return x; }, -2.0, 2.0);
    def.accepts_int64 = true;  // and bool: copied, as torch.nan_to_num
    return def;
}());
Tensor nan_to_num(const Tensor& x, double nan, std::optional<double> posinf, std::optional<double> neginf) {
    const Dtype dtype = detail::defined_or_fail(x, "nan_to_num").dtype();
    // Integers and bools hold no NaN nor infinity: a copy, as torch.nan_to_num gives.
    if (dtype == Dtype::int64 || dtype == Dtype::bool_) return x.clone();
    // bfloat16 is computed in float32: its own limits, which float32 holds exactly.
    const bool bf16 = dtype == Dtype::bfloat16;
    const double largest =
        bf16 ? static_cast<double>(static_cast<float>(std::numeric_limits<BFloat16>::max()))
             : (dtype == Dtype::float32 ? std::numeric_limits<float>::max() : std::numeric_limits<double>::max());
    const double high = posinf.value_or(largest), low = neginf.value_or(-largest);
    Tensor out = map_float(x, "nan_to_num", [nan, high, low](auto u) {
        using T = decltype(u);
        if (std::isnan(u)) return static_cast<T>(nan);
        if (std::isinf(u)) return static_cast<T>(u > 0 ? high : low);
        return u;
    });
    return record(nan_to_num_def, out, {x}, {.inputs = {true}},
                  [](const OpContext& c, const Tensor& g) { return GradList{g * isfinite(c.input(0))}; });
}

// ---- classification ------------------------------------------------------------------

const OpDef& isnan_def =
    define_op(classify_def("isnan", "true where x is NaN (bool)", rg::isnan, [](double x) { return std::isnan(x); }));
Tensor isnan(const Tensor& x) {
    return classify(x, "isnan", [](double u) { return std::isnan(u); });
}

const OpDef& isinf_def = define_op(
    classify_def("isinf", "true where x is +inf or -inf (bool)", rg::isinf, [](double x) { return std::isinf(x); }));
Tensor isinf(const Tensor& x) {
    return classify(x, "isinf", [](double u) { return std::isinf(u); });
}

const OpDef& isfinite_def = define_op(classify_def("isfinite", "true where x is neither infinite nor NaN (bool)",
                                                   rg::isfinite, [](double x) { return std::isfinite(x); }));
Tensor isfinite(const Tensor& x) {
    return classify(x, "isfinite", [](double u) { return std::isfinite(u); });
}

void detail::link_rounding_ops() {}  // see registry.cpp

}  // namespace rg
