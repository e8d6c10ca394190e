// rg::Tensor: accessors, autograd state, casting and printing.
#include "kernels.hpp"

#include <cmath>
#include <sstream>

namespace rg {

std::string_view dtype_name(Dtype dtype) {
    switch (dtype) {
        case Dtype::float32: return "float32";
        case Dtype::float64: return "float64";
        case Dtype::int64: return "int64";
    }
    return "unknown";
}

std::string shape_str(const Shape& shape) {
    if (shape.size() == 1) return fmt::format("({},)", shape[0]);
    return fmt::format("({})", fmt::join(shape, ", "));
}

std::string index_str(std::size_t flat, const Shape& shape) {
    if (shape.empty()) return "[]";
    std::vector<std::size_t> index(shape.size());
    for (std::size_t d = shape.size(); d-- > 0;) {
        index[d] = shape[d] == 0 ? 0 : flat % shape[d];
        flat = shape[d] == 0 ? 0 : flat / shape[d];
    }
    return fmt::format("[{}]", fmt::join(index, ", "));
}

std::size_t shape_numel(const Shape& shape) {
    std::size_t n = 1;
    for (auto s : shape) n *= s;
    return n;
}

Tensor::Tensor(xt::xarray<float> values, bool requires_grad)
    : impl_(std::make_shared<TensorImpl>()) {
    impl_->data = std::move(values);
    impl_->requires_grad = requires_grad;
}
Tensor::Tensor(xt::xarray<double> values, bool requires_grad)
    : impl_(std::make_shared<TensorImpl>()) {
    impl_->data = std::move(values);
    impl_->requires_grad = requires_grad;
}
Tensor::Tensor(xt::xarray<std::int64_t> values) : impl_(std::make_shared<TensorImpl>()) {
    impl_->data = std::move(values);
}

TensorImpl& Tensor::checked(const char* what) const {
    if (!impl_) fail("{}: the tensor is undefined (default-constructed rg::Tensor)", what);
    return *impl_;
}

const Shape& Tensor::shape() const {
    return std::visit([](const auto& a) -> const Shape& { return a.shape(); },
                      checked("shape").data);
}
std::size_t Tensor::numel() const {
    return std::visit([](const auto& a) { return a.size(); }, checked("numel").data);
}
std::size_t Tensor::size(int axis) const {
    return shape()[normalize_axis(axis, dim(), "size")];
}
Dtype Tensor::dtype() const { return static_cast<Dtype>(checked("dtype").data.index()); }

template <class T>
xt::xarray<T>& Tensor::value() {
    auto* array = std::get_if<xt::xarray<T>>(&checked("value").data);
    if (!array) {
        fail("value<{}>: the tensor holds {}; ask for the matching element type", dtype_name(dtype_of<T>()),
             dtype_name(dtype()));
    }
    return *array;
}
template <class T>
const xt::xarray<T>& Tensor::value() const {
    return const_cast<Tensor*>(this)->value<T>();
}
template xt::xarray<float>& Tensor::value<float>();
template xt::xarray<double>& Tensor::value<double>();
template xt::xarray<std::int64_t>& Tensor::value<std::int64_t>();
template const xt::xarray<float>& Tensor::value<float>() const;
template const xt::xarray<double>& Tensor::value<double>() const;
template const xt::xarray<std::int64_t>& Tensor::value<std::int64_t>() const;

std::vector<double> Tensor::to_vector() const {
    return std::visit(
        [](const auto& a) {
            std::vector<double> out(a.size());
            for (std::size_t i = 0; i < a.size(); ++i) out[i] = static_cast<double>(a.data()[i]);
            return out;
        },
        checked("to_vector").data);
}

double Tensor::item() const {
    if (numel() != 1)
        fail("item: the tensor has shape {} ({} elements), expected exactly one element",
             shape_str(shape()), numel());
    return std::visit([](const auto& a) { return static_cast<double>(a.data()[0]); }, impl_->data);
}

bool Tensor::requires_grad() const { return impl_ && impl_->requires_grad; }

Tensor& Tensor::requires_grad_(bool on) {
    TensorImpl& impl = checked("requires_grad_");
    if (impl.grad_fn && !on) {
        fail("requires_grad_: this tensor was produced by op '{}'; only leaves can stop "
             "requiring grad (use detach())",
             impl.grad_fn->op());
    }
    if (on && dtype() == Dtype::int64)
        fail("requires_grad_: int64 tensors cannot require grad; convert with .to(rg::float32)");
    impl.requires_grad = on;
    return *this;
}

bool Tensor::is_leaf() const { return !checked("is_leaf").grad_fn; }
Tensor Tensor::grad() const { return checked("grad").grad; }
void Tensor::set_grad(const Tensor& grad) {
    if (grad.defined() && (grad.shape() != shape() || grad.dtype() != dtype()))
        fail("set_grad: gradient of shape {} ({}) for a tensor of shape {} ({})",
             shape_str(grad.shape()), dtype_name(grad.dtype()), shape_str(shape()),
             dtype_name(dtype()));
    checked("set_grad").grad = grad;
}
void Tensor::zero_grad() { checked("zero_grad").grad = Tensor{}; }

void Tensor::retain_grad() {
    TensorImpl& impl = checked("retain_grad");
    if (!impl.requires_grad) fail("retain_grad: the tensor does not require grad");
    impl.retains_grad = true;
    if (impl.grad_fn) impl.grad_fn->output = impl_;
}
bool Tensor::retains_grad() const { return checked("retains_grad").retains_grad; }

void Tensor::register_hook(Hook hook) {
    TensorImpl& impl = checked("register_hook");
    if (!impl.requires_grad)
        fail("register_hook: the tensor does not require grad, so no gradient will reach it");
    impl.hooks.push_back(std::move(hook));
    if (impl.grad_fn) impl.grad_fn->output = impl_;
}

void Tensor::register_post_accumulate_grad_hook(PostAccumulateHook hook) {
    TensorImpl& impl = checked("register_post_accumulate_grad_hook");
    if (impl.grad_fn)
        fail("register_post_accumulate_grad_hook: the tensor was produced by op '{}'; only leaves "
             "accumulate gradients",
             impl.grad_fn->op());
    if (!impl.requires_grad)
        fail("register_post_accumulate_grad_hook: the tensor does not require grad, so no "
             "gradient will reach it");
    impl.post_accumulate_hooks.push_back(std::move(hook));
}

const std::shared_ptr<Node>& Tensor::grad_fn() const { return checked("grad_fn").grad_fn; }

Tensor& Tensor::set_name(std::string name) {
    checked("set_name").name = std::move(name);
    return *this;
}
const std::string& Tensor::name() const { return checked("name").name; }

Tensor Tensor::detach() const {
    return std::visit([](const auto& a) { return Tensor(a); }, checked("detach").data);
}

Tensor Tensor::clone() const {
    Tensor out = detach();
    if (!needs_grad(*this)) return out;
    return record("clone", out, {*this}, [](const Tensor& g) { return TensorList{g}; });
}

namespace {
template <class To, class From>
xt::xarray<To> cast_array(const xt::xarray<From>& a) {
    xt::xarray<To> out(a.shape());
    for (std::size_t i = 0; i < a.size(); ++i) out.data()[i] = static_cast<To>(a.data()[i]);
    return out;
}
Tensor cast_values(const Tensor& t, Dtype dtype) {
    return std::visit(
        [&](const auto& a) -> Tensor {
            switch (dtype) {
                case Dtype::float32: return Tensor(cast_array<float>(a));
                case Dtype::float64: return Tensor(cast_array<double>(a));
                case Dtype::int64: return Tensor(cast_array<std::int64_t>(a));
            }
            fail("to: unknown dtype");
        },
        t.impl()->data);
}
}  // namespace

Tensor Tensor::to(Dtype dtype) const {
    checked("to");
    if (dtype == this->dtype()) return *this;
    Tensor out = cast_values(*this, dtype);
    if (dtype == Dtype::int64 || !needs_grad(*this)) return out;
    const Dtype from = this->dtype();
    return record("to", out, {*this}, [from](const Tensor& g) { return TensorList{g.to(from)}; });
}

Tensor& Tensor::copy_(const Tensor& src) {
    TensorImpl& impl = checked("copy_");
    detail::defined_or_fail(src, "copy_");
    if (src.shape() != shape())
        fail("copy_: source has shape {}, expected {}", shape_str(src.shape()), shape_str(shape()));
    if (impl.requires_grad && is_grad_enabled())
        fail("copy_: in-place write to a tensor that requires grad; do it inside rg::NoGrad");
    Tensor converted = src.dtype() == dtype() ? src : cast_values(src, dtype());
    std::visit([&](auto& dst) {
        using T = typename std::decay_t<decltype(dst)>::value_type;
        const auto& from = converted.value<T>();
        std::copy(from.begin(), from.end(), dst.begin());
    }, impl.data);
    return *this;
}

Tensor& Tensor::set_values_(const Tensor& src) {
    TensorImpl& impl = checked("set_values_");
    if (impl.requires_grad && is_grad_enabled())
        fail("set_values_: in-place write to a tensor that requires grad; do it inside rg::NoGrad");
    if (impl.grad_fn) fail("set_values_: only leaves can have their values replaced");
    Tensor copy = detail::defined_or_fail(src, "set_values_").detach();
    impl.data = std::move(copy.impl()->data);
    if (impl.grad.defined() && impl.grad.dtype() != dtype()) impl.grad = Tensor{};
    return *this;
}

// ---- printing ---------------------------------------------------------------

namespace {
template <class T>
void print_values(std::ostringstream& os, const xt::xarray<T>& a, std::size_t axis,
                  std::size_t offset, const detail::Strides& strides, bool summarize) {
    const auto& shape = a.shape();
    if (axis == shape.size()) {
        if constexpr (std::is_integral_v<T>) {
            os << a.data()[offset];
        } else {
            const double v = static_cast<double>(a.data()[offset]);
            os << (std::isnan(v) ? std::string("nan") : fmt::format("{:.6g}", v));  // never "-nan"
        }
        return;
    }
    constexpr std::size_t skipped = static_cast<std::size_t>(-1);
    const std::size_t n = shape[axis];
    std::vector<std::size_t> shown;
    if (summarize && n > 6) {
        shown = {0, 1, 2, skipped, n - 3, n - 2, n - 1};
    } else {
        for (std::size_t i = 0; i < n; ++i) shown.push_back(i);
    }
    const std::string separator =
        axis + 1 < shape.size() ? ",\n" + std::string(axis + 8, ' ') : ", ";
    os << '[';
    for (std::size_t k = 0; k < shown.size(); ++k) {
        if (k > 0) os << separator;
        if (shown[k] == skipped) {
            os << "...";
            continue;
        }
        print_values(os, a, axis + 1, offset + shown[k] * static_cast<std::size_t>(strides[axis]),
                     strides, summarize);
    }
    os << ']';
}
}  // namespace

std::string to_string(const Tensor& t) {
    if (!t.defined()) return "tensor(undefined)";
    std::ostringstream os;
    os << "tensor(";
    std::visit(
        [&](const auto& a) {
            print_values(os, a, 0, 0, detail::contiguous_strides(a.shape()), a.size() > 1000);
        },
        t.impl()->data);
    if (t.dtype() != Dtype::float32) os << ", dtype=" << dtype_name(t.dtype());
    if (t.grad_fn()) {
        os << ", grad_fn=" << t.grad_fn()->op();
    } else if (t.requires_grad()) {
        os << ", requires_grad=true";
    }
    os << ')';
    return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << to_string(t); }

bool allclose(const Tensor& a, const Tensor& b, double rtol, double atol) {
    if (a.shape() != b.shape()) return false;
    const auto va = a.to_vector();
    const auto vb = b.to_vector();
    for (std::size_t i = 0; i < va.size(); ++i) {
        if (std::isnan(va[i]) || std::isnan(vb[i])) return false;
        if (std::abs(va[i] - vb[i]) > atol + rtol * std::abs(vb[i])) return false;
    }
    return true;
}

}  // namespace rg
