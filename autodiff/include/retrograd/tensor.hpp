#pragma once
// rg::Tensor: a cheap-to-copy handle on a strided view of a reference-counted
// storage, plus the autograd bookkeeping (requires_grad, grad, the node that
// made it). Copies of a handle share the same tensor, as in PyTorch; views
// (reshape, transpose, slice, expand, detach...) are different tensors that
// share the storage; clone() copies the values.
#include <retrograd/bfloat16.hpp>
#include <retrograd/error.hpp>

#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xstrided_view.hpp>

#include <concepts>
#include <iterator>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

namespace rg {

// A value outside this list (a cast integer) is an rg::Error wherever it is
// used, naming the op; it never falls through to another dtype.
enum class Dtype { float32, float64, int64, bool_, bfloat16 };
inline constexpr Dtype float32 = Dtype::float32;
inline constexpr Dtype float64 = Dtype::float64;
inline constexpr Dtype int64 = Dtype::int64;  // indices and labels; not differentiable
inline constexpr Dtype bool_ = Dtype::bool_;  // masks (comparisons); 1 byte; not differentiable
/// bfloat16 (rg::BFloat16 elements, 2 bytes): float32's range with 8 significant
/// bits. Elementwise ops and reductions compute in float32 and round their
/// result; differentiable; rg::Autocast runs products in it (docs/autodiff.md).
inline constexpr Dtype bfloat16 = Dtype::bfloat16;

std::string_view dtype_name(Dtype dtype);  // "float32", ..., "bool"; "unknown" outside the list
std::size_t dtype_size(Dtype dtype);  // bytes per element; an unknown dtype is an rg::Error
bool is_floating_point(Dtype dtype);  // float32, float64 or bfloat16: the dtypes that can require grad

template <class T> constexpr Dtype dtype_of();
template <> constexpr Dtype dtype_of<float>() { return Dtype::float32; }
template <> constexpr Dtype dtype_of<double>() { return Dtype::float64; }
template <> constexpr Dtype dtype_of<std::int64_t>() { return Dtype::int64; }
template <> constexpr Dtype dtype_of<bool>() { return Dtype::bool_; }
template <> constexpr Dtype dtype_of<BFloat16>() { return Dtype::bfloat16; }

using Shape = xt::svector<std::size_t, 4>;  // small vector, no heap for rank <= 4
using Strides = xt::svector<std::ptrdiff_t, 4>;  // in elements
std::string shape_str(const Shape& shape);  // "(3, 4)"
// The multi-index of a flat row-major position, for messages: "[1, 2]".
std::string index_str(std::size_t flat, const Shape& shape);
std::size_t shape_numel(const Shape& shape);

// A list of sizes or indices given as a braced list of any integers, as
// LibTorch's IntArrayRef: rg::zeros({n, m}) with long, int or size_t n and m,
// and reshape(x, {-1, 784}). A Shape converts to it too.
class IntList {
public:
    struct Int {
        template <std::integral I> constexpr Int(I i) : value(to_int64(i)) {}  // NOLINT: implicit by design
        std::int64_t value;
    };
    IntList() = default;
    IntList(std::initializer_list<Int> values);
    IntList(const std::vector<std::int64_t>& values);  // NOLINT: implicit by design
    IntList(const std::vector<int>& values);  // NOLINT
    IntList(const Shape& shape);  // NOLINT

    std::size_t size() const { return values_.size(); }
    std::int64_t operator[](std::size_t i) const { return values_[i]; }
    const std::int64_t* begin() const { return values_.data(); }
    const std::int64_t* end() const { return values_.data() + values_.size(); }
    std::string str() const;  // "(2, -1)"

private:
    template <class I> static constexpr std::int64_t to_int64(I i) {
        if constexpr (std::is_unsigned_v<I> && sizeof(I) >= sizeof(std::int64_t)) {
            if (i > static_cast<I>(INT64_MAX)) return INT64_MAX;  // rejected by every size check
        }
        return static_cast<std::int64_t>(i);
    }
    xt::svector<std::int64_t, 6> values_;
};

struct TensorOptions {
    Dtype dtype = Dtype::float32;
    bool requires_grad = false;
};

class Node;
class Tensor;
struct TensorImpl;
using Hook = std::function<Tensor(const Tensor& grad)>;
// Called with the leaf itself once backward has added a gradient into its .grad.
using PostAccumulateHook = std::function<void(Tensor& leaf)>;

struct BackwardOptions {
    bool retain_graph = false;  // keep saved values so backward can run again
    bool create_graph = false;  // record the backward pass itself (higher order)
};

// The values of a tensor as an xtensor expression over the same storage (no
// copy): a strided view of the elements from the tensor's first one, so that
// reading, writing and assigning whole arrays (=, +=, ...) go element by
// element with the tensor's strides, and data() is the first element. A copy
// of the view stays valid while the storage lives.
template <class T>
using FlatValues = xt::xtensor_adaptor<xt::xbuffer_adaptor<T*, xt::no_ownership, std::allocator<T>>, 1>;
template <class T>
using ValueView =
    decltype(xt::strided_view(std::declval<FlatValues<T>>(), std::declval<std::vector<std::size_t>>(),
                              std::declval<std::vector<std::ptrdiff_t>>(), std::size_t{0}, xt::layout_type::dynamic));

// A list of axes (negative ones count from the end), given as a braced list
// of any integers, as LibTorch's IntArrayRef: x.permute({1, 0}),
// rg::sum(x, {i, j}) with int, int64_t or size_t i and j. It is a
// std::vector<int>; an axis too large for an int becomes one every op refuses.
class Axes : public std::vector<int> {
public:
    Axes() = default;
    explicit Axes(std::size_t count, int value = 0) : std::vector<int>(count, value) {}
    Axes(std::initializer_list<IntList::Int> axes) {  // NOLINT: implicit by design
        reserve(axes.size());
        for (IntList::Int a : axes) push_back(clamped(a.value));
    }
    Axes(const std::vector<int>& axes) : std::vector<int>(axes) {}  // NOLINT: implicit by design
    template <std::integral I> Axes(const std::vector<I>& axes) : Axes(axes.begin(), axes.end()) {}  // NOLINT
    template <std::input_iterator It> Axes(It first, It last) {
        for (; first != last; ++first) push_back(clamped(IntList::Int(*first).value));
    }

private:
    static int clamped(std::int64_t axis) {
        constexpr std::int64_t low = std::numeric_limits<int>::min(), high = std::numeric_limits<int>::max();
        return static_cast<int>(axis < low ? low : axis > high ? high : axis);
    }
};

// The unary elementwise ops with a method form, x.name() == rg::name(x).
// (clang-format's layout of this list changes from run to run: kept by hand)
// clang-format off
#define RETROGRAD_UNARY_METHODS(X)                                                    \
    X(neg) X(exp) X(expm1) X(log) X(log1p) X(sqrt) X(square) X(abs) X(sign) X(sin) \
    X(cos) X(tanh) X(sigmoid) X(relu) X(softplus) X(atan) X(step)                 \
    X(erf) X(silu) X(mish) X(hardsigmoid) X(logsigmoid) X(softsign)
// clang-format on

class Tensor {
public:
    Tensor() = default;  // an undefined tensor (no data); defined() is false
    explicit Tensor(xt::xarray<float> values, bool requires_grad = false);
    explicit Tensor(xt::xarray<double> values, bool requires_grad = false);
    explicit Tensor(xt::xarray<std::int64_t> values);
    explicit Tensor(xt::xarray<bool> values);

    bool defined() const { return impl_ != nullptr; }
    const Shape& shape() const;
    std::size_t dim() const { return shape().size(); }
    std::size_t numel() const;
    std::int64_t size(int axis) const;  // negative axes count from the end
    Dtype dtype() const;
    bool is_floating() const { return is_floating_point(dtype()); }

    // ---- storage and views ----
    const Strides& strides() const;  // in elements, one per axis
    std::int64_t stride(int axis) const;  // negative axes count from the end
    std::size_t storage_offset() const;  // in elements, from the start of the storage
    bool is_contiguous() const;  // row-major with no gaps
    // This tensor when contiguous, else a contiguous copy (recorded on the tape).
    Tensor contiguous() const;
    // Pointer to the first element (at storage_offset); T must match dtype().
    template <class T> T* data_ptr() const;
    void* data_ptr() const;  // untyped, for I/O and collectives
    std::size_t nbytes() const;  // numel() * element size
    // True when both tensors read the same storage (a view of the other, or views of one base).
    bool shares_storage(const Tensor& other) const;
    bool is_view() const;  // made by a view op (reshape, slice, transpose, detach...)
    // Bumped by every in-place write to the storage; saved tensors check it.
    std::uint64_t version() const;

    // The values as an xtensor array over the same storage; T must match dtype().
    // Writing through it writes the tensor without recording (see docs/autodiff.md).
    template <class T = float> ValueView<T>& value();
    template <class T = float> const ValueView<T>& value() const;
    template <class T = double> T item() const;  // the single element
    std::vector<double> to_vector() const;  // all elements, row-major

    // ---- autograd ----
    bool requires_grad() const;
    Tensor& requires_grad_(bool on = true);  // leaves only
    bool is_leaf() const;
    Tensor grad() const;  // undefined until a backward reaches this tensor
    void set_grad(const Tensor& grad);
    void zero_grad();  // drops the gradient (as PyTorch's set_to_none)
    void retain_grad();  // keep the gradient of a non-leaf after backward
    bool retains_grad() const;
    void register_hook(Hook hook);  // called with the incoming gradient; may replace it
    // Leaves only: called after backward has accumulated into .grad (as PyTorch's
    // register_post_accumulate_grad_hook), e.g. to start reducing a finished gradient.
    void register_post_accumulate_grad_hook(PostAccumulateHook hook);
    void backward(const Tensor& grad_output = {}, BackwardOptions options = {}) const;
    Tensor detach() const;  // a view of the same values with no history
    Tensor clone() const;  // a contiguous copy of the values, differentiable
    Tensor to(Dtype dtype) const;  // differentiable cast between float dtypes
    // Replaces the values with src's, shape and dtype included (for nn's to()).
    Tensor& set_values_(const Tensor& src);
    const std::shared_ptr<Node>& grad_fn() const;

    // ---- in place (recorded; refused on leaves that require grad outside NoGrad) ----
    Tensor& copy_(const Tensor& src);  // src broadcast to this shape, dtype converted
    Tensor& add_(const Tensor& other, double alpha = 1.0);
    Tensor& add_(double value);
    Tensor& sub_(const Tensor& other, double alpha = 1.0);
    Tensor& sub_(double value);
    Tensor& mul_(const Tensor& other);
    Tensor& mul_(double value);
    Tensor& div_(const Tensor& other);
    Tensor& div_(double value);
    Tensor& zero_();
    Tensor& fill_(double value);
    Tensor& clamp_(double low, double high);
    Tensor& masked_fill_(const Tensor& mask, double value);
    Tensor& operator+=(const Tensor& other) { return add_(other); }
    Tensor& operator-=(const Tensor& other) { return sub_(other); }
    Tensor& operator*=(const Tensor& other) { return mul_(other); }
    Tensor& operator/=(const Tensor& other) { return div_(other); }
    Tensor& operator+=(double value) { return add_(value); }
    Tensor& operator-=(double value) { return sub_(value); }
    Tensor& operator*=(double value) { return mul_(value); }
    Tensor& operator/=(double value) { return div_(value); }

    // ---- method forms of the common ops (see ops.hpp) ----
    Tensor sum() const;
    Tensor sum(int axis, bool keepdim = false) const;
    Tensor sum(const Axes& axes, bool keepdim = false) const;
    Tensor mean() const;
    Tensor mean(int axis, bool keepdim = false) const;
    Tensor mean(const Axes& axes, bool keepdim = false) const;
    Tensor max() const;
    Tensor max(int axis, bool keepdim = false) const;
    Tensor min() const;
    Tensor min(int axis, bool keepdim = false) const;
    Tensor argmax() const;
    Tensor argmax(int axis, bool keepdim = false) const;
    Tensor reshape(IntList shape) const;
    Tensor view(IntList shape) const;
    Tensor flatten(int start_axis = 0, int end_axis = -1) const;
    Tensor squeeze() const;
    Tensor squeeze(int axis) const;
    Tensor unsqueeze(int axis) const;
    Tensor t() const;
    Tensor transpose(int axis0, int axis1) const;
    Tensor permute(const Axes& order) const;
    Tensor expand(IntList shape) const;
    Tensor narrow(int axis, std::int64_t start, std::int64_t length) const;
    Tensor select(int axis, std::int64_t index) const;
    Tensor slice(int axis, std::int64_t start, std::int64_t stop, std::int64_t step = 1) const;
    Tensor diagonal(std::int64_t offset = 0, int axis0 = 0, int axis1 = 1) const;
    Tensor matmul(const Tensor& other) const;
    Tensor pow(double exponent) const;
    Tensor pow(const Tensor& exponent) const;
    // x.exp(), x.relu()...: every unary elementwise op of the registry (the
    // list below; tests/registry_test.cpp fails when one is missing).
#define RETROGRAD_DECLARE_UNARY_METHOD(name) Tensor name() const;
    RETROGRAD_UNARY_METHODS(RETROGRAD_DECLARE_UNARY_METHOD)
#undef RETROGRAD_DECLARE_UNARY_METHOD
    Tensor clamp(double low, double high) const;
    Tensor clamp_min(double low) const;
    Tensor clamp_max(double high) const;
    // Comparisons and logic give bool masks (ops.hpp); the operators are there too.
    Tensor eq(const Tensor& other) const;
    Tensor ne(const Tensor& other) const;
    Tensor lt(const Tensor& other) const;
    Tensor le(const Tensor& other) const;
    Tensor gt(const Tensor& other) const;
    Tensor ge(const Tensor& other) const;
    Tensor eq(double other) const;
    Tensor ne(double other) const;
    Tensor lt(double other) const;
    Tensor le(double other) const;
    Tensor gt(double other) const;
    Tensor ge(double other) const;
    Tensor logical_and(const Tensor& other) const;
    Tensor logical_or(const Tensor& other) const;
    Tensor logical_not() const;
    Tensor any() const;
    Tensor all() const;
    Tensor masked_fill(const Tensor& mask, double value) const;
    Tensor softmax(int axis) const;
    Tensor log_softmax(int axis) const;
    // LibTorch's methods for the ops of the same names (ops.hpp), its argument order.
    const Shape& sizes() const { return shape(); }
    Tensor flip(const Axes& dims) const;
    Tensor roll(IntList shifts, const Axes& dims = {}) const;
    std::vector<Tensor> chunk(std::int64_t chunks, int dim = 0) const;
    std::vector<Tensor> split(std::int64_t split_size, int dim = 0) const;
    std::vector<Tensor> split(IntList split_sizes, int dim = 0) const;
    std::vector<Tensor> unbind(int dim = 0) const;
    Tensor repeat(IntList repeats) const;
    Tensor tile(IntList reps) const;
    Tensor tril(std::int64_t k = 0) const;
    Tensor triu(std::int64_t k = 0) const;
    Tensor view_as(const Tensor& other) const;
    Tensor expand_as(const Tensor& other) const;
    Tensor cumsum(int dim) const;
    Tensor cumprod(int dim) const;
    std::tuple<Tensor, Tensor> sort(int dim = -1, bool descending = false) const;
    Tensor argsort(int dim = -1, bool descending = false) const;
    std::tuple<Tensor, Tensor> topk(std::int64_t k, int dim = -1, bool largest = true, bool sorted = true) const;
    Tensor prod() const;
    Tensor prod(int dim, bool keepdim = false) const;
    Tensor var() const;  // unbiased
    Tensor var(int dim, bool unbiased = true, bool keepdim = false) const;
    Tensor std() const;
    Tensor std(int dim, bool unbiased = true, bool keepdim = false) const;
    Tensor norm(double p = 2, const Axes& dims = {}, bool keepdim = false) const;
    Tensor outer(const Tensor& other) const;
    Tensor mm(const Tensor& other) const;
    Tensor bmm(const Tensor& other) const;
    Tensor baddbmm(const Tensor& batch1, const Tensor& batch2, double beta = 1.0, double alpha = 1.0) const;

    // A name shown by to_dot() and tape_table(); optional.
    Tensor& set_name(std::string name);
    const std::string& name() const;

    // Identity: two handles on the same tensor.
    bool same(const Tensor& other) const { return impl_ == other.impl_; }
    TensorImpl* impl() const { return impl_.get(); }
    const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
    explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

private:
    TensorImpl& checked(const char* what) const;
    std::shared_ptr<TensorImpl> impl_;
};

using TensorList = std::vector<Tensor>;

// ---- creation ------------------------------------------------------------
// A number or a nested braced list of numbers: 2.5, {1, 2}, {{1}, {2}}... Inner
// braces always open a new dimension, so {{1}, {2}} has shape (2, 1).
class NestedValues {
public:
    template <class T>
    requires std::is_arithmetic_v<T> NestedValues(T value)  // NOLINT: implicit by design
        : values_{static_cast<double>(value)}, all_bool_(std::is_same_v<T, bool>) {}
    NestedValues(std::initializer_list<NestedValues> items);
    const Shape& shape() const { return shape_; }
    const std::vector<double>& values() const { return values_; }
    bool all_bool() const { return all_bool_; }  // every value was written true or false

private:
    Shape shape_;
    std::vector<double> values_;
    bool all_bool_ = false;
};
// Values written as true/false only give a bool tensor, as torch.tensor does,
// unless options ask for a dtype other than the default float32.

Tensor tensor(const NestedValues& values, TensorOptions options = {});
Tensor from_vector(const std::vector<double>& values, IntList shape, TensorOptions options = {});
Tensor from_indices(const std::vector<std::int64_t>& values, IntList shape);
Tensor from_indices(const std::vector<std::int64_t>& values);  // 1-D int64

// Sizes are checked: negative sizes, and element counts or byte sizes that
// overflow or exceed what can be allocated, are rg::Errors.
Tensor zeros(IntList shape, TensorOptions options = {});
Tensor ones(IntList shape, TensorOptions options = {});
Tensor full(IntList shape, double value, TensorOptions options = {});
Tensor empty(IntList shape, TensorOptions options = {});  // uninitialised values
Tensor arange(double start, double stop, double step = 1.0, TensorOptions options = {});
Tensor arange(double stop, TensorOptions options = {});
Tensor linspace(double start, double stop, std::int64_t count, TensorOptions options = {});
Tensor eye(std::int64_t n, TensorOptions options = {});
Tensor rand(IntList shape, TensorOptions options = {});  // uniform [0, 1)
Tensor randn(IntList shape, TensorOptions options = {});  // standard normal
Tensor uniform(IntList shape, double low, double high, TensorOptions options = {});
Tensor randint(std::int64_t low, std::int64_t high, IntList shape);  // int64 in [low, high)

// *_like: same shape; dtype follows `like` unless given (requires_grad never copied).
Tensor zeros_like(const Tensor& like);
Tensor ones_like(const Tensor& like);
Tensor full_like(const Tensor& like, double value);
Tensor empty_like(const Tensor& like);
Tensor rand_like(const Tensor& like);
Tensor randn_like(const Tensor& like);

// The random generator behind rand/randn/uniform/randint (and nn initialisers).
void manual_seed(std::uint64_t seed);
std::uint64_t random_u64();

// ---- memory --------------------------------------------------------------
// Storages of 64 KiB and more come from a cache that keeps freed blocks up to
// 64 MiB for reuse (a training step frees and allocates the same sizes every
// time; larger blocks go back to the system at once).
// The cache holds at most `bytes` (default 1 GiB; 0 turns caching off);
// empty_cache() returns every cached block to the system (and the calling
// thread's small blocks, see CacheStats).
void set_cache_limit(std::size_t bytes);
void empty_cache();
struct CacheStats {
    std::size_t cached_bytes = 0;  // freed blocks held for reuse
    std::size_t live_bytes = 0;  // blocks in use by storages
    std::size_t hits = 0, misses = 0;
    // Small blocks (up to 1 KiB: the tape's nodes, tensor headers, tiny
    // buffers) held for reuse by the calling thread, at most 16 MiB per
    // thread; empty_cache() frees the calling thread's.
    std::size_t small_cached_bytes = 0;
};
CacheStats cache_stats();

// ---- printing --------------------------------------------------------------
std::string to_string(const Tensor& t);
std::ostream& operator<<(std::ostream& os, const Tensor& t);

// Elementwise closeness for tests and checks: |a - b| <= atol + rtol * |b|, same shape.
bool allclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8);

}  // namespace rg

template <> struct fmt::formatter<rg::Tensor> : fmt::formatter<std::string_view> {
    auto format(const rg::Tensor& t, format_context& ctx) const {
        return fmt::formatter<std::string_view>::format(rg::to_string(t), ctx);
    }
};
