// In-place writes into views, recorded as PyTorch records them. A view made
// by a view op keeps its base (the tensor at the root of its chain of views).
// Writing into the view while recording rewrites the base's history: the base
// becomes the result of `copy_slices` over its old history and the view's new
// values (PyTorch's CopySlices), so a gradient reaching the base flows to
// what was written and, outside the view, to what was there before. Any view
// of that storage whose history predates a write is stale: the next time it
// is used, its history is remade as `as_strided` of its base's current
// history (PyTorch regenerates a view's grad_fn the same way).
#include "kernels/gather.hpp"
#include "op_defs.hpp"

#include <algorithm>

namespace rg {
namespace {

// Calls f(position) for every element of t, row-major, with its position in
// the storage (elements from the storage's start).
template <class F> void for_each_position(const TensorImpl& t, F&& f) {
    const std::array<Strides, 1> st{t.strides};
    const auto start = static_cast<std::ptrdiff_t>(t.offset);
    detail::for_each_row(t.shape, st, [&](const auto& off, const auto& inner, std::size_t count) {
        for (std::size_t k = 0; k < count; ++k) f(start + off[0] + static_cast<std::ptrdiff_t>(k) * inner[0]);
    });
}

// For each element of `view` (row-major), the row-major index in `base` of the
// element at the same place in memory: where the view's values sit in the
// base's. Every element of a view is one of its base's.
Tensor base_indices(const TensorImpl& base, const TensorImpl& view, const char* op) {
    Tensor indices = detail::empty_dense(view.shape, Dtype::int64, op, view.numel);
    std::int64_t* out = indices.data_ptr<std::int64_t>();
    std::size_t next = 0;
    if (base.contiguous) {
        const auto first = static_cast<std::ptrdiff_t>(base.offset);
        for_each_position(view, [&](std::ptrdiff_t p) { out[next++] = p - first; });
    } else {
        // A base that is not row-major (a detach()ed transpose): a table from
        // memory positions to its elements, over the span its elements cover.
        std::ptrdiff_t low = static_cast<std::ptrdiff_t>(base.offset), high = low;
        for (std::size_t d = 0; d < base.shape.size() && base.numel > 0; ++d) {
            const std::ptrdiff_t reach = static_cast<std::ptrdiff_t>(base.shape[d] - 1) * base.strides[d];
            (reach < 0 ? low : high) += reach;
        }
        std::vector<std::int64_t> element(base.numel > 0 ? static_cast<std::size_t>(high - low + 1) : 0, -1);
        std::int64_t count = 0;
        for_each_position(base, [&](std::ptrdiff_t p) {
            std::int64_t& slot = element[static_cast<std::size_t>(p - low)];
            if (slot >= 0)
                fail("{}: the base of shape {} (strides ({})) has elements that share memory, so a write through "
                     "its view of shape {} cannot be recorded; clone() the base first",
                     op, shape_str(base.shape), fmt::join(base.strides, ", "), shape_str(view.shape));
            slot = count++;
        });
        for_each_position(view, [&](std::ptrdiff_t p) {
            out[next++] = p >= low && p <= high ? element[static_cast<std::size_t>(p - low)] : -1;
        });
    }
    for (std::size_t k = 0; k < view.numel; ++k)
        if (out[k] < 0 || static_cast<std::size_t>(out[k]) >= base.numel)
            fail("{}: the view of shape {} reaches memory outside its base of shape {}", op, shape_str(view.shape),
                 shape_str(base.shape));
    return indices;
}

// g with the elements at `flat` (row-major indices into g) set to zero.
Tensor zero_at(const Tensor& g, const Tensor& flat) {
    if (needs_grad(g)) {
        // Recorded, for double backward: g - (g's values there, put back there).
        const Tensor g_flat = reshape(g, {-1});
        return g - reshape(scatter_add(gather(g_flat, 0, flat), Shape{g.numel()}, 0, flat), g.shape());
    }
    Tensor out = detail::can_write_into(g) ? g : detail::contiguous_values(g);
    detail::visit_dtype(out.dtype(), [&](auto zero) {
        using T = decltype(zero);
        detail::zero_positions(out.data_ptr<T>(), flat.data_ptr<std::int64_t>(), flat.numel());
        return 0;
    });
    out.impl()->storage->bump_version();
    return out;
}

// A tensor with t's values and geometry, and no history: what a node records as its output before the
// node is moved to the tensor it stands for.
Tensor stand_in(const TensorImpl& t, const Tensor& storage_owner) {
    return detail::make_view(storage_owner, t.shape, t.strides, t.offset);
}

void take_history(TensorImpl& target, const std::shared_ptr<TensorImpl>& target_ptr, const Tensor& recorded) {
    std::shared_ptr<Node> old = std::move(target.grad_fn);
    target.grad_fn = recorded.impl()->grad_fn;
    target.requires_grad = true;
    if (target.has_hooks() || target.retains_grad) target.grad_fn->output = target_ptr;
    detail::release_node(std::move(old));
}

}  // namespace

const OpDef& copy_slices_def = define_op(
    {.name = "copy_slices",
     .signature = "copy_slices(base, src): base.view(...).op_(...) while recording",
     .doc = "the base's new history after an in-place write into one of its views: src (the view's new values) "
            "written into the base (PyTorch's CopySlices)",
     .rule = "dbase = g with the view's elements set to 0; dsrc = g at the view's elements",
     .kind = OpKind::shape,
     .call =
         [](const TensorList& v) {
             Tensor base = v[0] * 1.0;
             base.slice(1, 0, 4, 2).mul_(v[1]);  // reads the old values, writes a strided view
             base.select(0, 2).copy_(v[1].sum());  // a broadcast write into a base that has history
             return base;
         },
     .samples = {{{Shape{3, 4}, Shape{3, 2}}, -2.0, 2.0}}});

const OpDef& as_strided_def =
    define_op({.name = "as_strided",
               .signature = "as_strided(base): a view used after its base was written in place",
               .doc = "a view's history remade from its base's after the base's memory was written in place (PyTorch's "
                      "AsStridedBackward); its elements may repeat (an expanded view)",
               .rule = "dbase = zeros of the base's shape with g added at the view's elements",
               .kind = OpKind::view,
               .call =
                   [](const TensorList& v) {
                       Tensor base = v[0] * 1.0;
                       Tensor row = base.select(0, 1);
                       Tensor spread = base.t().unsqueeze(0).expand({2, 2, 3});  // elements repeat
                       base.mul_(v[0]);  // both views are stale now: their histories are remade
                       return spread * row.sum();
                   },
               .samples = {{{Shape{3, 2}}, -2.0, 2.0}}});

void detail::track_view(TensorImpl& view, const Tensor& x) {
    const TensorImpl& from = *x.impl();
    view.view_base = from.view_base ? from.view_base : x.impl_ptr();
    view.view_made_without_grad = from.view_made_without_grad || !is_grad_enabled();
    view.view_version = view.storage->version();
}

void detail::remake_view_history(const Tensor& view) {
    TensorImpl& v = *view.impl();
    TensorImpl& base = *v.view_base;
    if (base.storage != v.storage) {
        // The base's values were replaced (set_values_): the view no longer
        // reads them, and keeps the history it has.
        v.view_base.reset();
        return;
    }
    if (base.requires_grad) {
        GradMode on(true);  // a view's history is remade whenever it is read, as PyTorch does
        const Tensor flat = reshape(base_indices(base, v, "as_strided"), {-1});
        const Tensor base_tensor(v.view_base);
        const Tensor recorded =
            record(as_strided_def, stand_in(v, base_tensor), {base_tensor}, Saves{},
                   [flat, shape = base.shape](const OpContext&, const Tensor& g) {
                       const Tensor g_flat = reshape(g, {-1});
                       return GradList{reshape(scatter_add(g_flat, Shape{shape_numel(shape)}, 0, flat), shape)};
                   });
        take_history(v, view.impl_ptr(), recorded);
    }
    v.view_version = v.storage->version();
}

void detail::rebase_view_base(const Tensor& view, const Tensor& result) {
    const TensorImpl& v = *view.impl();
    const Tensor base(v.view_base);
    if (!needs_grad(base, result)) return;
    const Tensor flat = reshape(base_indices(*v.view_base, v, "copy_slices"), {-1});
    const Tensor recorded = record(copy_slices_def, stand_in(*v.view_base, base), {base, result}, Saves{},
                                   [flat](const OpContext& c, const Tensor& g) {
                                       Tensor src;
                                       if (c.needs_grad(1))
                                           src = reshape(gather(reshape(g, {-1}), 0, flat), c.input_shape(1));
                                       // After src's values are read: zero_at may write into g.
                                       Tensor old_base = c.needs_grad(0) ? zero_at(g, flat) : Tensor{};
                                       return GradList{old_base, src};
                                   });
    take_history(*v.view_base, v.view_base, recorded);
}

void detail::link_view_history() {}  // see registry.cpp

}  // namespace rg
