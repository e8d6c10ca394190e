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
/// The element type of a tensor. LibTorch has more (float16, int32, uint8...);
/// float32, float64 and bfloat16 are the differentiable ones here.
enum class Dtype {
    float32,  ///< 4-byte IEEE float, the default
    float64,  ///< 8-byte IEEE double: gradient checks, references
    int64,  ///< indices and labels; not differentiable
    bool_,  ///< masks (comparisons); 1 byte; not differentiable
    bfloat16  ///< 2-byte brain float: float32's range, 8 significant bits
};
/// Dtype::float32, as torch::kFloat32.
inline constexpr Dtype float32 = Dtype::float32;
/// Dtype::float64, as torch::kFloat64.
inline constexpr Dtype float64 = Dtype::float64;
/// Dtype::int64, as torch::kInt64.
inline constexpr Dtype int64 = Dtype::int64;  // indices and labels; not differentiable
/// Dtype::bool_, as torch::kBool.
inline constexpr Dtype bool_ = Dtype::bool_;  // masks (comparisons); 1 byte; not differentiable
/// bfloat16 (rg::BFloat16 elements, 2 bytes): float32's range with 8 significant
/// bits. Elementwise ops and reductions compute in float32 and round their
/// result; differentiable; rg::Autocast runs products in it (docs/autodiff.md).
inline constexpr Dtype bfloat16 = Dtype::bfloat16;

/// The dtype's name: "float32", "float64", "int64", "bool", "bfloat16"; "unknown" outside the list.
/// @param dtype the dtype
std::string_view dtype_name(Dtype dtype);  // "float32", ..., "bool"; "unknown" outside the list
/// Bytes per element.
/// @param dtype the dtype
/// @throws rg::Error for a value outside the list
std::size_t dtype_size(Dtype dtype);  // bytes per element; an unknown dtype is an rg::Error
/// True for float32, float64 and bfloat16: the dtypes that can require grad.
/// @param dtype the dtype
bool is_floating_point(Dtype dtype);

/// The dtype of the C++ element type T (float, double, std::int64_t, bool).
template <class T> constexpr Dtype dtype_of();
/// Dtype::float32.
template <> constexpr Dtype dtype_of<float>() { return Dtype::float32; }
/// Dtype::float64.
template <> constexpr Dtype dtype_of<double>() { return Dtype::float64; }
/// Dtype::int64.
template <> constexpr Dtype dtype_of<std::int64_t>() { return Dtype::int64; }
/// Dtype::bool_.
template <> constexpr Dtype dtype_of<bool>() { return Dtype::bool_; }
/// Dtype::bfloat16.
template <> constexpr Dtype dtype_of<BFloat16>() { return Dtype::bfloat16; }

/// A tensor's sizes: a small vector, no heap for rank <= 4.
using Shape = xt::svector<std::size_t, 4>;  // small vector, no heap for rank <= 4
/// A tensor's strides, in elements (not bytes), one per axis; may be 0 or negative.
using Strides = xt::svector<std::ptrdiff_t, 4>;  // in elements
/// A shape for messages: "(3, 4)".
/// @param shape the shape
std::string shape_str(const Shape& shape);  // "(3, 4)"
// The multi-index of a flat row-major position, for messages: "[1, 2]".
/// The multi-index of a flat row-major position, for messages: "[1, 2]".
/// @param flat the position in row-major order
/// @param shape the shape it indexes
std::string index_str(std::size_t flat, const Shape& shape);
/// The number of elements of a shape: the product of its sizes (1 for a 0-D shape).
/// @param shape the shape
std::size_t shape_numel(const Shape& shape);

// A list of sizes or indices given as a braced list of any integers, as
// LibTorch's IntArrayRef: rg::zeros({n, m}) with long, int or size_t n and m,
// and reshape(x, {-1, 784}). A Shape converts to it too.
/// A list of sizes or indices from a braced list of any integer type, as
/// LibTorch's IntArrayRef (but owning its values): rg::zeros({n, m}),
/// reshape(x, {-1, 784}). A Shape or a std::vector converts to it too.
class IntList {
public:
    /// One integer of a braced list, whatever its integer type.
    struct Int {
        /// Converts any integer; an unsigned value above INT64_MAX becomes
        /// INT64_MAX, which every size check then refuses.
        /// @param i the integer
        template <std::integral I> constexpr Int(I i) : value(to_int64(i)) {}  // NOLINT: implicit by design
        /// The value as int64.
        std::int64_t value;
    };
    /// An empty list.
    IntList() = default;
    /// From a braced list: {2, -1}.
    /// @param values the integers
    IntList(std::initializer_list<Int> values);
    /// From a vector of int64.
    /// @param values the integers
    IntList(const std::vector<std::int64_t>& values);  // NOLINT: implicit by design
    /// From a vector of int.
    /// @param values the integers
    IntList(const std::vector<int>& values);  // NOLINT
    /// From a shape: its sizes.
    /// @param shape the shape
    IntList(const Shape& shape);  // NOLINT

    /// How many integers.
    std::size_t size() const { return values_.size(); }
    /// The i-th integer (unchecked, as std::vector's operator[]).
    /// @param i the position, < size()
    std::int64_t operator[](std::size_t i) const { return values_[i]; }
    /// The first integer, for range-for.
    const std::int64_t* begin() const { return values_.data(); }
    /// Past the last integer, for range-for.
    const std::int64_t* end() const { return values_.data() + values_.size(); }
    /// The list for messages: "(2, -1)".
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

/// What a creation function makes: {rg::float64}, {.requires_grad = true}.
/// A subset of LibTorch's TensorOptions (no device or layout: CPU, strided).
struct TensorOptions {
    /// The element type.
    Dtype dtype = Dtype::float32;
    /// Whether the new tensor is a leaf that requires grad (float dtypes only).
    bool requires_grad = false;
};

class Node;
class Tensor;
struct TensorImpl;
/// A gradient hook (Tensor::register_hook): called with the gradient arriving
/// at a tensor; returns it, or a replacement of the same shape and dtype
/// (LibTorch's hooks may also return nothing: here, return the argument).
using Hook = std::function<Tensor(const Tensor& grad)>;
// Called with the leaf itself once backward has added a gradient into its .grad.
/// Called with the leaf itself once backward has added a gradient into its .grad
/// (Tensor::register_post_accumulate_grad_hook).
using PostAccumulateHook = std::function<void(Tensor& leaf)>;

/// How a backward pass runs (Tensor::backward, rg::backward, rg::grad).
struct BackwardOptions {
    /// Keep the saved values, so that backward can run through the graph again.
    bool retain_graph = false;  // keep saved values so backward can run again
    /// Record the backward pass itself, so that the gradients can be
    /// differentiated (higher order); implies retain_graph.
    bool create_graph = false;  // record the backward pass itself (higher order)
};

// The values of a tensor as an xtensor expression over the same storage (no
// copy): a strided view of the elements from the tensor's first one, so that
// reading, writing and assigning whole arrays (=, +=, ...) go element by
// element with the tensor's strides, and data() is the first element. A copy
// of the view stays valid while the storage lives.
/// The tensor's elements as a 1-D xtensor adaptor over its storage, from its
/// first element (no copy, no ownership): the base of ValueView.
template <class T>
using FlatValues = xt::xtensor_adaptor<xt::xbuffer_adaptor<T*, xt::no_ownership, std::allocator<T>>, 1>;
/// Tensor::value()'s type: an xtensor strided view, with the tensor's shape and
/// strides, of the storage (no copy); valid while the storage lives.
template <class T>
using ValueView =
    decltype(xt::strided_view(std::declval<FlatValues<T>>(), std::declval<std::vector<std::size_t>>(),
                              std::declval<std::vector<std::ptrdiff_t>>(), std::size_t{0}, xt::layout_type::dynamic));

// A list of axes (negative ones count from the end), given as a braced list
// of any integers, as LibTorch's IntArrayRef: x.permute({1, 0}),
// rg::sum(x, {i, j}) with int, int64_t or size_t i and j. It is a
// std::vector<int>; an axis too large for an int becomes one every op refuses.
/// A list of axes (negative ones count from the end) from a braced list of
/// any integer type, as LibTorch's IntArrayRef: x.permute({1, 0}),
/// rg::sum(x, {i, j}). A std::vector<int>; an axis beyond int's range becomes
/// INT_MIN or INT_MAX, which every op refuses as out of range.
class Axes : public std::vector<int> {
public:
    /// No axes (for reductions: all of them).
    Axes() = default;
    /// `count` copies of one axis.
    /// @param count how many
    /// @param value the axis
    explicit Axes(std::size_t count, int value = 0) : std::vector<int>(count, value) {}
    /// From a braced list: {0, -1}.
    /// @param axes the axes
    Axes(std::initializer_list<IntList::Int> axes) {  // NOLINT: implicit by design
        reserve(axes.size());
        for (IntList::Int a : axes) push_back(clamped(a.value));
    }
    /// From a vector of int.
    /// @param axes the axes
    Axes(const std::vector<int>& axes) : std::vector<int>(axes) {}  // NOLINT: implicit by design
    /// From a vector of any integer type.
    /// @param axes the axes
    template <std::integral I> Axes(const std::vector<I>& axes) : Axes(axes.begin(), axes.end()) {}  // NOLINT
    /// From a range of integers.
    /// @param first, last the range
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
/// X(op) for each unary elementwise op with a method form (x.exp()...).
#define RETROGRAD_UNARY_METHODS(X)                                                 \
    X(neg) X(exp) X(expm1) X(log) X(log1p) X(sqrt) X(square) X(abs) X(sign) X(sin) \
    X(cos) X(tanh) X(sigmoid) X(relu) X(softplus) X(atan) X(step)                  \
    X(erf) X(silu) X(mish) X(hardsigmoid) X(logsigmoid) X(softsign)                \
    X(reciprocal) X(rsqrt) X(tan) X(asin) X(acos) X(sinh) X(cosh) X(log2)          \
    X(log10) X(exp2) X(logit) X(floor) X(ceil) X(round) X(trunc) X(frac)           \
    X(isnan) X(isinf) X(isfinite) X(hardswish)
// clang-format on

/// A tensor: a cheap-to-copy handle on a strided view of a reference-counted
/// storage, plus its autograd state. Copies of a handle share one tensor, as
/// torch::Tensor's do; views share the storage; clone() copies the values.
class Tensor {
public:
    /// An undefined tensor (no data): defined() is false; most functions refuse it.
    Tensor() = default;  // an undefined tensor (no data); defined() is false
    /// A float32 tensor holding a copy of an xtensor array.
    /// @param values the values and shape
    /// @param requires_grad whether it is a leaf that requires grad
    explicit Tensor(xt::xarray<float> values, bool requires_grad = false);
    /// A float64 tensor holding a copy of an xtensor array.
    /// @param values the values and shape
    /// @param requires_grad whether it is a leaf that requires grad
    explicit Tensor(xt::xarray<double> values, bool requires_grad = false);
    /// An int64 tensor holding a copy of an xtensor array (never requires grad).
    /// @param values the values and shape
    explicit Tensor(xt::xarray<std::int64_t> values);
    /// A bool tensor holding a copy of an xtensor array (never requires grad).
    /// @param values the values and shape
    explicit Tensor(xt::xarray<bool> values);

    /// False for a default-constructed Tensor{}, which holds nothing.
    bool defined() const { return impl_ != nullptr; }
    /// The sizes, one per axis (LibTorch's sizes()).
    /// @throws rg::Error when the tensor is undefined
    const Shape& shape() const;
    /// The rank: the number of axes (0 for a scalar).
    /// @throws rg::Error when the tensor is undefined
    std::size_t dim() const { return shape().size(); }
    /// The number of elements.
    /// @throws rg::Error when the tensor is undefined
    std::size_t numel() const;
    /// The size of one axis.
    /// @param axis the axis; negative counts from the end
    /// @throws rg::Error when the axis is out of range or the tensor is undefined
    std::int64_t size(int axis) const;  // negative axes count from the end
    /// The element type.
    /// @throws rg::Error when the tensor is undefined
    Dtype dtype() const;
    /// True for float32 and float64 (LibTorch's is_floating_point()).
    /// @throws rg::Error when the tensor is undefined
    bool is_floating() const { return is_floating_point(dtype()); }

    // ---- storage and views ----
    /// The strides, in elements, one per axis.
    /// @throws rg::Error when the tensor is undefined
    const Strides& strides() const;  // in elements, one per axis
    /// The stride of one axis, in elements.
    /// @param axis the axis; negative counts from the end
    /// @throws rg::Error when the axis is out of range or the tensor is undefined
    std::int64_t stride(int axis) const;  // negative axes count from the end
    /// Where the first element sits, in elements from the start of the storage.
    /// @throws rg::Error when the tensor is undefined
    std::size_t storage_offset() const;  // in elements, from the start of the storage
    /// True when the elements are row-major with no gaps.
    /// @throws rg::Error when the tensor is undefined
    bool is_contiguous() const;  // row-major with no gaps
    // This tensor when contiguous, else a contiguous copy (recorded on the tape).
    /// This tensor when contiguous, else a contiguous copy (recorded on the tape: dx = g).
    /// @throws rg::Error when the tensor is undefined
    Tensor contiguous() const;
    // Pointer to the first element (at storage_offset); T must match dtype().
    /// The first element (at storage_offset()), typed. Elements are laid out by
    /// strides(), not necessarily contiguously.
    /// @throws rg::Error when T does not match dtype() or the tensor is undefined
    template <class T> T* data_ptr() const;
    /// The first element, untyped, for I/O and collectives.
    /// @throws rg::Error when the tensor is undefined
    void* data_ptr() const;  // untyped, for I/O and collectives
    /// numel() times the element size, in bytes.
    /// @throws rg::Error when the tensor is undefined
    std::size_t nbytes() const;  // numel() * element size
    // True when both tensors read the same storage (a view of the other, or views of one base).
    /// True when both tensors read the same storage (one a view of the other, or views of one base).
    /// @param other the other tensor
    bool shares_storage(const Tensor& other) const;
    /// True when made by a view op (reshape, slice, transpose, detach...).
    /// @throws rg::Error when the tensor is undefined
    bool is_view() const;  // made by a view op (reshape, slice, transpose, detach...)
    // Bumped by every in-place write to the storage; saved tensors check it.
    /// The storage's version counter (LibTorch's _version()): bumped by every
    /// in-place write, checked by the tape's saved tensors.
    /// @throws rg::Error when the tensor is undefined
    std::uint64_t version() const;

    // The values as an xtensor array over the same storage; T must match dtype().
    // Writing through it writes the tensor without recording (see docs/autodiff.md).
    /// The values as an xtensor expression over the same storage (no copy).
    /// Writing through it writes the tensor without recording (docs/autodiff.md).
    /// No LibTorch equivalent (its accessor<T, N>() is the nearest).
    /// @throws rg::Error when T does not match dtype() or the tensor is undefined
    template <class T = float> ValueView<T>& value();
    /// The values as a read-only xtensor expression over the same storage.
    /// @throws rg::Error when T does not match dtype() or the tensor is undefined
    template <class T = float> const ValueView<T>& value() const;
    /// The single element, converted to T (double by default; LibTorch's item<T>()).
    /// @throws rg::Error when the tensor does not hold exactly one element, or T is
    /// an integer type and the value does not fit
    template <class T = double> T item() const;  // the single element
    /// All elements as doubles, in row-major order.
    /// @throws rg::Error when the tensor is undefined
    std::vector<double> to_vector() const;  // all elements, row-major

    // ---- autograd ----
    /// Whether gradients flow to this tensor: a leaf that asked for them, or an op's
    /// result computed from one while recording. False for an undefined tensor.
    bool requires_grad() const;
    /// Makes this tensor a leaf that requires grad (or stops it).
    /// @param on whether it requires grad
    /// @return this tensor
    /// @throws rg::Error when `on` and the dtype is not floating, or when turning it
    /// off on an op's result (use detach())
    Tensor& requires_grad_(bool on = true);  // leaves only
    /// True when no recorded op made this tensor (it has no grad_fn).
    /// @throws rg::Error when the tensor is undefined
    bool is_leaf() const;
    /// The accumulated gradient: undefined until a backward reaches this leaf (or a
    /// non-leaf that retain_grad()).
    /// @throws rg::Error when the tensor is undefined
    Tensor grad() const;  // undefined until a backward reaches this tensor
    /// Replaces the gradient (an undefined one clears it).
    /// @param grad a tensor of this shape and dtype, or Tensor{}
    /// @throws rg::Error when its shape or dtype differ
    void set_grad(const Tensor& grad);
    /// Drops the gradient, as PyTorch's zero_grad(set_to_none=true): grad() is undefined after.
    /// @throws rg::Error when the tensor is undefined
    void zero_grad();  // drops the gradient (as PyTorch's set_to_none)
    /// Keeps the gradient of a non-leaf in grad() after backward.
    /// @throws rg::Error when the tensor does not require grad
    void retain_grad();  // keep the gradient of a non-leaf after backward
    /// Whether retain_grad() was called.
    /// @throws rg::Error when the tensor is undefined
    bool retains_grad() const;
    /// Adds a hook called with the gradient arriving at this tensor during
    /// backward; what it returns is used instead.
    /// @param hook the hook; it returns a tensor of the gradient's shape and dtype
    /// @throws rg::Error when the tensor does not require grad
    void register_hook(Hook hook);  // called with the incoming gradient; may replace it
    // Leaves only: called after backward has accumulated into .grad (as PyTorch's
    // register_post_accumulate_grad_hook), e.g. to start reducing a finished gradient.
    /// Adds a hook called with this leaf once backward has accumulated into its grad().
    /// @param hook the hook
    /// @throws rg::Error when the tensor is not a leaf or does not require grad
    void register_post_accumulate_grad_hook(PostAccumulateHook hook);
    /// Runs backpropagation from this tensor, accumulating into the grad() of the
    /// leaves (rg::backward with one output).
    /// @param grad_output the gradient of this tensor; may be omitted for a one-element tensor
    /// @param options retain_graph, create_graph
    /// @throws rg::Error when the tensor does not require grad, is not a scalar and
    /// no grad_output is given, grad_output's shape or dtype differ, the graph was
    /// freed by an earlier backward, or a saved tensor was modified in place
    void backward(const Tensor& grad_output = {}, BackwardOptions options = {}) const;
    /// A view of the same values with no history (does not require grad).
    /// @throws rg::Error when the tensor is undefined
    Tensor detach() const;  // a view of the same values with no history
    /// A contiguous copy of the values, recorded (dx = g).
    /// @throws rg::Error when the tensor is undefined
    Tensor clone() const;  // a contiguous copy of the values, differentiable
    /// The values cast to another dtype; this tensor itself when the dtype is the
    /// same. Differentiable between float dtypes (dx = g cast back). To bool: non-zero
    /// (NaN included) is true.
    /// @param dtype the target dtype
    /// @throws rg::Error when a NaN, an infinity or a value out of range is cast to int64
    Tensor to(Dtype dtype) const;  // differentiable cast between float dtypes
    // Replaces the values with src's, shape and dtype included (for nn's to()).
    /// Replaces the values with a copy of src's, shape and dtype included (nn's
    /// Module::to uses it); a gradient of another dtype is dropped.
    /// @param src the new values
    /// @return this tensor
    /// @throws rg::Error when this tensor is not a leaf, or requires grad outside rg::NoGrad
    Tensor& set_values_(const Tensor& src);
    /// The node that made this tensor on the tape; null for a leaf.
    /// @throws rg::Error when the tensor is undefined
    const std::shared_ptr<Node>& grad_fn() const;

    // ---- in place (recorded; refused on leaves that require grad outside NoGrad) ----
    /// Writes src's values into this tensor, src broadcast to this shape and its
    /// dtype converted. Recorded when either side requires grad.
    /// @param src the values
    /// @return this tensor
    /// @throws rg::Error when the tensor is undefined, it is a leaf that requires grad (or a view of
    /// one) while recording, several of its elements share memory (an expanded view), or the result
    /// does not broadcast to its shape; see docs/autodiff.md on in-place writes
    Tensor& copy_(const Tensor& src);  // src broadcast to this shape, dtype converted
    /// this += alpha * other in place (other broadcast to this shape).
    /// @param other the tensor added
    /// @param alpha its factor
    /// @return this tensor
    /// @throws rg::Error when the tensor is undefined, it is a leaf that requires grad (or a view of
    /// one) while recording, several of its elements share memory (an expanded view), or the result
    /// would not have its shape; see docs/autodiff.md on in-place writes
    Tensor& add_(const Tensor& other, double alpha = 1.0);
    /// this += value in place.
    /// @param value the number added
    /// @return this tensor
    /// @throws rg::Error when the tensor is undefined, it is a leaf that requires grad (or a view of
    /// one) while recording, several of its elements share memory (an expanded view), or the result
    /// would not have its shape; see docs/autodiff.md on in-place writes
    Tensor& add_(double value);
    /// this -= alpha * other in place (other broadcast to this shape).
    /// @param other the tensor subtracted
    /// @param alpha its factor
    /// @return this tensor
    /// @throws rg::Error when the tensor is undefined, it is a leaf that requires grad (or a view of
    /// one) while recording, several of its elements share memory (an expanded view), or the result
    /// would not have its shape; see docs/autodiff.md on in-place writes
    Tensor& sub_(const Tensor& other, double alpha = 1.0);
    /// this -= value in place.
    /// @param value the number subtracted
    /// @return this tensor
    /// @throws rg::Error when the tensor is undefined, it is a leaf that requires grad (or a view of
    /// one) while recording, several of its elements share memory (an expanded view), or the result
    /// would not have its shape; see docs/autodiff.md on in-place writes
    Tensor& sub_(double value);
    /// this *= other in place (other broadcast to this shape).
    /// @param other the factor
    /// @return this tensor
    /// @throws rg::Error when the tensor is undefined, it is a leaf that requires grad (or a view of
    /// one) while recording, several of its elements share memory (an expanded view), or the result
    /// would not have its shape; see docs/autodiff.md on in-place writes
    Tensor& mul_(const Tensor& other);
    /// this *= value in place.
    /// @param value the factor
    /// @return this tensor
    /// @throws rg::Error when the tensor is undefined, it is a leaf that requires grad (or a view of
    /// one) while recording, several of its elements share memory (an expanded view), or the result
    /// would not have its shape; see docs/autodiff.md on in-place writes
    Tensor& mul_(double value);
    /// this /= other in place (other broadcast to this shape).
    /// @param other the divisor
    /// @return this tensor
    /// @throws rg::Error when the tensor is undefined, it is a leaf that requires grad (or a view of
    /// one) while recording, several of its elements share memory (an expanded view), or the result
    /// would not have its shape; see docs/autodiff.md on in-place writes
    Tensor& div_(const Tensor& other);
    /// this *= 1 / value in place.
    /// @param value the divisor
    /// @return this tensor
    /// @throws rg::Error when the tensor is undefined, it is a leaf that requires grad (or a view of
    /// one) while recording, several of its elements share memory (an expanded view), or the result
    /// would not have its shape; see docs/autodiff.md on in-place writes
    Tensor& div_(double value);
    /// Every element set to 0 in place.
    /// @return this tensor
    /// @throws rg::Error when the tensor is undefined, it is a leaf that requires grad (or a view of
    /// one) while recording, several of its elements share memory (an expanded view), or the result
    /// would not have its shape; see docs/autodiff.md on in-place writes
    Tensor& zero_();
    /// Every element set to `value` in place.
    /// @param value the value, converted to the dtype
    /// @return this tensor
    /// @throws rg::Error when the tensor is undefined, it is a leaf that requires grad (or a view of
    /// one) while recording, several of its elements share memory (an expanded view), or the result
    /// would not have its shape; see docs/autodiff.md on in-place writes
    Tensor& fill_(double value);
    /// clamp(low, high) in place.
    /// @param low, high the bounds
    /// @return this tensor
    /// @throws rg::Error when the tensor is undefined, it is a leaf that requires grad (or a view of
    /// one) while recording, several of its elements share memory (an expanded view), or the result
    /// would not have its shape; see docs/autodiff.md on in-place writes; or as rg::clamp
    Tensor& clamp_(double low, double high);
    /// relu() in place (torch's relu_): a contiguous float32 or float64 tensor
    /// that is not a view is written without a temporary, and its gradient is
    /// relu's, read from the written values; other tensors go through relu().
    /// @return this tensor
    /// @throws rg::Error when the tensor is undefined, it is a leaf that requires grad (or a view of
    /// one) while recording, several of its elements share memory (an expanded view); see
    /// docs/autodiff.md on in-place writes; or as rg::relu
    Tensor& relu_();
    /// masked_fill(mask, value) in place.
    /// @param mask a bool tensor that broadcasts to this shape
    /// @param value the value written where the mask is true
    /// @return this tensor
    /// @throws rg::Error when the tensor is undefined, it is a leaf that requires grad (or a view of
    /// one) while recording, several of its elements share memory (an expanded view), or the result
    /// would not have its shape; see docs/autodiff.md on in-place writes; or as rg::masked_fill
    Tensor& masked_fill_(const Tensor& mask, double value);
    /// add_(other).
    /// @param other the tensor added
    Tensor& operator+=(const Tensor& other) { return add_(other); }
    /// sub_(other).
    /// @param other the tensor subtracted
    Tensor& operator-=(const Tensor& other) { return sub_(other); }
    /// mul_(other).
    /// @param other the factor
    Tensor& operator*=(const Tensor& other) { return mul_(other); }
    /// div_(other).
    /// @param other the divisor
    Tensor& operator/=(const Tensor& other) { return div_(other); }
    /// add_(value).
    /// @param value the number added
    Tensor& operator+=(double value) { return add_(value); }
    /// sub_(value).
    /// @param value the number subtracted
    Tensor& operator-=(double value) { return sub_(value); }
    /// mul_(value).
    /// @param value the factor
    Tensor& operator*=(double value) { return mul_(value); }
    /// div_(value).
    /// @param value the divisor
    Tensor& operator/=(double value) { return div_(value); }

    // ---- method forms of the common ops (see ops.hpp) ----
    /// rg::sum over every axis.
    Tensor sum() const;
    /// rg::sum over one axis.
    /// @param axis the axis
    /// @param keepdim keep it with size 1
    Tensor sum(int axis, bool keepdim = false) const;
    /// rg::sum over axes.
    /// @param axes the axes; empty: all
    /// @param keepdim keep them with size 1
    Tensor sum(const Axes& axes, bool keepdim = false) const;
    /// rg::mean over every axis.
    Tensor mean() const;
    /// rg::mean over one axis.
    /// @param axis the axis
    /// @param keepdim keep it with size 1
    Tensor mean(int axis, bool keepdim = false) const;
    /// rg::mean over axes.
    /// @param axes the axes; empty: all
    /// @param keepdim keep them with size 1
    Tensor mean(const Axes& axes, bool keepdim = false) const;
    /// rg::max over every axis.
    Tensor max() const;
    /// rg::max over one axis: the values only (LibTorch's x.max(dim) returns
    /// (values, indices); use argmax for the indices).
    /// @param axis the axis
    /// @param keepdim keep it with size 1
    Tensor max(int axis, bool keepdim = false) const;
    /// rg::min over every axis.
    Tensor min() const;
    /// rg::min over one axis: the values only (LibTorch's returns (values, indices)).
    /// @param axis the axis
    /// @param keepdim keep it with size 1
    Tensor min(int axis, bool keepdim = false) const;
    /// rg::argmax of the flattened tensor.
    Tensor argmax() const;
    /// rg::argmax along an axis.
    /// @param axis the axis
    /// @param keepdim keep it with size 1
    Tensor argmax(int axis, bool keepdim = false) const;
    /// rg::reshape.
    /// @param shape the new shape; one entry may be -1
    Tensor reshape(IntList shape) const;
    /// rg::view.
    /// @param shape the new shape; one entry may be -1
    Tensor view(IntList shape) const;
    /// rg::flatten.
    /// @param start_axis, end_axis the axes merged
    Tensor flatten(int start_axis = 0, int end_axis = -1) const;
    /// rg::squeeze of every size-1 axis.
    Tensor squeeze() const;
    /// rg::squeeze of one axis.
    /// @param axis the axis, of size 1
    Tensor squeeze(int axis) const;
    /// rg::unsqueeze.
    /// @param axis where the size-1 axis goes
    Tensor unsqueeze(int axis) const;
    /// The transpose of a matrix (rank <= 2; a vector or scalar is returned as it is).
    /// @throws rg::Error when the rank is above 2
    Tensor t() const;
    /// rg::transpose of two axes.
    /// @param axis0, axis1 the axes swapped
    Tensor transpose(int axis0, int axis1) const;
    /// rg::permute.
    /// @param order a permutation of the axes
    Tensor permute(const Axes& order) const;
    /// rg::expand.
    /// @param shape the target shape; -1 keeps a size
    Tensor expand(IntList shape) const;
    /// rg::narrow.
    /// @param axis the axis
    /// @param start the first index
    /// @param length how many
    Tensor narrow(int axis, std::int64_t start, std::int64_t length) const;
    /// rg::select.
    /// @param axis the axis, removed
    /// @param index the position
    Tensor select(int axis, std::int64_t index) const;
    /// rg::slice.
    /// @param axis the axis
    /// @param start, stop, step Python's bounds and stride (step > 0)
    Tensor slice(int axis, std::int64_t start, std::int64_t stop, std::int64_t step = 1) const;
    /// rg::diagonal.
    /// @param offset 0 the main diagonal, > 0 above
    /// @param axis0, axis1 the plane's axes
    Tensor diagonal(std::int64_t offset = 0, int axis0 = 0, int axis1 = 1) const;
    /// rg::matmul(*this, other).
    /// @param other the right operand
    Tensor matmul(const Tensor& other) const;
    /// rg::pow with a number exponent.
    /// @param exponent the exponent
    Tensor pow(double exponent) const;
    /// rg::pow with a tensor exponent (broadcasting).
    /// @param exponent the exponent
    Tensor pow(const Tensor& exponent) const;
    // x.exp(), x.relu()...: every unary elementwise op of the registry (the
    // list below; tests/registry_test.cpp fails when one is missing).
    /// Declares the method form of one unary op (undefined after the list).
#define RETROGRAD_DECLARE_UNARY_METHOD(name)                                         \
    /** The unary op of ops.hpp this method is called after, applied to this tensor: \
        x.exp() is rg::exp(x). @throws rg::Error when the tensor is not floating */  \
    Tensor name() const;
    RETROGRAD_UNARY_METHODS(RETROGRAD_DECLARE_UNARY_METHOD)
#undef RETROGRAD_DECLARE_UNARY_METHOD
    /// rg::clamp.
    /// @param low, high the bounds
    Tensor clamp(double low, double high) const;
    /// rg::clamp_min.
    /// @param low the lower bound
    Tensor clamp_min(double low) const;
    /// rg::clamp_max.
    /// @param high the upper bound
    Tensor clamp_max(double high) const;
    // Comparisons and logic give bool masks (ops.hpp); the operators are there too.
    /// rg::eq(*this, other).
    /// @param other the other operand
    Tensor eq(const Tensor& other) const;
    /// rg::ne(*this, other).
    /// @param other the other operand
    Tensor ne(const Tensor& other) const;
    /// rg::lt(*this, other).
    /// @param other the other operand
    Tensor lt(const Tensor& other) const;
    /// rg::le(*this, other).
    /// @param other the other operand
    Tensor le(const Tensor& other) const;
    /// rg::gt(*this, other).
    /// @param other the other operand
    Tensor gt(const Tensor& other) const;
    /// rg::ge(*this, other).
    /// @param other the other operand
    Tensor ge(const Tensor& other) const;
    /// rg::eq(*this, other) with a number.
    /// @param other the number
    Tensor eq(double other) const;
    /// rg::ne(*this, other) with a number.
    /// @param other the number
    Tensor ne(double other) const;
    /// rg::lt(*this, other) with a number.
    /// @param other the number
    Tensor lt(double other) const;
    /// rg::le(*this, other) with a number.
    /// @param other the number
    Tensor le(double other) const;
    /// rg::gt(*this, other) with a number.
    /// @param other the number
    Tensor gt(double other) const;
    /// rg::ge(*this, other) with a number.
    /// @param other the number
    Tensor ge(double other) const;
    /// rg::logical_and.
    /// @param other the other operand
    Tensor logical_and(const Tensor& other) const;
    /// rg::logical_or.
    /// @param other the other operand
    Tensor logical_or(const Tensor& other) const;
    /// rg::logical_not.
    Tensor logical_not() const;
    /// rg::any over every axis (a bool scalar).
    Tensor any() const;
    /// rg::all over every axis (a bool scalar).
    Tensor all() const;
    /// rg::masked_fill.
    /// @param mask a bool tensor that broadcasts to this shape
    /// @param value the value written where the mask is true
    Tensor masked_fill(const Tensor& mask, double value) const;
    /// rg::softmax.
    /// @param axis the axis normalised
    Tensor softmax(int axis) const;
    /// rg::log_softmax.
    /// @param axis the axis normalised
    Tensor log_softmax(int axis) const;
    // LibTorch's methods for the ops of the same names (ops.hpp), its argument order.
    /// shape(), LibTorch's name.
    const Shape& sizes() const { return shape(); }
    /// rg::flip.
    /// @param dims the axes reversed
    Tensor flip(const Axes& dims) const;
    /// rg::roll.
    /// @param shifts one per dim
    /// @param dims the axes; empty: the flattened tensor
    Tensor roll(IntList shifts, const Axes& dims = {}) const;
    /// rg::chunk.
    /// @param chunks how many pieces at most
    /// @param dim the axis
    std::vector<Tensor> chunk(std::int64_t chunks, int dim = 0) const;
    /// rg::split into pieces of one size.
    /// @param split_size each piece's size
    /// @param dim the axis
    std::vector<Tensor> split(std::int64_t split_size, int dim = 0) const;
    /// rg::split into pieces of the given sizes.
    /// @param split_sizes the sizes, adding up to the dim's
    /// @param dim the axis
    std::vector<Tensor> split(IntList split_sizes, int dim = 0) const;
    /// rg::unbind.
    /// @param dim the axis
    std::vector<Tensor> unbind(int dim = 0) const;
    /// rg::repeat.
    /// @param repeats a count per axis
    Tensor repeat(IntList repeats) const;
    /// rg::tile.
    /// @param reps the counts
    Tensor tile(IntList reps) const;
    /// rg::tril.
    /// @param k the diagonal
    Tensor tril(std::int64_t k = 0) const;
    /// rg::triu.
    /// @param k the diagonal
    Tensor triu(std::int64_t k = 0) const;
    /// rg::view_as.
    /// @param other whose shape is taken
    Tensor view_as(const Tensor& other) const;
    /// rg::expand_as.
    /// @param other whose shape is taken
    Tensor expand_as(const Tensor& other) const;
    /// rg::cumsum.
    /// @param dim the axis
    Tensor cumsum(int dim) const;
    /// rg::cumprod.
    /// @param dim the axis
    Tensor cumprod(int dim) const;
    /// rg::sort.
    /// @param dim the axis
    /// @param descending largest first
    /// @return (values, indices)
    std::tuple<Tensor, Tensor> sort(int dim = -1, bool descending = false) const;
    /// rg::argsort.
    /// @param dim the axis
    /// @param descending largest first
    Tensor argsort(int dim = -1, bool descending = false) const;
    /// rg::topk.
    /// @param k how many
    /// @param dim the axis
    /// @param largest the largest (else the smallest)
    /// @param sorted accepted; the result is always sorted
    /// @return (values, indices)
    std::tuple<Tensor, Tensor> topk(std::int64_t k, int dim = -1, bool largest = true, bool sorted = true) const;
    /// rg::prod of every element.
    Tensor prod() const;
    /// rg::prod along a dim.
    /// @param dim the axis
    /// @param keepdim keep it with size 1
    Tensor prod(int dim, bool keepdim = false) const;
    /// The unbiased variance of every element (rg::var).
    Tensor var() const;  // unbiased
    /// rg::var along a dim.
    /// @param dim the axis
    /// @param unbiased divide by n - 1 (else n)
    /// @param keepdim keep it with size 1
    Tensor var(int dim, bool unbiased = true, bool keepdim = false) const;
    /// The unbiased standard deviation of every element (rg::std).
    Tensor std() const;
    /// rg::std along a dim.
    /// @param dim the axis
    /// @param unbiased divide by n - 1 (else n)
    /// @param keepdim keep it with size 1
    Tensor std(int dim, bool unbiased = true, bool keepdim = false) const;
    /// rg::norm.
    /// @param p p >= 0, inf or -inf
    /// @param dims the axes; empty: all
    /// @param keepdim keep them with size 1
    Tensor norm(double p = 2, const Axes& dims = {}, bool keepdim = false) const;
    /// rg::outer.
    /// @param other the other vector
    Tensor outer(const Tensor& other) const;
    /// rg::mm.
    /// @param other the right matrix
    Tensor mm(const Tensor& other) const;
    /// rg::bmm.
    /// @param other the right batch of matrices
    Tensor bmm(const Tensor& other) const;
    /// rg::baddbmm with this tensor as input.
    /// @param batch1, batch2 the batches multiplied
    /// @param beta, alpha the factors
    Tensor baddbmm(const Tensor& batch1, const Tensor& batch2, double beta = 1.0, double alpha = 1.0) const;

    // A name shown by to_dot() and tape_table(); optional.
    /// Names the tensor for to_dot(), tape_table() and explain (optional).
    /// @param name the name
    /// @return this tensor
    /// @throws rg::Error when the tensor is undefined
    Tensor& set_name(std::string name);
    /// The name set by set_name (empty if none).
    /// @throws rg::Error when the tensor is undefined
    const std::string& name() const;

    // Identity: two handles on the same tensor.
    /// True when both handles are on the same tensor (LibTorch's is_same).
    /// @param other the other handle
    bool same(const Tensor& other) const { return impl_ == other.impl_; }
    /// The implementation (library internals; null for an undefined tensor).
    TensorImpl* impl() const { return impl_.get(); }
    /// The shared implementation (library internals).
    const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
    /// A handle on an implementation (library internals).
    /// @param impl the implementation
    explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

private:
    TensorImpl& checked(const char* what) const;
    std::shared_ptr<TensorImpl> impl_;
};

/// A list of tensors: the inputs of concat and stack, the results of split.
using TensorList = std::vector<Tensor>;

// ---- creation ------------------------------------------------------------
// A number or a nested braced list of numbers: 2.5, {1, 2}, {{1}, {2}}... Inner
// braces always open a new dimension, so {{1}, {2}} has shape (2, 1).
/// rg::tensor's argument: a number or a nested braced list of numbers, 2.5,
/// {1, 2}, {{1}, {2}}. Inner braces always open a new dimension.
class NestedValues {
public:
    /// A single number (a 0-D tensor's value).
    /// @param value the number
    template <class T>
    requires std::is_arithmetic_v<T> NestedValues(T value)  // NOLINT: implicit by design
        : values_{static_cast<double>(value)}, all_bool_(std::is_same_v<T, bool>) {}
    /// A braced list of numbers or lists, which become one more leading dimension.
    /// @param items the elements, all of one shape
    /// @throws rg::Error when the items' shapes differ (a ragged list)
    NestedValues(std::initializer_list<NestedValues> items);
    /// The shape the list describes.
    const Shape& shape() const { return shape_; }
    /// The numbers, row-major, as doubles.
    const std::vector<double>& values() const { return values_; }
    /// True when every value was written true or false.
    bool all_bool() const { return all_bool_; }  // every value was written true or false

private:
    Shape shape_;
    std::vector<double> values_;
    bool all_bool_ = false;
};
// Values written as true/false only give a bool tensor, as torch.tensor does,
// unless options ask for a dtype other than the default float32.

/// A tensor from a number or a nested braced list, as torch::tensor:
/// rg::tensor({{1, 2}, {3, 4}}). Values written true/false only give a bool
/// tensor, unless options ask for a dtype other than float32; any other list
/// gives float32 by default (LibTorch would infer int64 from integers).
/// @param values the number or list
/// @param options dtype, requires_grad
/// @throws rg::Error when requires_grad is asked of a dtype that is not floating
Tensor tensor(const NestedValues& values, TensorOptions options = {});
/// A tensor of `shape` filled row-major from a vector.
/// @param values the values, numel(shape) of them
/// @param shape the shape
/// @param options dtype, requires_grad
/// @throws rg::Error when the count does not match the shape, or requires_grad
/// is asked of a dtype that is not floating
Tensor from_vector(const std::vector<double>& values, IntList shape, TensorOptions options = {});
/// An int64 tensor of `shape` from integer values (indices, labels).
/// @param values the values, numel(shape) of them
/// @param shape the shape
/// @throws rg::Error when the count does not match the shape
Tensor from_indices(const std::vector<std::int64_t>& values, IntList shape);
/// A 1-D int64 tensor of the values.
/// @param values the values
Tensor from_indices(const std::vector<std::int64_t>& values);  // 1-D int64

// Sizes are checked: negative sizes, and element counts or byte sizes that
// overflow or exceed what can be allocated, are rg::Errors.
/// A tensor of zeros.
/// @param shape the sizes
/// @param options dtype (float32 by default), requires_grad
/// @throws rg::Error when a size is negative, the tensor would not fit in memory, or
/// requires_grad is asked of a dtype that is not floating
Tensor zeros(IntList shape, TensorOptions options = {});
/// A tensor of ones.
/// @param shape the sizes
/// @param options dtype (float32 by default), requires_grad
/// @throws rg::Error when a size is negative, the tensor would not fit in memory, or
/// requires_grad is asked of a dtype that is not floating
Tensor ones(IntList shape, TensorOptions options = {});
/// A tensor filled with one value.
/// @param shape the sizes
/// @param value the value, converted to the dtype
/// @param options dtype (float32 by default, not inferred from the value as in LibTorch), requires_grad
/// @throws rg::Error when a size is negative, the tensor would not fit in memory, or
/// requires_grad is asked of a dtype that is not floating
Tensor full(IntList shape, double value, TensorOptions options = {});
/// A tensor whose values are left uninitialised.
/// @param shape the sizes
/// @param options dtype (float32 by default), requires_grad
/// @throws rg::Error when a size is negative, the tensor would not fit in memory, or
/// requires_grad is asked of a dtype that is not floating
Tensor empty(IntList shape, TensorOptions options = {});  // uninitialised values
/// start, start + step, ... up to but excluding stop: ceil((stop - start) / step) values.
/// @param start the first value
/// @param stop the end, excluded
/// @param step the spacing, non-zero
/// @param options dtype (float32 by default, not inferred from the arguments as in LibTorch), requires_grad
/// @throws rg::Error when an argument is not finite, step is 0, or there would be too many values
Tensor arange(double start, double stop, double step = 1.0, TensorOptions options = {});
/// 0, 1, ... up to but excluding stop.
/// @param stop the end, excluded
/// @param options dtype (float32 by default), requires_grad
/// @throws rg::Error when stop is not finite or there would be too many values
Tensor arange(double stop, TensorOptions options = {});
/// `count` evenly spaced values from start to stop, both included.
/// @param start, stop the ends
/// @param count how many values, >= 0 (one gives start)
/// @param options dtype (float32 by default), requires_grad
/// @throws rg::Error when count < 0 or the tensor would not fit in memory
Tensor linspace(double start, double stop, std::int64_t count, TensorOptions options = {});
/// The n × n identity matrix.
/// @param n the size, >= 0
/// @param options dtype (float32 by default), requires_grad
/// @throws rg::Error when n < 0 or the matrix would not fit in memory
Tensor eye(std::int64_t n, TensorOptions options = {});
/// Uniform values in [0, 1) from the global generator (manual_seed).
/// @param shape the sizes
/// @param options a float dtype (float32 by default), requires_grad
/// @throws rg::Error when the dtype is not floating or a size is negative
Tensor rand(IntList shape, TensorOptions options = {});  // uniform [0, 1)
/// Standard normal values from the global generator (manual_seed).
/// @param shape the sizes
/// @param options a float dtype (float32 by default), requires_grad
/// @throws rg::Error when the dtype is not floating or a size is negative
Tensor randn(IntList shape, TensorOptions options = {});  // standard normal
/// Uniform values in [low, high) from the global generator (torch's uniform_ as a function).
/// @param shape the sizes
/// @param low, high the range, low < high
/// @param options a float dtype (float32 by default), requires_grad
/// @throws rg::Error when low >= high, the dtype is not floating or a size is negative
Tensor uniform(IntList shape, double low, double high, TensorOptions options = {});
/// Uniform int64 values in [low, high) from the global generator.
/// @param low, high the range, low < high
/// @param shape the sizes
/// @throws rg::Error when low >= high or a size is negative
Tensor randint(std::int64_t low, std::int64_t high, IntList shape);  // int64 in [low, high)

// *_like: same shape; dtype follows `like` unless given (requires_grad never copied).
/// zeros of like's shape and dtype (never requiring grad).
/// @param like the tensor whose shape and dtype are taken
Tensor zeros_like(const Tensor& like);
/// ones of like's shape and dtype (never requiring grad).
/// @param like the tensor whose shape and dtype are taken
Tensor ones_like(const Tensor& like);
/// `value` in like's shape and dtype (never requiring grad).
/// @param like the tensor whose shape and dtype are taken
/// @param value the value
Tensor full_like(const Tensor& like, double value);
/// Uninitialised values in like's shape and dtype.
/// @param like the tensor whose shape and dtype are taken
Tensor empty_like(const Tensor& like);
/// rand in like's shape and dtype.
/// @param like the tensor whose shape and dtype are taken
/// @throws rg::Error when like's dtype is not floating
Tensor rand_like(const Tensor& like);
/// randn in like's shape and dtype.
/// @param like the tensor whose shape and dtype are taken
/// @throws rg::Error when like's dtype is not floating
Tensor randn_like(const Tensor& like);

// The random generator behind rand/randn/uniform/randint (and nn initialisers).
/// Seeds the global generator behind rand, randn, uniform, randint, dropout
/// and nn's initialisers, so that runs repeat (torch::manual_seed).
/// @param seed the seed
void manual_seed(std::uint64_t seed);
/// The next 64 random bits of the global generator (thread-safe).
std::uint64_t random_u64();

// ---- memory --------------------------------------------------------------
// Storages of 64 KiB and more come from a cache that keeps freed blocks up to
// 64 MiB for reuse (a training step frees and allocates the same sizes every
// time; larger blocks go back to the system at once).
// The cache holds at most `bytes` (default 1 GiB; 0 turns caching off);
// empty_cache() returns every cached block to the system (and the calling
// thread's small blocks, see CacheStats).
/// Sets how many bytes of freed blocks the cache may hold (default 1 GiB; 0
/// turns caching off); blocks over the new limit go back to the system.
/// @param bytes the limit
void set_cache_limit(std::size_t bytes);
/// Returns every cached block to the system, and the calling thread's small
/// blocks (as torch.cuda.empty_cache for the CPU).
void empty_cache();
/// The storage cache's state (cache_stats()).
struct CacheStats {
    /// Bytes of freed blocks held for reuse.
    std::size_t cached_bytes = 0;  // freed blocks held for reuse
    /// Bytes of blocks in use by storages.
    std::size_t live_bytes = 0;  // blocks in use by storages
    /// Allocations served from the cache.
    std::size_t hits = 0;
    /// Allocations that went to the system.
    std::size_t misses = 0;
    // Small blocks (up to 1 KiB: the tape's nodes, tensor headers, tiny
    // buffers) held for reuse by the calling thread, at most 16 MiB per
    // thread; empty_cache() frees the calling thread's.
    /// Small blocks (up to 1 KiB: the tape's nodes, tensor headers, tiny
    /// buffers) held for reuse by the calling thread, at most 16 MiB per thread.
    std::size_t small_cached_bytes = 0;
};
/// The cache's current state.
CacheStats cache_stats();

// ---- printing --------------------------------------------------------------
/// The tensor printed in PyTorch's style: tensor([...], dtype=..., grad_fn=...)
/// (dtype when not float32; grad_fn, else requires_grad=true when set); more
/// than 1000 elements are summarised with "...".
/// @param t the tensor; an undefined one prints as tensor(undefined)
std::string to_string(const Tensor& t);
/// Prints to_string(t).
/// @param os the stream
/// @param t the tensor
std::ostream& operator<<(std::ostream& os, const Tensor& t);

// Elementwise closeness for tests and checks: |a - b| <= atol + rtol * |b|, same shape.
/// True when a and b have one shape and |a - b| <= atol + rtol |b| everywhere
/// (as torch.allclose, but false for different shapes rather than broadcasting,
/// and NaN is never close).
/// @param a, b the tensors, of any dtypes
/// @param rtol relative tolerance
/// @param atol absolute tolerance
bool allclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8);

}  // namespace rg

template <> struct fmt::formatter<rg::Tensor> : fmt::formatter<std::string_view> {
    auto format(const rg::Tensor& t, format_context& ctx) const {
        return fmt::formatter<std::string_view>::format(rg::to_string(t), ctx);
    }
};
