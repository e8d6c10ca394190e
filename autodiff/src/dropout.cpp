// Functional dropout, as torch.dropout: nn::Dropout's forward calls it.
#include "op_defs.hpp"
#include "op_references.hpp"
#include "kernels/dropout_mask.hpp"
#include "random_bits.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>

namespace rg {

const OpDef& dropout_def = define_op(
    {.name = "dropout",
     .signature = "dropout(x, p, training)",
     .doc = "in training, each element zeroed with probability p and the others scaled by 1 / (1 - p); else x",
     .rule = "composite: x * (scaled random mask)",
     .kind = OpKind::nn,
     // A fixed seed: every call of a gradient check draws the same mask.
     .call =
         [](const TensorList& v) {
             manual_seed(5);
             return dropout(v[0], 0.25, true) + dropout(v[0], 0.5, false);
         },
     .samples = {{{Shape{4, 5}}, -2.0, 2.0}},
     .composite = true,
     .reference =
         [](const TensorList& v) {
             // The generator seeded with 5 is this engine; each of its draws
             // holds two elements' 32-bit draws, the low half first.
             std::mt19937_64 engine(5);
             const detail::ref::Array x(v[0]);
             detail::ref::Array out(x.shape);
             std::uint64_t draw = 0;
             for (std::size_t i = 0; i < out.values.size(); ++i) {
                 if (i % 2 == 0) draw = engine();
                 const double u = static_cast<double>(i % 2 == 0 ? draw & 0xffffffffu : draw >> 32) / 4294967296.0;
                 out.values[i] = (u < 0.25 ? 0.0 : x.values[i] / 0.75) + x.values[i];
             }
             return out.tensor();
         }});

namespace {
// The mask of inverted dropout: 0 where an element is dropped, 1 / (1 - p)
// elsewhere, from 32 random bits per element (kernels/dropout_mask.hpp).
template <class T> Tensor dropout_mask(const Shape& shape, double p) {
    Tensor mask = detail::empty_dense<T>(shape, "dropout");
    T* out = mask.data_ptr<T>();
    // p < 1 here, so the threshold fits in 32 bits.
    const auto threshold = static_cast<std::uint32_t>(std::ldexp(p, 32));
    const auto kept = static_cast<T>(1.0 / (1.0 - p));
    const std::size_t n = mask.numel();
    std::size_t done = 0;
    detail::for_random_u64s((n + 1) / 2, [&](const std::uint64_t* draws, std::size_t count) {
        const std::size_t elements = std::min(2 * count, n - done);
        detail::dropout_mask_from_draws(draws, elements, threshold, kept, out + done);
        done += elements;
    });
    return mask;
}
}  // namespace

Tensor dropout(const Tensor& x, double p, bool training) {
    detail::defined_or_fail(x, "dropout");
    if (!x.is_floating()) fail("dropout: expected a float32 or float64 tensor, got {}", dtype_name(x.dtype()));
    if (!(p >= 0.0 && p <= 1.0)) fail("dropout: p must be in [0, 1], got {}", p);
    if (!training || p == 0.0) return x;
    if (p == 1.0) return x * 0.0;
    // The kept elements' scale in the mask itself: one product with x.
    const Tensor mask =
        x.dtype() == Dtype::float32 ? dropout_mask<float>(x.shape(), p) : dropout_mask<double>(x.shape(), p);
    return x * mask;
}

void detail::link_dropout() {}  // see registry.cpp

}  // namespace rg
