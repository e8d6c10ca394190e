// Pooling with PyTorch's further options, composed from tape ops: the input is
// padded (with -inf for max, zeros for avg) so that every window, including
// ceil_mode's last partial one, lies inside; im2col lays each window out as a
// column; max gathers the first maximum of each column, avg sums it and
// divides by PyTorch's divisor. No backward code: the VJPs are those of pad,
// im2col, gather and sum, so second order works too.
#include "pool_options.hpp"

#include "kernels/window_positions.hpp"
#include "op_defs.hpp"
#include "op_references.hpp"

#include <retrograd/error.hpp>

#include <algorithm>
#include <limits>
#include <vector>

namespace rg {

using detail::ref::Array;
using detail::ref::for_each_index;
using detail::ref::Index;

namespace {

struct Axis : detail::WindowAxis {
    std::int64_t pad_after;  // right/bottom padding that makes the last window fit exactly (negative: crop)
};

// PyTorch's pooling_output_shape: with ceil_mode, the last window must start
// inside the input or the left padding.
Axis pooled_axis(std::size_t in, std::size_t kernel, std::size_t stride, std::size_t padding, std::size_t dilation,
                 bool ceil_mode, const char* op) {
    Axis a{{static_cast<std::int64_t>(in), static_cast<std::int64_t>(kernel), static_cast<std::int64_t>(stride),
            static_cast<std::int64_t>(padding), static_cast<std::int64_t>(dilation), 0},
           0};
    const std::int64_t span = a.dilation * (a.kernel - 1) + 1;
    const std::int64_t room = a.in + 2 * a.padding - span;
    if (room < 0)
        fail("{}: the window spans {} pixels but the padded input has only {} (input {}, padding {})", op, span,
             a.in + 2 * a.padding, a.in, a.padding);
    a.out = (ceil_mode ? (room + a.stride - 1) / a.stride : room / a.stride) + 1;
    if (ceil_mode && (a.out - 1) * a.stride >= a.in + a.padding) --a.out;
    a.pad_after = (a.out - 1) * a.stride + span - a.in - a.padding;
    return a;
}

struct Plan {
    Axis h, w;
    std::size_t n, c;
};

Plan plan(const Tensor& x, Size2 kernel, const Pool2dOptions& o, const char* op) {
    if (!x.defined()) fail("{}: got an undefined tensor", op);
    if (x.dim() != 4) fail("{}: expected an NCHW tensor of rank 4, got shape {}", op, shape_str(x.shape()));
    const Size2 stride{o.stride[0] ? o.stride[0] : kernel[0], o.stride[1] ? o.stride[1] : kernel[1]};
    if (kernel[0] == 0 || kernel[1] == 0 || stride[0] == 0 || stride[1] == 0 || o.dilation[0] == 0 ||
        o.dilation[1] == 0)
        fail("{}: kernel ({}, {}), stride ({}, {}) and dilation ({}, {}) must be positive", op, kernel[0], kernel[1],
             stride[0], stride[1], o.dilation[0], o.dilation[1]);
    if (2 * o.padding[0] > kernel[0] || 2 * o.padding[1] > kernel[1])
        fail("{}: padding ({}, {}) must be at most half the kernel ({}, {})", op, o.padding[0], o.padding[1], kernel[0],
             kernel[1]);
    const Shape& s = x.shape();
    return {pooled_axis(s[2], kernel[0], stride[0], o.padding[0], o.dilation[0], o.ceil_mode, op),
            pooled_axis(s[3], kernel[1], stride[1], o.padding[1], o.dilation[1], o.ceil_mode, op), s[0], s[1]};
}

// (N, C, kh * kw, OH * OW): each window of each plane as a column.
Tensor windows(const Tensor& x, const Plan& p, double fill) {
    Tensor padded = pad(x, {p.w.padding, p.w.pad_after, p.h.padding, p.h.pad_after}, fill);
    const Size2 kernel{static_cast<std::size_t>(p.h.kernel), static_cast<std::size_t>(p.w.kernel)};
    Tensor columns =
        im2col(padded, kernel,
               {.stride = {static_cast<std::size_t>(p.h.stride), static_cast<std::size_t>(p.w.stride)},
                .dilation = {static_cast<std::size_t>(p.h.dilation), static_cast<std::size_t>(p.w.dilation)}});
    return reshape(columns, Shape{p.n, p.c, kernel[0] * kernel[1], static_cast<std::size_t>(p.h.out * p.w.out)});
}

std::pair<Tensor, Tensor> max_pool_composed(const Tensor& x, Size2 kernel, const Pool2dOptions& o) {
    const Plan p = plan(x, kernel, o, "max_pool2d");
    const Tensor columns = windows(x, p, -std::numeric_limits<double>::infinity());
    // The first maximum of each window, a NaN first of all, as PyTorch's.
    const Tensor best = argmax(columns, 2, true);
    const Shape out{p.n, p.c, static_cast<std::size_t>(p.h.out), static_cast<std::size_t>(p.w.out)};
    Tensor values = reshape(gather(columns, 2, best), out);
    Tensor flat = detail::empty_dense<std::int64_t>(out, "max_pool2d");
    const detail::Dense<std::int64_t> element(best);
    detail::window_element_positions(element.data(), element.size(), p.h, p.w, flat.data_ptr<std::int64_t>());
    return {values, flat};
}

// PyTorch's avg_pool2d divisor for each output position.
Tensor divisors(const Plan& p, const Pool2dOptions& o, Dtype dtype) {
    std::vector<double> d(static_cast<std::size_t>(p.h.out * p.w.out));
    for (std::int64_t i = 0; i < p.h.out; ++i)
        for (std::int64_t j = 0; j < p.w.out; ++j) {
            std::int64_t h0 = i * p.h.stride - p.h.padding, w0 = j * p.w.stride - p.w.padding;
            std::int64_t h1 = std::min(h0 + p.h.kernel, p.h.in + p.h.padding);
            std::int64_t w1 = std::min(w0 + p.w.kernel, p.w.in + p.w.padding);
            const std::int64_t with_pad = (h1 - h0) * (w1 - w0);
            h0 = std::max<std::int64_t>(h0, 0), w0 = std::max<std::int64_t>(w0, 0);
            h1 = std::min(h1, p.h.in), w1 = std::min(w1, p.w.in);
            const std::int64_t inside = std::max<std::int64_t>(h1 - h0, 0) * std::max<std::int64_t>(w1 - w0, 0);
            double divisor = o.divisor_override != 0 ? static_cast<double>(o.divisor_override)
                             : o.count_include_pad   ? static_cast<double>(with_pad)
                                                     : static_cast<double>(inside);
            // A window wholly in the padding sums to 0 and gives 0, as PyTorch.
            if (inside == 0 || divisor == 0) divisor = 1;
            d[static_cast<std::size_t>(i * p.w.out + j)] = divisor;
        }
    return from_vector(d, {p.h.out, p.w.out}, {.dtype = dtype});
}

}  // namespace

namespace detail {

bool max_pool_needs_composition(const Pool2dOptions& o) { return o.ceil_mode || o.dilation != Size2{1, 1}; }
bool avg_pool_needs_composition(const Pool2dOptions& o) {
    return o.ceil_mode || !o.count_include_pad || o.divisor_override != 0;
}

Tensor max_pool2d_composed(const Tensor& x, Size2 kernel, const Pool2dOptions& options) {
    return max_pool_composed(x, kernel, options).first;
}

Tensor avg_pool2d_composed(const Tensor& x, Size2 kernel, const Pool2dOptions& options) {
    const Plan p = plan(x, kernel, options, "avg_pool2d");
    const Shape out{p.n, p.c, static_cast<std::size_t>(p.h.out), static_cast<std::size_t>(p.w.out)};
    return reshape(sum(windows(x, p, 0.0), {2}), out) / divisors(p, options, x.dtype());
}

}  // namespace detail

std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x, Size2 kernel, Pool2dOptions options) {
    return max_pool_composed(x, kernel, options);
}

const OpDef& adaptive_avg_pool2d_def =
    define_op({.name = "adaptive_avg_pool2d",
               .signature = "adaptive_avg_pool2d(x, output_size)",
               .doc = "means over an (OH, OW) grid of windows [floor(i H / OH), ceil((i + 1) H / OH)) of each plane",
               .rule = "composite: two matmuls with averaging matrices",
               .kind = OpKind::nn,
               .call =
                   [](const TensorList& v) {
                       return adaptive_avg_pool2d(v[0], {2, 3});
                   },
               .samples = {{{Shape{1, 2, 5, 4}}, -2.0, 2.0}},
               .composite = true,
               .reference =
                   [](const TensorList& v) {
                       const Array x(v[0]);
                       Array out(Shape{1, 2, 2, 3});
                       for_each_index(out.shape, [&](const Index& at) {
                           const std::size_t h0 = at[2] * 5 / 2, h1 = ((at[2] + 1) * 5 + 1) / 2;
                           const std::size_t w0 = at[3] * 4 / 3, w1 = ((at[3] + 1) * 4 + 2) / 3;
                           double total = 0.0;
                           for (std::size_t h = h0; h < h1; ++h)
                               for (std::size_t w = w0; w < w1; ++w) total += x[{at[0], at[1], h, w}];
                           out[at] = total / static_cast<double>((h1 - h0) * (w1 - w0));
                       });
                       return out.tensor();
                   }});

// Each axis's averaging matrix: row i holds 1 / (end - start) on [start, end).
Tensor adaptive_avg_pool2d(const Tensor& x, Size2 output_size) {
    if (!x.defined()) fail("adaptive_avg_pool2d: got an undefined tensor");
    if (!x.is_floating())
        fail("adaptive_avg_pool2d: expected a float32 or float64 tensor, got {}", dtype_name(x.dtype()));
    if (x.dim() != 4 && x.dim() != 3)
        fail("adaptive_avg_pool2d: expected (N, C, H, W) or (C, H, W), got shape {}", shape_str(x.shape()));
    if (output_size[0] == 0 || output_size[1] == 0)
        fail("adaptive_avg_pool2d: output size ({}, {}) must be positive", output_size[0], output_size[1]);
    const std::size_t h = x.shape()[x.dim() - 2], w = x.shape()[x.dim() - 1];
    if (h == 0 || w == 0) fail("adaptive_avg_pool2d: input planes of {}x{} pixels are empty", h, w);
    const auto averaging = [&](std::size_t in, std::size_t out) {
        std::vector<double> m(out * in, 0.0);
        for (std::size_t i = 0; i < out; ++i) {
            const std::size_t start = i * in / out, end = ((i + 1) * in + out - 1) / out;
            for (std::size_t k = start; k < end; ++k) m[i * in + k] = 1.0 / static_cast<double>(end - start);
        }
        return from_vector(m, {out, in}, {.dtype = x.dtype()});
    };
    return matmul(matmul(averaging(h, output_size[0]), x), transpose(averaging(w, output_size[1]), 0, 1));
}

}  // namespace rg
