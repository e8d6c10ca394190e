// softmax and log_softmax along one axis, shifted by the maximum so that large
// inputs (1000, 5000...) give exact probabilities rather than inf / inf.
#include "op_defs.hpp"

namespace rg {

extern const OpDef& softmax_backward_def;
extern const OpDef& log_softmax_backward_def;

namespace {

Tensor softmax_values(const Tensor& x, int axis, bool log_space) {
    const char* op = log_space ? "log_softmax" : "softmax";
    detail::defined_or_fail(x, op);
    const std::size_t ax = normalize_axis(axis, x.dim(), op);
    return detail::visit_float(x, op, [&](const auto& a) {
        using T = typename std::decay_t<decltype(a)>::value_type;
        Tensor out = detail::empty_dense<T>(a.shape(), op);
        detail::softmax_forward(a.data(), out.data_ptr<T>(), detail::split_at(a.shape(), ax), log_space);
        return out;
    });
}

// The VJP of softmax (log_space: of log_softmax) from its output y, in one
// pass per row; recorded itself, so that double backward flows through it.
// Written into g's buffer when the caller hands g over and nothing records.
Tensor softmax_backward(const Tensor& g, const Tensor& y, int axis, bool log_space,
                        detail::GradBuffer g_buffer = detail::GradBuffer::keep) {
    const char* op = log_space ? "log_softmax_backward" : "softmax_backward";
    detail::check_same_shape(g, y, op);
    detail::check_same_dtype(g, y, op);
    const std::size_t ax = normalize_axis(axis, g.dim(), op);
    const bool reuse = detail::can_reuse_first(g_buffer, g, y);
    Tensor out = detail::visit_float(y, op, [&](const auto& yv) {
        using T = typename std::decay_t<decltype(yv)>::value_type;
        const detail::Dense<T> gv(g);
        Tensor result = reuse ? g : detail::empty_dense<T>(g.shape(), op);
        detail::softmax_backward(gv.data(), yv.data(), result.template data_ptr<T>(), detail::split_at(g.shape(), ax),
                                 log_space);
        return result;
    });
    if (reuse) g.impl()->storage->bump_version();
    const OpDef& def = log_space ? log_softmax_backward_def : softmax_backward_def;
    return record(def, out, {g, y}, {.inputs = {true, true}}, [axis, log_space](const OpContext& c, const Tensor& h) {
        const Tensor g = c.input(0), y = c.input(1);
        Tensor dg, dy;
        if (log_space) {
            // dx = g - e^y sum(g): dg = h - sum(h e^y), dy = -h e^y sum(g).
            const Tensor e = exp(y);
            if (c.needs_grad(0)) dg = h - sum(h * e, {axis}, true);
            if (c.needs_grad(1)) dy = -(h * e * sum(g, {axis}, true));
        } else {
            // dx = y (g - sum(g y)): dg = softmax_backward(h, y), dy = h (g - sum(g y)) - g sum(h y).
            if (c.needs_grad(0)) dg = softmax_backward(h, y, axis, false);
            if (c.needs_grad(1)) dy = h * (g - sum(g * y, {axis}, true)) - g * sum(h * y, {axis}, true);
        }
        return GradList{dg, dy};
    });
}

// softmax or log_softmax, recorded with its saved output for the VJP.
Tensor recorded_softmax(const OpDef& def, const Tensor& x, int axis, bool log_space) {
    return record(def, softmax_values(x, axis, log_space), {x}, {.output = true},
                  [axis, log_space](const OpContext& c, const Tensor& g) {
                      return GradList{softmax_backward(g, c.output(), axis, log_space, detail::GradBuffer::reusable)};
                  });
}

std::vector<OpSample> softmax_backward_samples() {
    return {{{Shape{2, 3}, Shape{2, 3}}, -2.0, 2.0},
            {{Shape{2, 3, 2}, Shape{2, 3, 2}}, -2.0, 2.0},
            {{Shape{4, 1}, Shape{4, 1}}, -2.0, 2.0},
            {{Shape{2, 0}, Shape{2, 0}}, -2.0, 2.0}};
}

}  // namespace

const OpDef& softmax_def = define_op({.name = "softmax",
                                      .signature = "softmax(x, axis = -1)",
                                      .doc = "e^x / sum(e^x) along an axis, shifted by the maximum",
                                      .rule = "dx = y * (g - sum(g * y) along the axis)",
                                      .kind = OpKind::nn,
                                      .call = [](const TensorList& v) { return softmax(v[0], 1); },
                                      .samples = {{{Shape{2, 3}}, -2.0, 2.0},
                                                  {{Shape{2, 3, 2}}, -2.0, 2.0},
                                                  {{Shape{4, 1}}, -2.0, 2.0},
                                                  {{Shape{2, 0}}, -2.0, 2.0}}});
Tensor softmax(const Tensor& x, int axis) { return recorded_softmax(softmax_def, x, axis, false); }

const OpDef& log_softmax_def =
    define_op({.name = "log_softmax",
               .signature = "log_softmax(x, axis = -1)",
               .doc = "x - logsumexp(x) along an axis",
               .rule = "dx = g - exp(y) * sum(g) along the axis",
               .kind = OpKind::nn,
               .call = [](const TensorList& v) { return log_softmax(v[0], 0); },
               .samples = {{{Shape{2, 3}}, -2.0, 2.0}, {{Shape{4}}, -2.0, 2.0}, {{Shape{3, 2, 2}}, -2.0, 2.0}}});
Tensor log_softmax(const Tensor& x, int axis) { return recorded_softmax(log_softmax_def, x, axis, true); }

const OpDef& softmax_backward_def =
    define_op({.name = "softmax_backward",
               .signature = "softmax_backward(g, y, axis)",
               .doc = "y * (g - sum(g * y)) along an axis: the VJP of softmax from its output y",
               .rule = "dg = softmax_backward(h, y); dy = h * (g - sum(g * y)) - g * sum(h * y)",
               .kind = OpKind::backward,
               .call = [](const TensorList& v) { return softmax_backward(v[0], v[1], 1, false); },
               .samples = softmax_backward_samples(),
               .bad_shapes = {Shape{2, 3}, Shape{3, 2}}});
const OpDef& log_softmax_backward_def =
    define_op({.name = "log_softmax_backward",
               .signature = "log_softmax_backward(g, y, axis)",
               .doc = "g - exp(y) * sum(g) along an axis: the VJP of log_softmax from its output y",
               .rule = "dg = h - sum(h * exp(y)); dy = -h * exp(y) * sum(g)",
               .kind = OpKind::backward,
               .call = [](const TensorList& v) { return softmax_backward(v[0], v[1], 1, true); },
               .samples = softmax_backward_samples(),
               .bad_shapes = {Shape{2, 3}, Shape{3, 2}}});

void detail::link_softmax() {}  // see registry.cpp

}  // namespace rg
