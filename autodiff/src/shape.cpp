// Shape ops that copy: indexing, gathering, concatenation, padding (the view
// ops are in views.cpp). Each VJP is the op's mirror (index_add, scatter_add,
// slice...).
#include "kernels/copy.hpp"
#include "kernels/gather.hpp"
#include "op_defs.hpp"

#include <algorithm>

namespace rg {
namespace {

// Calls f(Dense<T>) with t's values, for every dtype (shape ops carry labels too).
template <class F> Tensor visit_any(const Tensor& t, const char* op, F&& f) {
    detail::defined_or_fail(t, op);
    return detail::visit_dtype(t.dtype(), op, [&](auto zero) { return f(detail::Dense<decltype(zero)>(t)); });
}

Tensor check_indices(const Tensor& indices, std::size_t size, const char* op, int axis) {
    detail::defined_or_fail(indices, op);
    if (indices.dtype() != Dtype::int64)
        fail("{}: indices must be an int64 tensor, got {}", op, dtype_name(indices.dtype()));
    if (const auto bad = detail::index_out_of_range(detail::Dense<std::int64_t>(indices), size))
        fail("{}: index {} out of range for axis {} of size {}", op, *bad, axis, size);
    return indices;
}

}  // namespace

// ---- indexing -------------------------------------------------------------------------------

const OpDef& index_select_def =
    define_op({.name = "index_select",
               .signature = "index_select(x, axis, indices)",
               .doc = "entries along an axis picked by int64 indices; repeats allowed",
               .rule = "dx = zeros of x's shape with g added at the indices (repeats add up)",
               .kind = OpKind::shape,
               .call =
                   [](const TensorList& v) {
                       return index_select(v[0], 1, from_indices({2, 0, 2}));
                   },
               .samples = {{{Shape{2, 3}}, -2.0, 2.0}},
               .accepts_int64 = true});
Tensor index_select(const Tensor& x, int axis, const Tensor& indices) {
    detail::defined_or_fail(x, "index_select");
    const std::size_t ax = normalize_axis(axis, x.dim(), "index_select");
    check_indices(indices, x.shape()[ax], "index_select", axis);
    if (indices.dim() != 1) fail("index_select: indices must be 1-D, got shape {}", shape_str(indices.shape()));
    const detail::Dense<std::int64_t> idx(indices);
    Shape shape = x.shape();
    shape[ax] = idx.size();
    const detail::AxisSplit in = detail::split_at(x.shape(), ax);
    Tensor out = visit_any(x, "index_select", [&](const auto& a) {
        using T = typename std::decay_t<decltype(a)>::value_type;
        Tensor result = detail::empty_dense<T>(shape, "index_select");
        detail::select_along(a.data(), in, idx.data(), idx.size(), result.data_ptr<T>());
        return result;
    });
    if (!needs_grad(x)) return out;
    return record(index_select_def, out, {x}, {.tensors = {indices}}, [axis](const OpContext& c, const Tensor& g) {
        return GradList{index_add(g, c.input_shape(0), axis, c.saved(0))};
    });
}

const OpDef& index_add_def = define_op({.name = "index_add",
                                        .signature = "index_add(source, shape, axis, indices)",
                                        .doc = "adds source into zeros of `shape` at the indices (index_select's VJP)",
                                        .rule = "dx = g selected at the indices",
                                        .kind = OpKind::backward,
                                        .call =
                                            [](const TensorList& v) {
                                                return index_add(v[0], Shape{2, 3}, 1, from_indices({2, 0, 2}));
                                            },
                                        .samples = {{{Shape{2, 3}}, -2.0, 2.0}}});
Tensor index_add(const Tensor& source, const Shape& shape, int axis, const Tensor& indices) {
    detail::defined_or_fail(source, "index_add");
    const std::size_t ax = normalize_axis(axis, shape.size(), "index_add");
    check_indices(indices, shape[ax], "index_add", axis);
    const detail::Dense<std::int64_t> idx(indices);
    Shape expected = shape;
    expected[ax] = idx.size();
    if (indices.dim() != 1 || source.shape() != expected)
        fail("index_add: source has shape {} and indices {}, expected source {} and 1-D indices",
             shape_str(source.shape()), shape_str(indices.shape()), shape_str(expected));
    const detail::AxisSplit out_split = detail::split_at(shape, ax);
    Tensor out = detail::visit_float(source, "index_add", [&](const auto& a) {
        using T = typename std::decay_t<decltype(a)>::value_type;
        Tensor result = detail::empty_dense<T>(shape, "index_add");
        detail::add_along(a.data(), out_split, idx.data(), idx.size(), result.data_ptr<T>());
        return result;
    });
    if (!needs_grad(source)) return out;
    return record(index_add_def, out, {source}, {.tensors = {indices}},
                  [axis](const OpContext& c, const Tensor& g) { return GradList{index_select(g, axis, c.saved(0))}; });
}

namespace {
// The index of gather and scatter_add: int64, of x's rank, no larger than x
// off `ax`, and within x's size along `ax`.
detail::Dense<std::int64_t> gather_index(const Shape& x_shape, const Tensor& index, std::size_t ax, const char* op) {
    detail::Dense<std::int64_t> idx(index);
    if (idx.shape().size() != x_shape.size())
        fail("{}: index has rank {}, expected the rank of the input, {}", op, idx.shape().size(), x_shape.size());
    for (std::size_t d = 0; d < x_shape.size(); ++d)
        if (d != ax && idx.shape()[d] > x_shape[d])
            fail("{}: index shape {} exceeds the input shape {} at axis {}", op, shape_str(idx.shape()),
                 shape_str(x_shape), d);
    check_indices(index, x_shape[ax], op, static_cast<int>(ax));
    return idx;
}
}  // namespace

const OpDef& gather_def = define_op({.name = "gather",
                                     .signature = "gather(x, axis, index)",
                                     .doc = "out[i][j] = x[i][index[i][j]] along an axis (torch.gather)",
                                     .rule = "dx = zeros of x's shape with g added at the index (repeats add up)",
                                     .kind = OpKind::shape,
                                     .call =
                                         [](const TensorList& v) {
                                             return gather(v[0], 1, from_indices({0, 2, 1, 1}, {2, 2}));
                                         },
                                     .samples = {{{Shape{2, 3}}, -2.0, 2.0}}});
Tensor gather(const Tensor& x, int axis, const Tensor& index) {
    detail::defined_or_fail(x, "gather");
    detail::defined_or_fail(index, "gather");
    const std::size_t ax = normalize_axis(axis, x.dim(), "gather");
    if (index.dtype() != Dtype::int64) fail("gather: index must be an int64 tensor, got {}", dtype_name(index.dtype()));
    Tensor out = detail::visit_float(x, "gather", [&](const auto& a) {
        using T = typename std::decay_t<decltype(a)>::value_type;
        Tensor result = detail::empty_dense<T>(index.shape(), "gather");
        detail::gather_values(a.data(), x.shape(), gather_index(x.shape(), index, ax, "gather"), ax,
                              result.data_ptr<T>());
        return result;
    });
    if (!needs_grad(x)) return out;
    return record(gather_def, out, {x}, {.tensors = {index}}, [axis](const OpContext& c, const Tensor& g) {
        return GradList{scatter_add(g, c.input_shape(0), axis, c.saved(0))};
    });
}

const OpDef& scatter_add_def =
    define_op({.name = "scatter_add",
               .signature = "scatter_add(source, shape, axis, index)",
               .doc = "adds source into zeros of `shape` at index (gather's VJP)",
               .rule = "dx = g gathered at the index",
               .kind = OpKind::backward,
               .call =
                   [](const TensorList& v) {
                       return scatter_add(v[0], Shape{2, 3}, 1, from_indices({0, 2, 1, 1}, {2, 2}));
                   },
               .samples = {{{Shape{2, 2}}, -2.0, 2.0}}});
Tensor scatter_add(const Tensor& source, const Shape& shape, int axis, const Tensor& index) {
    detail::defined_or_fail(source, "scatter_add");
    detail::defined_or_fail(index, "scatter_add");
    const std::size_t ax = normalize_axis(axis, shape.size(), "scatter_add");
    if (index.dtype() != Dtype::int64 || source.shape() != index.shape())
        fail("scatter_add: source {} and index {} ({}) must have the same shape, index int64",
             shape_str(source.shape()), shape_str(index.shape()), dtype_name(index.dtype()));
    Tensor out = detail::visit_float(source, "scatter_add", [&](const auto& a) {
        using T = typename std::decay_t<decltype(a)>::value_type;
        Tensor result = detail::empty_dense<T>(shape, "scatter_add");
        detail::scatter_add_values(a.data(), shape, gather_index(shape, index, ax, "scatter_add"), ax,
                                   result.data_ptr<T>());
        return result;
    });
    if (!needs_grad(source)) return out;
    return record(scatter_add_def, out, {source}, {.tensors = {index}},
                  [axis](const OpContext& c, const Tensor& g) { return GradList{gather(g, axis, c.saved(0))}; });
}

// ---- joining and padding ------------------------------------------------------------------------

const OpDef& concat_def = define_op({.name = "concat",
                                     .signature = "concat(tensors, axis = 0)",
                                     .doc = "tensors joined along an axis",
                                     .rule = "each input gets its own slice of g",
                                     .kind = OpKind::shape,
                                     .call =
                                         [](const TensorList& v) {
                                             return concat({v[0], v[1]}, 1);
                                         },
                                     .samples = {{{Shape{2, 3}, Shape{2, 1}}, -2.0, 2.0}},
                                     .accepts_int64 = true,
                                     .bad_shapes = {Shape{2, 3}, Shape{3, 1}}});
Tensor concat(const TensorList& tensors, int axis) {
    if (tensors.empty()) fail("concat: got no tensors");
    const Tensor& first = detail::defined_or_fail(tensors[0], "concat");
    const std::size_t ax = normalize_axis(axis, first.dim(), "concat");
    Shape shape = first.shape();
    shape[ax] = 0;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        const Tensor& t = detail::defined_or_fail(tensors[i], "concat");
        detail::check_same_dtype(first, t, "concat");
        bool compatible = t.dim() == first.dim();
        for (std::size_t d = 0; compatible && d < t.dim(); ++d)
            compatible = d == ax || t.shape()[d] == first.shape()[d];
        if (!compatible)
            fail("concat: tensor {} has shape {}, incompatible with {} along axis {}", i, shape_str(t.shape()),
                 shape_str(first.shape()), axis);
        shape[ax] += t.shape()[ax];
    }
    const detail::AxisSplit out_split = detail::split_at(shape, ax);
    Tensor out = visit_any(first, "concat", [&](const auto& a0) {
        using T = typename std::decay_t<decltype(a0)>::value_type;
        Tensor result = detail::empty_dense<T>(shape, "concat");
        detail::concat_values<T>(tensors, out_split, ax, result.data_ptr<T>());
        return result;
    });
    if (!needs_grad(tensors)) return out;
    // Each input's slice of g, from the sizes its edge recorded.
    return record(concat_def, out, tensors, {}, [ax](const OpContext& c, const Tensor& g) {
        GradList grads;
        const int axis = static_cast<int>(ax);
        std::int64_t offset = 0;
        for (std::size_t i = 0; i < c.inputs(); ++i) {
            const auto size = static_cast<std::int64_t>(c.input_shape(i)[ax]);
            grads.push_back(c.needs_grad(i) ? slice(g, axis, offset, offset + size) : Tensor{});
            offset += size;
        }
        return grads;
    });
}

const OpDef& stack_def = define_op({.name = "stack",
                                    .signature = "stack(tensors, axis = 0)",
                                    .doc = "tensors of one shape stacked along a new axis",
                                    .rule = "composite: concat of unsqueezed tensors",
                                    .kind = OpKind::shape,
                                    .call =
                                        [](const TensorList& v) {
                                            return stack({v[0], v[1]}, 1);
                                        },
                                    .samples = {{{Shape{2, 3}, Shape{2, 3}}, -2.0, 2.0}},
                                    .composite = true,
                                    .accepts_int64 = true,
                                    .bad_shapes = {Shape{2, 3}, Shape{3, 2}}});
Tensor stack(const TensorList& tensors, int axis) {
    if (tensors.empty()) fail("stack: got no tensors");
    TensorList expanded;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        const Tensor& t = detail::defined_or_fail(tensors[i], "stack");
        if (t.shape() != tensors[0].shape())
            fail("stack: tensor {} has shape {}, expected {} like tensor 0", i, shape_str(t.shape()),
                 shape_str(tensors[0].shape()));
        expanded.push_back(unsqueeze(t, axis));
    }
    return concat(expanded, axis);
}

const OpDef& pad_def =
    define_op({.name = "pad",
               .signature = "pad(x, pads, value = 0)",
               .doc = "constant padding in torch.nn.functional.pad's order: pads = {left, right, top, bottom, ...} "
                      "from the last axis back; a negative amount crops",
               .rule = "dx = pad(g, -pads): g without the padding, zeros where x was cropped",
               .kind = OpKind::shape,
               .call =
                   [](const TensorList& v) {
                       // Padding two axes, then cropping and padding the last one.
                       return concat({reshape(pad(v[0], {2, 1, 1, 0}, 0.5), {-1}),
                                      reshape(pad(pad(v[0], {-1, 1}), {1, -1}), {-1})});
                   },
               .samples = {{{Shape{2, 3}}, -2.0, 2.0}, {{Shape{0, 2}}, -2.0, 2.0}}});
Tensor pad(const Tensor& x, IntList pads, double value) {
    detail::defined_or_fail(x, "pad");
    if (pads.size() % 2 != 0 || pads.size() > 2 * x.dim())
        fail("pad: got {} padding amounts {} for a tensor of rank {}; expected pairs (left, right, top, bottom, ...) "
             "for at most its {} axes, last axis first",
             pads.size(), pads.str(), x.dim(), x.dim());
    // Axis d of the result starts `before[d]` elements after x's (before the
    // copy, a negative amount crops).
    const std::size_t rank = x.dim();
    std::vector<std::int64_t> before(rank, 0), after(rank, 0);
    Shape shape = x.shape();
    for (std::size_t k = 0; k < pads.size() / 2; ++k) {
        const std::size_t d = rank - 1 - k;
        before[d] = pads[2 * k];
        after[d] = pads[2 * k + 1];
        const auto size = static_cast<std::int64_t>(x.shape()[d]);
        if (before[d] < -size || after[d] < -size || size + before[d] + after[d] < 0 ||
            std::max(before[d], after[d]) > (std::int64_t{1} << 40))
            fail("pad: padding ({}, {}) of axis {} (size {}) in {} leaves a negative or absurd size", before[d],
                 after[d], d, size, shape_str(x.shape()));
        shape[d] = static_cast<std::size_t>(size + before[d] + after[d]);
    }
    Tensor out = detail::visit_float(x, "pad", [&](const auto& a) {
        using T = typename std::decay_t<decltype(a)>::value_type;
        Tensor result = detail::empty_dense<T>(shape, "pad");
        detail::fill_values(result.data_ptr<T>(), result.numel(), static_cast<T>(value));
        // The part of x that is kept, written where it lands in the result.
        Tensor kept = a.tensor(), target = result;
        for (std::size_t d = 0; d < rank; ++d) {
            const std::int64_t crop_front = std::max<std::int64_t>(0, -before[d]);
            const std::int64_t crop_back = std::max<std::int64_t>(0, -after[d]);
            const auto length = static_cast<std::int64_t>(x.shape()[d]) - crop_front - crop_back;
            if (length <= 0) return result;  // nothing of x is kept
            const int axis = static_cast<int>(d);
            kept = detail::without_grad([&] { return narrow(kept, axis, crop_front, length); });
            target = detail::without_grad(
                [&] { return narrow(target, axis, std::max<std::int64_t>(0, before[d]), length); });
        }
        detail::copy_values(target, kept);
        return result;
    });
    if (!needs_grad(x)) return out;
    std::vector<std::int64_t> negated(pads.begin(), pads.end());
    for (std::int64_t& p : negated) p = -p;
    return record(pad_def, out, {x}, Saves{},
                  [negated](const OpContext&, const Tensor& g) { return GradList{pad(g, negated, 0.0)}; });
}

void detail::link_shape() {}  // see registry.cpp

}  // namespace rg
