// Shape arithmetic shared by the ops: axes, broadcasting, strides.
#include "kernels.hpp"

#include <algorithm>
#include <cmath>

namespace rg {

std::size_t normalize_axis(int axis, std::size_t rank, const char* op) {
    const long r = static_cast<long>(rank);
    if (axis < -r || axis >= r || (rank == 0)) {
        fail("{}: axis {} out of range for a tensor of rank {}{}", op, axis, rank,
             rank == 0 ? "" : fmt::format(" (expected {} to {})", -r, r - 1));
    }
    return static_cast<std::size_t>(axis < 0 ? axis + r : axis);
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
    const std::size_t rank = std::max(a.size(), b.size());
    Shape out(rank);
    for (std::size_t i = 0; i < rank; ++i) {
        const std::size_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
        const std::size_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
        if (da != db && da != 1 && db != 1) {
            fail("{}: cannot broadcast {} with {}: sizes {} and {} differ at axis {}", op, shape_str(a), shape_str(b),
                 da, db, static_cast<long>(i) - static_cast<long>(rank));
        }
        out[i] = da == 1 ? db : da;
    }
    return out;
}

namespace detail {

Strides broadcast_strides(const Shape& from, const Strides& strides, const Shape& to) {
    Strides s(to.size(), 0);
    const std::size_t shift = to.size() - from.size();
    for (std::size_t i = 0; i < from.size(); ++i) s[i + shift] = from[i] == 1 ? 0 : strides[i];
    return s;
}

Shape reduced_shape(const Shape& shape, const std::vector<std::size_t>& axes, bool keepdims) {
    Shape out;
    for (std::size_t i = 0; i < shape.size(); ++i) {
        const bool reduced = std::find(axes.begin(), axes.end(), i) != axes.end();
        if (!reduced) {
            out.push_back(shape[i]);
        } else if (keepdims) {
            out.push_back(1);
        }
    }
    return out;
}

std::vector<std::size_t> normalize_axes(const Axes& axes, std::size_t rank, const char* op) {
    std::vector<std::size_t> out;
    if (axes.empty()) {
        for (std::size_t i = 0; i < rank; ++i) out.push_back(i);
        return out;
    }
    for (int axis : axes) {
        const std::size_t a = normalize_axis(axis, rank, op);
        if (std::find(out.begin(), out.end(), a) != out.end())
            fail("{}: axis {} appears twice in the axis list", op, axis);
        out.push_back(a);
    }
    std::sort(out.begin(), out.end());
    return out;
}

AxisSplit split_at(const Shape& shape, std::size_t axis) {
    AxisSplit s;
    for (std::size_t i = 0; i < axis; ++i) s.outer *= shape[i];
    s.size = shape[axis];
    for (std::size_t i = axis + 1; i < shape.size(); ++i) s.inner *= shape[i];
    return s;
}

void check_finite(const Tensor& t, const char* when, std::string_view op) {
    if (!t.is_floating()) return;
    const auto values = t.to_vector();
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (!std::isfinite(values[i])) {
            fail("DetectAnomaly: the {} of '{}' produced {} at flat index {} (shape {})", when, op,
                 std::isnan(values[i]) ? "NaN" : "Inf", i, shape_str(t.shape()));
        }
    }
}

}  // namespace detail
}  // namespace rg
