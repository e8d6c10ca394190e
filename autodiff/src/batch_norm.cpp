// batch_norm, as torch.nn.functional.batch_norm: each channel (axis 1) of x
// centred and divided by sqrt(var + eps) over the batch and the other axes,
// then scaled and shifted. In training the batch's statistics normalise and
// update the running ones; in evaluation the running ones do, and the whole
// op is one addcmul. The training normalisation and its VJP are kernel
// passes (kernels/batch_norm.cpp); each gradient is an op itself, so that
// double backward flows through them.
#include "norm_operands.hpp"
#include "op_defs.hpp"
#include "op_references.hpp"

#include <cmath>
#include <memory>

namespace rg {
namespace detail {
void link_batch_norm();
}  // namespace detail

extern const OpDef& batch_norm_def;
extern const OpDef& batch_norm_backward_def;
extern const OpDef& batch_norm_weight_grad_def;

namespace {

using detail::check_eps;
using detail::data_or_null;
using detail::dense_or_none;

constexpr const char* bn = "batch_norm";

void check_float(const char* op, const Tensor& t, const char* name) {
    detail::defined_or_fail(t, op);
    if (!t.is_floating()) fail("{}: {} is {}; expected a float tensor", op, name, dtype_name(t.dtype()));
}

// x: a float tensor (N, C, ...) of rank >= 2. Returns its layout.
detail::ChannelLayout checked_layout(const char* op, const Tensor& x) {
    check_float(op, x, "the input");
    if (x.dim() < 2)
        fail("{}: input of shape {}; expected (N, C, ...) with the channels on axis 1", op, shape_str(x.shape()));
    const Shape& shape = x.shape();
    std::size_t inner = 1;
    for (std::size_t i = 2; i < shape.size(); ++i) inner *= shape[i];
    return {shape[0], shape[1], inner};
}

// weight, bias or a running statistic: undefined, or (C,) floats; `same_dtype`: x's dtype.
void check_per_channel(const char* op, const Tensor& t, const char* name, const Tensor& x, bool same_dtype) {
    if (!t.defined()) return;
    check_float(op, t, name);
    const std::size_t channels = x.shape()[1];
    if (t.shape() != Shape{channels})
        fail("{}: {} of shape {}; expected ({},), one value per channel of the input {}", op, name,
             shape_str(t.shape()), channels, shape_str(x.shape()));
    if (same_dtype && t.dtype() != x.dtype())
        fail("{}: {} is {} but the input is {}; expected one dtype", op, name, dtype_name(t.dtype()),
             dtype_name(x.dtype()));
}

void check_training_count(const char* op, const Tensor& x, const detail::ChannelLayout& s) {
    if (s.outer * s.inner < 2)
        fail("{}: training needs more than one value per channel, got input {}", op, shape_str(x.shape()));
}

// The axes a channel's statistics run over: 0 and 2, 3, ...
Axes channel_axes(std::size_t rank) {
    Axes axes{0};
    for (std::size_t i = 2; i < rank; ++i) axes.push_back(static_cast<int>(i));
    return axes;
}

// A (C,) tensor shaped to broadcast along x's channels: (1, C, 1, ...).
Tensor per_channel(const Tensor& t, std::size_t rank) {
    Shape shape(rank, 1);
    shape[1] = t.numel();
    return reshape(t, shape);
}

using StatsPtr = std::shared_ptr<const detail::BatchNormStats>;

template <class T> StatsPtr stats_of(const T* x, const detail::ChannelLayout& s, double eps) {
    auto stats = std::make_shared<detail::BatchNormStats>();
    detail::batch_norm_stats(x, s, eps, *stats);
    return stats;
}

// The values of dx = batch_norm_backward(g, x, weight) and of dweight =
// batch_norm_weight_grad(g, x), whichever are asked for, from one pass of
// per-channel sums; the statistics recomputed from x unless given.
struct GradValues {
    Tensor dx, dweight;
};
GradValues grad_values(const Tensor& g, const Tensor& x, const Tensor& weight, double eps, const StatsPtr& known,
                       bool want_dx, bool want_dweight) {
    const detail::ChannelLayout s = checked_layout(bn, x);
    return detail::visit_float_dtype(x.dtype(), bn, [&](auto zero) {
        using T = decltype(zero);
        const detail::Dense<T> gv(g), xv(x);
        const StatsPtr stats = known ? known : stats_of(xv.data(), s, eps);
        std::vector<double> sum_g, sum_g_xhat;
        detail::batch_norm_grad_sums(gv.data(), xv.data(), s, *stats, sum_g, sum_g_xhat);
        GradValues out;
        if (want_dx) {
            const Tensor w = dense_or_none<T>(weight);
            out.dx = detail::empty_dense<T>(x.shape(), "batch_norm_backward");
            detail::batch_norm_input_grad(gv.data(), xv.data(), s, *stats, data_or_null<T>(w), sum_g, sum_g_xhat,
                                          out.dx.data_ptr<T>());
        }
        if (want_dweight)
            out.dweight = from_vector(sum_g_xhat, {static_cast<std::int64_t>(s.channels)}, {.dtype = x.dtype()});
        return out;
    });
}

Tensor record_input_grad(Tensor dx, const Tensor& g, const Tensor& x, const Tensor& weight, double eps);
Tensor record_weight_grad(Tensor dw, const Tensor& g, const Tensor& x, double eps);

// The training normalisation of x (laid out as s) with the batch's statistics, recorded;
// `stats_out` receives them (for the running statistics).
Tensor normalized_by_batch(const Tensor& x, const detail::ChannelLayout& s, const Tensor& weight, const Tensor& bias,
                           double eps, StatsPtr* stats_out) {
    StatsPtr stats;
    Tensor out = detail::visit_float_dtype(x.dtype(), bn, [&](auto zero) {
        using T = decltype(zero);
        const detail::Dense<T> xv(x);
        stats = stats_of(xv.data(), s, eps);
        const Tensor w = dense_or_none<T>(weight), b = dense_or_none<T>(bias);
        Tensor y = detail::empty_dense<T>(x.shape(), bn);
        detail::batch_norm_apply(xv.data(), s, *stats, data_or_null<T>(w), data_or_null<T>(b), y.data_ptr<T>());
        return y;
    });
    if (stats_out) *stats_out = stats;
    // Three inputs whether or not weight and bias are given, so that each
    // keeps its position (and its name in explain).
    const bool has_weight = weight.defined();
    const std::size_t rank = x.dim();
    return record(batch_norm_def, out, {x, weight, bias}, {.inputs = {true, has_weight}},
                  [eps, has_weight, rank, stats](const OpContext& c, const Tensor& g) {
                      const Tensor x = c.input(0), w = has_weight ? c.input(1) : Tensor{};
                      // The bias gradient first: g is still in cache from the op that wrote it.
                      const Tensor db = c.needs_grad(2) ? sum(g, channel_axes(rank)) : Tensor{};
                      const bool want_dx = c.needs_grad(0), want_dweight = c.needs_grad(1);
                      GradValues values;
                      if (want_dx || want_dweight) values = grad_values(g, x, w, eps, stats, want_dx, want_dweight);
                      return GradList{want_dx ? record_input_grad(values.dx, g, x, w, eps) : Tensor{},
                                      want_dweight ? record_weight_grad(values.dweight, g, x, eps) : Tensor{}, db};
                  });
}

// The batch's statistics folded into the running ones, as PyTorch:
// running = (1 - momentum) running + momentum batch, the variance unbiased.
void update_running(const Tensor& running_mean, const Tensor& running_var, const detail::BatchNormStats& stats,
                    std::size_t count, double momentum) {
    NoGrad off;
    const auto channels = static_cast<std::int64_t>(stats.mean.size());
    if (running_mean.defined()) {
        const Tensor batch = from_vector(stats.mean, {channels}, {.dtype = running_mean.dtype()});
        Tensor running = running_mean;  // a handle on the caller's buffer, updated in place
        running.copy_(running_mean * (1.0 - momentum) + batch * momentum);
    }
    if (running_var.defined()) {
        const double unbiased = static_cast<double>(count) / static_cast<double>(count - 1);
        std::vector<double> variance = stats.variance;
        for (double& v : variance) v *= unbiased;
        const Tensor batch = from_vector(variance, {channels}, {.dtype = running_var.dtype()});
        Tensor running = running_var;
        running.copy_(running_var * (1.0 - momentum) + batch * momentum);
    }
}

// ---- the generated tests' calls and references (plain loops, float64) ------------------

Tensor sample_call(const TensorList& v) {
    if (v.size() == 3) return batch_norm(v[0], {}, {}, v[1], v[2], true, 0.1, 1e-3);
    return batch_norm(v[0], {}, {}, {}, {}, true);
}
Tensor sample_backward_call(const TensorList& v) {
    return batch_norm_backward(v[0], v[1], v.size() == 3 ? v[2] : Tensor{}, v.size() == 3 ? 1e-3 : 1e-5);
}
Tensor sample_weight_grad_call(const TensorList& v) { return batch_norm_weight_grad(v[0], v[1], 1e-3); }

struct ReferenceChannels {
    std::size_t outer, channels, inner;
    std::size_t at(std::size_t n, std::size_t c, std::size_t i) const { return (n * channels + c) * inner + i; }
    double count() const { return static_cast<double>(outer * inner); }
};
ReferenceChannels reference_layout(const Shape& shape) {
    std::size_t inner = 1;
    for (std::size_t i = 2; i < shape.size(); ++i) inner *= shape[i];
    return {shape[0], shape[1], inner};
}
// x̂ of every value and rstd of every channel, in float64.
struct ReferenceNormalised {
    std::vector<double> xhat, rstd;
};
ReferenceNormalised reference_normalised(const detail::ref::Array& x, const ReferenceChannels& r, double eps) {
    ReferenceNormalised out{std::vector<double>(x.values.size()), std::vector<double>(r.channels)};
    for (std::size_t c = 0; c < r.channels; ++c) {
        double mean = 0, var = 0;
        for (std::size_t n = 0; n < r.outer; ++n)
            for (std::size_t i = 0; i < r.inner; ++i) mean += x.values[r.at(n, c, i)];
        mean /= r.count();
        for (std::size_t n = 0; n < r.outer; ++n)
            for (std::size_t i = 0; i < r.inner; ++i) var += std::pow(x.values[r.at(n, c, i)] - mean, 2);
        var /= r.count();
        out.rstd[c] = 1.0 / std::sqrt(var + eps);
        for (std::size_t n = 0; n < r.outer; ++n)
            for (std::size_t i = 0; i < r.inner; ++i)
                out.xhat[r.at(n, c, i)] = (x.values[r.at(n, c, i)] - mean) * out.rstd[c];
    }
    return out;
}

Tensor sample_reference(const TensorList& v) {
    const detail::ref::Array x(v[0]);
    const ReferenceChannels r = reference_layout(x.shape);
    const bool affine = v.size() == 3;
    const ReferenceNormalised norm = reference_normalised(x, r, affine ? 1e-3 : 1e-5);
    const std::vector<double> w = affine ? v[1].to_vector() : std::vector<double>(r.channels, 1.0);
    const std::vector<double> b = affine ? v[2].to_vector() : std::vector<double>(r.channels, 0.0);
    detail::ref::Array out(x.shape);
    for (std::size_t n = 0; n < r.outer; ++n)
        for (std::size_t c = 0; c < r.channels; ++c)
            for (std::size_t i = 0; i < r.inner; ++i)
                out.values[r.at(n, c, i)] = norm.xhat[r.at(n, c, i)] * w[c] + b[c];
    return out.tensor();
}

// dx = w rstd (g - mean(g) - x̂ mean(g x̂)) per channel.
Tensor sample_backward_reference(const TensorList& v) {
    const detail::ref::Array g(v[0]), x(v[1]);
    const ReferenceChannels r = reference_layout(x.shape);
    const bool affine = v.size() == 3;
    const ReferenceNormalised norm = reference_normalised(x, r, affine ? 1e-3 : 1e-5);
    const std::vector<double> w = affine ? v[2].to_vector() : std::vector<double>(r.channels, 1.0);
    detail::ref::Array out(x.shape);
    for (std::size_t c = 0; c < r.channels; ++c) {
        double mean_g = 0, mean_gx = 0;
        for (std::size_t n = 0; n < r.outer; ++n)
            for (std::size_t i = 0; i < r.inner; ++i) {
                mean_g += g.values[r.at(n, c, i)] / r.count();
                mean_gx += g.values[r.at(n, c, i)] * norm.xhat[r.at(n, c, i)] / r.count();
            }
        for (std::size_t n = 0; n < r.outer; ++n)
            for (std::size_t i = 0; i < r.inner; ++i) {
                const std::size_t k = r.at(n, c, i);
                out.values[k] = w[c] * norm.rstd[c] * (g.values[k] - mean_g - norm.xhat[k] * mean_gx);
            }
    }
    return out.tensor();
}

Tensor sample_weight_grad_reference(const TensorList& v) {
    const detail::ref::Array g(v[0]), x(v[1]);
    const ReferenceChannels r = reference_layout(x.shape);
    const ReferenceNormalised norm = reference_normalised(x, r, 1e-3);
    detail::ref::Array out(Shape{r.channels});
    for (std::size_t c = 0; c < r.channels; ++c)
        for (std::size_t n = 0; n < r.outer; ++n)
            for (std::size_t i = 0; i < r.inner; ++i)
                out.values[c] += g.values[r.at(n, c, i)] * norm.xhat[r.at(n, c, i)];
    return out.tensor();
}

// ---- the two gradient ops, recorded ---------------------------------------------------

Tensor record_input_grad(Tensor dx, const Tensor& g, const Tensor& x, const Tensor& weight, double eps) {
    const bool has_weight = weight.defined();
    const std::size_t rank = x.dim();
    return record(batch_norm_backward_def, std::move(dx), {g, x, weight},
                  {.inputs = {true, true, has_weight}, .output = true},
                  [eps, has_weight, rank](const OpContext& c, const Tensor& h) {
                      // dx = w L(g), L(v) = rstd (v - mean(v) - x̂ mean(x̂ v)) per channel: L is
                      // symmetric, so g's cotangent is w L(h); x's comes from L's dependence
                      // on x (through x̂ and rstd), as for layer_norm_backward.
                      const Tensor g = c.input(0), x = c.input(1), w = has_weight ? c.input(2) : Tensor{};
                      const Tensor w_c = has_weight ? per_channel(w, rank) : Tensor{};
                      const Axes axes = channel_axes(rank);
                      const Tensor lh = batch_norm_backward(h, x, {}, eps);
                      GradList grads;
                      grads.push_back(c.needs_grad(0) ? (has_weight ? lh * w_c : lh) : Tensor{});
                      if (c.needs_grad(1)) {
                          const Tensor a = has_weight ? g * w_c : g;
                          const Tensor xhat = batch_norm(x, {}, {}, {}, {}, true, 0.0, eps);
                          const Tensor rstd = 1.0 / sqrt(var(x, axes, true, 0) + eps);
                          const Tensor mixed = sum(a * xhat, axes, true) * h + sum(h * xhat, axes, true) * a;
                          const double n = static_cast<double>(x.numel()) / static_cast<double>(x.shape()[1]);
                          grads.push_back((rstd / -n) * (sum(h * c.output(), axes, true) * xhat +
                                                         batch_norm_backward(mixed, x, {}, eps)));
                      } else {
                          grads.push_back(Tensor{});
                      }
                      grads.push_back(c.needs_grad(2) ? sum(g * lh, axes) : Tensor{});
                      return grads;
                  });
}

Tensor record_weight_grad(Tensor dw, const Tensor& g, const Tensor& x, double eps) {
    const std::size_t rank = x.dim();
    return record(batch_norm_weight_grad_def, std::move(dw), {g, x}, {.inputs = {true, true}},
                  [eps, rank](const OpContext& c, const Tensor& h) {
                      // Σ g x̂ is linear in g (cotangent h x̂); its gradient in x is
                      // batch_norm_backward(g, x), each channel's times h.
                      const Tensor g = c.input(0), x = c.input(1), h_c = per_channel(h, rank);
                      return GradList{c.needs_grad(0) ? batch_norm(x, {}, {}, {}, {}, true, 0.0, eps) * h_c : Tensor{},
                                      c.needs_grad(1) ? batch_norm_backward(g, x, {}, eps) * h_c : Tensor{}};
                  });
}

Tensor as_float32(const Tensor& t) { return t.defined() && t.dtype() == Dtype::bfloat16 ? t.to(Dtype::float32) : t; }

}  // namespace

const OpDef& batch_norm_def = define_op(
    {.name = bn,
     .signature = "batch_norm(x, running_mean, running_var, weight = {}, bias = {}, training = false, momentum = 0.1, "
                  "eps = 1e-5)",
     .doc = "(x - mean) / sqrt(var + eps) * weight + bias per channel (axis 1), over the batch and the other axes; "
            "in training the batch's biased var, and the running statistics updated",
     .rule = "dx = batch_norm_backward(g, x, weight), dweight = batch_norm_weight_grad(g, x) = Σ g x̂, dbias = Σ g "
             "over every axis but 1",
     .kind = OpKind::nn,
     .call = sample_call,
     .samples = {{{Shape{4, 3}, Shape{3}, Shape{3}}, -2.0, 2.0},
                 {{Shape{2, 3, 2, 3}, Shape{3}, Shape{3}}, -2.0, 2.0},
                 {{Shape{3, 2, 4}}, -2.0, 2.0}},
     .bad_shapes = {Shape{2, 3}, Shape{2}, Shape{3}},
     .reference = sample_reference,
     .input_names = {"x", "weight", "bias"}});

const OpDef& batch_norm_backward_def =
    define_op({.name = "batch_norm_backward",
               .signature = "batch_norm_backward(g, x, weight, eps = 1e-5)",
               .doc = "w rstd (g - mean(g) - x̂ mean(g x̂)) per channel: the VJP of batch_norm (training) to its input",
               .rule = "dg = weight L(h), dweight = Σ g L(h), dx = -(rstd / m) (Σ(h dx) x̂ + L(Σ(a x̂) h + Σ(h x̂) a)), "
                       "a = g weight, L(v) = batch_norm_backward(v, x)",
               .kind = OpKind::backward,
               .call = sample_backward_call,
               .samples = {{{Shape{4, 3}, Shape{4, 3}, Shape{3}}, -2.0, 2.0},
                           {{Shape{2, 3, 2, 3}, Shape{2, 3, 2, 3}, Shape{3}}, -2.0, 2.0},
                           {{Shape{3, 2, 4}, Shape{3, 2, 4}}, -2.0, 2.0}},
               .bad_shapes = {Shape{2, 3}, Shape{3, 2}, Shape{2}},
               .reference = sample_backward_reference,
               .input_names = {"g", "x", "weight"}});

const OpDef& batch_norm_weight_grad_def = define_op(
    {.name = "batch_norm_weight_grad",
     .signature = "batch_norm_weight_grad(g, x, eps = 1e-5)",
     .doc = "Σ g x̂ per channel: the VJP of batch_norm (training) to its weight",
     .rule = "dg = h x̂, dx = batch_norm_backward(g, x) h, per channel",
     .kind = OpKind::backward,
     .call = sample_weight_grad_call,
     .samples = {{{Shape{4, 3}, Shape{4, 3}}, -2.0, 2.0}, {{Shape{2, 3, 2, 3}, Shape{2, 3, 2, 3}}, -2.0, 2.0}},
     .bad_shapes = {Shape{2, 3}, Shape{3, 2}},
     .reference = sample_weight_grad_reference});

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
    const detail::ChannelLayout s = checked_layout(bn, x);
    check_per_channel(bn, weight, "weight", x, true);
    check_per_channel(bn, bias, "bias", x, true);
    check_per_channel(bn, running_mean, "running_mean", x, false);
    check_per_channel(bn, running_var, "running_var", x, false);
    check_eps(bn, eps);
    if (!std::isfinite(momentum)) fail("{}: momentum must be finite, got {}", bn, momentum);
    if (training)
        check_training_count(bn, x, s);
    else if (!running_mean.defined() || !running_var.defined())
        fail("{}: evaluation (training = false) normalises with running_mean and running_var; got {} undefined", bn,
             running_mean.defined()  ? "running_var"
             : running_var.defined() ? "running_mean"
                                     : "both");
    // bfloat16 is computed in float32 and rounded once, as PyTorch's CPU kernels do.
    if (x.dtype() == Dtype::bfloat16)
        return batch_norm(x.to(Dtype::float32), running_mean, running_var, as_float32(weight), as_float32(bias),
                          training, momentum, eps)
            .to(Dtype::bfloat16);
    if (!training) {
        // y = x scale + shift, scale = weight / sqrt(running_var + eps), shift = bias - running_mean scale:
        // one pass over x, and weight and bias still get their gradients.
        Tensor scale = 1.0 / sqrt(running_var.detach().to(x.dtype()) + eps);
        if (weight.defined()) scale = scale * weight;
        Tensor shift = neg(running_mean.detach().to(x.dtype()) * scale);
        if (bias.defined()) shift = shift + bias;
        return addcmul(per_channel(shift, x.dim()), x, per_channel(scale, x.dim()));
    }
    StatsPtr stats;
    Tensor out = normalized_by_batch(x, s, weight, bias, eps, &stats);
    if (running_mean.defined() || running_var.defined())
        update_running(running_mean, running_var, *stats, s.outer * s.inner, momentum);
    return out;
}

Tensor batch_norm_backward(const Tensor& g, const Tensor& x, const Tensor& weight, double eps) {
    constexpr const char* op = "batch_norm_backward";
    check_float(op, g, "g");
    const detail::ChannelLayout s = checked_layout(op, x);
    detail::check_same_shape(g, x, op);
    detail::check_same_dtype(g, x, op);
    check_per_channel(op, weight, "weight", x, true);
    check_eps(op, eps);
    check_training_count(op, x, s);
    if (x.dtype() == Dtype::bfloat16)
        return batch_norm_backward(g.to(Dtype::float32), x.to(Dtype::float32), as_float32(weight), eps)
            .to(Dtype::bfloat16);
    return record_input_grad(grad_values(g, x, weight, eps, nullptr, true, false).dx, g, x, weight, eps);
}

Tensor batch_norm_weight_grad(const Tensor& g, const Tensor& x, double eps) {
    constexpr const char* op = "batch_norm_weight_grad";
    check_float(op, g, "g");
    const detail::ChannelLayout s = checked_layout(op, x);
    detail::check_same_shape(g, x, op);
    detail::check_same_dtype(g, x, op);
    check_eps(op, eps);
    check_training_count(op, x, s);
    if (x.dtype() == Dtype::bfloat16)
        return batch_norm_weight_grad(g.to(Dtype::float32), x.to(Dtype::float32), eps).to(Dtype::bfloat16);
    return record_weight_grad(grad_values(g, x, {}, eps, nullptr, false, true).dweight, g, x, eps);
}

void detail::link_batch_norm() {}  // see registry.cpp

}  // namespace rg
