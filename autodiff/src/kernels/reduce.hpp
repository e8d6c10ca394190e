#pragma once
// The loops of the reductions over axis lists (reduce.cpp says what each op
// reduces; these say how). Large reductions run on several threads, split
// along a kept axis: every output element is still folded by one thread in
// the order of the serial loop, so results do not depend on the thread count.
#include "../kernels.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace rg::detail {

// (rows, columns) folded over the rows, as a bias gradient: each run of
// `lanes` columns is folded over every row in registers, in row order, where
// adding each row into the results in memory made a store per value (and
// loads that waited on it). Runs of columns are split among the threads.
template <class T, class Combine>
void fold_leading_rows(const T* in, std::size_t rows, std::size_t columns, T* out, T init, Combine combine) {
    constexpr std::size_t lanes = 64 / sizeof(T);  // a cache line
    const std::size_t runs = (columns + lanes - 1) / lanes;
    parallel_blocks(
        runs, rows * columns,
        [&](std::size_t run) {
            const std::size_t first = run * lanes, width = std::min(lanes, columns - first);
            T acc[lanes];
            std::fill(acc, acc + lanes, init);
            const T* from = in + first;
            if (width == lanes) {
                for (std::size_t r = 0; r < rows; ++r, from += columns)
                    for (std::size_t l = 0; l < lanes; ++l) acc[l] = combine(acc[l], from[l]);
            } else {
                for (std::size_t r = 0; r < rows; ++r, from += columns)
                    for (std::size_t l = 0; l < width; ++l) acc[l] = combine(acc[l], from[l]);
            }
            std::copy(acc, acc + width, out + first);
        },
        reduce_parallel_work);
}

// Reduces `a` to `keep` (same rank, reduced axes of size 1) with `combine`,
// starting every output element from `init`. The results go row-major to
// `o`, so a result shaped without the size-1 axes (keepdims = false) holds
// them as they are.
template <class T, class Combine>
void reduce_values(const Dense<T>& a, const Shape& keep, T* o, T init, Combine combine) {
    const std::size_t size = shape_numel(keep);
    const T* in = a.data();
    if (size == 1) {
        // A whole-tensor fold: blocks fixed by the size alone, folded in order.
        const std::size_t n = a.size(), blocks = (n + sum_block - 1) / sum_block;
        const auto fold = [&](std::size_t b) {
            T acc = init;
            for (std::size_t i = b * sum_block, end = std::min(n, (b + 1) * sum_block); i < end; ++i)
                acc = combine(acc, in[i]);
            return acc;
        };
        if (blocks <= 1) {
            o[0] = n == 0 ? init : fold(0);
            return;
        }
        std::vector<T> partial(blocks);
        parallel_blocks(
            blocks, n, [&](std::size_t b) { partial[b] = fold(b); }, reduce_parallel_work);
        T acc = init;
        for (T p : partial) acc = combine(acc, p);
        o[0] = acc;
        return;
    }
    // Neighbouring axes that are both reduced or both kept act as one, so
    // summing (N, C, H, W) over (0, 2, 3) walks rows of H*W, not of W.
    Shape merged, merged_keep;
    bool last_reduced = false;
    for (std::size_t d = 0; d < keep.size(); ++d) {
        if (a.shape()[d] == 1) continue;
        const bool reduced = keep[d] == 1;
        if (!merged.empty() && reduced == last_reduced) {
            merged.back() *= a.shape()[d];
            merged_keep.back() *= keep[d];
        } else {
            merged.push_back(a.shape()[d]);
            merged_keep.push_back(keep[d]);
        }
        last_reduced = reduced;
    }
    if (merged.size() == 2 && merged_keep[0] == 1) {
        fold_leading_rows(in, merged[0], merged[1], o, init, combine);
        return;
    }
    const std::array<Strides, 2> st{contiguous_strides(merged), broadcast_strides(merged_keep, merged)};
    // The outermost kept axis is cut into pieces, one thread each. When it is
    // the innermost axis too (a bias gradient: (rows, columns) summed over the
    // rows), a piece keeps at least min_columns of it, so that each row is a
    // run that vectorises rather than a couple of values per call.
    std::size_t split = 0;
    while (merged_keep[split] == 1) ++split;
    const std::size_t extent = merged[split];
    constexpr std::size_t min_columns = 64;
    const std::size_t most = split + 1 == merged.size() ? std::max<std::size_t>(extent / min_columns, 1) : extent;
    const std::size_t pieces = std::min<std::size_t>(most, 64);
    parallel_blocks(
        pieces, a.size(),
        [&](std::size_t piece) {
            const std::size_t begin = extent * piece / pieces, end = extent * (piece + 1) / pieces;
            Shape part = merged;
            part[split] = end - begin;
            T* out = o + static_cast<std::ptrdiff_t>(begin) * st[1][split];
            std::fill_n(out, size / extent * (end - begin), init);
            const T* from = in + static_cast<std::ptrdiff_t>(begin) * st[0][split];
            for_each_row(part, st, [&](const auto& off, const auto& inner, std::size_t count) {
                const T* row = from + off[0];
                T* target = out + off[1];
                if (inner[1] == 0) {  // the innermost axis is reduced: 8 lanes, so it vectorises
                    T lanes[8];
                    std::fill(lanes, lanes + 8, init);
                    const std::size_t blocked = count - count % 8;
                    for (std::size_t k = 0; k < blocked; k += 8)
                        for (std::size_t l = 0; l < 8; ++l) lanes[l] = combine(lanes[l], row[k + l]);
                    T acc = target[0];
                    for (std::size_t k = blocked; k < count; ++k) acc = combine(acc, row[k]);
                    for (T lane : lanes) acc = combine(acc, lane);
                    target[0] = acc;
                } else {
                    for (std::size_t k = 0; k < count; ++k) target[k] = combine(target[k], row[k]);
                }
            });
        },
        reduce_parallel_work);
}

// The index of the extreme along `axis` of every line of `a`, into the
// row-major values at `out` (one per line). Lines are independent: large
// inputs split the outer lines among the threads.
template <class T> void arg_extreme(const Dense<T>& a, std::size_t axis, bool is_max, std::int64_t* out) {
    const AxisSplit s = split_at(a.shape(), axis);
    const std::size_t pieces = std::min<std::size_t>(s.outer, 64);
    parallel_blocks(
        pieces, a.size(),
        [&](std::size_t piece) {
            for (std::size_t o = s.outer * piece / pieces, last = s.outer * (piece + 1) / pieces; o < last; ++o) {
                for (std::size_t i = 0; i < s.inner; ++i) {
                    const T* base = a.data() + o * s.size * s.inner + i;
                    std::size_t best = 0;
                    for (std::size_t k = 1; k < s.size; ++k) {
                        const T v = base[k * s.inner];
                        const T b = base[best * s.inner];
                        if (std::isnan(b)) break;
                        if (is_max ? (v > b || std::isnan(v)) : (v < b || std::isnan(v))) best = k;
                    }
                    out[o * s.inner + i] = static_cast<std::int64_t>(best);
                }
            }
        },
        arg_extreme_parallel_work);
}

// Rows of `in` (rows, columns) in segments, row r in segment segment_of[r]: the
// row holding each segment's largest value, column by column, into out
// (segments, columns), the first on ties and a NaN's if there is one (as
// arg_extreme); `empty` for a segment with no row. One pass in row order.
// Returns the first row whose segment is outside [0, segments), or rows.
template <class T>
std::size_t segment_arg_max(const T* in, const std::int64_t* segment_of, std::size_t rows, std::size_t columns,
                            std::size_t segments, std::int64_t empty, std::int64_t* out) {
    constexpr std::int64_t none = -1;
    std::fill(out, out + segments * columns, none);
    for (std::size_t r = 0; r < rows; ++r) {
        const std::int64_t segment = segment_of[r];
        if (segment < 0 || static_cast<std::size_t>(segment) >= segments) return r;
        std::int64_t* best = out + static_cast<std::size_t>(segment) * columns;
        const T* row = in + r * columns;
        for (std::size_t c = 0; c < columns; ++c) {
            if (best[c] == none) {
                best[c] = static_cast<std::int64_t>(r);
                continue;
            }
            const T b = in[static_cast<std::size_t>(best[c]) * columns + c];
            if (!std::isnan(b) && (row[c] > b || std::isnan(row[c]))) best[c] = static_cast<std::int64_t>(r);
        }
    }
    std::replace(out, out + segments * columns, none, empty);
    return rows;
}

// Whether any of the n values at x is NaN. Every value is read, without a
// branch per element, so that the loop vectorises.
template <class T> bool contains_nan(const T* x, std::size_t n) {
    bool nan = false;
    for (std::size_t i = 0; i < n; ++i) nan |= x[i] != x[i];
    return nan;
}

}  // namespace rg::detail
