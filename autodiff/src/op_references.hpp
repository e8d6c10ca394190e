#pragma once
// Plain loops for the float64 references of registered ops (OpDef::reference):
// slow and obvious on purpose, written without the kernels or the ops the
// forwards use, so that a generated test compares two independent computations.
#include <retrograd/tensor.hpp>

#include <vector>

namespace rg::detail::ref {

using Index = std::vector<std::size_t>;

// A row-major array of doubles with its shape.
struct Array {
    Shape shape;
    std::vector<double> values;

    explicit Array(const Tensor& t) : shape(t.shape()), values(t.to_vector()) {}
    explicit Array(const Shape& s, double fill = 0.0) : shape(s), values(shape_numel(s), fill) {}

    std::size_t flat(const Index& index) const {
        std::size_t f = 0;
        for (std::size_t d = 0; d < shape.size(); ++d) f = f * shape[d] + index[d];
        return f;
    }
    double& operator[](const Index& index) { return values[flat(index)]; }
    double operator[](const Index& index) const { return values[flat(index)]; }
    Tensor tensor() const { return from_vector(values, shape, {.dtype = Dtype::float64}); }
};

// Calls f(index) for every multi-index of `shape`, row-major.
template <class F> void for_each_index(const Shape& shape, F f) {
    if (shape_numel(shape) == 0) return;
    Index index(shape.size(), 0);
    while (true) {
        f(static_cast<const Index&>(index));
        std::size_t d = shape.size();
        while (d > 0 && ++index[d - 1] == shape[d - 1]) index[--d] = 0;
        if (d == 0) return;
    }
}

}  // namespace rg::detail::ref
