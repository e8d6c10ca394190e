// Shape ops: reshape, broadcasting, slicing, concatenation, padding. Each
// one's VJP is its mirror (reshape back, sum_to, slice_scatter, slice...).
#include "kernels.hpp"

#include <algorithm>

namespace rg {
namespace {

// Copies every array type, including int64 (shape ops carry labels too).
template <class F>
Tensor visit_any(const Tensor& t, const char* op, F&& f) {
    detail::defined_or_fail(t, op);
    return std::visit([&](const auto& a) { return f(a); }, t.impl()->data);
}

Tensor reshape_values(const Tensor& x, const Shape& shape) {
    return visit_any(x, "reshape", [&](const auto& a) {
        auto r = a;
        r.reshape(shape);
        return Tensor(std::move(r));
    });
}

struct SliceRange {
    std::size_t start = 0, count = 0, step = 1;
};

SliceRange normalize_slice(const char* op, std::size_t size, long start, long stop, long step) {
    if (step <= 0) fail("{}: step must be positive, got {}", op, step);
    const long n = static_cast<long>(size);
    auto clip = [n](long v) { return std::clamp(v < 0 ? v + n : v, 0L, n); };
    const long b = clip(start), e = clip(stop);
    SliceRange r;
    r.start = static_cast<std::size_t>(b);
    r.step = static_cast<std::size_t>(step);
    r.count = e > b ? static_cast<std::size_t>((e - b + step - 1) / step) : 0;
    return r;
}

Tensor check_indices(const Tensor& indices, std::size_t size, const char* op, int axis) {
    detail::defined_or_fail(indices, op);
    if (indices.dtype() != Dtype::int64)
        fail("{}: indices must be an int64 tensor, got {}", op, dtype_name(indices.dtype()));
    for (auto v : indices.value<std::int64_t>()) {
        if (v < 0 || static_cast<std::size_t>(v) >= size)
            fail("{}: index {} out of range for axis {} of size {}", op, v, axis, size);
    }
    return indices;
}

}  // namespace

// ---- reshaping ------------------------------------------------------------------

Tensor reshape(const Tensor& x, const Shape& shape) {
    detail::defined_or_fail(x, "reshape");
    if (shape_numel(shape) != x.numel())
        fail("reshape: cannot reshape {} ({} elements) into {} ({} elements)", shape_str(x.shape()),
             x.numel(), shape_str(shape), shape_numel(shape));
    if (shape == x.shape()) return x;
    Tensor out = reshape_values(x, shape);
    if (!needs_grad(x)) return out;
    return record("reshape", out, {x}, [from = x.shape()](Tensor g) {
        return TensorList{reshape(std::move(g), from)};
    });
}

Tensor reshape(Tensor&& x, const Shape& shape) {
    const bool sole_owner = x.defined() && x.impl_ptr().use_count() == 1;
    if (!sole_owner || shape == x.shape() || shape_numel(shape) != x.numel())
        return reshape(static_cast<const Tensor&>(x), shape);
    const Shape from = x.shape();
    auto steal = [&](Tensor& target) {
        std::visit([&](auto& a) {
            auto moved = std::move(a);
            moved.reshape(shape);
            target.impl()->data = std::move(moved);
        }, x.impl()->data);
    };
    if (!needs_grad(x)) {
        Tensor out = zeros({0}, {x.dtype()});
        steal(out);
        return out;
    }
    // Record against x while it still has its values (the edge keeps x's
    // shape), then move the buffer across; x dies with the caller's temporary.
    Tensor out = record("reshape", zeros({0}, {x.dtype()}), {x},
                        [from](Tensor g) { return TensorList{reshape(std::move(g), from)}; });
    steal(out);
    out.grad_fn()->out_shape = shape;
    return out;
}

Tensor reshape(const Tensor& x, const std::vector<long>& shape) {
    detail::defined_or_fail(x, "reshape");
    Shape resolved;
    std::size_t known = 1;
    long inferred = -1;
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] == -1) {
            if (inferred >= 0) fail("reshape: only one size may be -1, got two in the new shape");
            inferred = static_cast<long>(i);
            resolved.push_back(1);
        } else if (shape[i] < 0) {
            fail("reshape: invalid size {} in the new shape", shape[i]);
        } else {
            resolved.push_back(static_cast<std::size_t>(shape[i]));
            known *= static_cast<std::size_t>(shape[i]);
        }
    }
    if (inferred >= 0) {
        if (known == 0 || x.numel() % known != 0)
            fail("reshape: cannot infer the -1 size: {} elements do not divide into blocks of {}",
                 x.numel(), known);
        resolved[static_cast<std::size_t>(inferred)] = x.numel() / known;
    }
    return reshape(x, resolved);
}

Tensor flatten(const Tensor& x, int start_axis, int end_axis) {
    detail::defined_or_fail(x, "flatten");
    if (x.dim() == 0) return reshape(x, Shape{1});
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

Tensor squeeze(const Tensor& x, std::optional<int> axis) {
    detail::defined_or_fail(x, "squeeze");
    Shape shape;
    if (axis) {
        const std::size_t a = normalize_axis(*axis, x.dim(), "squeeze");
        if (x.shape()[a] != 1)
            fail("squeeze: axis {} has size {} in {}, expected 1", *axis, x.shape()[a],
                 shape_str(x.shape()));
        shape = x.shape();
        shape.erase(shape.begin() + static_cast<long>(a));
    } else {
        for (auto s : x.shape())
            if (s != 1) shape.push_back(s);
    }
    return reshape(x, shape);
}

Tensor unsqueeze(const Tensor& x, int axis) {
    detail::defined_or_fail(x, "unsqueeze");
    const std::size_t a = normalize_axis(axis, x.dim() + 1, "unsqueeze");
    Shape shape;
    for (std::size_t i = 0; i <= x.dim(); ++i) {
        if (i == a) shape.push_back(1);
        if (i < x.dim()) shape.push_back(x.shape()[i]);
    }
    return reshape(x, shape);
}

// ---- broadcasting ------------------------------------------------------------------

Tensor broadcast_to(const Tensor& x, const Shape& shape) {
    detail::defined_or_fail(x, "broadcast_to");
    if (x.shape() == shape) return x;
    if (x.dim() > shape.size() || broadcast_shapes(x.shape(), shape, "broadcast_to") != shape)
        fail("broadcast_to: cannot broadcast {} to {}", shape_str(x.shape()), shape_str(shape));
    Tensor out = visit_any(x, "broadcast_to", [&](const auto& a) {
        using T = typename std::decay_t<decltype(a)>::value_type;
        xt::xarray<T> r(shape);
        if (a.size() == 1) {
            std::fill(r.begin(), r.end(), a.data()[0]);
        } else {
            const std::array<detail::Strides, 2> st{detail::broadcast_strides(a.shape(), shape),
                                                    detail::contiguous_strides(shape)};
            detail::for_each_row(shape, st, [&](const auto& off, const auto& inner, std::size_t count) {
                for (std::size_t k = 0; k < count; ++k)
                    r.data()[off[1] + static_cast<std::ptrdiff_t>(k)] =
                        a.data()[off[0] + static_cast<std::ptrdiff_t>(k) * inner[0]];
            });
        }
        return Tensor(std::move(r));
    });
    if (!needs_grad(x)) return out;
    return record("broadcast_to", out, {x}, [from = x.shape()](const Tensor& g) {
        return TensorList{sum_to(g, from)};
    });
}

Tensor expand(const Tensor& x, const Shape& shape) { return broadcast_to(x, shape); }

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

// ---- slicing -------------------------------------------------------------------------

Tensor slice(const Tensor& x, int axis, long start, long stop, long step) {
    detail::defined_or_fail(x, "slice");
    const std::size_t ax = normalize_axis(axis, x.dim(), "slice");
    const SliceRange r = normalize_slice("slice", x.shape()[ax], start, stop, step);
    if (r.start == 0 && r.step == 1 && r.count == x.shape()[ax]) return x;
    Shape shape = x.shape();
    shape[ax] = r.count;
    const detail::AxisSplit in = detail::split_at(x.shape(), ax);
    Tensor out = visit_any(x, "slice", [&](const auto& a) {
        using T = typename std::decay_t<decltype(a)>::value_type;
        xt::xarray<T> o(shape);
        T* dst = o.data();
        for (std::size_t b = 0; b < in.outer; ++b)
            for (std::size_t k = 0; k < r.count; ++k) {
                const T* src = a.data() + (b * in.size + r.start + k * r.step) * in.inner;
                dst = std::copy(src, src + in.inner, dst);
            }
        return Tensor(std::move(o));
    });
    if (!needs_grad(x)) return out;
    const long begin = static_cast<long>(r.start);
    const long end = static_cast<long>(r.start + r.count * r.step);
    return record("slice", out, {x}, [from = x.shape(), axis, begin, end, step](const Tensor& g) {
        return TensorList{slice_scatter(g, from, axis, begin, end, step)};
    });
}

Tensor select(const Tensor& x, int axis, long index) {
    detail::defined_or_fail(x, "select");
    const std::size_t ax = normalize_axis(axis, x.dim(), "select");
    const long size = static_cast<long>(x.shape()[ax]);
    if (index < -size || index >= size)
        fail("select: index {} out of range for axis {} of size {}", index, axis, size);
    const long i = index < 0 ? index + size : index;
    return squeeze(slice(x, axis, i, i + 1), static_cast<int>(ax));
}

Tensor slice_scatter(const Tensor& source, const Shape& shape, int axis, long start, long stop,
                     long step) {
    detail::defined_or_fail(source, "slice_scatter");
    const std::size_t ax = normalize_axis(axis, shape.size(), "slice_scatter");
    const SliceRange r = normalize_slice("slice_scatter", shape[ax], start, stop, step);
    Shape expected = shape;
    expected[ax] = r.count;
    if (source.shape() != expected)
        fail("slice_scatter: source has shape {}, expected {} for slice [{}:{}:{}] of axis {} in {}",
             shape_str(source.shape()), shape_str(expected), start, stop, step, axis, shape_str(shape));
    const detail::AxisSplit out_split = detail::split_at(shape, ax);
    Tensor out = detail::visit_float(source, "slice_scatter", [&](const auto& a) {
        using T = typename std::decay_t<decltype(a)>::value_type;
        xt::xarray<T> o(shape);
        std::fill(o.begin(), o.end(), T{0});
        const T* src = a.data();
        for (std::size_t b = 0; b < out_split.outer; ++b)
            for (std::size_t k = 0; k < r.count; ++k) {
                T* dst = o.data() + (b * out_split.size + r.start + k * r.step) * out_split.inner;
                std::copy(src, src + out_split.inner, dst);
                src += out_split.inner;
            }
        return Tensor(std::move(o));
    });
    if (!needs_grad(source)) return out;
    return record("slice_scatter", out, {source}, [axis, start, stop, step](const Tensor& g) {
        return TensorList{slice(g, axis, start, stop, step)};
    });
}

// ---- indexing -------------------------------------------------------------------------------

Tensor index_select(const Tensor& x, int axis, const Tensor& indices) {
    detail::defined_or_fail(x, "index_select");
    const std::size_t ax = normalize_axis(axis, x.dim(), "index_select");
    check_indices(indices, x.shape()[ax], "index_select", axis);
    if (indices.dim() != 1)
        fail("index_select: indices must be 1-D, got shape {}", shape_str(indices.shape()));
    const auto& idx = indices.value<std::int64_t>();
    Shape shape = x.shape();
    shape[ax] = idx.size();
    const detail::AxisSplit in = detail::split_at(x.shape(), ax);
    Tensor out = visit_any(x, "index_select", [&](const auto& a) {
        using T = typename std::decay_t<decltype(a)>::value_type;
        xt::xarray<T> o(shape);
        T* dst = o.data();
        for (std::size_t b = 0; b < in.outer; ++b)
            for (auto i : idx) {
                const T* src = a.data() + (b * in.size + static_cast<std::size_t>(i)) * in.inner;
                dst = std::copy(src, src + in.inner, dst);
            }
        return Tensor(std::move(o));
    });
    if (!needs_grad(x)) return out;
    return record("index_select", out, {x}, [from = x.shape(), axis, indices](const Tensor& g) {
        return TensorList{index_add(g, from, axis, indices)};
    });
}

Tensor index_add(const Tensor& source, const Shape& shape, int axis, const Tensor& indices) {
    detail::defined_or_fail(source, "index_add");
    const std::size_t ax = normalize_axis(axis, shape.size(), "index_add");
    check_indices(indices, shape[ax], "index_add", axis);
    const auto& idx = indices.value<std::int64_t>();
    Shape expected = shape;
    expected[ax] = idx.size();
    if (indices.dim() != 1 || source.shape() != expected)
        fail("index_add: source has shape {} and indices {}, expected source {} and 1-D indices",
             shape_str(source.shape()), shape_str(indices.shape()), shape_str(expected));
    const detail::AxisSplit out_split = detail::split_at(shape, ax);
    Tensor out = detail::visit_float(source, "index_add", [&](const auto& a) {
        using T = typename std::decay_t<decltype(a)>::value_type;
        xt::xarray<T> o(shape);
        std::fill(o.begin(), o.end(), T{0});
        const T* src = a.data();
        for (std::size_t b = 0; b < out_split.outer; ++b)
            for (auto i : idx) {
                T* dst = o.data() + (b * out_split.size + static_cast<std::size_t>(i)) * out_split.inner;
                for (std::size_t k = 0; k < out_split.inner; ++k) dst[k] += src[k];
                src += out_split.inner;
            }
        return Tensor(std::move(o));
    });
    if (!needs_grad(source)) return out;
    return record("index_add", out, {source}, [axis, indices](const Tensor& g) {
        return TensorList{index_select(g, axis, indices)};
    });
}

namespace {
// Visits every position p of `index` with the flat offset of p in x where
// axis `ax` is replaced by index[p]: f(flat_position, x_offset).
template <class F>
void for_each_gathered(const Shape& x_shape, const Tensor& index, std::size_t ax, const char* op, F f) {
    const auto& idx = index.value<std::int64_t>();
    if (idx.dimension() != x_shape.size())
        fail("{}: index has rank {}, expected the rank of the input, {}", op, idx.dimension(),
             x_shape.size());
    for (std::size_t d = 0; d < x_shape.size(); ++d)
        if (d != ax && idx.shape()[d] > x_shape[d])
            fail("{}: index shape {} exceeds the input shape {} at axis {}", op,
                 shape_str(idx.shape()), shape_str(x_shape), d);
    check_indices(index, x_shape[ax], op, static_cast<int>(ax));
    detail::Strides xs = detail::contiguous_strides(x_shape);
    const std::ptrdiff_t axis_stride = xs[ax];
    xs[ax] = 0;
    const std::array<detail::Strides, 2> st{xs, detail::contiguous_strides(idx.shape())};
    detail::for_each_row(idx.shape(), st, [&](const auto& off, const auto& inner, std::size_t count) {
        for (std::size_t k = 0; k < count; ++k) {
            const auto kk = static_cast<std::ptrdiff_t>(k);
            const auto pos = off[1] + kk;
            f(static_cast<std::size_t>(pos), off[0] + kk * inner[0] + idx.data()[pos] * axis_stride);
        }
    });
}
}  // namespace

Tensor gather(const Tensor& x, int axis, const Tensor& index) {
    detail::defined_or_fail(x, "gather");
    detail::defined_or_fail(index, "gather");
    const std::size_t ax = normalize_axis(axis, x.dim(), "gather");
    if (index.dtype() != Dtype::int64)
        fail("gather: index must be an int64 tensor, got {}", dtype_name(index.dtype()));
    Tensor out = detail::visit_float(x, "gather", [&](const auto& a) {
        using T = typename std::decay_t<decltype(a)>::value_type;
        xt::xarray<T> o(index.shape());
        for_each_gathered(x.shape(), index, ax, "gather",
                          [&](std::size_t p, std::ptrdiff_t src) { o.data()[p] = a.data()[src]; });
        return Tensor(std::move(o));
    });
    if (!needs_grad(x)) return out;
    return record("gather", out, {x}, [from = x.shape(), axis, index](const Tensor& g) {
        return TensorList{scatter_add(g, from, axis, index)};
    });
}

Tensor scatter_add(const Tensor& source, const Shape& shape, int axis, const Tensor& index) {
    detail::defined_or_fail(source, "scatter_add");
    detail::defined_or_fail(index, "scatter_add");
    const std::size_t ax = normalize_axis(axis, shape.size(), "scatter_add");
    if (index.dtype() != Dtype::int64 || source.shape() != index.shape())
        fail("scatter_add: source {} and index {} ({}) must have the same shape, index int64",
             shape_str(source.shape()), shape_str(index.shape()), dtype_name(index.dtype()));
    Tensor out = detail::visit_float(source, "scatter_add", [&](const auto& a) {
        using T = typename std::decay_t<decltype(a)>::value_type;
        xt::xarray<T> o(shape);
        std::fill(o.begin(), o.end(), T{0});
        for_each_gathered(shape, index, ax, "scatter_add",
                          [&](std::size_t p, std::ptrdiff_t dst) { o.data()[dst] += a.data()[p]; });
        return Tensor(std::move(o));
    });
    if (!needs_grad(source)) return out;
    return record("scatter_add", out, {source}, [axis, index](const Tensor& g) {
        return TensorList{gather(g, axis, index)};
    });
}

// ---- joining and padding ------------------------------------------------------------------------

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
            fail("concat: tensor {} has shape {}, incompatible with {} along axis {}", i,
                 shape_str(t.shape()), shape_str(first.shape()), axis);
        shape[ax] += t.shape()[ax];
    }
    const detail::AxisSplit out_split = detail::split_at(shape, ax);
    Tensor out = visit_any(first, "concat", [&](const auto& a0) {
        using T = typename std::decay_t<decltype(a0)>::value_type;
        xt::xarray<T> o(shape);
        std::size_t offset = 0;
        for (const Tensor& t : tensors) {
            const auto& a = t.value<T>();
            const std::size_t block = t.shape()[ax] * out_split.inner;
            for (std::size_t b = 0; b < out_split.outer; ++b)
                std::copy(a.data() + b * block, a.data() + (b + 1) * block,
                          o.data() + b * out_split.size * out_split.inner + offset);
            offset += block;
        }
        return Tensor(std::move(o));
    });
    if (!needs_grad(tensors)) return out;
    std::vector<long> sizes;
    for (const Tensor& t : tensors) sizes.push_back(static_cast<long>(t.shape()[ax]));
    return record("concat", out, tensors, [sizes, axis](const Tensor& g) {
        TensorList grads;
        long offset = 0;
        for (long s : sizes) {
            grads.push_back(slice(g, axis, offset, offset + s));
            offset += s;
        }
        return grads;
    });
}

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

Tensor pad(const Tensor& x, const std::vector<std::pair<std::size_t, std::size_t>>& pads, double value) {
    detail::defined_or_fail(x, "pad");
    if (pads.size() > x.dim())
        fail("pad: got padding for {} axes but the tensor has rank {}", pads.size(), x.dim());
    Shape shape = x.shape();
    for (std::size_t i = 0; i < pads.size(); ++i) shape[i] += pads[i].first + pads[i].second;
    Tensor out = detail::visit_float(x, "pad", [&](const auto& a) {
        using T = typename std::decay_t<decltype(a)>::value_type;
        xt::xarray<T> o(shape);
        std::fill(o.begin(), o.end(), static_cast<T>(value));
        detail::Strides target = detail::contiguous_strides(shape);
        std::ptrdiff_t origin = 0;
        for (std::size_t i = 0; i < pads.size(); ++i)
            origin += static_cast<std::ptrdiff_t>(pads[i].first) * target[i];
        const std::array<detail::Strides, 2> st{detail::contiguous_strides(a.shape()), target};
        detail::for_each_row(a.shape(), st, [&](const auto& off, const auto&, std::size_t count) {
            std::copy(a.data() + off[0], a.data() + off[0] + static_cast<std::ptrdiff_t>(count),
                      o.data() + origin + off[1]);
        });
        return Tensor(std::move(o));
    });
    if (!needs_grad(x)) return out;
    return record("pad", out, {x}, [pads, from = x.shape()](const Tensor& g) {
        Tensor r = g;
        for (std::size_t i = 0; i < pads.size(); ++i) {
            const long begin = static_cast<long>(pads[i].first);
            r = slice(r, static_cast<int>(i), begin, begin + static_cast<long>(from[i]));
        }
        return TensorList{r};
    });
}

}  // namespace rg
