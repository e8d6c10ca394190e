#pragma once
// rg::Tensor: a cheap-to-copy handle on an n-dimensional array (xt::xarray)
// plus the autograd bookkeeping (requires_grad, grad, the node that made it).
// Copies share the same tensor, as in PyTorch; use clone() for a deep copy.
#include <retrograd/error.hpp>

#include <xtensor/xarray.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace rg {

enum class Dtype { float32, float64, int64 };
inline constexpr Dtype float32 = Dtype::float32;
inline constexpr Dtype float64 = Dtype::float64;
inline constexpr Dtype int64 = Dtype::int64;  // indices and labels; not differentiable

std::string_view dtype_name(Dtype dtype);

template <class T> constexpr Dtype dtype_of();
template <> constexpr Dtype dtype_of<float>() { return Dtype::float32; }
template <> constexpr Dtype dtype_of<double>() { return Dtype::float64; }
template <> constexpr Dtype dtype_of<std::int64_t>() { return Dtype::int64; }

using Shape = xt::xarray<float>::shape_type;  // small vector, no heap for rank <= 4
std::string shape_str(const Shape& shape);   // "(3, 4)"
// The multi-index of a flat row-major position, for messages: "[1, 2]".
std::string index_str(std::size_t flat, const Shape& shape);
std::size_t shape_numel(const Shape& shape);

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

class Tensor {
public:
    Tensor() = default;  // an undefined tensor (no data); defined() is false
    explicit Tensor(xt::xarray<float> values, bool requires_grad = false);
    explicit Tensor(xt::xarray<double> values, bool requires_grad = false);
    explicit Tensor(xt::xarray<std::int64_t> values);

    bool defined() const { return impl_ != nullptr; }
    const Shape& shape() const;
    std::size_t dim() const { return shape().size(); }
    std::size_t numel() const;
    std::size_t size(int axis) const;  // negative axes count from the end
    Dtype dtype() const;
    bool is_floating() const { return dtype() != Dtype::int64; }

    // The underlying xtensor array. T must match dtype(); writing into it
    // bypasses the tape (use it for optimizers under rg::NoGrad, or for I/O).
    template <class T = float> xt::xarray<T>& value();
    template <class T = float> const xt::xarray<T>& value() const;
    double item() const;                 // the single element, as double
    std::vector<double> to_vector() const;  // all elements, row-major

    // Autograd.
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
    Tensor detach() const;  // same values, no history (shares nothing with the graph)
    Tensor clone() const;   // deep copy of the values, differentiable
    Tensor to(Dtype dtype) const;  // differentiable cast between float dtypes
    // Overwrites the values in place with src's (same shape; dtype converted).
    // Not recorded: on a tensor that requires grad it needs rg::NoGrad.
    Tensor& copy_(const Tensor& src);
    // Replaces the values with src's, shape and dtype included (for nn's to()).
    Tensor& set_values_(const Tensor& src);
    const std::shared_ptr<Node>& grad_fn() const;

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

struct TensorImpl {
    std::variant<xt::xarray<float>, xt::xarray<double>, xt::xarray<std::int64_t>> data;
    bool requires_grad = false;
    bool retains_grad = false;
    std::shared_ptr<Node> grad_fn;           // the op that produced it (non-leaf)
    std::shared_ptr<Node> grad_accumulator;  // leaves: where their gradient lands
    Tensor grad;
    std::vector<Hook> hooks;
    std::vector<PostAccumulateHook> post_accumulate_hooks;
    std::string name;
};

// ---- creation ------------------------------------------------------------
// A number or a nested braced list of numbers: 2.5, {1, 2}, {{1}, {2}}... Inner
// braces always open a new dimension, so {{1}, {2}} has shape (2, 1).
class NestedValues {
public:
    NestedValues(double value) : values_{value} {}  // NOLINT: implicit by design
    NestedValues(std::initializer_list<NestedValues> items);
    const Shape& shape() const { return shape_; }
    const std::vector<double>& values() const { return values_; }

private:
    Shape shape_;
    std::vector<double> values_;
};
Tensor tensor(const NestedValues& values, TensorOptions options = {});
Tensor from_vector(const std::vector<double>& values, const Shape& shape, TensorOptions options = {});
Tensor from_indices(const std::vector<std::int64_t>& values, const Shape& shape);
Tensor from_indices(const std::vector<std::int64_t>& values);  // 1-D int64

Tensor zeros(const Shape& shape, TensorOptions options = {});
Tensor ones(const Shape& shape, TensorOptions options = {});
Tensor full(const Shape& shape, double value, TensorOptions options = {});
Tensor empty(const Shape& shape, TensorOptions options = {});  // uninitialised values
Tensor arange(double start, double stop, double step = 1.0, TensorOptions options = {});
Tensor arange(double stop, TensorOptions options = {});
Tensor linspace(double start, double stop, std::size_t count, TensorOptions options = {});
Tensor eye(std::size_t n, TensorOptions options = {});
Tensor rand(const Shape& shape, TensorOptions options = {});   // uniform [0, 1)
Tensor randn(const Shape& shape, TensorOptions options = {});  // standard normal
Tensor uniform(const Shape& shape, double low, double high, TensorOptions options = {});
Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape);  // int64 in [low, high)

// *_like: same shape; dtype follows `like` unless given (requires_grad never copied).
Tensor zeros_like(const Tensor& like);
Tensor ones_like(const Tensor& like);
Tensor full_like(const Tensor& like, double value);
Tensor rand_like(const Tensor& like);
Tensor randn_like(const Tensor& like);

// The random generator behind rand/randn/uniform/randint (and nn initialisers).
void manual_seed(std::uint64_t seed);
std::uint64_t random_u64();

// ---- printing --------------------------------------------------------------
std::string to_string(const Tensor& t);
std::ostream& operator<<(std::ostream& os, const Tensor& t);

// Elementwise closeness for tests and checks: |a - b| <= atol + rtol * |b|, same shape.
bool allclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8);

}  // namespace rg

template <>
struct fmt::formatter<rg::Tensor> : fmt::formatter<std::string_view> {
    auto format(const rg::Tensor& t, format_context& ctx) const {
        return fmt::formatter<std::string_view>::format(rg::to_string(t), ctx);
    }
};
