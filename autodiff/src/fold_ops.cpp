// unfold and fold, PyTorch's names and shapes for im2col and col2im: the
// same ops (each the other's VJP) with torch.nn.functional's argument
// order, unbatched inputs and error messages.
#include <retrograd/spatial.hpp>

#include "op_defs.hpp"
#include "op_references.hpp"
#include "tensor_impl.hpp"
#include "window_geometry.hpp"

namespace rg {
namespace detail {
void link_fold_ops();
}  // namespace detail

namespace {

using detail::ref::Array;

Conv2dOptions as_conv(const FoldOptions& o) {
    return {.stride = o.stride, .padding = o.padding, .dilation = o.dilation};
}

void float_or_fail(const Tensor& t, const char* op) {
    detail::defined_or_fail(t, op);
    if (!t.is_floating()) fail("{}: expected a float32 or float64 tensor, got {}", op, dtype_name(t.dtype()));
}

// The windows' positions, or the error naming `op`.
detail::Geometry windows(std::size_t n, std::size_t c, Size2 image, Size2 kernel, const FoldOptions& o,
                         const char* op) {
    return detail::geometry(Shape{n, c, image[0], image[1]}, kernel, as_conv(o), op);
}

// Calls f(row, column, image_row, image_column) for each window element
// inside the image: row of the columns, column = window index.
// The number of window positions along each axis.
Size2 window_grid(std::size_t h, std::size_t w, Size2 k, const FoldOptions& o) {
    const auto out = [&](std::size_t in, std::size_t a) {
        return (in + 2 * o.padding[a] - o.dilation[a] * (k[a] - 1) - 1) / o.stride[a] + 1;
    };
    return {out(h, 0), out(w, 1)};
}

template <class F> void for_each_tap(std::size_t h, std::size_t w, Size2 k, const FoldOptions& o, F f) {
    const auto [oh, ow] = window_grid(h, w, k, o);
    for (std::size_t i = 0; i < k[0]; ++i)
        for (std::size_t j = 0; j < k[1]; ++j)
            for (std::size_t y = 0; y < oh; ++y)
                for (std::size_t x = 0; x < ow; ++x) {
                    const long r =
                        static_cast<long>(y * o.stride[0] + i * o.dilation[0]) - static_cast<long>(o.padding[0]);
                    const long s =
                        static_cast<long>(x * o.stride[1] + j * o.dilation[1]) - static_cast<long>(o.padding[1]);
                    if (r < 0 || s < 0 || r >= static_cast<long>(h) || s >= static_cast<long>(w)) continue;
                    f(i * k[1] + j, y * ow + x, static_cast<std::size_t>(r), static_cast<std::size_t>(s));
                }
}

const FoldOptions sample_options{.dilation = {1, 2}, .padding = {1, 0}, .stride = {2, 1}};

Tensor unfold_reference(const TensorList& v) {
    const Array x(v[0]);
    const std::size_t n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
    const Size2 k{2, 2};
    const Size2 grid = window_grid(h, w, k, sample_options);
    Array y(Shape{n, c * 4, grid[0] * grid[1]});
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t ch = 0; ch < c; ++ch)
            for_each_tap(h, w, k, sample_options, [&](std::size_t row, std::size_t col, std::size_t r, std::size_t s) {
                y[{i, ch * 4 + row, col}] = x[{i, ch, r, s}];
            });
    return y.tensor();
}

Tensor fold_reference(const TensorList& v) {
    const Array cols(v[0]);
    const std::size_t n = cols.shape[0], c = cols.shape[1] / 4;
    Array y(Shape{n, c, 4, 3});
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t ch = 0; ch < c; ++ch)
            for_each_tap(4, 3, {2, 2}, sample_options,
                         [&](std::size_t row, std::size_t col, std::size_t r, std::size_t s) {
                             y[{i, ch, r, s}] += cols[{i, ch * 4 + row, col}];
                         });
    return y.tensor();
}

}  // namespace

const OpDef& unfold_def =
    define_op({.name = "unfold",
               .signature = "unfold(x, kernel, options)",
               .doc = "sliding windows of images as columns (N, C*kh*kw, L), torch.nn.functional.unfold",
               .rule = "composite: im2col (dx = col2im(g), i.e. fold)",
               .kind = OpKind::nn,
               .call =
                   [](const TensorList& v) {
                       return unfold(v[0], {2, 2}, sample_options);
                   },
               .samples = {{{Shape{2, 2, 4, 3}}, -2.0, 2.0}},
               .composite = true,
               .bad_shapes = {Shape{4, 3}},
               .reference = unfold_reference});
Tensor unfold(const Tensor& x, Size2 kernel, FoldOptions options) {
    float_or_fail(x, "unfold");
    if (x.dim() != 3 && x.dim() != 4)
        fail("unfold: expected images (N, C, H, W) or (C, H, W), got shape {}", shape_str(x.shape()));
    if (x.dim() == 3) return squeeze(unfold(unsqueeze(x, 0), kernel, options), 0);
    const Shape& s = x.shape();
    const detail::Geometry g = windows(s[0], s[1], {s[2], s[3]}, kernel, options, "unfold");
    // The columns' size, checked as a product of factors: a huge padding
    // would otherwise wrap oh x ow (or C kh kw) to a small count, and im2col
    // would write past the columns it allocated.
    detail::checked_numel(Shape{s[0], s[1], kernel[0], kernel[1], g.oh, g.ow}, x.dtype(), "unfold");
    return im2col(x, kernel, as_conv(options));
}

const OpDef& fold_def =
    define_op({.name = "fold",
               .signature = "fold(columns, output_size, kernel, options)",
               .doc = "columns of windows summed back into (N, C, H, W) images, torch.nn.functional.fold",
               .rule = "composite: col2im (dcolumns = im2col(g), i.e. unfold)",
               .kind = OpKind::nn,
               .call =
                   [](const TensorList& v) {
                       return fold(v[0], {4, 3}, {2, 2}, sample_options);
                   },
               .samples = {{{Shape{2, 8, 3}}, -2.0, 2.0}},
               .composite = true,
               .bad_shapes = {Shape{2, 8, 5}},
               .reference = fold_reference});
Tensor fold(const Tensor& columns, Size2 output_size, Size2 kernel, FoldOptions options) {
    float_or_fail(columns, "fold");
    if (columns.dim() != 2 && columns.dim() != 3)
        fail("fold: expected columns (N, C*kh*kw, L) or (C*kh*kw, L), got shape {}", shape_str(columns.shape()));
    if (columns.dim() == 2) return squeeze(fold(unsqueeze(columns, 0), output_size, kernel, options), 0);
    const Shape& s = columns.shape();
    const std::size_t taps = kernel[0] * kernel[1];
    if (taps == 0 || s[1] % taps != 0)
        fail("fold: columns {} have {} rows, expected a multiple of the kernel's {} x {} = {} elements", shape_str(s),
             s[1], kernel[0], kernel[1], taps);
    // The image is allocated from output_size, and a huge one (or padding)
    // would wrap oh x ow to a count that might equal L: both are checked first.
    detail::checked_numel(Shape{s[0], s[1] / taps, output_size[0], output_size[1]}, columns.dtype(), "fold");
    const detail::Geometry g = windows(s[0], s[1] / taps, output_size, kernel, options, "fold");
    detail::checked_numel(Shape{g.oh, g.ow}, columns.dtype(), "fold");
    if (s[2] != g.oh * g.ow)
        fail("fold: columns {} have {} windows, but an output of ({}, {}) holds {} x {} = {} windows of ({}, {})",
             shape_str(s), s[2], output_size[0], output_size[1], g.oh, g.ow, g.oh * g.ow, kernel[0], kernel[1]);
    return col2im(columns, Shape{s[0], s[1] / taps, output_size[0], output_size[1]}, kernel, as_conv(options));
}

void detail::link_fold_ops() {}  // see registry.cpp

}  // namespace rg
