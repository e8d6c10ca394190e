// View ops: their results share the input's storage (no copy), with new
// shape, strides and offset, as in PyTorch. Each VJP is the mirror of its view
// (reshape back, sum_to, slice_scatter, the inverse permutation...).
#include "op_defs.hpp"

#include <algorithm>
#include <numeric>

namespace rg {
namespace {

// The view of x with the given geometry, recorded with `vjp` when x needs grad
// (a view saves nothing: its VJP needs only x's shape and its own arguments).
template <class F>
Tensor view_of(const OpDef& def, const Tensor& x, const Shape& shape, const Strides& strides, std::size_t offset,
               F vjp) {
    Tensor out = detail::make_view(x, shape, strides, offset);
    detail::track_view(*out.impl(), x);
    if (!needs_grad(x)) return out;
    return record(def, out, {x}, {}, std::move(vjp));
}

// Strides for viewing x (shape, strides) as new_shape without copying, or
// nothing when the layout does not allow it (PyTorch's computeStride).
std::optional<Strides> view_strides(const Shape& shape, const Strides& strides, const Shape& new_shape) {
    Strides out(new_shape.size());
    if (shape_numel(shape) == 0) {
        out = detail::contiguous_strides(new_shape);
        return out;
    }
    // Walk the old axes in chunks that are contiguous with each other, matching
    // each chunk's element count with a run of new axes.
    std::ptrdiff_t view_d = static_cast<std::ptrdiff_t>(new_shape.size()) - 1;
    std::ptrdiff_t chunk_base_stride = strides.empty() ? 1 : strides.back();
    std::size_t tensor_numel = 1, view_numel = 1;
    for (std::ptrdiff_t d = static_cast<std::ptrdiff_t>(shape.size()) - 1; d >= 0; --d) {
        tensor_numel *= shape[d];
        if (d == 0 ||
            (shape[d - 1] != 1 && strides[d - 1] != static_cast<std::ptrdiff_t>(tensor_numel) * chunk_base_stride)) {
            while (view_d >= 0 && (view_numel < tensor_numel || new_shape[view_d] == 1)) {
                out[view_d] = static_cast<std::ptrdiff_t>(view_numel) * chunk_base_stride;
                view_numel *= new_shape[view_d];
                --view_d;
            }
            if (view_numel != tensor_numel) return std::nullopt;
            if (d > 0) {
                chunk_base_stride = strides[d - 1];
                tensor_numel = 1;
                view_numel = 1;
            }
        }
    }
    if (view_d != -1) return std::nullopt;
    return out;
}

// Why x cannot be viewed as `shape`: two neighbouring axes of x that are not
// laid out one after the other in memory, and that the new shape merges or
// splits across (PyTorch: "view size is not compatible with input tensor's
// size and stride").
std::string view_refusal(const Tensor& x, const Shape& shape) {
    std::vector<std::size_t> trailing{1};  // products of the new shape's last axes
    for (std::size_t k = shape.size(); k-- > 0;) trailing.push_back(trailing.back() * shape[k]);
    std::string why = "the new shape merges or splits axes that are not contiguous in memory";
    const Shape& size = x.shape();
    const Strides& stride = x.strides();
    std::ptrdiff_t inner = -1;  // the nearest axis of size > 1 after d
    std::size_t after = 1;  // the element count of the axes after d
    for (std::ptrdiff_t d = static_cast<std::ptrdiff_t>(size.size()) - 1; d >= 0; after *= size[d--]) {
        if (size[d] == 1) continue;
        const bool gap = inner >= 0 && stride[d] != stride[inner] * static_cast<std::ptrdiff_t>(size[inner]);
        if (gap && std::find(trailing.begin(), trailing.end(), after) == trailing.end()) {
            why = fmt::format("axis {} (stride {}) does not continue where axis {} (size {}, stride {}) ends, and "
                              "no axis of the new shape starts between them",
                              d, stride[d], inner, size[inner], stride[inner]);
            break;
        }
        inner = d;
    }
    return fmt::format("cannot view {} with strides ({}) as {} without copying: {}; use reshape(), which copies "
                       "when it must (or contiguous() first)",
                       shape_str(x.shape()), fmt::join(x.strides(), ", "), shape_str(shape), why);
}

// Resolves a requested shape with at most one -1 against x's element count.
Shape infer_shape(const Tensor& x, IntList sizes, const char* op) {
    Shape resolved;
    std::size_t known = 1;
    std::optional<std::size_t> inferred;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        const std::int64_t s = sizes[i];
        if (s == -1) {
            if (inferred) fail("{}: only one size may be -1, got two in {}", op, sizes.str());
            inferred = i;
            resolved.push_back(1);
        } else if (s < 0) {
            fail("{}: invalid size {} in {}", op, s, sizes.str());
        } else {
            resolved.push_back(static_cast<std::size_t>(s));
            known = known > (std::size_t{1} << 62) / std::max<std::size_t>(s, 1) ? std::size_t{1} << 62 : known * s;
        }
    }
    if (inferred) {
        if (known == 0 || x.numel() % known != 0)
            fail("{}: cannot infer the -1 size of {}: {} elements do not divide into blocks of {}", op, sizes.str(),
                 x.numel(), known);
        resolved[*inferred] = x.numel() / known;
    }
    long double count = 1;  // exact for any count a message could need, never overflows
    for (std::size_t s : resolved) count *= static_cast<long double>(s);
    if (count != static_cast<long double>(x.numel()))
        fail("{}: cannot reshape {} ({} elements) into {} ({:.0f} elements)", op, shape_str(x.shape()), x.numel(),
             shape_str(resolved), count);
    return resolved;
}

Tensor view_as_shape(const OpDef& def, const Tensor& x, const Shape& shape, const Strides& strides) {
    return view_of(def, x, shape, strides, x.storage_offset(),
                   [](const OpContext& c, const Tensor& g) { return GradList{reshape(g, c.input_shape(0))}; });
}

struct SliceRange {
    std::size_t start = 0, count = 0, step = 1;
};

SliceRange normalize_slice(const char* op, std::size_t size, std::int64_t start, std::int64_t stop, std::int64_t step) {
    if (step <= 0) fail("{}: step must be positive, got {}", op, step);
    const auto n = static_cast<std::int64_t>(size);
    auto clip = [n](std::int64_t v) { return std::clamp<std::int64_t>(v < 0 ? v + n : v, 0, n); };
    const std::int64_t b = clip(start), e = clip(stop);
    SliceRange r;
    r.start = static_cast<std::size_t>(b);
    r.step = static_cast<std::size_t>(step);
    r.count = e > b ? static_cast<std::size_t>((e - b + step - 1) / step) : 0;
    return r;
}

}  // namespace

// ---- reshaping ------------------------------------------------------------------

const OpDef& reshape_def =
    define_op({.name = "reshape",
               .signature = "reshape(x, shape)",
               .doc = "the same values in a new shape (-1 inferred): a view when the strides allow, else a copy",
               .rule = "dx = g reshaped to x's shape",
               .kind = OpKind::view,
               .call =
                   [](const TensorList& v) {
                       return reshape(v[0].transpose(0, -1), {-1, 2});
                   },
               .samples = {{{Shape{2, 3}}, -2.0, 2.0}, {{Shape{3, 1, 2}}, -2.0, 2.0}},
               .accepts_int64 = true});
Tensor reshape(const Tensor& x, IntList sizes) {
    detail::defined_or_fail(x, "reshape");
    const Shape shape = infer_shape(x, sizes, "reshape");
    if (shape == x.shape()) return x;
    if (auto strides = view_strides(x.shape(), x.strides(), shape))
        return view_as_shape(reshape_def, x, shape, *strides);
    return view_as_shape(reshape_def, x.contiguous(), shape, detail::contiguous_strides(shape));
}

const OpDef& view_def = define_op({.name = "view",
                                   .signature = "view(x, shape)",
                                   .doc = "a view in a new shape; an error when the strides do not allow one",
                                   .rule = "dx = reshape(g, x.shape)",
                                   .kind = OpKind::view,
                                   .call =
                                       [](const TensorList& v) {
                                           return view(v[0], {3, -1});
                                       },
                                   .samples = {{{Shape{2, 3}}, -2.0, 2.0}, {{Shape{6}}, -2.0, 2.0}},
                                   .accepts_int64 = true});
Tensor view(const Tensor& x, IntList sizes) {
    detail::defined_or_fail(x, "view");
    const Shape shape = infer_shape(x, sizes, "view");
    auto strides = view_strides(x.shape(), x.strides(), shape);
    if (!strides) fail("view: {}", view_refusal(x, shape));
    if (shape == x.shape()) return x;
    return view_as_shape(view_def, x, shape, *strides);
}

const OpDef& flatten_def = define_op({.name = "flatten",
                                      .signature = "flatten(x, start_axis = 0, end_axis = -1)",
                                      .doc = "axes start..end merged into one",
                                      .rule = "composite: reshape",
                                      .kind = OpKind::view,
                                      .call = [](const TensorList& v) { return flatten(v[0], 1); },
                                      .samples = {{{Shape{2, 3, 2}}, -2.0, 2.0}},
                                      .composite = true,
                                      .accepts_int64 = true});
Tensor flatten(const Tensor& x, int start_axis, int end_axis) {
    detail::defined_or_fail(x, "flatten");
    if (x.dim() == 0) return reshape(x, {1});
    const std::size_t s = normalize_axis(start_axis, x.dim(), "flatten");
    const std::size_t e = normalize_axis(end_axis, x.dim(), "flatten");
    if (s > e) fail("flatten: start axis {} comes after end axis {}", start_axis, end_axis);
    Shape shape(x.shape().begin(), x.shape().begin() + static_cast<long>(s));
    std::size_t merged = 1;
    for (std::size_t i = s; i <= e; ++i) merged *= x.shape()[i];
    shape.push_back(merged);
    shape.insert(shape.end(), x.shape().begin() + static_cast<long>(e) + 1, x.shape().end());
    return reshape(x, shape);
}

const OpDef& squeeze_def = define_op({.name = "squeeze",
                                      .signature = "squeeze(x, axis = all size-1 axes)",
                                      .doc = "size-1 axes removed (a view)",
                                      .rule = "dx = reshape(g, x.shape)",
                                      .kind = OpKind::view,
                                      .call = [](const TensorList& v) { return squeeze(v[0], 1); },
                                      .samples = {{{Shape{2, 1, 3}}, -2.0, 2.0}},
                                      .accepts_int64 = true});
Tensor squeeze(const Tensor& x, std::optional<int> axis) {
    detail::defined_or_fail(x, "squeeze");
    Shape shape;
    Strides strides;
    if (axis) {
        const std::size_t a = normalize_axis(*axis, x.dim(), "squeeze");
        if (x.shape()[a] != 1)
            fail("squeeze: axis {} has size {} in {}, expected 1", *axis, x.shape()[a], shape_str(x.shape()));
    }
    for (std::size_t i = 0; i < x.dim(); ++i) {
        const bool drop = axis ? i == normalize_axis(*axis, x.dim(), "squeeze") : x.shape()[i] == 1;
        if (drop) continue;
        shape.push_back(x.shape()[i]);
        strides.push_back(x.strides()[i]);
    }
    if (shape == x.shape()) return x;
    return view_as_shape(squeeze_def, x, shape, strides);
}

const OpDef& unsqueeze_def = define_op({.name = "unsqueeze",
                                        .signature = "unsqueeze(x, axis)",
                                        .doc = "a size-1 axis inserted (a view)",
                                        .rule = "dx = reshape(g, x.shape)",
                                        .kind = OpKind::view,
                                        .call = [](const TensorList& v) { return unsqueeze(v[0], -1); },
                                        .samples = {{{Shape{2, 3}}, -2.0, 2.0}, {{Shape{}}, -2.0, 2.0}},
                                        .accepts_int64 = true});
Tensor unsqueeze(const Tensor& x, int axis) {
    detail::defined_or_fail(x, "unsqueeze");
    const std::size_t a = normalize_axis(axis, x.dim() + 1, "unsqueeze");
    Shape shape;
    Strides strides;
    for (std::size_t i = 0; i <= x.dim(); ++i) {
        if (i == a) {
            shape.push_back(1);
            strides.push_back(a < x.dim() ? x.strides()[a] * static_cast<std::ptrdiff_t>(x.shape()[a]) : 1);
        }
        if (i < x.dim()) {
            shape.push_back(x.shape()[i]);
            strides.push_back(x.strides()[i]);
        }
    }
    return view_as_shape(unsqueeze_def, x, shape, strides);
}

// ---- broadcasting ------------------------------------------------------------------

const OpDef& broadcast_to_def =
    define_op({.name = "broadcast_to",
               .signature = "broadcast_to(x, shape), expand(x, shape)",
               .doc = "size-1 axes repeated without copying (stride 0); -1 keeps a size",
               .rule = "dx = g summed over the broadcast axes",
               .kind = OpKind::view,
               .call =
                   [](const TensorList& v) {
                       return broadcast_to(v[0], {4, 2, 3});
                   },
               .samples = {{{Shape{2, 1}}, -2.0, 2.0}, {{Shape{3}}, -2.0, 2.0}, {{Shape{}}, -2.0, 2.0}},
               .accepts_int64 = true});
Tensor broadcast_to(const Tensor& x, IntList sizes) {
    detail::defined_or_fail(x, "broadcast_to");
    // -1 keeps the input's size (as torch.expand).
    Shape shape;
    const std::size_t lead = sizes.size() >= x.dim() ? sizes.size() - x.dim() : 0;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        const std::int64_t s = sizes[i];
        if (s == -1 && i >= lead) {
            shape.push_back(x.shape()[i - lead]);
        } else if (s < 0) {
            fail("broadcast_to: invalid size {} in {}", s, sizes.str());
        } else {
            shape.push_back(static_cast<std::size_t>(s));
        }
    }
    if (x.shape() == shape) return x;
    if (x.dim() > shape.size() || broadcast_shapes(x.shape(), shape, "broadcast_to") != shape)
        fail("broadcast_to: cannot broadcast {} to {}", shape_str(x.shape()), shape_str(shape));
    detail::checked_numel(shape, x.dtype(), "broadcast_to");
    return view_of(broadcast_to_def, x, shape, detail::broadcast_strides(x.shape(), x.strides(), shape),
                   x.storage_offset(),
                   [](const OpContext& c, const Tensor& g) { return GradList{sum_to(g, c.input_shape(0))}; });
}

const OpDef& expand_def = define_op({.name = "expand",
                                     .signature = "expand(x, shape)",
                                     .doc = "the same as broadcast_to",
                                     .rule = "composite: broadcast_to",
                                     .kind = OpKind::view,
                                     .call =
                                         [](const TensorList& v) {
                                             return expand(v[0], {2, -1});
                                         },
                                     .samples = {{{Shape{1, 3}}, -2.0, 2.0}},
                                     .composite = true,
                                     .accepts_int64 = true});
Tensor expand(const Tensor& x, IntList shape) { return broadcast_to(x, shape); }

const OpDef& sum_to_def = define_op({.name = "sum_to",
                                     .signature = "sum_to(x, shape)",
                                     .doc = "broadcast axes summed away so the result has `shape` (broadcasting's VJP)",
                                     .rule = "composite: sum over the broadcast axes",
                                     .kind = OpKind::backward,
                                     .call = [](const TensorList& v) { return sum_to(v[0], Shape{3}); },
                                     .samples = {{{Shape{2, 3}}, -2.0, 2.0}},
                                     .composite = true,
                                     .accepts_int64 = true});  // int64 and bool sum to int64, as sum
Tensor sum_to(const Tensor& x, const Shape& shape) {
    detail::defined_or_fail(x, "sum_to");
    if (x.shape() == shape) return x;
    if (shape.size() > x.dim() || broadcast_shapes(shape, x.shape(), "sum_to") != x.shape())
        fail("sum_to: cannot sum {} down to {}", shape_str(x.shape()), shape_str(shape));
    const std::size_t lead = x.dim() - shape.size();
    Axes axes;
    for (std::size_t i = 0; i < x.dim(); ++i)
        if (i < lead || (shape[i - lead] == 1 && x.shape()[i] != 1)) axes.push_back(static_cast<int>(i));
    return reshape(sum(x, axes, true), shape);
}

// ---- axis order ------------------------------------------------------------------

const OpDef& permute_def = define_op({.name = "permute",
                                      .signature = "permute(x, order)",
                                      .doc = "the axes reordered (a view)",
                                      .rule = "dx = g permuted back by the inverse order",
                                      .kind = OpKind::view,
                                      .call =
                                          [](const TensorList& v) {
                                              return permute(v[0], {2, 0, 1});
                                          },
                                      .samples = {{{Shape{2, 3, 4}}, -2.0, 2.0}},
                                      .accepts_int64 = true});
Tensor permute(const Tensor& x, const Axes& order) {
    detail::defined_or_fail(x, "permute");
    const std::size_t rank = x.dim();
    if (order.size() != rank) fail("permute: got {} axes for a tensor of rank {}", order.size(), rank);
    std::vector<std::size_t> axes(rank);
    std::vector<bool> seen(rank, false);
    for (std::size_t i = 0; i < rank; ++i) {
        axes[i] = normalize_axis(order[i], rank, "permute");
        if (seen[axes[i]]) fail("permute: axis {} appears twice", order[i]);
        seen[axes[i]] = true;
    }
    bool identity = true;
    for (std::size_t i = 0; i < rank; ++i) identity = identity && axes[i] == i;
    if (identity) return x;
    Shape shape(rank);
    Strides strides(rank);
    for (std::size_t i = 0; i < rank; ++i) {
        shape[i] = x.shape()[axes[i]];
        strides[i] = x.strides()[axes[i]];
    }
    Axes inverse(rank);
    for (std::size_t i = 0; i < rank; ++i) inverse[axes[i]] = static_cast<int>(i);
    return view_of(permute_def, x, shape, strides, x.storage_offset(),
                   [inverse](const OpContext&, const Tensor& g) { return GradList{permute(g, inverse)}; });
}

const OpDef& transpose_def =
    define_op({.name = "transpose",
               .signature = "transpose(x), transpose(x, axis0, axis1), x.t()",
               .doc = "the axes reversed, or two axes swapped (a view)",
               .rule = "composite: permute",
               .kind = OpKind::view,
               .call = [](const TensorList& v) { return transpose(v[0], 0, 2) + transpose(transpose(v[0]), 0, 2); },
               .samples = {{{Shape{2, 3, 2}}, -2.0, 2.0}},
               .composite = true,
               .accepts_int64 = true});
Tensor transpose(const Tensor& x) {
    detail::defined_or_fail(x, "transpose");
    Axes order(x.dim());
    std::iota(order.rbegin(), order.rend(), 0);
    return permute(x, order);
}

Tensor transpose(const Tensor& x, int axis0, int axis1) {
    detail::defined_or_fail(x, "transpose");
    const std::size_t a0 = normalize_axis(axis0, x.dim(), "transpose");
    const std::size_t a1 = normalize_axis(axis1, x.dim(), "transpose");
    Axes order(x.dim());
    std::iota(order.begin(), order.end(), 0);
    std::swap(order[a0], order[a1]);
    return permute(x, order);
}

// ---- slicing -------------------------------------------------------------------------

// The VJP of slice and select (`selected`: the axis was removed): g written
// into zeros of x's shape; or, through the engine, g added into the slice of
// x's gradient so far, so that T steps read from one tensor cost T slices
// rather than T zero tensors of its size.
struct SliceVjp {
    int axis;
    std::int64_t begin, end, step;
    bool selected;
    Tensor slice_grad(const Tensor& g) const { return selected ? unsqueeze(g, axis) : g; }
    GradList operator()(const OpContext& c, const Tensor& g) const {
        return GradList{slice_scatter(slice_grad(g), c.input_shape(0), axis, begin, end, step)};
    }
    bool add_to_input_grad(const Tensor& g, Tensor& input_grad) const {
        NoGrad off;
        Tensor target = slice(input_grad, axis, begin, end, step);
        const Tensor addend = slice_grad(g);
        // A dense slice (a time step of a sequence's gradient) is added in
        // place, where add_ would compute the sum apart and copy it back.
        if (target.is_contiguous() && addend.is_contiguous() && target.dtype() == addend.dtype() &&
            target.shape() == addend.shape() && target.dtype() != Dtype::bfloat16) {
            detail::visit_float_dtype(target.dtype(), "backward", [&](auto zero) {
                using T = decltype(zero);
                detail::add_into(target.data_ptr<T>(), addend.data_ptr<T>(), target.numel());
            });
            return true;
        }
        target.add_(addend);
        return true;
    }
};

const OpDef& slice_def = define_op({.name = "slice",
                                    .signature = "slice(x, axis, start, stop, step = 1)",
                                    .doc = "x[start:stop:step] along an axis, Python bounds (a view)",
                                    .rule = "dx = zeros of x's shape with g in the slice",
                                    .kind = OpKind::view,
                                    .call = [](const TensorList& v) { return slice(v[0], 1, 1, 4, 2); },
                                    .samples = {{{Shape{2, 5}}, -2.0, 2.0}, {{Shape{2, 0}}, -2.0, 2.0}},
                                    .accepts_int64 = true});
Tensor slice(const Tensor& x, int axis, std::int64_t start, std::int64_t stop, std::int64_t step) {
    detail::defined_or_fail(x, "slice");
    const std::size_t ax = normalize_axis(axis, x.dim(), "slice");
    const SliceRange r = normalize_slice("slice", x.shape()[ax], start, stop, step);
    if (r.start == 0 && r.step == 1 && r.count == x.shape()[ax]) return x;
    Shape shape = x.shape();
    Strides strides = x.strides();
    shape[ax] = r.count;
    strides[ax] *= static_cast<std::ptrdiff_t>(r.step);
    const std::size_t offset = x.storage_offset() + (r.count ? r.start * static_cast<std::size_t>(x.strides()[ax]) : 0);
    const auto begin = static_cast<std::int64_t>(r.start);
    const auto end = static_cast<std::int64_t>(r.start + r.count * r.step);
    return view_of(slice_def, x, shape, strides, offset, SliceVjp{axis, begin, end, step, false});
}

const OpDef& narrow_def = define_op({.name = "narrow",
                                     .signature = "narrow(x, axis, start, length)",
                                     .doc = "x[start:start+length] along an axis, bounds checked (a view)",
                                     .rule = "composite: slice",
                                     .kind = OpKind::view,
                                     .call = [](const TensorList& v) { return narrow(v[0], 0, 1, 2); },
                                     .samples = {{{Shape{3, 2}}, -2.0, 2.0}},
                                     .composite = true,
                                     .accepts_int64 = true});
Tensor narrow(const Tensor& x, int axis, std::int64_t start, std::int64_t length) {
    detail::defined_or_fail(x, "narrow");
    const std::size_t ax = normalize_axis(axis, x.dim(), "narrow");
    const auto size = static_cast<std::int64_t>(x.shape()[ax]);
    const std::int64_t begin = start < 0 ? start + size : start;
    if (begin < 0 || begin > size || length < 0 || length > size - begin)
        fail("narrow: start {} and length {} do not fit axis {} of size {} in {}", start, length, axis, size,
             shape_str(x.shape()));
    return slice(x, axis, begin, begin + length);
}

const OpDef& select_def = define_op({.name = "select",
                                     .signature = "select(x, axis, index)",
                                     .doc = "x[index] along an axis, which is removed (a view)",
                                     .rule = "dx = slice_scatter(unsqueeze(g, axis), x.shape, axis, index, index + 1)",
                                     .kind = OpKind::view,
                                     .call = [](const TensorList& v) { return select(v[0], 1, -1); },
                                     .samples = {{{Shape{2, 3}}, -2.0, 2.0}},
                                     .accepts_int64 = true});
Tensor select(const Tensor& x, int axis, std::int64_t index) {
    detail::defined_or_fail(x, "select");
    const std::size_t ax = normalize_axis(axis, x.dim(), "select");
    const auto size = static_cast<std::int64_t>(x.shape()[ax]);
    if (index < -size || index >= size) fail("select: index {} out of range for axis {} of size {}", index, axis, size);
    const std::int64_t i = index < 0 ? index + size : index;
    Shape shape = x.shape();
    Strides strides = x.strides();
    shape.erase(shape.begin() + static_cast<long>(ax));
    strides.erase(strides.begin() + static_cast<long>(ax));
    const std::size_t offset =
        x.storage_offset() + static_cast<std::size_t>(i) * static_cast<std::size_t>(x.strides()[ax]);
    return view_of(select_def, x, shape, strides, offset, SliceVjp{static_cast<int>(ax), i, i + 1, 1, true});
}

const OpDef& slice_scatter_def = define_op({.name = "slice_scatter",
                                            .signature = "slice_scatter(source, shape, axis, start, stop, step = 1)",
                                            .doc = "source written into zeros of `shape` at a slice (slice's VJP)",
                                            .rule = "dx = the slice of g",
                                            .kind = OpKind::backward,
                                            .call =
                                                [](const TensorList& v) {
                                                    return slice_scatter(v[0], Shape{2, 5}, 1, 1, 4, 2);
                                                },
                                            .samples = {{{Shape{2, 2}}, -2.0, 2.0}},
                                            .accepts_int64 = true});
Tensor slice_scatter(const Tensor& source, const Shape& shape, int axis, std::int64_t start, std::int64_t stop,
                     std::int64_t step) {
    detail::defined_or_fail(source, "slice_scatter");
    const std::size_t ax = normalize_axis(axis, shape.size(), "slice_scatter");
    const SliceRange r = normalize_slice("slice_scatter", shape[ax], start, stop, step);
    Shape expected = shape;
    expected[ax] = r.count;
    if (source.shape() != expected)
        fail("slice_scatter: source has shape {}, expected {} for slice [{}:{}:{}] of axis {} in {}",
             shape_str(source.shape()), shape_str(expected), start, stop, step, axis, shape_str(shape));
    Tensor out = zeros(shape, {source.dtype()});
    detail::copy_values(slice(out, axis, start, stop, step), source);
    if (!needs_grad(source)) return out;
    return record(slice_scatter_def, out, {source}, {}, [axis, start, stop, step](const OpContext&, const Tensor& g) {
        return GradList{slice(g, axis, start, stop, step)};
    });
}

// ---- diagonals -----------------------------------------------------------------------

const OpDef& diagonal_def =
    define_op({.name = "diagonal",
               .signature = "diagonal(x, offset = 0, axis0 = 0, axis1 = 1)",
               .doc = "the diagonal of two axes as a last axis (a view)",
               .rule = "dx = diagonal_scatter(g, x.shape, offset, axis0, axis1)",
               .kind = OpKind::view,
               .call = [](const TensorList& v) { return diagonal(v[0], 1) + diagonal(v[0], -1, 1, 0); },
               .samples = {{{Shape{3, 4}}, -2.0, 2.0}},
               .accepts_int64 = true});
Tensor diagonal(const Tensor& x, std::int64_t offset, int axis0, int axis1) {
    detail::defined_or_fail(x, "diagonal");
    if (x.dim() < 2) fail("diagonal: expected a tensor of rank 2 or more, got shape {}", shape_str(x.shape()));
    const std::size_t a0 = normalize_axis(axis0, x.dim(), "diagonal");
    const std::size_t a1 = normalize_axis(axis1, x.dim(), "diagonal");
    if (a0 == a1) fail("diagonal: the two axes must differ, got {} and {}", axis0, axis1);
    const auto rows = static_cast<std::int64_t>(x.shape()[a0]), cols = static_cast<std::int64_t>(x.shape()[a1]);
    const std::int64_t length =
        std::max<std::int64_t>(0, offset >= 0 ? std::min(rows, cols - offset) : std::min(rows + offset, cols));
    std::size_t start = x.storage_offset();
    if (length > 0)
        start += offset >= 0 ? static_cast<std::size_t>(offset) * static_cast<std::size_t>(x.strides()[a1])
                             : static_cast<std::size_t>(-offset) * static_cast<std::size_t>(x.strides()[a0]);
    Shape shape;
    Strides strides;
    for (std::size_t d = 0; d < x.dim(); ++d) {
        if (d == a0 || d == a1) continue;
        shape.push_back(x.shape()[d]);
        strides.push_back(x.strides()[d]);
    }
    shape.push_back(static_cast<std::size_t>(length));
    strides.push_back(x.strides()[a0] + x.strides()[a1]);
    return view_of(diagonal_def, x, shape, strides, start, [offset, axis0, axis1](const OpContext& c, const Tensor& g) {
        return GradList{diagonal_scatter(g, c.input_shape(0), offset, axis0, axis1)};
    });
}

const OpDef& diagonal_scatter_def =
    define_op({.name = "diagonal_scatter",
               .signature = "diagonal_scatter(source, shape, offset = 0, axis0 = 0, axis1 = 1)",
               .doc = "source written on the diagonal of zeros of `shape` (diagonal's VJP)",
               .rule = "dsource = diagonal(g, offset, axis0, axis1)",
               .kind = OpKind::backward,
               .call =
                   [](const TensorList& v) {
                       return diagonal_scatter(v[0], Shape{3, 4}, 1);
                   },
               .samples = {{{Shape{3}}, -2.0, 2.0}},
               .accepts_int64 = true});
Tensor diagonal_scatter(const Tensor& source, const Shape& shape, std::int64_t offset, int axis0, int axis1) {
    detail::defined_or_fail(source, "diagonal_scatter");
    Tensor out = zeros(shape, {source.dtype()});
    const Tensor target = diagonal(out, offset, axis0, axis1);
    if (target.shape() != source.shape())
        fail("diagonal_scatter: source has shape {}, expected {} for the diagonal {} of axes {} and {} in {}",
             shape_str(source.shape()), shape_str(target.shape()), offset, axis0, axis1, shape_str(shape));
    detail::copy_values(target, source);
    if (!needs_grad(source)) return out;
    return record(diagonal_scatter_def, out, {source}, {}, [offset, axis0, axis1](const OpContext&, const Tensor& g) {
        return GradList{diagonal(g, offset, axis0, axis1)};
    });
}

void detail::link_views() {}  // see registry.cpp

}  // namespace rg
