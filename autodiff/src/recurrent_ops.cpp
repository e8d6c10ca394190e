// lstm_pointwise and gru_pointwise: an LSTM or GRU cell after its products,
// as one op. Each VJP runs one kernel pass over the gates (kernels/lstm.cpp,
// kernels/gru.cpp); when the backward pass is itself recorded (create_graph),
// it is written with single ops instead, so that second derivatives flow
// through them, as PyTorch's fused cells do
// (_thnn_differentiable_lstm_cell_backward).
#include "op_defs.hpp"
#include "op_references.hpp"

#include <cmath>

namespace rg {
namespace detail {
void link_recurrent_ops();
}  // namespace detail

namespace {

constexpr const char* lstm_op = "lstm_pointwise";

// The hidden size of checked operands: gates (..., 4H), c (..., H).
std::size_t checked_hidden(const Tensor& gates, const Tensor& c) {
    detail::check_same_dtype(gates, c, lstm_op);
    if (gates.dim() == 0)
        fail("{}: gates is 0-D; expected (..., 4 * hidden_size), the gates i, f, g, o side by side", lstm_op);
    const std::size_t width = gates.shape().back();
    if (width % 4 != 0)
        fail("{}: gates of shape {} has a last axis of {}; expected 4 * hidden_size, the gates i, f, g, o side by side",
             lstm_op, shape_str(gates.shape()), width);
    Shape expected = gates.shape();
    expected.back() = width / 4;
    if (c.shape() != expected)
        fail("{}: c of shape {} for gates of shape {}; expected {}, the gates' shape with a quarter of the last axis",
             lstm_op, shape_str(c.shape()), shape_str(gates.shape()), shape_str(expected));
    return width / 4;
}

// (2, ...shape): h' and c' stacked.
Shape stacked_shape(const Shape& shape) {
    Shape stacked{2};
    for (std::size_t d : shape) stacked.push_back(d);
    return stacked;
}

// The VJP with single ops, recorded when the backward pass is (create_graph).
GradList recorded_backward(const Tensor& grad, const Tensor& gates, const Tensor& c, std::int64_t hidden) {
    const int last = -1;
    const auto slope = [](const Tensor& s) { return s * rsub(1.0, s); };  // σ' from σ
    const auto tanh_slope = [](const Tensor& t) { return rsub(1.0, t * t); };  // tanh' from tanh
    const Tensor dh = select(grad, 0, 0), dc_next = select(grad, 0, 1);
    const Tensor i = sigmoid(narrow(gates, last, 0, hidden)), f = sigmoid(narrow(gates, last, hidden, hidden));
    const Tensor g = tanh(narrow(gates, last, 2 * hidden, hidden)),
                 o = sigmoid(narrow(gates, last, 3 * hidden, hidden));
    const Tensor t = tanh(addcmul(f * c, i, g));
    const Tensor all = dc_next + dh * o * tanh_slope(t);
    const Tensor dgates =
        concat({all * g * slope(i), all * c * slope(f), all * i * tanh_slope(g), dh * t * slope(o)}, last);
    return {dgates, all * f};
}

// The VJP in one kernel pass from the forward's activations; bfloat16 in
// float32, its results rounded.
GradList fused_backward(const Tensor& grad, const Tensor& activations, const Tensor& c, std::size_t hidden) {
    if (c.dtype() == Dtype::bfloat16) {
        using detail::bf16_as_float32;
        GradList wide = fused_backward(bf16_as_float32(grad), activations, bf16_as_float32(c), hidden);
        return {detail::float32_as_bf16(wide[0]), detail::float32_as_bf16(wide[1])};
    }
    return detail::visit_float_dtype(c.dtype(), lstm_op, [&](auto zero) {
        using T = decltype(zero);
        const detail::Dense<T> g(grad), act(activations), cv(c);
        const std::size_t rows = hidden == 0 ? 0 : c.numel() / hidden, half = c.numel();
        Shape gates_shape = c.shape();
        gates_shape.back() *= 4;
        Tensor dgates = detail::empty_dense<T>(gates_shape, lstm_op), dc = detail::empty_dense<T>(c.shape(), lstm_op);
        detail::lstm_pointwise_backward(g.data(), g.data() + half, act.data(), cv.data(), dgates.template data_ptr<T>(),
                                        dc.template data_ptr<T>(), rows, hidden);
        return GradList{dgates, dc};
    });
}

// h and c' of plain loops, stacked, for the generated tests.
Tensor lstm_reference(const TensorList& v) {
    const detail::ref::Array gates(v[0]), c(v[1]);
    const std::size_t hidden = c.shape.empty() ? 0 : c.shape.back(), n = c.values.size();
    detail::ref::Array out(stacked_shape(c.shape));
    const auto sigma = [](double u) { return 1.0 / (1.0 + std::exp(-u)); };
    for (std::size_t k = 0; k < n; ++k) {
        const std::size_t row = k / hidden, j = k % hidden, at = row * 4 * hidden + j;
        const double i = sigma(gates.values[at]), f = sigma(gates.values[at + hidden]);
        const double g = std::tanh(gates.values[at + 2 * hidden]), o = sigma(gates.values[at + 3 * hidden]);
        const double c_next = f * c.values[k] + i * g;
        out.values[k] = o * std::tanh(c_next);
        out.values[n + k] = c_next;
    }
    return out.tensor();
}

constexpr const char* gru_op = "gru_pointwise";

// The hidden size of checked operands: xw and hw (..., 3H), h (..., H).
std::size_t checked_gru_hidden(const Tensor& xw, const Tensor& hw, const Tensor& h) {
    detail::check_same_dtype(xw, hw, gru_op);
    detail::check_same_dtype(xw, h, gru_op);
    if (xw.dim() == 0) fail("{}: xw is 0-D; expected (..., 3 * hidden_size), the thirds r, z, n side by side", gru_op);
    if (hw.shape() != xw.shape())
        fail("{}: xw of shape {} and hw of shape {}; expected equal shapes (..., 3 * hidden_size)", gru_op,
             shape_str(xw.shape()), shape_str(hw.shape()));
    const std::size_t width = xw.shape().back();
    if (width % 3 != 0)
        fail("{}: xw of shape {} has a last axis of {}; expected 3 * hidden_size, the thirds r, z, n side by side",
             gru_op, shape_str(xw.shape()), width);
    Shape expected = xw.shape();
    expected.back() = width / 3;
    if (h.shape() != expected)
        fail("{}: h of shape {} for xw of shape {}; expected {}, xw's shape with a third of the last axis", gru_op,
             shape_str(h.shape()), shape_str(xw.shape()), shape_str(expected));
    return width / 3;
}

// The GRU VJP with single ops, recorded when the backward pass is.
GradList recorded_gru_backward(const Tensor& grad, const Tensor& xw, const Tensor& hw, const Tensor& h,
                               std::int64_t hidden) {
    const int last = -1;
    const auto slope = [](const Tensor& s) { return s * rsub(1.0, s); };  // σ' from σ
    const Tensor r = sigmoid(narrow(xw, last, 0, hidden) + narrow(hw, last, 0, hidden));
    const Tensor z = sigmoid(narrow(xw, last, hidden, hidden) + narrow(hw, last, hidden, hidden));
    const Tensor hn = narrow(hw, last, 2 * hidden, hidden);
    const Tensor n = tanh(addcmul(narrow(xw, last, 2 * hidden, hidden), r, hn));
    const Tensor da = grad * rsub(1.0, z) * rsub(1.0, n * n);
    const Tensor dr = da * hn * slope(r), dz = grad * (h - n) * slope(z);
    return {concat({dr, dz, da}, last), concat({dr, dz, da * r}, last), grad * z};
}

// The GRU VJP in one kernel pass from the forward's r, z, n and hw_n;
// bfloat16 in float32, its results rounded.
GradList fused_gru_backward(const Tensor& grad, const Tensor& saved, const Tensor& h, const Shape& gates_shape,
                            std::size_t hidden) {
    if (h.dtype() == Dtype::bfloat16) {
        GradList wide =
            fused_gru_backward(detail::bf16_as_float32(grad), saved, detail::bf16_as_float32(h), gates_shape, hidden);
        for (Tensor& t : wide) t = detail::float32_as_bf16(t);
        return wide;
    }
    return detail::visit_float_dtype(h.dtype(), gru_op, [&](auto zero) {
        using T = decltype(zero);
        const detail::Dense<T> g(grad), kept(saved), hv(h);
        const std::size_t rows = hidden == 0 ? 0 : h.numel() / hidden;
        Tensor dxw = detail::empty_dense<T>(gates_shape, gru_op), dhw = detail::empty_dense<T>(gates_shape, gru_op);
        Tensor dh = detail::empty_dense<T>(h.shape(), gru_op);
        detail::gru_pointwise_backward(g.data(), kept.data(), hv.data(), dxw.template data_ptr<T>(),
                                       dhw.template data_ptr<T>(), dh.template data_ptr<T>(), rows, hidden);
        return GradList{dxw, dhw, dh};
    });
}

// h' of plain loops, for the generated tests.
Tensor gru_reference(const TensorList& v) {
    const detail::ref::Array xw(v[0]), hw(v[1]), h(v[2]);
    const std::size_t hidden = h.shape.empty() ? 0 : h.shape.back();
    detail::ref::Array out(h.shape);
    const auto sigma = [](double u) { return 1.0 / (1.0 + std::exp(-u)); };
    for (std::size_t k = 0; k < h.values.size(); ++k) {
        const std::size_t at = k / hidden * 3 * hidden + k % hidden;
        const double r = sigma(xw.values[at] + hw.values[at]);
        const double z = sigma(xw.values[at + hidden] + hw.values[at + hidden]);
        const double n = std::tanh(xw.values[at + 2 * hidden] + r * hw.values[at + 2 * hidden]);
        out.values[k] = (1 - z) * n + z * h.values[k];
    }
    return out.tensor();
}

}  // namespace

const OpDef& lstm_pointwise_def =
    define_op({.name = lstm_op,
               .signature = "lstm_pointwise(gates, c)",
               .doc = "an LSTM cell after its products: from gates (..., 4H) = [i, f, g, o] and c (..., H), "
                      "h = σ(o) tanh(c') and c' = σ(f) c + σ(i) tanh(g), stacked (2, ..., H)",
               .rule = "with dc'' = dc' + dh σ(o) (1 - tanh²(c')): dgates = [dc'' tanh(g) σ'(i), dc'' c σ'(f), "
                       "dc'' σ(i) (1 - tanh²(g)), dh tanh(c') σ'(o)], dc = dc'' σ(f)",
               .kind = OpKind::nn,
               .call = [](const TensorList& v) { return lstm_pointwise(v[0], v[1]); },
               .samples = {{{Shape{3, 8}, Shape{3, 2}}, -2.0, 2.0},
                           {{Shape{12}, Shape{3}}, -2.0, 2.0},
                           {{Shape{2, 1, 4}, Shape{2, 1, 1}}, -2.0, 2.0},
                           {{Shape{0, 8}, Shape{0, 2}}, -2.0, 2.0}},
               .bad_shapes = {Shape{2, 8}, Shape{2, 3}},
               .reference = lstm_reference});

Tensor lstm_pointwise(const Tensor& gates, const Tensor& c) {
    const std::size_t hidden = checked_hidden(gates, c);
    const Shape shape = stacked_shape(c.shape());
    const bool recording = needs_grad(gates, c);
    // The VJP reads the activations and tanh(c') (float32 for bfloat16
    // operands) rather than computing them again; gates are kept too, for a
    // recorded VJP.
    Tensor activations;
    Tensor both = detail::visit_float2(gates, c, lstm_op, [&](const auto& gv, const auto& cv) {
        using T = typename std::decay_t<decltype(gv)>::value_type;
        Tensor out = detail::empty_dense<T>(shape, lstm_op);
        if (recording) activations = detail::empty_dense<T>(Shape{cv.size() * 5}, lstm_op);
        T* h = out.template data_ptr<T>();
        const std::size_t rows = hidden == 0 ? 0 : cv.size() / hidden;
        detail::lstm_pointwise_forward(gv.data(), cv.data(), h, h + cv.size(),
                                       recording ? activations.template data_ptr<T>() : nullptr, rows, hidden);
        return out;
    });
    if (!recording) return both;
    return record(lstm_pointwise_def, both, {gates, c}, {.inputs = {true, true}, .tensors = {activations}},
                  [hidden](const OpContext& ctx, const Tensor& g) {
                      const Tensor c = ctx.input(1);
                      GradList grads = is_grad_enabled()
                                           ? recorded_backward(g, ctx.input(0), c, static_cast<std::int64_t>(hidden))
                                           : fused_backward(g, ctx.saved(0), c, hidden);
                      if (!ctx.needs_grad(0)) grads[0] = Tensor{};
                      if (!ctx.needs_grad(1)) grads[1] = Tensor{};
                      return grads;
                  });
}

const OpDef& gru_pointwise_def = define_op(
    {.name = gru_op,
     .signature = "gru_pointwise(xw, hw, h)",
     .doc = "a GRU cell after its products: from xw = x W_ihᵀ + b_ih and hw = h W_hhᵀ + b_hh (..., 3H) = [r, z, n] "
            "and h (..., H), h' = (1 - z) n + z h with r, z = σ(xw + hw) and n = tanh(xw_n + r hw_n)",
     .rule = "with da = dh' (1 - z)(1 - n²), dr = da hw_n σ'(r), dz = dh' (h - n) σ'(z): dxw = [dr, dz, da], "
             "dhw = [dr, dz, da r], dh = dh' z",
     .kind = OpKind::nn,
     .call = [](const TensorList& v) { return gru_pointwise(v[0], v[1], v[2]); },
     .samples = {{{Shape{3, 6}, Shape{3, 6}, Shape{3, 2}}, -2.0, 2.0},
                 {{Shape{9}, Shape{9}, Shape{3}}, -2.0, 2.0},
                 {{Shape{0, 6}, Shape{0, 6}, Shape{0, 2}}, -2.0, 2.0}},
     .bad_shapes = {Shape{2, 6}, Shape{2, 3}, Shape{2, 2}},
     .reference = gru_reference});

Tensor gru_pointwise(const Tensor& xw, const Tensor& hw, const Tensor& h) {
    const std::size_t hidden = checked_gru_hidden(xw, hw, h);
    const bool recording = needs_grad(TensorList{xw, hw, h});
    // bfloat16 in float32, the result rounded once and r, z, n kept in float32.
    const bool narrow_type = h.dtype() == Dtype::bfloat16;
    const auto wide = [narrow_type](const Tensor& t) { return narrow_type ? detail::bf16_as_float32(t) : t; };
    const Tensor x32 = wide(xw), y32 = wide(hw), h32 = wide(h);
    Tensor saved;
    Tensor out = detail::visit_float_dtype(h32.dtype(), gru_op, [&](auto zero) {
        using T = decltype(zero);
        const detail::Dense<T> x(x32), y(y32), state(h32);
        Tensor result = detail::empty_dense<T>(h.shape(), gru_op);
        if (recording) saved = detail::empty_dense<T>(Shape{state.size() * 4}, gru_op);
        detail::gru_pointwise_forward(x.data(), y.data(), state.data(), result.template data_ptr<T>(),
                                      recording ? saved.template data_ptr<T>() : nullptr,
                                      hidden == 0 ? 0 : state.size() / hidden, hidden);
        return result;
    });
    if (narrow_type) out = detail::float32_as_bf16(out);
    if (!recording) return out;
    return record(gru_pointwise_def, out, {xw, hw, h}, {.inputs = SavedInputs::all(), .tensors = {saved}},
                  [hidden](const OpContext& ctx, const Tensor& g) {
                      GradList grads =
                          is_grad_enabled()
                              ? recorded_gru_backward(g, ctx.input(0), ctx.input(1), ctx.input(2),
                                                      static_cast<std::int64_t>(hidden))
                              : fused_gru_backward(g, ctx.saved(0), ctx.input(2), ctx.input_shape(0), hidden);
                      for (std::size_t i = 0; i < grads.size(); ++i)
                          if (!ctx.needs_grad(i)) grads[i] = Tensor{};
                      return grads;
                  });
}

void detail::link_recurrent_ops() {}  // see registry.cpp

}  // namespace rg
