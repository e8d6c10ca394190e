// Shape ops in LibTorch's names: flip, roll, chunk/split/unbind (lists of
// views), repeat/tile, tril/triu, cat, view_as/expand_as. Most are composites
// of views, narrow and concat; flip and tril/triu have kernels of their own.
#include "kernels/rearrange.hpp"
#include "op_defs.hpp"
#include "op_references.hpp"

#include <algorithm>

namespace rg {
namespace {

using detail::ref::Array;
using detail::ref::for_each_index;
using detail::ref::Index;

Tensor reversed_concat(const TensorList& pieces, int dim) {
    return concat(TensorList(pieces.rbegin(), pieces.rend()), dim);
}

// The pieces torch.chunk / torch.split give along `dim`, with their starts,
// as the reference sees them.
Array reversed_pieces_reference(const Array& x, std::size_t dim, const std::vector<std::size_t>& sizes) {
    Array out(x.shape);
    std::vector<std::size_t> start(sizes.size(), 0), out_start(sizes.size(), 0);
    for (std::size_t i = 1; i < sizes.size(); ++i) start[i] = start[i - 1] + sizes[i - 1];
    for (std::size_t i = sizes.size(); i-- > 0;)
        out_start[i] = i + 1 < sizes.size() ? out_start[i + 1] + sizes[i + 1] : 0;
    for_each_index(x.shape, [&](const Index& at) {
        std::size_t piece = 0;
        while (at[dim] >= start[piece] + sizes[piece]) ++piece;
        Index to = at;
        to[dim] = out_start[piece] + at[dim] - start[piece];
        out[to] = x[at];
    });
    return out;
}

}  // namespace

// ---- flip and roll ----------------------------------------------------------------------

const OpDef& flip_def = define_op({.name = "flip",
                                   .signature = "flip(x, dims)",
                                   .doc = "the order of the elements reversed along each of `dims` (a copy)",
                                   .rule = "dx = flip(g, dims)",
                                   .kind = OpKind::shape,
                                   .call =
                                       [](const TensorList& v) {
                                           return flip(v[0].t(), {0, -1});
                                       },
                                   .samples = {{{Shape{3, 4}}, -2.0, 2.0}, {{Shape{0, 2}}, -2.0, 2.0}},
                                   .accepts_int64 = true,
                                   .reference =
                                       [](const TensorList& v) {
                                           const Array x(v[0]);
                                           Array out(Shape{x.shape[1], x.shape[0]});
                                           for_each_index(out.shape, [&](const Index& at) {
                                               out[at] = x[{x.shape[0] - 1 - at[1], x.shape[1] - 1 - at[0]}];
                                           });
                                           return out.tensor();
                                       }});
Tensor flip(const Tensor& x, const Axes& dims) {
    detail::defined_or_fail(x, "flip");
    if (dims.empty()) return x.clone();
    const std::vector<std::size_t> axes = detail::normalize_axes(dims, x.dim(), "flip");
    Tensor out = detail::visit_dtype(x.dtype(), [&](auto zero) {
        using T = decltype(zero);
        Tensor result = detail::empty_dense<T>(x.shape(), "flip");
        // Read x from the far end of every flipped axis, with that stride negated.
        Strides from = x.strides();
        std::ptrdiff_t first = 0;
        for (std::size_t a : axes) {
            if (x.shape()[a] == 0) return result;
            first += from[a] * static_cast<std::ptrdiff_t>(x.shape()[a] - 1);
            from[a] = -from[a];
        }
        detail::copy_strided(x.data_ptr<T>() + first, x.shape(), from, result.data_ptr<T>());
        return result;
    });
    return record(flip_def, out, {x}, Saves{},
                  [dims](const OpContext&, const Tensor& g) { return GradList{flip(g, dims)}; });
}

const OpDef& roll_def = define_op({.name = "roll",
                                   .signature = "roll(x, shifts, dims = flattened)",
                                   .doc = "elements shifted circularly along dims (none: over the flattened tensor)",
                                   .rule = "composite: concat of two narrows per dim",
                                   .kind = OpKind::shape,
                                   .call =
                                       [](const TensorList& v) {
                                           return roll(v[0], {1, -5}, {0, 1}) + roll(v[0], {3});
                                       },
                                   .samples = {{{Shape{2, 3}}, -2.0, 2.0}},
                                   .composite = true,
                                   .accepts_int64 = true,
                                   .reference =
                                       [](const TensorList& v) {
                                           const Array x(v[0]);
                                           Array out(x.shape);
                                           const std::size_t rows = x.shape[0], cols = x.shape[1], n = rows * cols;
                                           for_each_index(x.shape, [&](const Index& at) {
                                               const std::size_t flat = at[0] * cols + at[1];
                                               out[{(at[0] + 1) % rows, (at[1] + 5 * cols - 5) % cols}] += x[at];
                                               out.values[(flat + 3) % n] += x[at];
                                           });
                                           return out.tensor();
                                       }});
Tensor roll(const Tensor& x, IntList shifts, const Axes& dims) {
    detail::defined_or_fail(x, "roll");
    if (dims.empty()) {
        if (shifts.size() != 1)
            fail("roll: without dims, expected one shift for the flattened tensor, got {}", shifts.str());
        return reshape(roll(reshape(x, {-1}), shifts, {0}), x.shape());
    }
    if (shifts.size() != dims.size())
        fail("roll: got {} shifts {} for {} dims; expected one shift per dim", shifts.size(), shifts.str(),
             dims.size());
    Tensor out = x;
    for (std::size_t i = 0; i < dims.size(); ++i) {
        const std::size_t a = normalize_axis(dims[i], x.dim(), "roll");
        const auto n = static_cast<std::int64_t>(x.shape()[a]);
        if (n == 0) continue;
        const std::int64_t s = ((shifts[i] % n) + n) % n;
        if (s == 0) continue;
        const int d = static_cast<int>(a);
        out = concat({narrow(out, d, n - s, s), narrow(out, d, 0, n - s)}, d);
    }
    return out;
}

// ---- lists of views ---------------------------------------------------------------------

const OpDef& split_def = define_op(
    {.name = "split",
     .signature = "split(x, split_size or sizes, dim = 0)",
     .doc = "views of consecutive pieces along a dim: of split_size (the last may be smaller), or of sizes",
     .rule = "composite: narrow",
     .kind = OpKind::shape,
     .call =
         [](const TensorList& v) {
             return reversed_concat(split(v[0], 2, 1), 1) + reversed_concat(split(v[0], {1, 0, 4}, 1), 1);
         },
     .samples = {{{Shape{2, 5}}, -2.0, 2.0}},
     .composite = true,
     .accepts_int64 = true,
     .reference =
         [](const TensorList& v) {
             const Array x(v[0]);
             Array a = reversed_pieces_reference(x, 1, {2, 2, 1}), b = reversed_pieces_reference(x, 1, {1, 0, 4});
             for (std::size_t i = 0; i < a.values.size(); ++i) a.values[i] += b.values[i];
             return a.tensor();
         }});
TensorList split(const Tensor& x, std::int64_t split_size, int dim) {
    detail::defined_or_fail(x, "split");
    const std::size_t a = normalize_axis(dim, x.dim(), "split");
    const auto n = static_cast<std::int64_t>(x.shape()[a]);
    if (split_size < 0 || (split_size == 0 && n > 0))
        fail("split: split_size must be positive, got {} for dim {} of size {}", split_size, dim, n);
    TensorList pieces;
    if (n == 0) return {x};
    for (std::int64_t start = 0; start < n; start += split_size)
        pieces.push_back(narrow(x, dim, start, std::min(split_size, n - start)));
    return pieces;
}
TensorList split(const Tensor& x, IntList sizes, int dim) {
    detail::defined_or_fail(x, "split");
    const std::size_t a = normalize_axis(dim, x.dim(), "split");
    const auto n = static_cast<std::int64_t>(x.shape()[a]);
    std::int64_t total = 0;
    for (std::int64_t s : sizes) {
        if (s < 0) fail("split: sizes {} hold a negative size", sizes.str());
        total += s;
    }
    if (total != n)
        fail("split: sizes {} add up to {}, but dim {} of {} has size {}", sizes.str(), total, dim,
             shape_str(x.shape()), n);
    TensorList pieces;
    std::int64_t start = 0;
    for (std::int64_t s : sizes) {
        pieces.push_back(narrow(x, dim, start, s));
        start += s;
    }
    return pieces;
}

const OpDef& chunk_def = define_op({.name = "chunk",
                                    .signature = "chunk(x, chunks, dim = 0)",
                                    .doc = "split into at most `chunks` views of ceil(size / chunks) along a dim",
                                    .rule = "composite: narrow",
                                    .kind = OpKind::shape,
                                    .call = [](const TensorList& v) { return reversed_concat(chunk(v[0], 3, -1), -1); },
                                    .samples = {{{Shape{2, 5}}, -2.0, 2.0}},
                                    .composite = true,
                                    .accepts_int64 = true,
                                    .reference =
                                        [](const TensorList& v) {
                                            return reversed_pieces_reference(Array(v[0]), 1, {2, 2, 1}).tensor();
                                        }});
TensorList chunk(const Tensor& x, std::int64_t chunks, int dim) {
    detail::defined_or_fail(x, "chunk");
    if (chunks <= 0) fail("chunk: chunks must be positive, got {}", chunks);
    const std::size_t a = normalize_axis(dim, x.dim(), "chunk");
    const auto n = static_cast<std::int64_t>(x.shape()[a]);
    if (n == 0) {  // as torch.chunk: `chunks` empty pieces
        if (chunks > (std::int64_t{1} << 20))
            fail("chunk: {} chunks of an empty dim would be {} empty tensors; ask for fewer", chunks, chunks);
        return split(x, std::vector<std::int64_t>(static_cast<std::size_t>(chunks), 0), dim);
    }
    return split(x, (n + chunks - 1) / chunks, dim);
}

const OpDef& unbind_def =
    define_op({.name = "unbind",
               .signature = "unbind(x, dim = 0)",
               .doc = "the slices along a dim, which is removed (views)",
               .rule = "composite: select",
               .kind = OpKind::shape,
               .call = [](const TensorList& v) { return stack(unbind(v[0], 1), 0); },
               .samples = {{{Shape{2, 3}}, -2.0, 2.0}},
               .composite = true,
               .accepts_int64 = true,
               .reference =
                   [](const TensorList& v) {
                       const Array x(v[0]);
                       Array out(Shape{x.shape[1], x.shape[0]});
                       for_each_index(x.shape, [&](const Index& at) { out[{at[1], at[0]}] = x[at]; });
                       return out.tensor();
                   }});
TensorList unbind(const Tensor& x, int dim) {
    detail::defined_or_fail(x, "unbind");
    const std::size_t a = normalize_axis(dim, x.dim(), "unbind");
    TensorList slices;
    for (std::size_t i = 0; i < x.shape()[a]; ++i) slices.push_back(select(x, dim, static_cast<std::int64_t>(i)));
    return slices;
}

// ---- repeating ----------------------------------------------------------------------------

const OpDef& repeat_def = define_op({.name = "repeat",
                                     .signature = "repeat(x, repeats)",
                                     .doc = "x repeated along each axis (leading axes added), as Tensor.repeat",
                                     .rule = "composite: expand of an interleaved view, then reshape",
                                     .kind = OpKind::shape,
                                     .call =
                                         [](const TensorList& v) {
                                             return repeat(v[0], {2, 1, 3});
                                         },
                                     .samples = {{{Shape{2, 3}}, -2.0, 2.0}, {{Shape{}}, -2.0, 2.0}},
                                     .composite = true,
                                     .accepts_int64 = true,
                                     .reference =
                                         [](const TensorList& v) {
                                             const Array x(v[0]);
                                             const std::size_t r = x.shape.size() == 2 ? x.shape[0] : 1,
                                                               c = x.shape.size() == 2 ? x.shape[1] : 1;
                                             Array out(Shape{2, r, 3 * c});
                                             for_each_index(out.shape, [&](const Index& at) {
                                                 out[at] = x.shape.empty() ? x.values[0] : x[{at[1] % r, at[2] % c}];
                                             });
                                             return out.tensor();
                                         }});
Tensor repeat(const Tensor& x, IntList repeats) {
    detail::defined_or_fail(x, "repeat");
    if (repeats.size() < x.dim())
        fail("repeat: got {} repeat counts {} for a tensor of rank {}; expected at least {}", repeats.size(),
             repeats.str(), x.dim(), x.dim());
    const std::size_t lead = repeats.size() - x.dim();
    Shape interleaved, expanded, result;
    for (std::size_t i = 0; i < repeats.size(); ++i) {
        if (repeats[i] < 0) fail("repeat: repeat counts must not be negative, got {}", repeats.str());
        const std::size_t size = i < lead ? 1 : x.shape()[i - lead];
        const auto r = static_cast<std::size_t>(repeats[i]);
        interleaved.insert(interleaved.end(), {1, size});
        expanded.insert(expanded.end(), {r, size});
        result.push_back(r * size);
    }
    detail::checked_numel(result, x.dtype(), "repeat");
    // A copy, as Tensor.repeat, even when every count is 1.
    if (std::all_of(repeats.begin(), repeats.end(), [](std::int64_t r) { return r == 1; }))
        return reshape(x.clone(), result);
    return reshape(expand(reshape(x, interleaved), expanded), result);
}

const OpDef& tile_def =
    define_op({.name = "tile",
               .signature = "tile(x, reps)",
               .doc = "repeat, with reps padded by leading 1s to x's rank (as torch.tile)",
               .rule = "composite: repeat",
               .kind = OpKind::shape,
               .call = [](const TensorList& v) { return tile(v[0], {2}); },
               .samples = {{{Shape{2, 3}}, -2.0, 2.0}},
               .composite = true,
               .accepts_int64 = true,
               .reference =
                   [](const TensorList& v) {
                       const Array x(v[0]);
                       Array out(Shape{2, 6});
                       for_each_index(out.shape, [&](const Index& at) { out[at] = x[{at[0], at[1] % 3}]; });
                       return out.tensor();
                   }});
Tensor tile(const Tensor& x, IntList reps) {
    detail::defined_or_fail(x, "tile");
    if (reps.size() >= x.dim()) return repeat(x, reps);
    std::vector<std::int64_t> padded(x.dim() - reps.size(), 1);
    padded.insert(padded.end(), reps.begin(), reps.end());
    return repeat(x, padded);
}

// ---- triangles ----------------------------------------------------------------------------

namespace {
// x with the entries outside the triangle of its last two axes set to 0:
// kept where j - i <= k (lower) or j - i >= k (upper).
Tensor triangle(const Tensor& x, std::int64_t k, bool lower, const char* op) {
    detail::defined_or_fail(x, op);
    if (x.dim() < 2) fail("{}: expected a tensor of rank 2 or more, got shape {}", op, shape_str(x.shape()));
    return detail::visit_dtype(x.dtype(), [&](auto zero) {
        using T = decltype(zero);
        Tensor out = detail::contiguous_values(x);  // always a fresh copy
        const std::size_t rows = x.shape()[x.dim() - 2], cols = x.shape().back();
        const std::size_t matrices = rows * cols == 0 ? 0 : x.numel() / (rows * cols);
        detail::zero_outside_triangle(out.data_ptr<T>(), matrices, rows, cols, k, lower);
        return out;
    });
}
Tensor triangle_reference(const Tensor& t, std::int64_t k, bool lower) {
    Array x(t);
    const std::size_t r = x.shape.size();
    for_each_index(x.shape, [&](const Index& at) {
        const auto d = static_cast<std::int64_t>(at[r - 1]) - static_cast<std::int64_t>(at[r - 2]);
        if (lower ? d > k : d < k) x[at] = 0.0;
    });
    return x.tensor();
}
}  // namespace

const OpDef& tril_def =
    define_op({.name = "tril",
               .signature = "tril(x, k = 0)",
               .doc = "the lower triangle of the last two axes (j - i <= k), zeros above",
               .rule = "dx = tril(g, k)",
               .kind = OpKind::shape,
               .call = [](const TensorList& v) { return tril(v[0], -1); },
               .samples = {{{Shape{3, 4}}, -2.0, 2.0}, {{Shape{2, 3, 2}}, -2.0, 2.0}, {{Shape{0, 2}}, -2.0, 2.0}},
               .accepts_int64 = true,
               .reference = [](const TensorList& v) { return triangle_reference(v[0], -1, true); }});
Tensor tril(const Tensor& x, std::int64_t k) {
    return record(tril_def, triangle(x, k, true, "tril"), {x}, Saves{},
                  [k](const OpContext&, const Tensor& g) { return GradList{tril(g, k)}; });
}

const OpDef& triu_def =
    define_op({.name = "triu",
               .signature = "triu(x, k = 0)",
               .doc = "the upper triangle of the last two axes (j - i >= k), zeros below",
               .rule = "dx = triu(g, k)",
               .kind = OpKind::shape,
               .call = [](const TensorList& v) { return triu(v[0], 1); },
               .samples = {{{Shape{3, 4}}, -2.0, 2.0}, {{Shape{2, 3, 2}}, -2.0, 2.0}},
               .accepts_int64 = true,
               .reference = [](const TensorList& v) { return triangle_reference(v[0], 1, false); }});
Tensor triu(const Tensor& x, std::int64_t k) {
    return record(triu_def, triangle(x, k, false, "triu"), {x}, Saves{},
                  [k](const OpContext&, const Tensor& g) { return GradList{triu(g, k)}; });
}

// ---- LibTorch's names for existing ops ------------------------------------------------------

const OpDef& cat_def = define_op({.name = "cat",
                                  .signature = "cat(tensors, dim = 0)",
                                  .doc = "LibTorch's name for concat",
                                  .rule = "composite: concat",
                                  .kind = OpKind::shape,
                                  .call =
                                      [](const TensorList& v) {
                                          return cat({v[0], v[1], v[0]}, 0);
                                      },
                                  .samples = {{{Shape{2, 3}, Shape{1, 3}}, -2.0, 2.0}},
                                  .composite = true,
                                  .accepts_int64 = true,
                                  .bad_shapes = {Shape{2, 3}, Shape{2, 2}},
                                  .reference =
                                      [](const TensorList& v) {
                                          Array a(v[0]);
                                          const Array b(v[1]);
                                          std::vector<double> all = a.values;
                                          all.insert(all.end(), b.values.begin(), b.values.end());
                                          all.insert(all.end(), a.values.begin(), a.values.end());
                                          return from_vector(all, {5, 3}, {.dtype = Dtype::float64});
                                      }});
Tensor cat(const TensorList& tensors, int dim) { return concat(tensors, dim); }

const OpDef& view_as_def = define_op({.name = "view_as",
                                      .signature = "view_as(x, other)",
                                      .doc = "view(x, other.sizes())",
                                      .rule = "composite: view",
                                      .kind = OpKind::view,
                                      .call = [](const TensorList& v) { return view_as(v[0], v[1]); },
                                      .samples = {{{Shape{2, 3}, Shape{3, 2}}, -2.0, 2.0}},
                                      .differentiable = {true, false},
                                      .composite = true,
                                      .accepts_int64 = true,
                                      .bad_shapes = {Shape{2, 3}, Shape{4}},
                                      .reference =
                                          [](const TensorList& v) {
                                              return from_vector(v[0].to_vector(), {3, 2}, {.dtype = Dtype::float64});
                                          }});
Tensor view_as(const Tensor& x, const Tensor& other) {
    return view(x, detail::defined_or_fail(other, "view_as").shape());
}

const OpDef& expand_as_def =
    define_op({.name = "expand_as",
               .signature = "expand_as(x, other)",
               .doc = "expand(x, other.sizes())",
               .rule = "composite: broadcast_to",
               .kind = OpKind::view,
               .call = [](const TensorList& v) { return expand_as(v[0], v[1]); },
               .samples = {{{Shape{3, 1}, Shape{2, 3, 4}}, -2.0, 2.0}},
               .differentiable = {true, false},
               .composite = true,
               .accepts_int64 = true,
               .bad_shapes = {Shape{2, 3}, Shape{4}},
               .reference =
                   [](const TensorList& v) {
                       const Array x(v[0]);
                       Array out(Shape{2, 3, 4});
                       for_each_index(out.shape, [&](const Index& at) { out[at] = x[{at[1], 0}]; });
                       return out.tensor();
                   }});
Tensor expand_as(const Tensor& x, const Tensor& other) {
    return expand(x, detail::defined_or_fail(other, "expand_as").shape());
}

void detail::link_shape_extra() {}  // see registry.cpp

}  // namespace rg
