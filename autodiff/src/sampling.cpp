// multinomial and bernoulli: samples from the generator behind rg::rand, by
// inverting each row's cumulative weights. Registered so that the op table
// lists them and the generated tests check their dtype errors; they record
// nothing (a sample has no gradient).
#include <retrograd/sampling.hpp>

#include "op_defs.hpp"
#include "op_references.hpp"

#include <cmath>
#include <vector>

namespace rg {
namespace detail {
void link_sampling();
}  // namespace detail

namespace {

// The first index whose running total of `weights` exceeds u * total.
std::size_t draw(const double* weights, std::size_t count, double total, double u) {
    const double target = u * total;
    double running = 0;
    std::size_t last_positive = 0;
    for (std::size_t k = 0; k < count; ++k) {
        if (weights[k] <= 0) continue;
        running += weights[k];
        last_positive = k;
        if (target < running) return k;
    }
    return last_positive;  // rounding left target at the very top
}

}  // namespace

const OpDef& multinomial_def = define_op(
    {.name = "multinomial",
     .signature = "multinomial(probs, num_samples, replacement = false)",
     .doc = "int64 indices drawn from each row of non-negative weights, with or without replacement (no gradient)",
     .rule = "none: samples are not differentiable",
     .kind = OpKind::nn,
     .call =
         [](const TensorList& v) {
             manual_seed(11);
             return multinomial(v[0], 6, true);
         },
     .samples = {{{Shape{3, 4}}, 0.1, 1.0}},
     .differentiable = {false},
     .bad_shapes = {Shape{2, 3, 4}},
     // Inverse transform sampling of the same uniforms, written out.
     .reference =
         [](const TensorList& v) {
             manual_seed(11);
             const detail::ref::Array p(v[0]), u(rand({3, 6}, {.dtype = Dtype::float64}));
             detail::ref::Array out(Shape{3, 6});
             for (std::size_t r = 0; r < 3; ++r) {
                 const double total = p[{r, 0}] + p[{r, 1}] + p[{r, 2}] + p[{r, 3}];
                 for (std::size_t s = 0; s < 6; ++s) {
                     std::size_t k = 0;
                     for (double cdf = p[{r, 0}]; k < 3 && u[{r, s}] * total >= cdf; cdf += p[{r, ++k}]) {
                     }
                     out[{r, s}] = static_cast<double>(k);
                 }
             }
             return out.tensor();
         }});
Tensor multinomial(const Tensor& probs, std::size_t num_samples, bool replacement) {
    detail::defined_or_fail(probs, "multinomial");
    if (!probs.is_floating())
        fail("multinomial: expected float32 or float64 probabilities, got {}", dtype_name(probs.dtype()));
    if (probs.dim() != 1 && probs.dim() != 2)
        fail("multinomial: expected probabilities (K) or (N, K), got shape {}", shape_str(probs.shape()));
    const std::size_t rows = probs.dim() == 2 ? probs.shape()[0] : 1, k = probs.shape().back();
    if (num_samples == 0) fail("multinomial: num_samples must be positive, got 0");
    if (!replacement && num_samples > k)
        fail("multinomial: cannot draw {} samples without replacement from {} categories", num_samples, k);
    const std::vector<double> weights = probs.detach().to_vector();
    std::vector<double> totals(rows, 0.0);
    for (std::size_t r = 0; r < rows; ++r) {
        std::size_t positive = 0;
        for (std::size_t c = 0; c < k; ++c) {
            const double w = weights[r * k + c];
            if (!std::isfinite(w) || w < 0)
                fail("multinomial: probabilities must be finite and non-negative, got {} in row {}", w, r);
            totals[r] += w;
            positive += w > 0 ? 1 : 0;
        }
        if (totals[r] <= 0) fail("multinomial: row {} of probabilities {} sums to 0", r, shape_str(probs.shape()));
        if (!replacement && positive < num_samples)
            fail("multinomial: row {} has {} non-zero probabilities, fewer than the {} samples to draw without "
                 "replacement",
                 r, positive, num_samples);
    }
    // One uniform per sample, drawn up front: the same seed gives the same samples.
    const std::vector<double> uniforms = rand({rows, num_samples}, {.dtype = Dtype::float64}).to_vector();
    std::vector<double> out(rows * num_samples);
    for (std::size_t r = 0; r < rows; ++r) {
        std::vector<double> row(weights.begin() + static_cast<std::ptrdiff_t>(r * k),
                                weights.begin() + static_cast<std::ptrdiff_t>((r + 1) * k));
        double total = totals[r];
        for (std::size_t s = 0; s < num_samples; ++s) {
            const std::size_t pick = draw(row.data(), k, total, uniforms[r * num_samples + s]);
            out[r * num_samples + s] = static_cast<double>(pick);
            if (!replacement) {  // the drawn category leaves the row
                row[pick] = 0;
                total = 0;
                for (double w : row) total += w;
            }
        }
    }
    const Shape shape = probs.dim() == 2 ? Shape{rows, num_samples} : Shape{num_samples};
    return from_vector(out, shape, {.dtype = Dtype::int64});
}

const OpDef& bernoulli_def = define_op({.name = "bernoulli",
                                        .signature = "bernoulli(p)",
                                        .doc = "1 with probability p, else 0, elementwise, in p's dtype (no gradient)",
                                        .rule = "none: samples are not differentiable",
                                        .kind = OpKind::nn,
                                        .call =
                                            [](const TensorList& v) {
                                                manual_seed(13);
                                                return bernoulli(v[0]);
                                            },
                                        .samples = {{{Shape{3, 5}}, 0.0, 1.0}},
                                        .differentiable = {false},
                                        .reference =
                                            [](const TensorList& v) {
                                                manual_seed(13);
                                                const detail::ref::Array p(v[0]),
                                                    u(rand(v[0].shape(), {.dtype = Dtype::float64}));
                                                detail::ref::Array out(p.shape);
                                                for (std::size_t i = 0; i < out.values.size(); ++i)
                                                    out.values[i] = u.values[i] < p.values[i] ? 1 : 0;
                                                return out.tensor();
                                            }});
Tensor bernoulli(const Tensor& p) {
    detail::defined_or_fail(p, "bernoulli");
    if (!p.is_floating()) fail("bernoulli: expected float32 or float64 probabilities, got {}", dtype_name(p.dtype()));
    std::vector<double> values = p.detach().to_vector();
    for (double v : values)
        if (!(v >= 0 && v <= 1)) fail("bernoulli: probabilities must be in [0, 1], got {}", v);
    const std::vector<double> u = rand(p.shape(), {.dtype = Dtype::float64}).to_vector();
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = u[i] < values[i] ? 1.0 : 0.0;
    return from_vector(values, p.shape(), {.dtype = p.dtype()});
}

void detail::link_sampling() {}  // see registry.cpp

}  // namespace rg
