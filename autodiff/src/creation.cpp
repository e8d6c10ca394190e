// Creating tensors: from values, filled, ranges and random.
#include "kernels.hpp"
#include "kernels/copy.hpp"
#include "kernels/mersenne_twister.hpp"

#include <retrograd/random_state.hpp>

#include "random_bits.hpp"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <random>

namespace rg {
namespace {

// std::mt19937_64's sequence, drawn faster (kernels/mersenne_twister.hpp).
using Generator = detail::MersenneTwister64;

Generator& generator() {
    static Generator engine{5489u};
    return engine;
}
std::mutex& generator_mutex() {
    static std::mutex m;
    return m;
}

Tensor make(IntList sizes, TensorOptions options, double fill_value, bool fill, const char* op) {
    detail::check_dtype(options.dtype, op);
    if (options.requires_grad && !is_floating_point(options.dtype))
        fail("{}: {} tensors cannot require grad", op, dtype_name(options.dtype));
    // Values uninitialised: filled below, or by the caller (empty, random).
    Tensor out = detail::empty_dense(detail::to_shape(sizes, op), options.dtype, op);
    if (fill) {
        detail::visit_dtype(options.dtype, op, [&](auto zero) {
            using T = decltype(zero);
            detail::fill_values(out.data_ptr<T>(), out.numel(), static_cast<T>(fill_value));
            return 0;
        });
    }
    if (options.requires_grad) out.requires_grad_();
    return out;
}

// Fills a float tensor of `shape` with draws from `draw(engine)`.
template <class Draw> Tensor random_tensor(IntList sizes, TensorOptions options, const char* op, Draw draw) {
    detail::check_dtype(options.dtype, op);
    if (!is_floating_point(options.dtype)) fail("{}: expected a float dtype, got {}", op, dtype_name(options.dtype));
    if (options.dtype == Dtype::bfloat16) {  // drawn in float32, rounded
        Tensor out = detail::float32_as_bf16(random_tensor(sizes, {Dtype::float32, false}, op, draw));
        if (options.requires_grad) out.requires_grad_();
        return out;
    }
    Tensor out = make(sizes, {options.dtype, false}, 0, false, op);
    std::lock_guard lock(generator_mutex());
    detail::visit_float_dtype(options.dtype, op, [&](auto zero) {
        using T = decltype(zero);
        detail::fill_in_order(out.data_ptr<T>(), out.numel(), [&] { return static_cast<T>(draw(generator())); });
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

void detail::for_random_u64s(std::size_t n, FunctionRef<void(const std::uint64_t*, std::size_t)> consume) {
    constexpr std::size_t chunk = 4 * Generator::state_size;
    std::uint64_t draws[chunk];
    std::lock_guard lock(generator_mutex());
    Generator& engine = generator();
    for (std::size_t done = 0; done < n; done += chunk) {
        const std::size_t count = std::min(chunk, n - done);
        engine.fill(draws, count);
        consume(draws, count);
    }
}

struct RngState::Engine {
    Generator engine;
};

RngState::RngState() : engine_(std::make_shared<const Engine>(Engine{Generator{5489u}})) {}

RngState get_rng_state() {
    RngState state;
    std::lock_guard lock(generator_mutex());
    state.engine_ = std::make_shared<const RngState::Engine>(RngState::Engine{generator()});
    return state;
}

void set_rng_state(const RngState& state) {
    std::lock_guard lock(generator_mutex());
    generator() = state.engine_->engine;
}

NestedValues::NestedValues(std::initializer_list<NestedValues> items) {
    shape_.push_back(items.size());
    const NestedValues* first = items.size() ? items.begin() : nullptr;
    all_bool_ = first != nullptr;
    if (first) shape_.insert(shape_.end(), first->shape_.begin(), first->shape_.end());
    std::size_t i = 0;
    for (const NestedValues& item : items) {
        if (item.shape_ != first->shape_)
            fail("tensor: ragged nested list: element {} has shape {}, expected {} like element 0", i,
                 shape_str(item.shape_), shape_str(first->shape_));
        values_.insert(values_.end(), item.values_.begin(), item.values_.end());
        all_bool_ = all_bool_ && item.all_bool_;
        ++i;
    }
}

Tensor tensor(const NestedValues& values, TensorOptions options) {
    if (values.all_bool() && options.dtype == Dtype::float32) options.dtype = Dtype::bool_;
    return from_vector(values.values(), values.shape(), options);
}

Tensor from_vector(const std::vector<double>& values, IntList sizes, TensorOptions options) {
    const Shape shape = detail::to_shape(sizes, "from_vector");
    if (values.size() != shape_numel(shape))
        fail("from_vector: {} values cannot fill shape {} ({} elements)", values.size(), shape_str(shape),
             shape_numel(shape));
    Tensor out = make(sizes, {options.dtype, false}, 0, false, "from_vector");
    detail::visit_dtype(options.dtype, "from_vector", [&](auto zero) {
        using T = decltype(zero);
        detail::values_from(values.data(), values.size(), out.data_ptr<T>());
        return 0;
    });
    if (options.requires_grad) out.requires_grad_();
    return out;
}

Tensor from_indices(const std::vector<std::int64_t>& values, IntList sizes) {
    const Shape shape = detail::to_shape(sizes, "from_indices");
    if (values.size() != shape_numel(shape))
        fail("from_indices: {} values cannot fill shape {}", values.size(), shape_str(shape));
    Tensor out = make(sizes, {Dtype::int64, false}, 0, false, "from_indices");
    detail::values_from(values.data(), values.size(), out.data_ptr<std::int64_t>());
    return out;
}
Tensor from_indices(const std::vector<std::int64_t>& values) { return from_indices(values, Shape{values.size()}); }

Tensor zeros(IntList shape, TensorOptions options) { return make(shape, options, 0, true, "zeros"); }
Tensor ones(IntList shape, TensorOptions options) { return make(shape, options, 1, true, "ones"); }
Tensor full(IntList shape, double value, TensorOptions options) { return make(shape, options, value, true, "full"); }
Tensor empty(IntList shape, TensorOptions options) { return make(shape, options, 0, false, "empty"); }

Tensor arange(double start, double stop, double step, TensorOptions options) {
    if (step == 0 || !std::isfinite(step) || !std::isfinite(start) || !std::isfinite(stop))
        fail("arange: start {}, stop {} and step {} must be finite and step non-zero", start, stop, step);
    const double count = std::ceil((stop - start) / step);
    if (count > 9.0e15)
        fail("arange: start {}, stop {} and step {} give {:.3g} elements, too many to allocate", start, stop, step,
             count);
    const std::size_t n = count > 0 ? static_cast<std::size_t>(count) : 0;
    detail::checked_numel(Shape{n}, options.dtype, "arange");
    std::vector<double> values(n);
    for (std::size_t i = 0; i < n; ++i) values[i] = start + static_cast<double>(i) * step;
    return from_vector(values, Shape{n}, options);
}
Tensor arange(double stop, TensorOptions options) { return arange(0, stop, 1, options); }

Tensor linspace(double start, double stop, std::int64_t steps, TensorOptions options) {
    if (steps < 0) fail("linspace: the number of steps must be >= 0, got {}", steps);
    const auto count = static_cast<std::size_t>(steps);
    detail::checked_numel(Shape{count, 2}, options.dtype, "linspace");  // the values pass through doubles
    std::vector<double> values(count);
    for (std::size_t i = 0; i < count; ++i)
        values[i] =
            count == 1 ? start : start + (stop - start) * static_cast<double>(i) / static_cast<double>(count - 1);
    return from_vector(values, Shape{count}, options);
}

Tensor eye(std::int64_t size, TensorOptions options) {
    if (size < 0) fail("eye: the size must be >= 0, got {}", size);
    const auto n = static_cast<std::size_t>(size);
    detail::checked_numel(Shape{n, n, 2}, options.dtype, "eye");
    std::vector<double> values(n * n, 0.0);
    for (std::size_t i = 0; i < n; ++i) values[i * n + i] = 1.0;
    return from_vector(values, Shape{n, n}, options);
}

namespace {
// What std::uniform_real_distribution<double>(0, 1) draws from a 64-bit
// engine, bit for bit (one draw, converted, over 2^64, below 1), without the
// long double arithmetic libstdc++'s generate_canonical runs per draw.
inline double canonical(Generator& engine) {
    static_assert(Generator::min() == 0 && Generator::max() == ~std::uint64_t{0});
    const double r = static_cast<double>(engine()) * 0x1p-64;
    return r < 1.0 ? r : std::nextafter(1.0, 0.0);
}
}  // namespace

Tensor rand(IntList shape, TensorOptions options) {
    return random_tensor(shape, options, "rand", [](Generator& engine) { return canonical(engine); });
}
Tensor randn(IntList shape, TensorOptions options) {
    std::normal_distribution<double> dist(0.0, 1.0);
    return random_tensor(shape, options, "randn", [&](auto& g) { return dist(g); });
}
Tensor uniform(IntList shape, double low, double high, TensorOptions options) {
    if (!(low < high)) fail("uniform: low {} must be below high {}", low, high);
    std::uniform_real_distribution<double> dist(low, high);
    return random_tensor(shape, options, "uniform", [&](auto& g) { return dist(g); });
}
Tensor randint(std::int64_t low, std::int64_t high, IntList shape) {
    if (low >= high) fail("randint: low {} must be below high {}", low, high);
    std::uniform_int_distribution<std::int64_t> dist(low, high - 1);
    Tensor out = make(shape, {Dtype::int64, false}, 0, false, "randint");
    std::lock_guard lock(generator_mutex());
    detail::fill_in_order(out.data_ptr<std::int64_t>(), out.numel(), [&] { return dist(generator()); });
    return out;
}

Tensor zeros_like(const Tensor& like) { return zeros(like.shape(), {like.dtype()}); }
Tensor ones_like(const Tensor& like) { return ones(like.shape(), {like.dtype()}); }
Tensor full_like(const Tensor& like, double value) { return full(like.shape(), value, {like.dtype()}); }
Tensor empty_like(const Tensor& like) { return empty(like.shape(), {like.dtype()}); }
Tensor rand_like(const Tensor& like) { return rand(like.shape(), {like.dtype()}); }
Tensor randn_like(const Tensor& like) { return randn(like.shape(), {like.dtype()}); }

}  // namespace rg
