// lstm_pointwise: an LSTM cell after its products, as one op. Its VJP runs
// one kernel pass over the gates (kernels/lstm.cpp); when the backward pass
// is itself recorded (create_graph), it is written with single ops instead,
// so that second derivatives flow through them, as PyTorch's fused cell
// does (_thnn_differentiable_lstm_cell_backward).
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

void detail::link_recurrent_ops() {}  // see registry.cpp

}  // namespace rg
