// Losses: each checks its targets, then composes tape ops.
#include "loss_helpers.hpp"

#include <retrograd/composite.hpp>
#include <retrograd/nn/losses.hpp>
#include <retrograd/ops.hpp>

#include <algorithm>
#include <cmath>

namespace rg::nn {

Tensor detail::reduce(const Tensor& loss, Reduction reduction, double scale) {
    Tensor out = reduction == Reduction::mean ? mean(loss) : reduction == Reduction::sum ? sum(loss) : loss;
    return scale == 1.0 ? out : out * scale;
}

void detail::same_shape(const Tensor& input, const Tensor& target, const char* op) {
    if (!input.defined() || !target.defined()) fail("{}: got an undefined tensor", op);
    if (input.shape() != target.shape())
        fail("{}: input has shape {} but target has shape {}; they must match", op, shape_str(input.shape()),
             shape_str(target.shape()));
    if (input.dtype() != target.dtype())
        fail("{}: input is {} but target is {}; convert the target with .to(rg::{})", op, dtype_name(input.dtype()),
             dtype_name(target.dtype()), dtype_name(input.dtype()));
}

namespace {

using detail::reduce;
using detail::same_shape;

void within_unit_interval(const Tensor& t, const char* op, const char* what) {
    const auto values = t.to_vector();
    for (std::size_t i = 0; i < values.size(); ++i)
        if (!(values[i] >= 0.0 && values[i] <= 1.0))
            fail("{}: {} must lie in [0, 1], got {} at flat index {}", op, what, values[i], i);
}

// Class-index targets resolved on the host (they are data, not differentiable):
// the scores made batched, safe gather indices, and each element's weight.
struct ClassTargets {
    Tensor scores;  // (N, C, d...)
    Tensor index;  // int64 (N, 1, d...): the target, 0 where ignored
    Tensor weights;  // (N, d...) in the scores' dtype: weight[target], 0 where ignored
    Tensor kept;  // (N, d...): 1 where the target is not ignored, else 0
    double weight_total = 0.0;  // the mean's divisor
    bool plain = true;  // no class weights and nothing ignored: every element's weight is 1
    bool unbatched = false;
};

Shape without_class_axis(const Shape& scores) {
    Shape out;
    for (std::size_t i = 0; i < scores.size(); ++i)
        if (i != 1) out.push_back(scores[i]);
    return out;
}

Tensor class_weights_along_axis1(const Tensor& weight, std::size_t rank) {
    Shape shape(rank, 1);
    shape[1] = weight.numel();
    return reshape(weight.detach(), shape);
}

void check_weight(const Tensor& weight, const Tensor& scores, std::size_t classes, const char* op) {
    if (!weight.defined()) return;
    if (weight.dim() != 1 || weight.numel() != classes)
        fail("{}: weight has shape {}, expected ({},): one weight per class", op, shape_str(weight.shape()), classes);
    if (weight.dtype() != scores.dtype())
        fail("{}: weight is {} but the scores are {}", op, dtype_name(weight.dtype()), dtype_name(scores.dtype()));
}

ClassTargets class_targets(const Tensor& scores_in, const Tensor& target_in, const Tensor& weight,
                           std::int64_t ignore_index, const char* op) {
    if (!scores_in.defined() || !target_in.defined()) fail("{}: got an undefined tensor", op);
    if (target_in.dtype() != Dtype::int64)
        fail("{}: targets must be int64 class indices, got {}", op, dtype_name(target_in.dtype()));
    if (scores_in.dim() == 0) fail("{}: expected scores of shape (N, C), (N, C, d1, ...) or (C,), got ()", op);
    ClassTargets out;
    out.unbatched = scores_in.dim() == 1;
    out.scores = out.unbatched ? unsqueeze(scores_in, 0) : scores_in;
    const Shape expected = out.unbatched ? Shape{} : without_class_axis(scores_in.shape());
    if (target_in.shape() != expected)
        fail("{}: class indices have shape {}, expected {} for scores {}", op, shape_str(target_in.shape()),
             shape_str(expected), shape_str(scores_in.shape()));
    const std::size_t classes = out.scores.shape()[1];
    check_weight(weight, scores_in, classes, op);
    const auto class_weight = weight.defined() ? weight.to_vector() : std::vector<double>(classes, 1.0);
    const auto& t = target_in.contiguous().value<std::int64_t>();
    const auto count = static_cast<std::size_t>(target_in.numel());
    std::vector<std::int64_t> safe(count, 0);
    std::vector<double> element_weight(count, 0.0), kept(count, 0.0);
    for (std::size_t i = 0; i < count; ++i) {
        const std::int64_t v = t.data()[i];
        if (v == ignore_index) continue;
        if (v < 0 || v >= static_cast<std::int64_t>(classes))
            fail("{}: class index {} at position {} is out of range: expected a value in [0, {}) or ignore_index {}",
                 op, v, i, classes, ignore_index);
        safe[i] = v;
        element_weight[i] = class_weight[static_cast<std::size_t>(v)];
        kept[i] = 1.0;
        out.weight_total += element_weight[i];
    }
    out.plain = !weight.defined() && out.weight_total == static_cast<double>(count);
    Shape per_element = without_class_axis(out.scores.shape());
    Shape index_shape = out.scores.shape();
    index_shape[1] = 1;
    out.index = from_indices(safe, index_shape);
    out.weights = from_vector(element_weight, per_element, {.dtype = scores_in.dtype()});
    out.kept = from_vector(kept, per_element, {.dtype = scores_in.dtype()});
    return out;
}

// The weighted losses' reduction: the mean divides by the weights' sum (0/0,
// NaN, when every target is ignored, as PyTorch).
Tensor reduce_weighted(const Tensor& loss, const ClassTargets& targets, Reduction reduction) {
    switch (reduction) {
        case Reduction::mean: return targets.plain ? mean(loss) : sum(loss) / targets.weight_total;
        case Reduction::sum: return sum(loss);
        case Reduction::none: break;
    }
    return targets.unbatched ? reshape(loss, Shape{}) : loss;
}

// -weight[t] log p[t] per element, 0 where ignored.
// Unweighted with nothing ignored, the ops are the course's: gather, reshape, neg.
Tensor picked_nll(const Tensor& log_p, const ClassTargets& targets) {
    Tensor picked = neg(reshape(gather(log_p, 1, targets.index), targets.weights.shape()));
    return targets.plain ? picked : picked * targets.weights;
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

namespace {

// A weight must broadcast to the logits' shape without growing it.
void check_broadcasts_to(const Tensor& w, const Tensor& x, const char* op, const char* name) {
    if (!w.defined()) return;
    if (w.dtype() != x.dtype())
        fail("{}: {} is {} but the logits are {}", op, name, dtype_name(w.dtype()), dtype_name(x.dtype()));
    bool ok = w.dim() <= x.dim();
    for (std::size_t i = 0; ok && i < w.dim(); ++i) {
        const std::size_t size = w.shape()[w.dim() - 1 - i];
        ok = size == 1 || size == x.shape()[x.dim() - 1 - i];
    }
    if (!ok)
        fail("{}: {} of shape {} does not broadcast to the logits' shape {}", op, name, shape_str(w.shape()),
             shape_str(x.shape()));
}

}  // namespace

Tensor binary_cross_entropy_with_logits(const Tensor& x, const Tensor& target, const BCEWithLogitsOptions& options) {
    const char* op = "binary_cross_entropy_with_logits";
    same_shape(x, target, op);
    within_unit_interval(target, op, "targets");
    check_broadcasts_to(options.weight, x, op, "weight");
    check_broadcasts_to(options.pos_weight, x, op, "pos_weight");
    // log(1 + e^{-x}), stable for any x; its gradient -σ(-x) is exact at 0 too.
    Tensor log_one_plus_exp_neg = softplus(neg(x));
    Tensor positive =
        options.pos_weight.defined() ? (options.pos_weight.detach() - 1.0) * target + 1.0 : ones_like(target);
    Tensor loss = rsub(1.0, target) * x + positive * log_one_plus_exp_neg;
    if (options.weight.defined()) loss = loss * options.weight.detach();
    return reduce(loss, options.reduction, 1.0);
}

Tensor nll_loss(const Tensor& log_p, const Tensor& target, const NLLLossOptions& options) {
    const ClassTargets targets = class_targets(log_p, target, options.weight, options.ignore_index, "nll_loss");
    return reduce_weighted(picked_nll(targets.scores, targets), targets, options.reduction);
}

namespace {

// Float targets: class probabilities of the logits' shape.
Tensor cross_entropy_probabilities(const Tensor& log_p, const Tensor& target, const CrossEntropyOptions& options) {
    const char* op = "cross_entropy";
    same_shape(log_p, target, op);
    within_unit_interval(target, op, "target probabilities");
    const bool unbatched = log_p.dim() == 1;
    const std::size_t classes = log_p.shape()[unbatched ? 0 : 1];
    check_weight(options.weight, log_p, classes, op);
    const double eps = options.label_smoothing;
    Tensor t = eps > 0 ? target * (1.0 - eps) + eps / static_cast<double>(classes) : target;
    Tensor terms = t * log_p;
    if (options.weight.defined())
        terms = terms * (unbatched ? options.weight.detach() : class_weights_along_axis1(options.weight, log_p.dim()));
    Tensor loss = neg(sum(terms, {unbatched ? 0 : 1}));
    // PyTorch's mean here is over the elements, not over the target weights.
    return reduce(loss, options.reduction, 1.0);
}

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& target, CrossEntropyOptions options) {
    if (!(options.label_smoothing >= 0.0 && options.label_smoothing < 1.0))
        fail("cross_entropy: label_smoothing must be in [0, 1), got {}", options.label_smoothing);
    if (!logits.defined() || !target.defined()) fail("cross_entropy: got an undefined tensor");
    if (logits.dim() == 0) fail("cross_entropy: expected logits of shape (N, C), (N, C, d1, ...) or (C,), got ()");
    const int class_axis = logits.dim() == 1 ? 0 : 1;
    const auto classes = logits.shape()[static_cast<std::size_t>(class_axis)];
    const bool indices = target.dtype() == Dtype::int64;
    // The course's result for softmax followed by cross-entropy: dZ = softmax(Z) − Y, over n for the mean.
    CompositeStep step("cross_entropy", "", {{"Z", logits}, {"Y", target}});
    if (step.active()) {
        const bool smoothed = options.label_smoothing > 0;
        const std::string head = smoothed ? "Ỹ" : "{Y}";
        const std::string note = indices ? " ({Y} one-hot)" : "";
        const std::string weighted = options.weight.defined() ? ", each row weighted by weight[{Y}]" : "";
        const std::string tail = smoothed
                                     ? fmt::format(", Ỹ = {:g} {} + {:g} / {}", 1.0 - options.label_smoothing,
                                                   indices ? "onehot({Y})" : "{Y}", options.label_smoothing, classes)
                                     : "";
        // The mean's divisor: the targets' weights, those not ignored, or every position.
        bool ignores = false;
        if (indices && target.numel() > 0)
            for (double v : target.to_vector()) ignores = ignores || v == static_cast<double>(options.ignore_index);
        const std::string divisor = indices && options.weight.defined() ? std::string("Σ weight[{Y}]")
                                    : ignores                           ? std::string("(the targets not ignored)")
                                              : fmt::format("{}", logits.numel() / std::max<std::size_t>(classes, 1));
        switch (options.reduction) {
            case Reduction::mean:
                step.set_rule(fmt::format("d{{Z}} = (softmax({{Z}}) − {}) / {} · d{{C}}{}{}{}", head, divisor, note,
                                          weighted, tail));
                break;
            case Reduction::sum:
                step.set_rule(fmt::format("d{{Z}} = (softmax({{Z}}) − {}) · d{{C}}{}{}{}", head, note, weighted, tail));
                break;
            case Reduction::none:
                step.set_rule(fmt::format("d{{Z}} = (softmax({{Z}}) − {}) ⊙ d{{C}}, row by row{}{}{}", head, note,
                                          weighted, tail));
                break;
        }
    }
    if (!indices) {
        // Labels stored as floats are the usual slip: name the dtype, not the shape.
        if (target.dim() + 1 == logits.dim() && (target.dim() == 0 || target.shape()[0] == logits.shape()[0]))
            fail("cross_entropy: targets of shape {} must be int64 class indices, got {}; convert them with "
                 ".to(rg::int64), or pass class probabilities of shape {}",
                 shape_str(target.shape()), dtype_name(target.dtype()), shape_str(logits.shape()));
        return step.output(cross_entropy_probabilities(log_softmax(logits, class_axis), target, options), "C");
    }
    const ClassTargets targets = class_targets(logits, target, options.weight, options.ignore_index, "cross_entropy");
    Tensor log_p = log_softmax(targets.scores, 1);
    Tensor loss = reduce_weighted(picked_nll(log_p, targets), targets, options.reduction);
    const double eps = options.label_smoothing;
    if (eps > 0) {
        Tensor weighted =
            options.weight.defined() ? log_p * class_weights_along_axis1(options.weight, targets.scores.dim()) : log_p;
        Tensor smooth = neg(sum(weighted, {1}));
        if (!targets.plain) smooth = smooth * targets.kept;
        loss = loss * (1.0 - eps) +
               reduce_weighted(smooth, targets, options.reduction) * (eps / static_cast<double>(classes));
    }
    return step.output(loss, "C");
}

}  // namespace rg::nn
