// 1-D and adaptive max pooling, instance normalisation, pixel (un)shuffle,
// Unflatten, channel dropout, Bilinear and the padding modules: each forward
// composes tape ops; none has a backward.
#include "argument_checks.hpp"

#include <retrograd/nn/layers_extra.hpp>
#include <retrograd/ops.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace rg::nn {
namespace {

using detail::floating_or_fail;

// (N, C, L) or unbatched (C, L) as the (N, C, 1, L) planes the 2-D pools take.
Tensor signals_as_planes(const Tensor& x, const char* op) {
    floating_or_fail(x, op);
    if (x.dim() != 2 && x.dim() != 3)
        fail("{}: expected (N, C, L) or unbatched (C, L), got shape {}", op, shape_str(x.shape()));
    return x.dim() == 3 ? unsqueeze(x, 2) : unsqueeze(unsqueeze(x, 0), 2);
}

// The 2-D pool's (N, C, 1, OL) back to the input's batched or unbatched form.
Tensor planes_as_signals(const Tensor& y, bool batched) {
    const Tensor signals = squeeze(y, 2);
    return batched ? signals : squeeze(signals, 0);
}

// The 1-D window checked here, so that the messages speak of L rather than of
// the 2-D pool's planes. Doubles: a huge kernel or dilation cannot wrap around.
void check_window(const Tensor& x, std::size_t kernel, std::size_t padding, std::size_t dilation, const char* op) {
    if (kernel == 0 || dilation == 0)
        fail("{}: kernel {} and dilation {} must be positive (stride 0 means the kernel)", op, kernel, dilation);
    if (padding > kernel / 2) fail("{}: padding {} must be at most half the kernel {}", op, padding, kernel);
    const std::size_t length = x.shape().back();
    const double span = static_cast<double>(dilation) * static_cast<double>(kernel - 1) + 1.0;
    const double padded = static_cast<double>(length) + 2.0 * static_cast<double>(padding);
    if (span > padded)
        fail("{}: the window spans {} elements but the padded input has only {} (input {}, padding {})", op, span,
             padded, shape_str(x.shape()), padding);
}

Pool2dOptions max_pool_planes(std::size_t kernel, const MaxPool1dOptions& o) {
    return {.stride = {1, o.stride == 0 ? kernel : o.stride},
            .padding = {0, o.padding},
            .dilation = {1, o.dilation},
            .ceil_mode = o.ceil_mode};
}

// Beyond this many windows along an axis, the gather's index list would be a
// large allocation of its own; no network asks for such a pool.
constexpr std::size_t max_adaptive_windows = std::size_t{1} << 24;

// Maxima over adaptive windows along one axis: the windows' positions (a short
// window repeats its last position, which leaves its maximum unchanged) are
// gathered with index_select into an extra axis, which max reduces. Gradients
// come back through index_select's scatter-add, so a repeated position gets
// its share back in full.
Tensor adaptive_max_along(const Tensor& x, std::size_t axis, std::size_t windows) {
    const std::size_t length = x.shape()[axis];
    std::size_t widest = 0;
    for (std::size_t i = 0; i < windows; ++i) {
        const std::size_t start = i * length / windows, end = ((i + 1) * length + windows - 1) / windows;
        widest = std::max(widest, end - start);
    }
    std::vector<std::int64_t> positions;
    positions.reserve(windows * widest);
    for (std::size_t i = 0; i < windows; ++i) {
        const std::size_t start = i * length / windows, end = ((i + 1) * length + windows - 1) / windows;
        for (std::size_t j = 0; j < widest; ++j)
            positions.push_back(static_cast<std::int64_t>(std::min(start + j, end - 1)));
    }
    const Tensor gathered = index_select(x, static_cast<int>(axis), from_indices(positions));
    Shape split;
    for (std::size_t i = 0; i < x.dim(); ++i) {
        split.push_back(i == axis ? windows : x.shape()[i]);
        if (i == axis) split.push_back(widest);
    }
    return max(reshape(gathered, split), {static_cast<int>(axis) + 1});
}

}  // namespace

Tensor max_pool1d(const Tensor& x, std::size_t kernel, MaxPool1dOptions options) {
    const Tensor planes = signals_as_planes(x, "max_pool1d");
    check_window(x, kernel, options.padding, options.dilation, "max_pool1d");
    return planes_as_signals(max_pool2d(planes, {1, kernel}, max_pool_planes(kernel, options)), x.dim() == 3);
}

std::pair<Tensor, Tensor> max_pool1d_with_indices(const Tensor& x, std::size_t kernel, MaxPool1dOptions options) {
    const Tensor planes = signals_as_planes(x, "max_pool1d");
    check_window(x, kernel, options.padding, options.dilation, "max_pool1d");
    // In a plane of height 1 the 2-D index h * W + w is the position along L.
    auto [values, indices] = max_pool2d_with_indices(planes, {1, kernel}, max_pool_planes(kernel, options));
    return {planes_as_signals(values, x.dim() == 3), planes_as_signals(indices, x.dim() == 3)};
}

Tensor avg_pool1d(const Tensor& x, std::size_t kernel, AvgPool1dOptions options) {
    const Tensor planes = signals_as_planes(x, "avg_pool1d");
    check_window(x, kernel, options.padding, 1, "avg_pool1d");
    const Pool2dOptions o{.stride = {1, options.stride == 0 ? kernel : options.stride},
                          .padding = {0, options.padding},
                          .ceil_mode = options.ceil_mode,
                          .count_include_pad = options.count_include_pad};
    return planes_as_signals(avg_pool2d(planes, {1, kernel}, o), x.dim() == 3);
}

Tensor adaptive_avg_pool1d(const Tensor& x, std::size_t output_size) {
    const Tensor planes = signals_as_planes(x, "adaptive_avg_pool1d");
    if (output_size == 0) fail("adaptive_avg_pool1d: output_size must be positive, got 0");
    if (x.shape().back() == 0) fail("adaptive_avg_pool1d: input {} is empty along L", shape_str(x.shape()));
    return planes_as_signals(adaptive_avg_pool2d(planes, {1, output_size}), x.dim() == 3);
}

Tensor adaptive_max_pool1d(const Tensor& x, std::size_t output_size) {
    const Tensor planes = signals_as_planes(x, "adaptive_max_pool1d");
    if (output_size == 0 || output_size > max_adaptive_windows)
        fail("adaptive_max_pool1d: output_size must be in [1, 2^24], got {}", output_size);
    if (x.shape().back() == 0) fail("adaptive_max_pool1d: input {} is empty along L", shape_str(x.shape()));
    return planes_as_signals(adaptive_max_pool2d(planes, {1, output_size}), x.dim() == 3);
}

Tensor adaptive_max_pool2d(const Tensor& x, Size2 output_size) {
    floating_or_fail(x, "adaptive_max_pool2d");
    if (x.dim() != 3 && x.dim() != 4)
        fail("adaptive_max_pool2d: expected (N, C, H, W) or unbatched (C, H, W), got shape {}", shape_str(x.shape()));
    const auto [oh, ow] = output_size;
    if (oh == 0 || ow == 0 || oh > max_adaptive_windows || ow > max_adaptive_windows)
        fail("adaptive_max_pool2d: output size ({}, {}) must be positive and at most 2^24", oh, ow);
    const std::size_t h = x.shape()[x.dim() - 2], w = x.shape()[x.dim() - 1];
    if (h == 0 || w == 0) fail("adaptive_max_pool2d: input {} has empty planes", shape_str(x.shape()));
    if (h % oh == 0 && w % ow == 0) {
        // Equal, disjoint windows: the pool itself, with PyTorch's choice of the first maximum on ties.
        const Tensor batched = x.dim() == 4 ? x : unsqueeze(x, 0);
        const Tensor pooled = max_pool2d(batched, {h / oh, w / ow});
        return x.dim() == 4 ? pooled : squeeze(pooled, 0);
    }
    // A maximum over a rectangle is the maximum over its rows' maxima: one gather per axis.
    return adaptive_max_along(adaptive_max_along(x, x.dim() - 1, ow), x.dim() - 2, oh);
}

namespace {

// The options that differ from PyTorch's defaults, in its order, ", name=value" each.
std::string pool1d_options(std::size_t stride, std::size_t padding, std::size_t dilation, bool ceil_mode) {
    std::string out;
    if (stride != 0) out += fmt::format(", stride={}", stride);
    if (padding != 0) out += fmt::format(", padding={}", padding);
    if (dilation != 1) out += fmt::format(", dilation={}", dilation);
    if (ceil_mode) out += ", ceil_mode=true";
    return out;
}

}  // namespace

std::string MaxPool1d::describe() const {
    return fmt::format("MaxPool1d({}{})", kernel_,
                       pool1d_options(options_.stride, options_.padding, options_.dilation, options_.ceil_mode));
}
std::string AvgPool1d::describe() const {
    return fmt::format("AvgPool1d({}{}{})", kernel_,
                       pool1d_options(options_.stride, options_.padding, 1, options_.ceil_mode),
                       options_.count_include_pad ? "" : ", count_include_pad=false");
}
std::string AdaptiveAvgPool1d::describe() const {
    return fmt::format("AdaptiveAvgPool1d(output_size={})", output_size_);
}
std::string AdaptiveMaxPool1d::describe() const {
    return fmt::format("AdaptiveMaxPool1d(output_size={})", output_size_);
}
std::string AdaptiveMaxPool2d::describe() const {
    return fmt::format("AdaptiveMaxPool2d(output_size=({}, {}))", output_size_[0], output_size_[1]);
}

// ---- instance normalisation ----------------------------------------------------------------

InstanceNorm::InstanceNorm(std::size_t features, InstanceNormOptions options, std::size_t positions_rank,
                           const char* kind)
    : features_(features), options_(options), positions_rank_(positions_rank), kind_(kind) {
    if (features == 0) fail("{}: the number of features must be positive", kind);
    if (!(options.eps >= 0.0 && std::isfinite(options.eps)))
        fail("{}: eps must be finite and >= 0, got {}", kind, options.eps);
    if (!(options.momentum >= 0.0 && options.momentum <= 1.0))
        fail("{}: momentum must be in [0, 1], got {}", kind, options.momentum);
    if (options.affine) {
        weight = register_parameter("weight", ones({features}));
        bias = register_parameter("bias", zeros({features}));
    }
    if (options.track_running_stats) {
        running_mean = register_buffer("running_mean", zeros({features}));
        running_var = register_buffer("running_var", ones({features}));
        num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, {.dtype = Dtype::int64}));
    }
}

Tensor InstanceNorm::forward(const Tensor& x) {
    const std::size_t batched_rank = positions_rank_ + 2;
    if (!x.defined() || (x.dim() != batched_rank && x.dim() != batched_rank - 1) ||
        x.shape()[x.dim() - positions_rank_ - 1] != features_)
        fail("{}({}): input has shape {}, expected {} with {} channels", kind_, features_,
             x.defined() ? shape_str(x.shape()) : "undefined",
             positions_rank_ == 1 ? "(N, C, L) or (C, L)" : "(N, C, H, W) or (C, H, W)", features_);
    if (!x.is_floating()) fail("{}: input is {}, expected float32 or float64", kind_, dtype_name(x.dtype()));
    const Tensor& own = weight.defined() ? weight : running_mean;
    if (own.defined() && own.dtype() != x.dtype())
        fail("{}: input is {} but the layer is {}; convert one with .to() or module.to()", kind_, dtype_name(x.dtype()),
             dtype_name(own.dtype()));
    const Tensor input = x.dim() == batched_rank ? x : unsqueeze(x, 0);
    const auto batch = static_cast<std::int64_t>(input.shape()[0]);
    const auto channels = static_cast<std::int64_t>(features_);
    std::size_t positions = 1;
    for (std::size_t i = x.dim() - positions_rank_; i < x.dim(); ++i) positions *= x.shape()[i];
    const bool use_input_stats = is_training() || !options_.track_running_stats;
    if (use_input_stats && positions <= 1)
        fail("{}: expected more than 1 position per channel to take statistics over, got input {}", kind_,
             shape_str(x.shape()));
    // (N, C, positions): each instance's values in one row.
    const Tensor rows = reshape(input, {batch, channels, static_cast<std::int64_t>(positions)});
    const Shape per_channel{1, features_, 1};
    Tensor normalized;
    if (use_input_stats) {
        normalized = layer_norm(rows, {static_cast<std::int64_t>(positions)}, {}, {}, options_.eps);
        if (is_training() && options_.track_running_stats && batch > 0) {
            // As PyTorch: the batch's mean of each instance's mean and unbiased variance
            // (and, as PyTorch's instance_norm, num_batches_tracked is left as it is).
            NoGrad off;
            const Tensor values = rows.detach();
            const double m = options_.momentum;
            running_mean.mul_(1.0 - m).add_(mean(mean(values, {2}), {0}), m);
            running_var.mul_(1.0 - m).add_(mean(var(values, {2}), {0}), m);
        }
    } else {
        normalized =
            (rows - reshape(running_mean, per_channel)) / sqrt(reshape(running_var, per_channel) + options_.eps);
    }
    if (weight.defined()) normalized = addcmul(reshape(bias, per_channel), normalized, reshape(weight, per_channel));
    const Tensor out = reshape(normalized, input.shape());
    return x.dim() == batched_rank ? out : squeeze(out, 0);
}

std::string InstanceNorm::describe() const {
    return fmt::format("{}({}{}{}{}{})", kind_, features_,
                       options_.eps != 1e-5 ? fmt::format(", eps={}", options_.eps) : "",
                       options_.momentum != 0.1 ? fmt::format(", momentum={}", options_.momentum) : "",
                       options_.affine ? ", affine=true" : "",
                       options_.track_running_stats ? ", track_running_stats=true" : "");
}

// ---- rearranging -----------------------------------------------------------------------------

namespace {

void rank_at_least_3(const Tensor& x, const char* op) {
    if (!x.defined()) fail("{}: got an undefined tensor", op);
    if (x.dim() < 3) fail("{}: expected (*, C, H, W), got shape {}", op, shape_str(x.shape()));
}

// x's leading (batch) sizes, then `rest`.
std::vector<std::int64_t> leading_then(const Tensor& x, std::initializer_list<std::size_t> rest) {
    std::vector<std::int64_t> sizes;
    for (std::size_t i = 0; i + 3 < x.dim(); ++i) sizes.push_back(static_cast<std::int64_t>(x.shape()[i]));
    for (std::size_t n : rest) sizes.push_back(static_cast<std::int64_t>(n));
    return sizes;
}

// The leading axes in place, then `tail` (positions among the last `tail.size()` axes).
Axes leading_then_order(std::size_t lead, std::initializer_list<int> tail) {
    Axes order;
    for (std::size_t i = 0; i < lead; ++i) order.push_back(static_cast<int>(i));
    for (int axis : tail) order.push_back(static_cast<int>(lead) + axis);
    return order;
}

Tensor shuffle_pixels(const Tensor& x, std::size_t r, const char* op) {
    rank_at_least_3(x, op);
    if (r == 0) fail("{}: upscale_factor must be positive, got 0", op);
    const std::size_t c = x.shape()[x.dim() - 3], h = x.shape()[x.dim() - 2], w = x.shape()[x.dim() - 1];
    // r above 2^32 has r² above any channel count (and would overflow).
    if (r > std::numeric_limits<std::uint32_t>::max() || c % (r * r) != 0)
        fail("{}: channels {} not divisible by upscale_factor² = {} (input {})", op, c,
             r > std::numeric_limits<std::uint32_t>::max() ? fmt::format("{}²", r) : fmt::format("{}", r * r),
             shape_str(x.shape()));
    const std::size_t lead = x.dim() - 3;
    const Tensor split = reshape(x, leading_then(x, {c / (r * r), r, r, h, w}));
    // (C, r, r, H, W) -> (C, H, r, W, r): each pixel's r x r block side by side.
    const Tensor blocks = permute(split, leading_then_order(lead, {0, 3, 1, 4, 2}));
    return reshape(blocks, leading_then(x, {c / (r * r), h * r, w * r}));
}

Tensor unshuffle_pixels(const Tensor& x, std::size_t r, const char* op) {
    rank_at_least_3(x, op);
    if (r == 0) fail("{}: downscale_factor must be positive, got 0", op);
    const std::size_t c = x.shape()[x.dim() - 3], h = x.shape()[x.dim() - 2], w = x.shape()[x.dim() - 1];
    if (h % r != 0 || w % r != 0)
        fail("{}: height {} and width {} must be divisible by downscale_factor {} (input {})", op, h, w, r,
             shape_str(x.shape()));
    const std::size_t lead = x.dim() - 3;
    const Tensor split = reshape(x, leading_then(x, {c, h / r, r, w / r, r}));
    // (C, H, r, W, r) -> (C, r, r, H, W): pixel_shuffle's permutation undone.
    const Tensor blocks = permute(split, leading_then_order(lead, {0, 2, 4, 1, 3}));
    return reshape(blocks, leading_then(x, {c * r * r, h / r, w / r}));
}

void check_unflatten_sizes(const IntList& sizes, const char* op) {
    if (sizes.size() == 0) fail("{}: sizes must not be empty", op);
    std::size_t inferred = 0;
    for (std::int64_t n : sizes) {
        if (n < -1) fail("{}: sizes {} must be >= 0, or -1 once to infer one", op, sizes.str());
        inferred += n == -1 ? 1 : 0;
    }
    if (inferred > 1) fail("{}: sizes {} may hold -1 only once", op, sizes.str());
}

Tensor unflatten_axis(const Tensor& x, int dim, const IntList& sizes, const char* op) {
    if (!x.defined()) fail("{}: got an undefined tensor", op);
    check_unflatten_sizes(sizes, op);
    const auto rank = static_cast<int>(x.dim());
    if (dim < -rank || dim >= rank)
        fail("{}: dim {} is out of range for input {}, expected [{}, {})", op, dim, shape_str(x.shape()), -rank, rank);
    const auto axis = static_cast<std::size_t>(dim < 0 ? dim + rank : dim);
    const std::size_t size = x.shape()[axis];
    // The known sizes' product, saturating: a product above the axis's size is refused whatever it is.
    std::size_t known = 1;
    bool infer = false;
    for (std::int64_t n : sizes) {
        if (n == -1) {
            infer = true;
            continue;
        }
        const auto u = static_cast<std::size_t>(n);
        known = (u != 0 && known > size / u + 1) ? size + 1 : known * u;
    }
    if (infer ? (known == 0 || size % known != 0) : known != size)
        fail("{}: sizes {} do not multiply to {}, the size of axis {} of input {}", op, sizes.str(), size, axis,
             shape_str(x.shape()));
    std::vector<std::int64_t> shape;
    for (std::size_t i = 0; i < x.dim(); ++i) {
        if (i != axis) {
            shape.push_back(static_cast<std::int64_t>(x.shape()[i]));
            continue;
        }
        for (std::int64_t n : sizes) shape.push_back(n == -1 ? static_cast<std::int64_t>(size / known) : n);
    }
    return reshape(x, shape);
}

}  // namespace

Tensor pixel_shuffle(const Tensor& x, std::size_t upscale_factor) {
    return shuffle_pixels(x, upscale_factor, "pixel_shuffle");
}
Tensor pixel_unshuffle(const Tensor& x, std::size_t downscale_factor) {
    return unshuffle_pixels(x, downscale_factor, "pixel_unshuffle");
}
Tensor unflatten(const Tensor& x, int dim, IntList sizes) { return unflatten_axis(x, dim, sizes, "unflatten"); }

PixelShuffle::PixelShuffle(std::size_t upscale_factor) : factor_(upscale_factor) {
    if (upscale_factor == 0) fail("PixelShuffle: upscale_factor must be positive, got 0");
}
Tensor PixelShuffle::forward(const Tensor& input) { return shuffle_pixels(input, factor_, "PixelShuffle"); }
std::string PixelShuffle::describe() const { return fmt::format("PixelShuffle(upscale_factor={})", factor_); }

PixelUnshuffle::PixelUnshuffle(std::size_t downscale_factor) : factor_(downscale_factor) {
    if (downscale_factor == 0) fail("PixelUnshuffle: downscale_factor must be positive, got 0");
}
Tensor PixelUnshuffle::forward(const Tensor& input) { return unshuffle_pixels(input, factor_, "PixelUnshuffle"); }
std::string PixelUnshuffle::describe() const { return fmt::format("PixelUnshuffle(downscale_factor={})", factor_); }

Unflatten::Unflatten(int dim, IntList unflattened_size) : dim_(dim), sizes_(std::move(unflattened_size)) {
    check_unflatten_sizes(sizes_, "Unflatten");
}
Tensor Unflatten::forward(const Tensor& input) { return unflatten_axis(input, dim_, sizes_, "Unflatten"); }
std::string Unflatten::describe() const {
    return fmt::format("Unflatten(dim={}, unflattened_size={})", dim_, sizes_.str());
}

// ---- channel dropout -------------------------------------------------------------------------

namespace {

// x times a (N, C, 1...) mask from rg::dropout: one draw per channel, broadcast over its positions.
Tensor drop_channels(const Tensor& x, double p, bool training, std::size_t channel_axis, const char* op) {
    if (!(p >= 0.0 && p <= 1.0)) fail("{}: p must be in [0, 1], got {}", op, p);
    if (!training || p == 0.0) return x;
    Shape mask_shape = x.shape();
    for (std::size_t i = channel_axis + 1; i < mask_shape.size(); ++i) mask_shape[i] = 1;
    return x * dropout(ones(mask_shape, {.dtype = x.dtype()}), p, true);
}

}  // namespace

Tensor dropout1d(const Tensor& x, double p, bool training) {
    floating_or_fail(x, "dropout1d");
    if (x.dim() != 2 && x.dim() != 3)
        fail("dropout1d: expected (N, C, L) or unbatched (C, L), got shape {}", shape_str(x.shape()));
    return drop_channels(x, p, training, x.dim() - 2, "dropout1d");
}

Tensor dropout2d(const Tensor& x, double p, bool training) {
    floating_or_fail(x, "dropout2d");
    if (x.dim() == 3)
        fail("dropout2d: a 3-D input {} is ambiguous (PyTorch 1.13 reads it as (N, C, L), later versions as "
             "(C, H, W)); use dropout1d for (N, C, L), or unsqueeze(x, 0) for one (C, H, W) image",
             shape_str(x.shape()));
    if (x.dim() != 4) fail("dropout2d: expected (N, C, H, W), got shape {}", shape_str(x.shape()));
    return drop_channels(x, p, training, 1, "dropout2d");
}

Dropout1d::Dropout1d(double p) : p_(p) {
    if (!(p >= 0.0 && p <= 1.0)) fail("Dropout1d: p must be in [0, 1], got {}", p);
}
Tensor Dropout1d::forward(const Tensor& input) { return dropout1d(input, p_, is_training()); }
std::string Dropout1d::describe() const { return fmt::format("Dropout1d(p={})", p_); }

Dropout2d::Dropout2d(double p) : p_(p) {
    if (!(p >= 0.0 && p <= 1.0)) fail("Dropout2d: p must be in [0, 1], got {}", p);
}
Tensor Dropout2d::forward(const Tensor& input) { return dropout2d(input, p_, is_training()); }
std::string Dropout2d::describe() const { return fmt::format("Dropout2d(p={})", p_); }

// ---- Bilinear ----------------------------------------------------------------------------------

Tensor bilinear(const Tensor& x1, const Tensor& x2, const Tensor& weight, const Tensor& bias) {
    floating_or_fail(x1, "bilinear");
    floating_or_fail(x2, "bilinear");
    floating_or_fail(weight, "bilinear");
    if (weight.dim() != 3) fail("bilinear: weight has shape {}, expected (out, in1, in2)", shape_str(weight.shape()));
    const std::size_t out = weight.shape()[0], in1 = weight.shape()[1], in2 = weight.shape()[2];
    Shape lead1 = x1.shape(), lead2 = x2.shape();
    if (x1.dim() == 0 || x2.dim() == 0 || x1.shape().back() != in1 || x2.shape().back() != in2 ||
        (lead1.pop_back(), lead2.pop_back(), lead1 != lead2))
        fail("bilinear: inputs {} and {} do not fit weight {}: expected (*, {}) and (*, {}) with the same *",
             shape_str(x1.shape()), shape_str(x2.shape()), shape_str(weight.shape()), in1, in2);
    if (bias.defined() && (bias.dim() != 1 || bias.shape()[0] != out))
        fail("bilinear: bias has shape {}, expected ({},)", shape_str(bias.shape()), out);
    if (x1.dtype() != weight.dtype() || x2.dtype() != weight.dtype() ||
        (bias.defined() && bias.dtype() != weight.dtype()))
        fail("bilinear: x1 is {}, x2 {} and weight {}; they must have one dtype", dtype_name(x1.dtype()),
             dtype_name(x2.dtype()), dtype_name(weight.dtype()));
    const auto rows = static_cast<std::int64_t>(x1.numel() / in1);
    const auto o = static_cast<std::int64_t>(out), i1 = static_cast<std::int64_t>(in1),
               i2 = static_cast<std::int64_t>(in2);
    // x1ᵀ A_k for every k in one product: A as an (in1, out · in2) matrix.
    const Tensor left = matmul(reshape(x1, {rows, i1}), reshape(permute(weight, {1, 0, 2}), {i1, o * i2}));
    Tensor y = sum(reshape(left, {rows, o, i2}) * unsqueeze(reshape(x2, {rows, i2}), 1), {2});
    if (bias.defined()) y = y + bias;
    Shape shape = lead1;
    shape.push_back(out);
    return reshape(y, shape);
}

Bilinear::Bilinear(std::size_t in1_features, std::size_t in2_features, std::size_t out_features, bool with_bias) {
    if (in1_features == 0 || in2_features == 0 || out_features == 0)
        fail("Bilinear: sizes must be positive, got in1 {}, in2 {} and out {}", in1_features, in2_features,
             out_features);
    const double bound = 1.0 / std::sqrt(static_cast<double>(in1_features));
    weight = register_parameter("weight", uniform({out_features, in1_features, in2_features}, -bound, bound));
    if (with_bias) bias = register_parameter("bias", uniform({out_features}, -bound, bound));
}

Tensor Bilinear::forward(const Tensor& x1, const Tensor& x2) { return bilinear(x1, x2, weight, bias); }

std::string Bilinear::describe() const {
    return fmt::format("Bilinear(in1_features={}, in2_features={}, out_features={}{})", weight.shape()[1],
                       weight.shape()[2], weight.shape()[0], bias.defined() ? "" : ", bias=false");
}

// ---- padding modules ---------------------------------------------------------------------------

PadLayer::PadLayer(const char* kind, std::vector<std::int64_t> padding, PadMode mode, double value)
    : kind_(kind), padding_(std::move(padding)), mode_(mode), value_(value) {
    if (mode != PadMode::constant)
        for (std::int64_t n : padding_)
            if (n < 0) fail("{}: padding {} must be non-negative", kind, IntList(padding_).str());
}

Tensor PadLayer::forward(const Tensor& input) {
    try {
        return pad(input, padding_, mode_, value_);
    } catch (const Error& e) {
        // pad's message says what is wrong; the prefix says which layer asked.
        fail("{}: {}", describe(), e.what());
    }
}

std::string PadLayer::describe() const {
    return fmt::format("{}({}{})", kind_, IntList(padding_).str(),
                       mode_ == PadMode::constant && value_ != 0.0 ? fmt::format(", value={}", value_) : "");
}

ConstantPad1d::ConstantPad1d(Padding1d padding, double value)
    : PadLayer("ConstantPad1d", {padding.begin(), padding.end()}, PadMode::constant, value) {}
ConstantPad2d::ConstantPad2d(Padding2d padding, double value)
    : PadLayer("ConstantPad2d", {padding.begin(), padding.end()}, PadMode::constant, value) {}
ZeroPad2d::ZeroPad2d(Padding2d padding)
    : PadLayer("ZeroPad2d", {padding.begin(), padding.end()}, PadMode::constant, 0.0) {}
ReflectionPad1d::ReflectionPad1d(Padding1d padding)
    : PadLayer("ReflectionPad1d", {padding.begin(), padding.end()}, PadMode::reflect, 0.0) {}
ReflectionPad2d::ReflectionPad2d(Padding2d padding)
    : PadLayer("ReflectionPad2d", {padding.begin(), padding.end()}, PadMode::reflect, 0.0) {}
ReplicationPad1d::ReplicationPad1d(Padding1d padding)
    : PadLayer("ReplicationPad1d", {padding.begin(), padding.end()}, PadMode::replicate, 0.0) {}
ReplicationPad2d::ReplicationPad2d(Padding2d padding)
    : PadLayer("ReplicationPad2d", {padding.begin(), padding.end()}, PadMode::replicate, 0.0) {}
CircularPad1d::CircularPad1d(Padding1d padding)
    : PadLayer("CircularPad1d", {padding.begin(), padding.end()}, PadMode::circular, 0.0) {}
CircularPad2d::CircularPad2d(Padding2d padding)
    : PadLayer("CircularPad2d", {padding.begin(), padding.end()}, PadMode::circular, 0.0) {}

}  // namespace rg::nn
