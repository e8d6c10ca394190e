// Creating tensors: from values, filled, ranges and random.
#include "kernels.hpp"

#include <cmath>
#include <mutex>
#include <random>

namespace rg {
namespace {

std::mt19937_64& generator() {
    static std::mt19937_64 engine{5489u};
    return engine;
}
std::mutex& generator_mutex() {
    static std::mutex m;
    return m;
}

Tensor make(const Shape& shape, TensorOptions options, double fill_value, bool fill,
            const char* op) {
    Tensor out;
    switch (options.dtype) {
        case Dtype::float32: {
            xt::xarray<float> a(shape);
            if (fill) std::fill(a.begin(), a.end(), static_cast<float>(fill_value));
            out = Tensor(std::move(a));
            break;
        }
        case Dtype::float64: {
            xt::xarray<double> a(shape);
            if (fill) std::fill(a.begin(), a.end(), fill_value);
            out = Tensor(std::move(a));
            break;
        }
        case Dtype::int64: {
            xt::xarray<std::int64_t> a(shape);
            if (fill) std::fill(a.begin(), a.end(), static_cast<std::int64_t>(fill_value));
            out = Tensor(std::move(a));
            break;
        }
    }
    if (options.requires_grad) {
        if (options.dtype == Dtype::int64) fail("{}: int64 tensors cannot require grad", op);
        out.requires_grad_();
    }
    return out;
}

// Fills a float tensor of `shape` with draws from `draw(engine)`.
template <class Draw>
Tensor random_tensor(const Shape& shape, TensorOptions options, const char* op, Draw draw) {
    if (options.dtype == Dtype::int64) fail("{}: expected a float dtype, got int64", op);
    Tensor out = make(shape, {options.dtype, false}, 0, false, op);
    std::lock_guard lock(generator_mutex());
    detail::visit_float(out, op, [&](auto& a) {
        using T = typename std::decay_t<decltype(a)>::value_type;
        auto* data = const_cast<T*>(a.data());
        for (std::size_t i = 0; i < a.size(); ++i) data[i] = static_cast<T>(draw(generator()));
        return 0;
    });
    if (options.requires_grad) out.requires_grad_();
    return out;
}

}  // namespace

void manual_seed(std::uint64_t seed) {
    std::lock_guard lock(generator_mutex());
    generator().seed(seed);
}

std::uint64_t random_u64() {
    std::lock_guard lock(generator_mutex());
    return generator()();
}

NestedValues::NestedValues(std::initializer_list<NestedValues> items) {
    shape_.push_back(items.size());
    const NestedValues* first = items.size() ? items.begin() : nullptr;
    if (first) shape_.insert(shape_.end(), first->shape_.begin(), first->shape_.end());
    std::size_t i = 0;
    for (const NestedValues& item : items) {
        if (item.shape_ != first->shape_)
            fail("tensor: ragged nested list: element {} has shape {}, expected {} like element 0", i,
                 shape_str(item.shape_), shape_str(first->shape_));
        values_.insert(values_.end(), item.values_.begin(), item.values_.end());
        ++i;
    }
}

Tensor tensor(const NestedValues& values, TensorOptions options) {
    return from_vector(values.values(), values.shape(), options);
}

Tensor from_vector(const std::vector<double>& values, const Shape& shape, TensorOptions options) {
    if (values.size() != shape_numel(shape))
        fail("from_vector: {} values cannot fill shape {} ({} elements)", values.size(),
             shape_str(shape), shape_numel(shape));
    xt::xarray<double> a(shape);
    std::copy(values.begin(), values.end(), a.begin());
    Tensor out(std::move(a));
    if (options.dtype != Dtype::float64) out = out.to(options.dtype);
    if (options.requires_grad) out.requires_grad_();
    return out;
}

Tensor from_indices(const std::vector<std::int64_t>& values, const Shape& shape) {
    if (values.size() != shape_numel(shape))
        fail("from_indices: {} values cannot fill shape {}", values.size(), shape_str(shape));
    xt::xarray<std::int64_t> a(shape);
    std::copy(values.begin(), values.end(), a.begin());
    return Tensor(std::move(a));
}
Tensor from_indices(const std::vector<std::int64_t>& values) {
    return from_indices(values, Shape{values.size()});
}

Tensor zeros(const Shape& shape, TensorOptions options) { return make(shape, options, 0, true, "zeros"); }
Tensor ones(const Shape& shape, TensorOptions options) { return make(shape, options, 1, true, "ones"); }
Tensor full(const Shape& shape, double value, TensorOptions options) {
    return make(shape, options, value, true, "full");
}
Tensor empty(const Shape& shape, TensorOptions options) {
    return make(shape, options, 0, false, "empty");
}

Tensor arange(double start, double stop, double step, TensorOptions options) {
    if (step == 0 || !std::isfinite(step) || !std::isfinite(start) || !std::isfinite(stop))
        fail("arange: start {}, stop {} and step {} must be finite and step non-zero", start,
             stop, step);
    const double count = std::ceil((stop - start) / step);
    const std::size_t n = count > 0 ? static_cast<std::size_t>(count) : 0;
    std::vector<double> values(n);
    for (std::size_t i = 0; i < n; ++i) values[i] = start + static_cast<double>(i) * step;
    return from_vector(values, Shape{n}, options);
}
Tensor arange(double stop, TensorOptions options) { return arange(0, stop, 1, options); }

Tensor linspace(double start, double stop, std::size_t count, TensorOptions options) {
    std::vector<double> values(count);
    for (std::size_t i = 0; i < count; ++i)
        values[i] = count == 1 ? start
                               : start + (stop - start) * static_cast<double>(i) /
                                             static_cast<double>(count - 1);
    return from_vector(values, Shape{count}, options);
}

Tensor eye(std::size_t n, TensorOptions options) {
    std::vector<double> values(n * n, 0.0);
    for (std::size_t i = 0; i < n; ++i) values[i * n + i] = 1.0;
    return from_vector(values, Shape{n, n}, options);
}

Tensor rand(const Shape& shape, TensorOptions options) {
    std::uniform_real_distribution<double> dist(0.0, 1.0);
    return random_tensor(shape, options, "rand", [&](auto& g) { return dist(g); });
}
Tensor randn(const Shape& shape, TensorOptions options) {
    std::normal_distribution<double> dist(0.0, 1.0);
    return random_tensor(shape, options, "randn", [&](auto& g) { return dist(g); });
}
Tensor uniform(const Shape& shape, double low, double high, TensorOptions options) {
    if (!(low < high)) fail("uniform: low {} must be below high {}", low, high);
    std::uniform_real_distribution<double> dist(low, high);
    return random_tensor(shape, options, "uniform", [&](auto& g) { return dist(g); });
}
Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape) {
    if (low >= high) fail("randint: low {} must be below high {}", low, high);
    std::uniform_int_distribution<std::int64_t> dist(low, high - 1);
    xt::xarray<std::int64_t> a(shape);
    std::lock_guard lock(generator_mutex());
    for (auto& v : a) v = dist(generator());
    return Tensor(std::move(a));
}

Tensor zeros_like(const Tensor& like) { return zeros(like.shape(), {like.dtype()}); }
Tensor ones_like(const Tensor& like) { return ones(like.shape(), {like.dtype()}); }
Tensor full_like(const Tensor& like, double value) { return full(like.shape(), value, {like.dtype()}); }
Tensor rand_like(const Tensor& like) { return rand(like.shape(), {like.dtype()}); }
Tensor randn_like(const Tensor& like) { return randn(like.shape(), {like.dtype()}); }

}  // namespace rg
