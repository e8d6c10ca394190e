// The margin, embedding and likelihood losses of torch.nn, as PyTorch 1.13 computes them, from tape ops.
// Labels and class indices are data: they are checked on the host and enter as constants.
#include "argument_checks.hpp"
#include "loss_helpers.hpp"

#include <retrograd/nn/functional.hpp>
#include <retrograd/nn/losses_margin.hpp>
#include <retrograd/ops.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <string>
#include <vector>

namespace rg::nn {
namespace {

using detail::named_floating_or_fail;

using detail::reduce;

// b must have a's shape and dtype exactly: these losses do not broadcast where PyTorch would.
void matches(const Tensor& a, const char* a_name, const Tensor& b, const char* b_name, const char* op) {
    named_floating_or_fail(a, op, a_name);
    named_floating_or_fail(b, op, b_name);
    if (a.shape() != b.shape())
        fail("{}: {} has shape {} but {} has shape {}; they must match", op, a_name, shape_str(a.shape()), b_name,
             shape_str(b.shape()));
    if (a.dtype() != b.dtype())
        fail("{}: {} is {} but {} is {}; convert {} with .to(rg::{})", op, a_name, dtype_name(a.dtype()), b_name,
             dtype_name(b.dtype()), b_name, dtype_name(a.dtype()));
}

// Scores of a class-index loss: (N, C) or unbatched (C,), C positive (PyTorch refuses an empty class axis too).
void class_scores(const Tensor& x, const char* op) {
    named_floating_or_fail(x, op, "x");
    if ((x.dim() != 1 && x.dim() != 2) || x.shape().back() == 0)
        fail("{}: x has shape {}, expected scores (N, C) or (C,) with C at least 1", op, shape_str(x.shape()));
}

std::vector<std::int64_t> class_indices(const Tensor& target, const char* op) {
    if (!target.defined()) fail("{}: target is an undefined tensor", op);
    if (target.dtype() != Dtype::int64)
        fail("{}: target must be int64 class indices, got {}; convert it with .to(rg::int64)", op,
             dtype_name(target.dtype()));
    return detail::int64_values(target);
}

}  // namespace

Tensor margin_ranking_loss(const Tensor& x1, const Tensor& x2, const Tensor& y, MarginRankingLossOptions options) {
    const char* op = "margin_ranking_loss";
    matches(x1, "x1", x2, "x2", op);
    matches(x1, "x1", y, "y", op);
    return reduce(clamp_min(neg(y) * (x1 - x2) + options.margin, 0.0), options.reduction);
}

Tensor hinge_embedding_loss(const Tensor& x, const Tensor& y, HingeEmbeddingLossOptions options) {
    const char* op = "hinge_embedding_loss";
    matches(x, "x", y, "y", op);
    // PyTorch's two masks: a label other than ±1 passes both terms.
    Tensor dissimilar = where(ne(y, 1.0), clamp_min(rsub(options.margin, x), 0.0), 0.0);
    Tensor similar = where(ne(y, -1.0), x, 0.0);
    return reduce(dissimilar + similar, options.reduction);
}

Tensor soft_margin_loss(const Tensor& x, const Tensor& y, LossOptions options) {
    matches(x, "x", y, "y", "soft_margin_loss");
    return reduce(softplus(neg(x * y)), options.reduction, options.scale);
}

Tensor cosine_embedding_loss(const Tensor& x1, const Tensor& x2, const Tensor& y, CosineEmbeddingLossOptions options) {
    const char* op = "cosine_embedding_loss";
    matches(x1, "x1", x2, "x2", op);
    named_floating_or_fail(y, op, "y");
    if (x1.dim() != 1 && x1.dim() != 2)
        fail("{}: x1 and x2 have shape {}, expected rows (N, D) or one vector (D,)", op, shape_str(x1.shape()));
    const Shape labels = x1.dim() == 2 ? Shape{x1.shape()[0]} : Shape{};
    if (y.shape() != labels)
        fail("{}: y has shape {}, expected {}: one label per {} of x1 {}", op, shape_str(y.shape()), shape_str(labels),
             x1.dim() == 2 ? "row" : "vector", shape_str(x1.shape()));
    if (y.dtype() != x1.dtype())
        fail("{}: x1 is {} but y is {}; convert y with .to(rg::{})", op, dtype_name(x1.dtype()), dtype_name(y.dtype()),
             dtype_name(x1.dtype()));
    // PyTorch's fixed epsilon, added to each squared norm: a zero vector gives cos 0, not 0/0.
    const double squared_norm_floor = 1e-12;
    const int axis = static_cast<int>(x1.dim()) - 1;
    Tensor dot = sum(x1 * x2, {axis});
    Tensor cos = dot / sqrt((sum(x1 * x1, {axis}) + squared_norm_floor) * (sum(x2 * x2, {axis}) + squared_norm_floor));
    Tensor loss =
        where(eq(y, 1.0), rsub(1.0, cos), 0.0) + where(eq(y, -1.0), clamp_min(cos - options.margin, 0.0), 0.0);
    return reduce(loss, options.reduction);
}

Tensor triplet_margin_loss(const Tensor& anchor, const Tensor& positive, const Tensor& negative,
                           TripletMarginLossOptions options) {
    const char* op = "triplet_margin_loss";
    matches(anchor, "anchor", positive, "positive", op);
    matches(anchor, "anchor", negative, "negative", op);
    Tensor loss;
    try {
        Tensor to_positive = pairwise_distance(anchor, positive, options.p, options.eps);
        Tensor to_negative = pairwise_distance(anchor, negative, options.p, options.eps);
        if (options.swap)
            to_negative = minimum(to_negative, pairwise_distance(positive, negative, options.p, options.eps));
        loss = clamp_min(to_positive - to_negative + options.margin, 0.0);
    } catch (const Error& e) {
        // The shapes are checked above: what is left is pairwise_distance refusing p; say which loss asked.
        fail("{}: {}", op, e.what());
    }
    return reduce(loss, options.reduction);
}

Tensor multi_margin_loss(const Tensor& x, const Tensor& target, const MultiMarginLossOptions& options) {
    const char* op = "multi_margin_loss";
    if (options.p != 1 && options.p != 2) fail("{}: p must be 1 or 2, got {}", op, options.p);
    class_scores(x, op);
    const auto classes = static_cast<std::int64_t>(x.shape().back());
    const std::size_t samples = x.dim() == 2 ? x.shape()[0] : 1;
    const auto t = class_indices(target, op);
    // PyTorch's rule: any target of at most one axis holding one index per sample.
    if (target.dim() > 1 || t.size() != samples)
        fail("{}: target has shape {}, expected one class index per sample of x {}: shape ({},){}", op,
             shape_str(target.shape()), shape_str(x.shape()), samples, samples == 1 ? " or ()" : "");
    const Tensor& weight = options.weight;
    if (weight.defined() && (weight.dim() != 1 || weight.shape()[0] != x.shape().back()))
        fail("{}: weight has shape {}, expected ({},): one weight per class", op, shape_str(weight.shape()), classes);
    if (weight.defined() && weight.dtype() != x.dtype())
        fail("{}: weight is {} but x is {}", op, dtype_name(weight.dtype()), dtype_name(x.dtype()));
    const auto class_weight =
        weight.defined() ? weight.to_vector() : std::vector<double>(static_cast<std::size_t>(classes), 1.0);
    // Each term's factor: 0 at the target itself, weight[target] / C elsewhere.
    std::vector<double> factor(samples * static_cast<std::size_t>(classes));
    for (std::size_t n = 0; n < samples; ++n) {
        if (t[n] < 0 || t[n] >= classes)
            fail("{}: class index {} at position {} is out of range: expected a value in [0, {})", op, t[n], n,
                 classes);
        const double per_term = class_weight[static_cast<std::size_t>(t[n])] / static_cast<double>(classes);
        for (std::int64_t j = 0; j < classes; ++j)
            factor[n * static_cast<std::size_t>(classes) + static_cast<std::size_t>(j)] = j == t[n] ? 0.0 : per_term;
    }
    const auto n_rows = static_cast<std::int64_t>(samples);
    Tensor scores = reshape(x, {n_rows, classes});
    Tensor picked = gather(scores, 1, from_indices(t, {n_rows, 1}));
    // PyTorch's kernel counts a term only where it is positive: relu, gradient 0 at the hinge.
    Tensor hinge = relu(scores - picked + options.margin);
    if (options.p == 2) hinge = hinge * hinge;
    Tensor loss = sum(hinge * from_vector(factor, {n_rows, classes}, {.dtype = x.dtype()}), {1});
    if (options.reduction == Reduction::none && target.dim() == 0) return reshape(loss, Shape{});
    return reduce(loss, options.reduction);
}

namespace {

// weight must broadcast to x's shape without growing it.
void broadcasts_to(const Tensor& weight, const Tensor& x, const char* op) {
    if (!weight.defined()) return;
    if (weight.dtype() != x.dtype())
        fail("{}: weight is {} but x is {}", op, dtype_name(weight.dtype()), dtype_name(x.dtype()));
    bool fits = weight.dim() <= x.dim();
    for (std::size_t i = 0; fits && i < weight.dim(); ++i) {
        const std::size_t size = weight.shape()[weight.dim() - 1 - i];
        fits = size == 1 || size == x.shape()[x.dim() - 1 - i];
    }
    if (!fits)
        fail("{}: weight of shape {} does not broadcast to x's shape {}", op, shape_str(weight.shape()),
             shape_str(x.shape()));
}

}  // namespace

Tensor multilabel_soft_margin_loss(const Tensor& x, const Tensor& y, const MultiLabelSoftMarginLossOptions& options) {
    const char* op = "multilabel_soft_margin_loss";
    matches(x, "x", y, "y", op);
    if (x.dim() == 0) fail("{}: x is 0-D, expected scores (..., C) with the classes on the last axis", op);
    broadcasts_to(options.weight, x, op);
    Tensor loss = neg(y * logsigmoid(x) + rsub(1.0, y) * logsigmoid(neg(x)));
    if (options.weight.defined()) loss = loss * options.weight.detach();
    const int class_axis = static_cast<int>(x.dim()) - 1;
    return reduce(sum(loss, {class_axis}) / static_cast<double>(x.shape().back()), options.reduction);
}

Tensor multilabel_margin_loss(const Tensor& x, const Tensor& target, LossOptions options) {
    const char* op = "multilabel_margin_loss";
    class_scores(x, op);
    const auto t = class_indices(target, op);
    if (target.shape() != x.shape())
        fail("{}: target has shape {} but x has shape {}; they must match (pad each row's classes with -1)", op,
             shape_str(target.shape()), shape_str(x.shape()));
    const std::size_t classes = x.shape().back();
    const std::size_t samples = x.dim() == 2 ? x.shape()[0] : 1;
    // PyTorch checks every value, those after the terminating -1 too.
    for (std::size_t i = 0; i < t.size(); ++i)
        if (t[i] < -1 || t[i] >= static_cast<std::int64_t>(classes))
            fail("{}: target value {} at position {} is out of range: expected a class in [0, {}) or -1 to end "
                 "the row",
                 op, t[i], i, classes);
    // Row n's listed classes (before its first -1), padded to the longest list with class 0 of factor 0.
    std::vector<std::size_t> listed(samples, 0);
    for (std::size_t n = 0; n < samples; ++n)
        while (listed[n] < classes && t[n * classes + listed[n]] >= 0) ++listed[n];
    std::size_t longest = 1;  // at least 1, so that an empty batch or no listed class still makes (N, 1) indices
    for (std::size_t count : listed) longest = std::max(longest, count);
    std::vector<std::int64_t> chosen(samples * longest, 0);
    std::vector<double> is_listed(samples * longest, 0.0), not_target(samples * classes, 1.0);
    for (std::size_t n = 0; n < samples; ++n)
        for (std::size_t k = 0; k < listed[n]; ++k) {
            const std::int64_t c = t[n * classes + k];
            chosen[n * longest + k] = c;
            is_listed[n * longest + k] = 1.0;
            not_target[n * classes + static_cast<std::size_t>(c)] = 0.0;
        }
    const auto rows = static_cast<std::int64_t>(samples);
    const auto width = static_cast<std::int64_t>(classes);
    const auto depth = static_cast<std::int64_t>(longest);
    Tensor scores = reshape(x, {rows, width});
    Tensor picked = gather(scores, 1, from_indices(chosen, {rows, depth}));
    // (N, K, C): 1 - x[listed k] + x[i]; PyTorch counts only positive terms.
    Tensor hinge = relu(rsub(1.0, unsqueeze(picked, 2)) + unsqueeze(scores, 1));
    Tensor pairs = from_vector(is_listed, {rows, depth, 1}, {.dtype = x.dtype()}) *
                   from_vector(not_target, {rows, 1, width}, {.dtype = x.dtype()});
    Tensor loss = sum(hinge * pairs, {1, 2}) / static_cast<double>(classes);
    if (x.dim() == 1) loss = reshape(loss, Shape{});
    return reduce(loss, options.reduction, options.scale);
}

Tensor poisson_nll_loss(const Tensor& input, const Tensor& target, PoissonNLLLossOptions options) {
    matches(input, "input", target, "target", "poisson_nll_loss");
    Tensor loss = options.log_input ? exp(input) - target * input : input - target * log(input + options.eps);
    if (options.full) {
        // Stirling's log(t!) only where t > 1, as PyTorch; the masked log reads log(1), so t = 0 gives
        // no 0 · (-inf) in the value nor the gradient.
        Tensor counted = gt(target, 1.0);
        Tensor t = where(counted, target, 1.0);
        Tensor stirling = t * log(t) - t + log(t * (2 * std::numbers::pi)) * 0.5;
        loss = loss + where(counted, stirling, 0.0);
    }
    return reduce(loss, options.reduction);
}

Tensor gaussian_nll_loss(const Tensor& input, const Tensor& target, const Tensor& var, GaussianNLLLossOptions options) {
    const char* op = "gaussian_nll_loss";
    matches(input, "input", target, "target", op);
    named_floating_or_fail(var, op, "var");
    if (var.dtype() != input.dtype())
        fail("{}: input is {} but var is {}; convert var with .to(rg::{})", op, dtype_name(input.dtype()),
             dtype_name(var.dtype()), dtype_name(input.dtype()));
    // PyTorch 1.13's three shapes: input's; input's without its last axis (one variance per row);
    // or that with a last axis of 1.
    const Shape& shape = input.shape();
    const Shape rows = shape.empty() ? Shape{} : Shape(shape.begin(), shape.end() - 1);
    Tensor v = var;
    if (var.shape() != shape) {
        if (var.shape() == rows) {
            v = unsqueeze(var, -1);
        } else if (var.dim() == 0 || var.shape().back() != 1 ||
                   Shape(var.shape().begin(), var.shape().end() - 1) != rows) {
            Shape one = rows;
            one.push_back(1);
            fail("{}: var has shape {}, expected input's shape {}, {} or {}: one variance per element or per row", op,
                 shape_str(var.shape()), shape_str(shape), shape_str(rows), shape_str(one));
        }
    }
    const auto values = var.to_vector();
    for (std::size_t i = 0; i < values.size(); ++i)
        if (values[i] < 0) fail("{}: var must be at least 0, got {} at flat index {}", op, values[i], i);
    // PyTorch clamps a copy in place under no_grad: the floor moves the value, the gradient stays var's.
    Tensor floored = v + (clamp_min(v.detach(), options.eps) - v.detach());
    Tensor d = input - target;
    Tensor loss = (log(floored) + d * d / floored) * 0.5;
    if (options.full) loss = loss + 0.5 * std::log(2 * std::numbers::pi);
    return reduce(loss, options.reduction);
}

}  // namespace rg::nn
