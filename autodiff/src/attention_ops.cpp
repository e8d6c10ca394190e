// scaled_dot_product_attention, as torch.nn.functional's (PyTorch 2.x): a
// composite of registered ops (a gemm on the heads' strided views, a
// max-shifted softmax, a gemm with v), so its gradient at every order is theirs.
#include <retrograd/attention.hpp>

#include "op_defs.hpp"
#include "op_references.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace rg {
namespace detail {
void link_attention_ops();
}  // namespace detail
namespace {

constexpr const char* sdpa = "scaled_dot_product_attention";
constexpr double neg_inf = -std::numeric_limits<double>::infinity();

// The batch axes (all but the last two) of a and b broadcast.
bool batches_broadcast(const Shape& a, const Shape& b) {
    for (std::size_t i = 0; i + 2 < a.size(); ++i)
        if (a[i] != b[i] && a[i] != 1 && b[i] != 1) return false;
    return true;
}

void check_inputs(const Tensor& q, const Tensor& k, const Tensor& v) {
    for (const Tensor* t : {&q, &k, &v}) {
        detail::defined_or_fail(*t, sdpa);
        if (!t->is_floating()) fail("{}: expected float32 or float64 q, k and v, got {}", sdpa, dtype_name(t->dtype()));
    }
    if (k.dtype() != q.dtype() || v.dtype() != q.dtype())
        fail("{}: q, k and v of dtypes {}, {} and {}; expected one dtype", sdpa, dtype_name(q.dtype()),
             dtype_name(k.dtype()), dtype_name(v.dtype()));
    const Shape &qs = q.shape(), &ks = k.shape(), &vs = v.shape();
    const bool ranks = qs.size() >= 2 && ks.size() == qs.size() && vs.size() == qs.size();
    const std::size_t r = qs.size();
    if (!ranks || qs[r - 1] != ks[r - 1] || ks[r - 2] != vs[r - 2] || !batches_broadcast(qs, ks) ||
        !batches_broadcast(qs, vs) || !batches_broadcast(ks, vs))
        fail("{}: q {}, k {} and v {}; expected (..., L, E), (..., S, E) and (..., S, Ev) of one rank, "
             "batch axes that broadcast",
             sdpa, shape_str(qs), shape_str(ks), shape_str(vs));
}

// The shape of the scores, (..., L, S), over the broadcast batch axes.
Shape scores_shape(const Tensor& q, const Tensor& k, const Tensor& v) {
    Shape s = q.shape();
    const std::size_t r = s.size();
    for (std::size_t i = 0; i + 2 < r; ++i) s[i] = std::max({s[i], k.shape()[i], v.shape()[i]});
    s[r - 1] = k.shape()[r - 2];
    return s;
}

void check_mask(const Tensor& mask, const Tensor& q, const Shape& scores) {
    if (mask.dtype() != Dtype::bool_ && mask.dtype() != q.dtype())
        fail("{}: attn_mask of dtype {}; expected bool (true: take part) or {}, the dtype of q", sdpa,
             dtype_name(mask.dtype()), dtype_name(q.dtype()));
    const Shape& m = mask.shape();
    bool fits = m.size() <= scores.size();
    for (std::size_t i = 0; fits && i < m.size(); ++i) {
        const std::size_t d = scores[scores.size() - m.size() + i];
        fits = m[i] == d || m[i] == 1;
    }
    if (!fits)
        fail("{}: attn_mask of shape {} does not broadcast to the scores' shape {} (..., L, S)", sdpa, shape_str(m),
             shape_str(scores));
}

// true on and below the diagonal of an (L, S) matrix: query i sees keys 0..i.
Tensor causal_mask(std::size_t l, std::size_t s) {
    std::vector<double> keep(l * s);
    for (std::size_t i = 0; i < l; ++i)
        for (std::size_t j = 0; j < s; ++j) keep[i * s + j] = j <= i ? 1.0 : 0.0;
    return gt(from_vector(keep, {static_cast<std::int64_t>(l), static_cast<std::int64_t>(s)}), 0.5);
}

// A fixed bool mask for the tests' (3, 5) scores: row 1 takes no key at all.
Tensor sample_mask() { return gt(from_vector({1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 1}, {3, 5}), 0.5); }

// The tests' calls: without a mask, causal, with a bool mask and a scale;
// with a fourth input, that float mask.
Tensor sample_call(const TensorList& v) {
    if (v.size() == 4) return scaled_dot_product_attention(v[0], v[1], v[2], v[3]);
    if (v[0].dim() != 3) return scaled_dot_product_attention(v[0], v[1], v[2]);
    return concat({reshape(scaled_dot_product_attention(v[0], v[1], v[2]), {-1}),
                   reshape(scaled_dot_product_attention(v[0], v[1], v[2], {}, 0.0, true), {-1}),
                   reshape(scaled_dot_product_attention(v[0], v[1], v[2], sample_mask(), 0.0, false, 0.5), {-1})});
}

// Index into a tensor of shape `shape` at the trailing-aligned, broadcast index `at`.
double at_broadcast(const detail::ref::Array& a, const detail::ref::Index& at) {
    detail::ref::Index index(a.shape.size());
    const std::size_t offset = at.size() - a.shape.size();
    for (std::size_t d = 0; d < a.shape.size(); ++d) index[d] = a.shape[d] == 1 ? 0 : at[offset + d];
    return a[index];
}

// Attention in plain loops: per row, scores, -inf where masked out, a shifted
// exponential, the weighted sum of v's rows; a row with no key left is zeros.
Tensor reference_attention(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in, const Tensor& mask_in,
                           bool causal, double scale) {
    using detail::ref::Array;
    using detail::ref::Index;
    const Array q(q_in), k(k_in), v(v_in);
    const bool has_mask = mask_in.defined();
    const bool bool_mask = has_mask && mask_in.dtype() == Dtype::bool_;
    const Array mask(has_mask ? mask_in.to(Dtype::float64) : zeros({}, {.dtype = Dtype::float64}));
    const std::size_t r = q.shape.size(), e = q.shape[r - 1], ev = v.shape[r - 1];
    Shape out_shape = scores_shape(q_in, k_in, v_in);
    const std::size_t s = out_shape[r - 1];
    out_shape[r - 1] = ev;
    Array out(out_shape);
    Shape rows = out_shape;
    rows[r - 1] = 1;
    detail::ref::for_each_index(rows, [&](const Index& row) {
        std::vector<double> score(s, neg_inf);
        double top = neg_inf;
        for (std::size_t j = 0; j < s; ++j) {
            Index qi = row, ki = row, mi = row;
            ki[r - 2] = j;
            mi[r - 1] = j;
            double dot = 0.0;
            for (std::size_t c = 0; c < e; ++c) {
                qi[r - 1] = c;
                ki[r - 1] = c;
                dot += at_broadcast(q, qi) * at_broadcast(k, ki);
            }
            double value = dot * scale;
            if (causal && j > row[r - 2]) value = neg_inf;
            if (has_mask) {
                const double m = at_broadcast(mask, mi);
                value = bool_mask ? (m != 0.0 ? value : neg_inf) : value + m;
            }
            score[j] = value;
            top = std::max(top, value);
        }
        if (top == neg_inf) return;  // no key left: zeros, as PyTorch 2.5's math path
        double total = 0.0;
        for (double& x : score) total += (x = std::exp(x - top));
        for (std::size_t c = 0; c < ev; ++c) {
            double sum = 0.0;
            for (std::size_t j = 0; j < s; ++j) {
                Index vi = row;
                vi[r - 2] = j;
                vi[r - 1] = c;
                sum += score[j] / total * at_broadcast(v, vi);
            }
            Index oi = row;
            oi[r - 1] = c;
            out[oi] = sum;
        }
    });
    return out.tensor();
}

Tensor sample_reference(const TensorList& v) {
    const auto scale = [&](double given) {
        return given > 0 ? given : 1.0 / std::sqrt(static_cast<double>(v[0].shape().back()));
    };
    if (v.size() == 4) return reference_attention(v[0], v[1], v[2], v[3], false, scale(0));
    if (v[0].dim() != 3) return reference_attention(v[0], v[1], v[2], {}, false, scale(0));
    return concat({reshape(reference_attention(v[0], v[1], v[2], {}, false, scale(0)), {-1}),
                   reshape(reference_attention(v[0], v[1], v[2], {}, true, scale(0)), {-1}),
                   reshape(reference_attention(v[0], v[1], v[2], sample_mask(), false, 0.5), {-1})});
}

}  // namespace

const OpDef& scaled_dot_product_attention_def = define_op(
    {.name = sdpa,
     .signature = "scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal, scale)",
     .doc = "softmax(q kᵀ · scale + mask) v over (..., L, E), (..., S, E), (..., S, Ev); bool mask: true takes part",
     .rule = "composite: gemm(q, kᵀ), masked_fill or add the mask, softmax, dropout, gemm with v",
     .kind = OpKind::nn,
     .call = sample_call,
     .samples = {{{Shape{2, 3, 4}, Shape{2, 5, 4}, Shape{2, 5, 6}}, -2.0, 2.0},
                 {{Shape{2, 3, 4}, Shape{2, 5, 4}, Shape{2, 5, 6}, Shape{3, 5}}, -2.0, 2.0},
                 {{Shape{2, 2, 3, 4}, Shape{2, 1, 4, 4}, Shape{1, 2, 4, 3}}, -2.0, 2.0}},
     .composite = true,
     .bad_shapes = {Shape{2, 3, 4}, Shape{2, 5, 3}, Shape{2, 5, 6}},
     .reference = sample_reference});

std::pair<Tensor, Tensor> detail::attention_with_weights(const Tensor& q, const Tensor& k, const Tensor& v,
                                                         const Tensor& attn_mask, double dropout_p, bool is_causal,
                                                         std::optional<double> scale) {
    check_inputs(q, k, v);
    const Shape scores_at = scores_shape(q, k, v);
    const std::size_t r = scores_at.size(), l = scores_at[r - 2], s = scores_at[r - 1];
    if (attn_mask.defined()) {
        if (is_causal)
            fail("{}: both attn_mask and is_causal given; expected one of them (a causal mask is is_causal alone)",
                 sdpa);
        check_mask(attn_mask, q, scores_at);
    }
    if (!(dropout_p >= 0.0 && dropout_p <= 1.0)) fail("{}: dropout_p must be in [0, 1], got {}", sdpa, dropout_p);
    const double factor = scale.value_or(1.0 / std::sqrt(static_cast<double>(q.shape().back())));
    if (!std::isfinite(factor)) fail("{}: scale must be finite, got {}", sdpa, factor);

    // kᵀ is read through gemm's transpose flag: the heads' strided views are never copied.
    Tensor scores = gemm(q, k, false, true) * factor;
    Tensor weights;
    const Tensor keep = is_causal ? causal_mask(l, s) : attn_mask;
    if (keep.defined()) {
        scores = keep.dtype() == Dtype::bool_ ? masked_fill(scores, logical_not(keep), neg_inf) : scores + keep;
        // A row left with no key (every score -inf) gives zeros, as PyTorch
        // 2.5's math path, rather than 0/0: its scores are set to 0 before the
        // softmax (so no NaN reaches the gradient) and its weights to 0 after.
        const Tensor dead = all(eq(scores.detach(), neg_inf), {-1}, true);
        if (any(dead).item() != 0.0) weights = masked_fill(softmax(masked_fill(scores, dead, 0.0), -1), dead, 0.0);
    }
    if (!weights.defined()) weights = softmax(scores, -1);
    weights = dropout(weights, dropout_p, true);
    return {gemm(weights, v, false, false), weights};
}

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& attn_mask,
                                    double dropout_p, bool is_causal, std::optional<double> scale) {
    return detail::attention_with_weights(q, k, v, attn_mask, dropout_p, is_causal, scale).first;
}

void detail::link_attention_ops() {}  // see registry.cpp

}  // namespace rg
