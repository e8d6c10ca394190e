// pad's reflect, replicate and circular modes, composed from narrow, flip,
// broadcast_to and cat: their gradients are those ops' own, to any order.
#include <retrograd/error.hpp>
#include <retrograd/ops.hpp>

namespace rg {

const char* pad_mode_name(PadMode mode) {
    switch (mode) {
        case PadMode::constant: return "constant";
        case PadMode::reflect: return "reflect";
        case PadMode::replicate: return "replicate";
        case PadMode::circular: return "circular";
    }
    return "unknown";
}

namespace {

// The `count` elements that go before (or after) x along axis.
Tensor border(const Tensor& x, int axis, std::int64_t count, bool before, PadMode mode) {
    const auto size = static_cast<std::int64_t>(x.shape()[static_cast<std::size_t>(axis)]);
    switch (mode) {
        case PadMode::reflect: return flip(narrow(x, axis, before ? 1 : size - 1 - count, count), {axis});
        case PadMode::circular: return narrow(x, axis, before ? size - count : 0, count);
        default: {
            Shape shape = x.shape();
            shape[static_cast<std::size_t>(axis)] = static_cast<std::size_t>(count);
            return broadcast_to(narrow(x, axis, before ? 0 : size - 1, 1), shape);
        }
    }
}

}  // namespace

Tensor pad(const Tensor& x, IntList pads, PadMode mode, double value) {
    if (mode == PadMode::constant) return pad(x, pads, value);
    const char* name = pad_mode_name(mode);
    if (!x.defined()) fail("pad: got an undefined tensor");
    const std::vector<std::int64_t> amounts(pads.begin(), pads.end());
    if (amounts.size() % 2 != 0 || amounts.size() / 2 > x.dim())
        fail("pad: {} mode needs pairs (before, after) for at most {} axes, got {} values", name, x.dim(),
             amounts.size());
    // As PyTorch, the non-constant modes pad the spatial axes of (N, C, ...) or
    // unbatched (C, ...) only: 1 + #pairs <= rank.
    if (amounts.size() / 2 + 1 > x.dim())
        fail("pad: {} mode pads the last {} axes of a batched (N, C, ...) or (C, ...) input, got shape {}; "
             "expected rank {} or {}",
             name, amounts.size() / 2, shape_str(x.shape()), amounts.size() / 2 + 1, amounts.size() / 2 + 2);
    Tensor out = x;
    for (std::size_t pair = 0; pair < amounts.size() / 2; ++pair) {
        const int axis = static_cast<int>(x.dim() - 1 - pair);
        const std::int64_t before = amounts[2 * pair], after = amounts[2 * pair + 1];
        const auto size = static_cast<std::int64_t>(x.shape()[static_cast<std::size_t>(axis)]);
        const bool fits = mode == PadMode::reflect    ? before < size && after < size
                          : mode == PadMode::circular ? before <= size && after <= size
                                                      : size > 0 || (before == 0 && after == 0);
        if (before < 0 || after < 0 || !fits)
            fail("pad: {} padding ({}, {}) of axis {} (size {}) must be non-negative and {} the size", name, before,
                 after, axis, size,
                 mode == PadMode::reflect    ? "less than"
                 : mode == PadMode::circular ? "at most"
                                             : "within");
        TensorList parts;
        if (before > 0) parts.push_back(border(out, axis, before, true, mode));
        parts.push_back(out);
        if (after > 0) parts.push_back(border(out, axis, after, false, mode));
        if (parts.size() > 1) out = cat(parts, axis);
    }
    return out;
}

}  // namespace rg
