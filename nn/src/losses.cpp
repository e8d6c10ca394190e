// Losses: each checks its targets, then composes tape ops.
#include <retrograd/composite.hpp>
#include <retrograd/nn/losses.hpp>
#include <retrograd/ops.hpp>

#include <cmath>

namespace rg::nn {
namespace {

Tensor reduce(const Tensor& loss, Reduction reduction, double scale) {
    Tensor out = reduction == Reduction::mean ? mean(loss) : reduction == Reduction::sum ? sum(loss) : loss;
    return scale == 1.0 ? out : out * scale;
}

void same_shape(const Tensor& input, const Tensor& target, const char* op) {
    if (!input.defined() || !target.defined()) fail("{}: got an undefined tensor", op);
    if (input.shape() != target.shape())
        fail("{}: input has shape {} but target has shape {}; they must match", op, shape_str(input.shape()),
             shape_str(target.shape()));
    if (input.dtype() != target.dtype())
        fail("{}: input is {} but target is {}; convert the target with .to(rg::{})", op, dtype_name(input.dtype()),
             dtype_name(target.dtype()), dtype_name(input.dtype()));
}

void within_unit_interval(const Tensor& t, const char* op, const char* what) {
    const auto values = t.to_vector();
    for (std::size_t i = 0; i < values.size(); ++i)
        if (!(values[i] >= 0.0 && values[i] <= 1.0))
            fail("{}: {} must lie in [0, 1], got {} at flat index {}", op, what, values[i], i);
}

void check_classes(const Tensor& logits, const Tensor& target, const char* op) {
    if (!logits.defined() || !target.defined()) fail("{}: got an undefined tensor", op);
    if (logits.dim() != 2) fail("{}: expected scores of shape (N, C), got {}", op, shape_str(logits.shape()));
    if (target.dim() != 1 || target.shape()[0] != logits.shape()[0])
        fail("{}: class indices have shape {}, expected ({},) for scores {}", op, shape_str(target.shape()),
             logits.shape()[0], shape_str(logits.shape()));
    const auto classes = static_cast<std::int64_t>(logits.shape()[1]);
    const auto& t = target.value<std::int64_t>();
    for (std::size_t i = 0; i < t.size(); ++i)
        if (t.data()[i] < 0 || t.data()[i] >= classes)
            fail("{}: class index {} at position {} is out of range for {} classes", op, t.data()[i], i, classes);
}

// max(log p, -100), as PyTorch's BCE: p = 0 gives a large finite loss, not
// inf. The masked branch takes log(1) so that no 0/0 reaches the gradient.
Tensor clamped_log(const Tensor& p) {
    Tensor usable = gt(p, std::exp(-100.0));
    return where(usable, log(where(usable, p, ones_like(p))), full_like(p, -100.0));
}

}  // namespace

Tensor mse_loss(const Tensor& input, const Tensor& target, LossOptions options) {
    same_shape(input, target, "mse_loss");
    CompositeStep step("mse_loss", "", {{"X", input}, {"Y", target}});
    if (step.active()) {
        const double n = static_cast<double>(input.numel());
        const double factor = 2.0 * options.scale / (options.reduction == Reduction::mean ? n : 1.0);
        const std::string times = factor == 1.0 ? std::string() : fmt::format("{:g} ", factor);
        step.set_rule(
            options.reduction == Reduction::none
                ? fmt::format("d{{X}} = {:g} ({{X}} − {{Y}}) ⊙ d{{L}}", 2.0 * options.scale)
                : fmt::format("d{{X}} = {}({{X}} − {{Y}}) · d{{L}}{}", times,
                              options.reduction == Reduction::mean
                                  ? fmt::format(" (the mean over {:g} elements: {:g} = 2 / {:g})", n, factor, n)
                                  : std::string()));
    }
    Tensor d = input - target;
    return step.output(reduce(d * d, options.reduction, options.scale), "L");
}

Tensor half_sse(const Tensor& input, const Tensor& target) {
    return mse_loss(input, target, {.reduction = Reduction::sum, .scale = 0.5});
}

Tensor l1_loss(const Tensor& input, const Tensor& target, LossOptions options) {
    same_shape(input, target, "l1_loss");
    return reduce(abs(input - target), options.reduction, options.scale);
}

Tensor binary_cross_entropy(const Tensor& p, const Tensor& target, LossOptions options) {
    same_shape(p, target, "binary_cross_entropy");
    within_unit_interval(p.detach(), "binary_cross_entropy", "probabilities");
    within_unit_interval(target, "binary_cross_entropy", "targets");
    Tensor log_p = clamped_log(p);
    Tensor log_1mp = clamped_log(rsub(1.0, p));
    Tensor loss = neg(target * log_p + rsub(1.0, target) * log_1mp);
    return reduce(loss, options.reduction, options.scale);
}

Tensor binary_cross_entropy_with_logits(const Tensor& x, const Tensor& target, LossOptions options) {
    same_shape(x, target, "binary_cross_entropy_with_logits");
    within_unit_interval(target, "binary_cross_entropy_with_logits", "targets");
    Tensor loss = relu(x) - x * target + softplus(neg(abs(x)));
    return reduce(loss, options.reduction, options.scale);
}

Tensor nll_loss(const Tensor& log_p, const Tensor& target, LossOptions options) {
    if (target.defined() && target.dtype() != Dtype::int64)
        fail("nll_loss: targets must be int64 class indices, got {}", dtype_name(target.dtype()));
    check_classes(log_p, target, "nll_loss");
    Tensor picked = gather(log_p, 1, reshape(target, Shape{target.numel(), 1}));
    return reduce(neg(reshape(picked, Shape{target.numel()})), options.reduction, options.scale);
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, CrossEntropyOptions options) {
    if (!(options.label_smoothing >= 0.0 && options.label_smoothing < 1.0))
        fail("cross_entropy: label_smoothing must be in [0, 1), got {}", options.label_smoothing);
    if (!logits.defined() || !target.defined()) fail("cross_entropy: got an undefined tensor");
    if (logits.dim() != 2) fail("cross_entropy: expected logits of shape (N, C), got {}", shape_str(logits.shape()));
    // The course's result for softmax followed by cross-entropy: dZ = softmax(Z) − Y, over n for the mean.
    CompositeStep step("cross_entropy", "", {{"Z", logits}, {"Y", target}});
    if (step.active()) {
        const bool indices = target.dtype() == Dtype::int64;
        const bool smoothed = options.label_smoothing > 0;
        const std::string head = smoothed ? "Ỹ" : "{Y}";
        const std::string note = indices ? " ({Y} one-hot)" : "";
        const std::string tail =
            smoothed ? fmt::format(", Ỹ = {:g} {} + {:g} / {}", 1.0 - options.label_smoothing,
                                   indices ? "onehot({Y})" : "{Y}", options.label_smoothing, logits.shape()[1])
                     : "";
        switch (options.reduction) {
            case Reduction::mean:
                step.set_rule(fmt::format("d{{Z}} = (softmax({{Z}}) − {}) / {} · d{{C}}{}{}", head, logits.shape()[0],
                                          note, tail));
                break;
            case Reduction::sum:
                step.set_rule(fmt::format("d{{Z}} = (softmax({{Z}}) − {}) · d{{C}}{}{}", head, note, tail));
                break;
            case Reduction::none:
                step.set_rule(fmt::format("d{{Z}} = (softmax({{Z}}) − {}) ⊙ d{{C}}, row by row{}{}", head, note, tail));
                break;
        }
    }
    Tensor log_p = log_softmax(logits, 1);
    const double eps = options.label_smoothing;
    Tensor loss;
    if (target.dtype() == Dtype::int64) {
        check_classes(logits, target, "cross_entropy");
        Tensor picked = reshape(gather(log_p, 1, reshape(target, Shape{target.numel(), 1})), Shape{target.numel()});
        loss = neg(picked);
        if (eps > 0) loss = loss * (1.0 - eps) + neg(mean(log_p, {1})) * eps;
    } else {
        // Float targets are class probabilities (N, C); labels stored as floats are the usual slip.
        if (target.dim() == 1 && target.shape()[0] == logits.shape()[0])
            fail("cross_entropy: targets of shape {} must be int64 class indices, got {}; convert them with "
                 ".to(rg::int64), or pass class probabilities of shape {}",
                 shape_str(target.shape()), dtype_name(target.dtype()), shape_str(logits.shape()));
        same_shape(logits, target, "cross_entropy");
        within_unit_interval(target, "cross_entropy", "target probabilities");
        Tensor t = eps > 0 ? target * (1.0 - eps) + eps / static_cast<double>(logits.shape()[1]) : target;
        loss = neg(sum(t * log_p, {1}));
    }
    return step.output(reduce(loss, options.reduction, 1.0), "C");
}

}  // namespace rg::nn
