// Functional dropout, as torch.dropout: nn::Dropout's forward calls it.
#include "op_defs.hpp"
#include "op_references.hpp"

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
             manual_seed(5);
             const detail::ref::Array x(v[0]), u(rand(v[0].shape(), {.dtype = v[0].dtype()}));
             detail::ref::Array out(x.shape);
             for (std::size_t i = 0; i < out.values.size(); ++i)
                 out.values[i] = (u.values[i] < 0.25 ? 0.0 : x.values[i] / 0.75) + x.values[i];
             return out.tensor();
         }});
Tensor dropout(const Tensor& x, double p, bool training) {
    detail::defined_or_fail(x, "dropout");
    if (!x.is_floating()) fail("dropout: expected a float32 or float64 tensor, got {}", dtype_name(x.dtype()));
    if (!(p >= 0.0 && p <= 1.0)) fail("dropout: p must be in [0, 1], got {}", p);
    if (!training || p == 0.0) return x;
    if (p == 1.0) return x * 0.0;
    // The kept elements' scale in the mask itself: one product with x.
    const double scale = 1.0 / (1.0 - p);
    const Tensor mask = detail::map_float(rand_like(x), "dropout", [p, scale](auto u) {
        return u < p ? decltype(u){0} : static_cast<decltype(u)>(scale);
    });
    return x * mask;
}

void detail::link_dropout() {}  // see registry.cpp

}  // namespace rg
