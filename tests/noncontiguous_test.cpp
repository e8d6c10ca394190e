// Generated from the op registry: every registered op, on every sample its
// declaration gives, with its inputs given as non-contiguous views
// (transposed, sliced with a step, expanded, a stepped slice of a transpose),
// agrees in values and in gradients with the same op on contiguous copies of
// those views.
#include <retrograd/registry.hpp>

#include <numeric>
#include <optional>
#include <sstream>

#include "helpers.hpp"

using rg::OpDef;
using rg::Shape;
using rg::Tensor;
using rg::TensorList;

namespace {

enum class Layout { transposed, stepped, expanded, view_of_view };

const char* layout_name(Layout layout) {
    switch (layout) {
        case Layout::transposed: return "transposed";
        case Layout::stepped: return "sliced with a step";
        case Layout::expanded: return "expanded";
        case Layout::view_of_view: return "a stepped slice of a transpose";
    }
    return "?";
}

rg::Axes reversed_axes(std::size_t rank) {
    rg::Axes axes(rank);
    std::iota(axes.rbegin(), axes.rend(), 0);
    return axes;
}

Shape reversed(const Shape& shape) { return Shape(shape.rbegin(), shape.rend()); }

// A leaf (its own storage, values uniform in [low, high)) and a view of it of
// `shape` in the given layout; nothing when the layout cannot make that shape
// non-contiguous.
std::optional<std::pair<Tensor, Tensor>> strided_input(Layout layout, const Shape& shape, double low, double high,
                                                       bool grad) {
    const std::size_t rank = shape.size();
    auto leaf = [&](const Shape& s) {
        return rg::uniform(s, low, high, {.dtype = rg::float64, .requires_grad = grad});
    };
    // The last axis of size > 1 (stepping a size-1 axis changes no layout).
    std::optional<std::size_t> wide;
    for (std::size_t d = 0; d < rank; ++d)
        if (shape[d] > 1) wide = d;
    if (!wide) return std::nullopt;
    switch (layout) {
        case Layout::transposed: {
            if (rank < 2) return std::nullopt;
            Tensor base = leaf(reversed(shape));
            return std::make_pair(base, base.permute(reversed_axes(rank)));
        }
        case Layout::stepped: {
            Shape s = shape;
            s[*wide] *= 2;
            Tensor base = leaf(s);
            const auto n = static_cast<std::int64_t>(s[*wide]);
            return std::make_pair(base, base.slice(static_cast<int>(*wide), 0, n, 2));
        }
        case Layout::expanded: {
            Shape s = shape;
            s[*wide] = 1;
            Tensor base = leaf(s);
            return std::make_pair(base, base.expand(shape));
        }
        case Layout::view_of_view: {
            if (rank < 2) return std::nullopt;
            Shape s = reversed(shape);
            const std::size_t axis = rank - 1 - *wide;  // `wide` in the reversed order
            s[axis] *= 2;
            Tensor base = leaf(s);
            const auto n = static_cast<std::int64_t>(s[axis]);
            return std::make_pair(base, base.slice(static_cast<int>(axis), 0, n, 2).permute(reversed_axes(rank)));
        }
    }
    return std::nullopt;
}

// Gradients of sum(out * weights) with respect to the leaves that require grad.
TensorList weighted_grads(const Tensor& out, const Tensor& weights, const TensorList& leaves) {
    TensorList wanted;
    for (const Tensor& l : leaves)
        if (l.requires_grad()) wanted.push_back(l);
    if (wanted.empty() || !out.requires_grad()) return {};
    // Retained: both programs share the views' nodes.
    return rg::grad(rg::sum(out * weights), wanted, {.retain_graph = true, .allow_unused = true});
}

}  // namespace

// allclose, where a NaN on both sides at the same place is agreement: std over
// a constant row of an expanded input has a NaN gradient either way.
bool agree(const Tensor& a, const Tensor& b, double rtol, double atol) {
    if (!a.is_floating()) return rg::allclose(a, b, rtol, atol);
    const Tensor nan_a = rg::ne(a, a), nan_b = rg::ne(b, b);
    if (!rg::all(rg::eq(nan_a, nan_b)).item<bool>()) return false;
    return rg::allclose(rg::where(nan_a, 0.0, a), rg::where(nan_b, 0.0, b), rtol, atol);
}

TEST_CASE("registered ops on non-contiguous inputs: the same values and gradients as on contiguous copies") {
    rg::manual_seed(91);
    std::size_t compared = 0;
    for (const OpDef* def : rg::op_registry()) {
        for (const rg::OpSample& sample : def->samples) {
            bool empty = false;
            for (const Shape& s : sample.shapes) empty = empty || rg::shape_numel(s) == 0;
            if (empty) continue;
            for (Layout layout : {Layout::transposed, Layout::stepped, Layout::expanded, Layout::view_of_view}) {
                std::ostringstream what;
                what << def->name << " on";
                for (const auto& s : sample.shapes) what << " " << rg::shape_str(s);
                what << ", " << layout_name(layout);
                CAPTURE(what.str());
                TensorList leaves, views;
                bool strided = false;
                for (std::size_t i = 0; i < sample.shapes.size(); ++i) {
                    const bool grad = i < def->differentiable.size() && def->differentiable[i];
                    auto made = strided_input(layout, sample.shapes[i], sample.low, sample.high, grad);
                    if (made && made->second.is_contiguous()) made.reset();  // (2, 1) transposed is still row-major
                    if (made) {
                        leaves.push_back(made->first);
                        views.push_back(made->second);
                        strided = true;
                    } else {
                        leaves.push_back(rg::uniform(sample.shapes[i], sample.low, sample.high,
                                                     {.dtype = rg::float64, .requires_grad = grad}));
                        views.push_back(leaves.back());
                    }
                }
                if (!strided) continue;
                TensorList copies;
                for (const Tensor& v : views) copies.push_back(v.contiguous());  // recorded: gradients reach the leaves
                Tensor out;
                try {
                    out = def->call(views);
                } catch (const rg::Error& e) {
                    // The one documented refusal: view() never copies.
                    CHECK_MESSAGE(std::string(e.what()).rfind("view: cannot view", 0) == 0, e.what());
                    continue;
                }
                const Tensor expected = def->call(copies);
                REQUIRE(out.shape() == expected.shape());
                CHECK_MESSAGE(agree(out.detach(), expected.detach(), 1e-12, 1e-12),
                              "strided " << out << "\ncontiguous " << expected);
                ++compared;
                if (!out.is_floating() || out.numel() == 0) continue;
                const Tensor weights = rg::randn(out.shape(), {.dtype = out.dtype()});
                const TensorList got = weighted_grads(out, weights, leaves);
                const TensorList want = weighted_grads(expected, weights, leaves);
                REQUIRE(got.size() == want.size());
                for (std::size_t k = 0; k < got.size(); ++k)
                    CHECK_MESSAGE(agree(got[k], want[k], 1e-10, 1e-12),
                                  "gradient " << k << ": strided " << got[k] << "\ncontiguous " << want[k]);
            }
        }
    }
    CHECK(compared > 200);
}
