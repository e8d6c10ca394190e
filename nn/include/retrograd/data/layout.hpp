#pragma once
/// @file
/// Image layouts. retrograd works in NCHW (batch, channels, height, width), as
/// PyTorch; the course (*Réseaux de neurones en pratique*) and many image files are HWC. These are
/// permutes, so gradients flow through them.
#include <retrograd/ops.hpp>

namespace rg::data {

/// (H, W, C) -> (1, C, H, W), or (N, H, W, C) -> (N, C, H, W), as a view.
/// @param images HWC images
/// @throws rg::Error when `images` has rank other than 3 or 4
inline Tensor hwc_to_nchw(const Tensor& images) {
    if (images.dim() == 3) return unsqueeze(permute(images, {2, 0, 1}), 0);
    if (images.dim() == 4) return permute(images, {0, 3, 1, 2});
    fail("hwc_to_nchw: expected (H, W, C) or (N, H, W, C), got shape {}", shape_str(images.shape()));
}

/// (N, C, H, W) -> (N, H, W, C), as a view.
/// @param images NCHW images
/// @throws rg::Error when `images` does not have rank 4
inline Tensor nchw_to_hwc(const Tensor& images) {
    if (images.dim() == 4) return permute(images, {0, 2, 3, 1});
    fail("nchw_to_hwc: expected (N, C, H, W), got shape {}", shape_str(images.shape()));
}

}  // namespace rg::data
