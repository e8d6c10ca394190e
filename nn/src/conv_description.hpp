#pragma once
// What Conv1d's and Conv2d's describe() share: the padding as PyTorch writes
// it, and the options that differ from their defaults after it.
#include <retrograd/conv.hpp>
#include <retrograd/ops.hpp>

#include <fmt/format.h>

#include <cstddef>
#include <string>

namespace rg::nn::detail {

// "same", "valid" (quoted, as PyTorch's string options), or `sizes`, the explicit padding as written.
inline std::string padding_text(Conv2dOptions::Rule rule, const std::string& sizes) {
    switch (rule) {
        case Conv2dOptions::Rule::same: return "\"same\"";
        case Conv2dOptions::Rule::valid: return "\"valid\"";
        case Conv2dOptions::Rule::explicit_sizes: break;
    }
    return sizes;
}

// ", dilation=..." (`dilation` as written, empty when it is the default),
// then groups, a missing bias and the padding mode where not the default.
inline std::string conv_options_tail(const std::string& dilation, std::size_t groups, bool bias, PadMode mode) {
    std::string tail;
    if (!dilation.empty()) tail += ", dilation=" + dilation;
    if (groups != 1) tail += fmt::format(", groups={}", groups);
    if (!bias) tail += ", bias=false";
    if (mode != PadMode::constant) tail += fmt::format(", padding_mode={}", pad_mode_name(mode));
    return tail;
}

}  // namespace rg::nn::detail
