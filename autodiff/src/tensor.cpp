// rg::Tensor: geometry, storage access, autograd state, casting and printing.
#include "kernels/copy.hpp"
#include "op_defs.hpp"

#include <cmath>
#include <limits>
#include <optional>
#include <sstream>

namespace rg {

// The one table of dtypes: a new dtype is a line here and a case in
// detail::visit_dtype (kernels.hpp); -Wswitch flags every switch that misses it.
namespace {
struct DtypeTraits {
    std::string_view name;
    std::size_t size;
    bool floating;
};
std::optional<DtypeTraits> dtype_traits(Dtype dtype) {
    switch (dtype) {
        case Dtype::float32: return DtypeTraits{"float32", 4, true};
        case Dtype::float64: return DtypeTraits{"float64", 8, true};
        case Dtype::int64: return DtypeTraits{"int64", 8, false};
        case Dtype::bool_: return DtypeTraits{"bool", 1, false};
        case Dtype::bfloat16: return DtypeTraits{"bfloat16", 2, true};
    }
    return std::nullopt;
}
}  // namespace

std::string_view dtype_name(Dtype dtype) {
    const auto traits = dtype_traits(dtype);
    return traits ? traits->name : "unknown";
}
std::size_t dtype_size(Dtype dtype) {
    const auto traits = dtype_traits(dtype);
    if (!traits) detail::unknown_dtype(dtype, "dtype_size");
    return traits->size;
}
bool is_floating_point(Dtype dtype) {
    const auto traits = dtype_traits(dtype);
    return traits && traits->floating;
}

namespace detail {
void unknown_dtype(Dtype dtype, const char* op) {
    fail("{}: unknown dtype (enum value {}); expected float32, float64, int64, bool or bfloat16", op,
         static_cast<int>(dtype));
}
void check_dtype(Dtype dtype, const char* op) {
    if (!dtype_traits(dtype)) unknown_dtype(dtype, op);
}
}  // namespace detail

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

// ---- IntList -------------------------------------------------------------------

IntList::IntList(std::initializer_list<Int> values) {
    for (Int v : values) values_.push_back(v.value);
}
IntList::IntList(const std::vector<std::int64_t>& values) : values_(values.begin(), values.end()) {}
IntList::IntList(const std::vector<int>& values) : values_(values.begin(), values.end()) {}
IntList::IntList(const Shape& shape) {
    for (std::size_t s : shape) values_.push_back(Int(s).value);
}
std::string IntList::str() const {
    if (values_.size() == 1) return fmt::format("({},)", values_[0]);
    return fmt::format("({})", fmt::join(values_, ", "));
}

// ---- geometry ------------------------------------------------------------------

namespace detail {

Strides contiguous_strides(const Shape& shape) {
    Strides s(shape.size());
    std::ptrdiff_t stride = 1;
    for (std::size_t i = shape.size(); i-- > 0;) {
        s[i] = stride;
        stride *= static_cast<std::ptrdiff_t>(shape[i]);
    }
    return s;
}

bool is_contiguous_layout(const Shape& shape, const Strides& strides) {
    std::ptrdiff_t expected = 1;
    for (std::size_t i = shape.size(); i-- > 0;) {
        if (shape[i] == 0) return true;
        if (shape[i] == 1) continue;
        if (strides[i] != expected) return false;
        expected *= static_cast<std::ptrdiff_t>(shape[i]);
    }
    return true;
}

std::size_t checked_numel(const Shape& shape, Dtype dtype, const char* op) {
    check_dtype(dtype, op);
    // Element counts are kept below 2^62 bytes' worth so that no index or
    // byte computation can overflow; a zero size anywhere makes the tensor empty.
    constexpr std::size_t limit = std::size_t{1} << 62;
    for (std::size_t s : shape)
        if (s == 0) return 0;
    std::size_t n = 1;
    for (std::size_t s : shape) {
        if (s > limit / n)
            n = limit + 1;
        else
            n *= s;
        if (n > limit) break;
    }
    const std::size_t bytes_per = dtype_size(dtype);
    if (n > limit / bytes_per) {
        fail("{}: shape {} has too many elements for memory (more than 2^62 bytes of {})", op, shape_str(shape),
             dtype_name(dtype));
    }
    return n;
}

Shape to_shape(IntList sizes, const char* op) {
    Shape shape;
    for (std::int64_t s : sizes) {
        if (s < 0) fail("{}: negative size {} in shape {}", op, s, sizes.str());
        shape.push_back(static_cast<std::size_t>(s));
    }
    return shape;
}

std::shared_ptr<Storage> new_storage(std::size_t nbytes, Dtype dtype, const char* op) {
    // With the 64 bytes of control block and header, each fills a whole
    // small block of 2, 4, 8 or 16 cache lines.
    if (nbytes <= 64) return make_small_shared<InlineStorage<64>>(nbytes, dtype);
    if (nbytes <= 192) return make_small_shared<InlineStorage<192>>(nbytes, dtype);
    if (nbytes <= 448) return make_small_shared<InlineStorage<448>>(nbytes, dtype);
    if (nbytes <= 960) return make_small_shared<InlineStorage<960>>(nbytes, dtype);
    return make_small_shared<BufferStorage>(nbytes, dtype, op);
}

Tensor empty_dense(const Shape& shape, Dtype dtype, const char* op) {
    return empty_dense(shape, dtype, op, checked_numel(shape, dtype, op));
}

Tensor empty_dense(const Shape& shape, Dtype dtype, const char* op, std::size_t numel) {
    check_dtype(dtype, op);
    auto impl = make_small_shared<TensorImpl>();
    impl->dtype = dtype;
    impl->storage = new_storage(numel * dtype_size(dtype), dtype, op);
    impl->set_dense_geometry(shape, numel);
    return Tensor(std::move(impl));
}

Tensor make_view(const Tensor& base, const Shape& shape, const Strides& strides, std::size_t offset) {
    auto impl = detail::make_small_shared<TensorImpl>();
    impl->storage = base.impl()->storage;
    impl->dtype = base.dtype();
    impl->is_view = true;
    impl->set_geometry(shape, strides, offset);
    return Tensor(std::move(impl));
}

Tensor bf16_as_float32(const Tensor& t) {
    NoGrad off;
    return t.to(Dtype::float32);
}
Tensor float32_as_bf16(const Tensor& t) {
    NoGrad off;
    return t.to(Dtype::bfloat16);
}

}  // namespace detail

void TensorImpl::set_dense_geometry(const Shape& new_shape, std::size_t count) {
    shape = new_shape;
    strides = detail::contiguous_strides(new_shape);
    offset = 0;
    numel = count;
    contiguous = true;
    if (extras) extras->value_view.reset();
}

void TensorImpl::set_geometry(const Shape& new_shape, const Strides& new_strides, std::size_t new_offset) {
    shape = new_shape;
    strides = new_strides;
    offset = new_offset;
    numel = shape_numel(shape);
    contiguous = detail::is_contiguous_layout(shape, strides);
    if (extras) extras->value_view.reset();
}

namespace {
template <class A> std::shared_ptr<TensorImpl> impl_of(A&& values) {
    auto impl = detail::make_small_shared<TensorImpl>();
    const Shape shape = values.shape();
    impl->dtype = dtype_of<typename std::decay_t<A>::value_type>();
    impl->storage = detail::make_small_shared<detail::ArrayStorage<std::decay_t<A>>>(std::forward<A>(values));
    impl->set_geometry(shape, detail::contiguous_strides(shape), 0);
    return impl;
}
}  // namespace

Tensor::Tensor(xt::xarray<float> values, bool requires_grad) : impl_(impl_of(std::move(values))) {
    impl_->requires_grad = requires_grad;
}
Tensor::Tensor(xt::xarray<double> values, bool requires_grad) : impl_(impl_of(std::move(values))) {
    impl_->requires_grad = requires_grad;
}
Tensor::Tensor(xt::xarray<std::int64_t> values) : impl_(impl_of(std::move(values))) {}
Tensor::Tensor(xt::xarray<bool> values) : impl_(impl_of(std::move(values))) {}

namespace {
// Kept out of line so that the accessors below stay a test and a load.
[[noreturn, gnu::cold, gnu::noinline]] void undefined_tensor(const char* what) {
    fail("{}: the tensor is undefined (default-constructed rg::Tensor)", what);
}
}  // namespace

TensorImpl& Tensor::checked(const char* what) const {
    if (!impl_) [[unlikely]]
        undefined_tensor(what);
    return *impl_;
}

const Shape& Tensor::shape() const { return checked("shape").shape; }
std::size_t Tensor::numel() const { return checked("numel").numel; }
std::int64_t Tensor::size(int axis) const {
    return static_cast<std::int64_t>(shape()[normalize_axis(axis, dim(), "size")]);
}
Dtype Tensor::dtype() const { return checked("dtype").dtype; }
const Strides& Tensor::strides() const { return checked("strides").strides; }
std::int64_t Tensor::stride(int axis) const { return strides()[normalize_axis(axis, dim(), "stride")]; }
std::size_t Tensor::storage_offset() const { return checked("storage_offset").offset; }
bool Tensor::is_contiguous() const { return checked("is_contiguous").contiguous; }
bool Tensor::is_view() const { return checked("is_view").is_view; }
bool Tensor::shares_storage(const Tensor& other) const {
    return defined() && other.defined() && impl_->storage == other.impl_->storage;
}
std::uint64_t Tensor::version() const { return checked("version").storage->version(); }

template <class T> T* Tensor::data_ptr() const {
    TensorImpl& impl = checked("data_ptr");
    if (impl.dtype != dtype_of<T>())
        fail("data_ptr<{}>: the tensor holds {}; ask for the matching element type", dtype_name(dtype_of<T>()),
             dtype_name(impl.dtype));
    return impl.data<T>();
}
void* Tensor::data_ptr() const {
    TensorImpl& impl = checked("data_ptr");
    return static_cast<char*>(impl.storage->data()) + impl.offset * dtype_size(impl.dtype);
}
std::size_t Tensor::nbytes() const { return numel() * dtype_size(dtype()); }
template float* Tensor::data_ptr<float>() const;
template double* Tensor::data_ptr<double>() const;
template std::int64_t* Tensor::data_ptr<std::int64_t>() const;
template bool* Tensor::data_ptr<bool>() const;
template BFloat16* Tensor::data_ptr<BFloat16>() const;

namespace {
// The view owns its flat buffer adaptor (a pointer and a size), so copies of
// it need only the storage to live. Vector shapes: with a small-vector shape,
// xtensor takes the view for fixed-rank and whole-array assignment fails.
template <class T>
std::shared_ptr<void> make_value_view(T* first, std::size_t span, const Shape& shape, const Strides& strides) {
    return std::make_shared<ValueView<T>>(
        xt::strided_view(FlatValues<T>(xt::adapt(static_cast<T*>(first), span, xt::no_ownership(),
                                                 std::array<std::size_t, 1>{span})),
                         std::vector<std::size_t>(shape.begin(), shape.end()),
                         std::vector<std::ptrdiff_t>(strides.begin(), strides.end()), 0, xt::layout_type::dynamic));
}
}  // namespace

template <class T> ValueView<T>& Tensor::value() {
    TensorImpl& impl = checked("value");
    if (impl.dtype != dtype_of<T>())
        fail("value<{}>: the tensor holds {}; ask for the matching element type", dtype_name(dtype_of<T>()),
             dtype_name(impl.dtype));
    std::shared_ptr<void>& view = impl.extra().value_view;
    if (!view) {
        // The buffer spans from the first element to one past the last one the strides reach.
        std::size_t span = impl.numel == 0 ? 0 : 1;
        for (std::size_t d = 0; d < impl.shape.size() && impl.numel != 0; ++d)
            span += (impl.shape[d] - 1) * static_cast<std::size_t>(impl.strides[d]);
        view = make_value_view(impl.data<T>(), span, impl.shape, impl.strides);
    }
    return *static_cast<ValueView<T>*>(view.get());
}
template <class T> const ValueView<T>& Tensor::value() const { return const_cast<Tensor*>(this)->value<T>(); }
template ValueView<float>& Tensor::value<float>();
template ValueView<double>& Tensor::value<double>();
template ValueView<std::int64_t>& Tensor::value<std::int64_t>();
template const ValueView<float>& Tensor::value<float>() const;
template const ValueView<double>& Tensor::value<double>() const;
template const ValueView<std::int64_t>& Tensor::value<std::int64_t>() const;
template ValueView<bool>& Tensor::value<bool>();
template const ValueView<bool>& Tensor::value<bool>() const;

std::vector<double> Tensor::to_vector() const {
    checked("to_vector");
    return detail::visit_dtype(dtype(), "to_vector", [&](auto zero) {
        using T = decltype(zero);
        return detail::values_as_double(detail::Dense<T>(*this));
    });
}

template <class T> T Tensor::item() const {
    if (numel() != 1)
        fail("item: the tensor has shape {} ({} elements), expected exactly one element", shape_str(shape()), numel());
    return detail::visit_dtype(dtype(), "item", [&](auto zero) {
        using S = decltype(zero);
        const S v = *impl_->data<S>();
        if constexpr (std::is_same_v<T, bool>) {
            return v != S{0};  // as a C++ condition: any non-zero value is true
        } else if constexpr (std::is_integral_v<T> && !std::is_integral_v<S>) {
            if (!std::isfinite(v) || v < static_cast<S>(std::numeric_limits<T>::min()) ||
                v >= -static_cast<S>(std::numeric_limits<T>::min()))
                fail("item: the value {} does not fit in an integer", static_cast<double>(v));
            return static_cast<T>(v);
        } else {
            return static_cast<T>(v);
        }
    });
}
template float Tensor::item<float>() const;
template double Tensor::item<double>() const;
template std::int64_t Tensor::item<std::int64_t>() const;
template int Tensor::item<int>() const;
template bool Tensor::item<bool>() const;

// A view whose base was written in place since its history was made gets its
// history remade first (view_history.cpp).
bool Tensor::requires_grad() const {
    if (!impl_) return false;
    detail::refresh_view(*this);
    return impl_->requires_grad;
}

Tensor& Tensor::requires_grad_(bool on) {
    TensorImpl& impl = checked("requires_grad_");
    if (impl.grad_fn && !on) {
        fail("requires_grad_: this tensor was produced by op '{}'; only leaves can stop "
             "requiring grad (use detach())",
             impl.grad_fn->op());
    }
    if (on && !is_floating())
        fail("requires_grad_: {} tensors cannot require grad; convert with .to(rg::float32)", dtype_name(dtype()));
    impl.requires_grad = on;
    return *this;
}

bool Tensor::is_leaf() const {
    checked("is_leaf");
    detail::refresh_view(*this);
    return !impl_->grad_fn;
}
Tensor Tensor::grad() const { return checked("grad").grad; }
void Tensor::set_grad(const Tensor& grad) {
    if (grad.defined() && (grad.shape() != shape() || grad.dtype() != dtype()))
        fail("set_grad: gradient of shape {} ({}) for a tensor of shape {} ({})", shape_str(grad.shape()),
             dtype_name(grad.dtype()), shape_str(shape()), dtype_name(dtype()));
    checked("set_grad").grad = grad;
}
void Tensor::zero_grad() { checked("zero_grad").grad = Tensor{}; }

void Tensor::retain_grad() {
    TensorImpl& impl = checked("retain_grad");
    detail::refresh_view(*this);
    if (!impl.requires_grad) fail("retain_grad: the tensor does not require grad");
    impl.retains_grad = true;
    if (impl.grad_fn) impl.grad_fn->output = impl_;
}
bool Tensor::retains_grad() const { return checked("retains_grad").retains_grad; }

void Tensor::register_hook(Hook hook) {
    TensorImpl& impl = checked("register_hook");
    detail::refresh_view(*this);
    if (!impl.requires_grad) fail("register_hook: the tensor does not require grad, so no gradient will reach it");
    impl.extra().hooks.push_back(std::move(hook));
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
    impl.extra().post_accumulate_hooks.push_back(std::move(hook));
}

const std::shared_ptr<Node>& Tensor::grad_fn() const {
    checked("grad_fn");
    detail::refresh_view(*this);
    return impl_->grad_fn;
}

Tensor& Tensor::set_name(std::string name) {
    checked("set_name").extra().name = std::move(name);
    return *this;
}
const std::string& Tensor::name() const { return checked("name").name(); }

Tensor Tensor::detach() const {
    const TensorImpl& impl = checked("detach");
    return detail::make_view(*this, impl.shape, impl.strides, impl.offset);
}

const OpDef& clone_def = define_op({.name = "clone",
                                    .signature = "x.clone()",
                                    .doc = "a contiguous copy of the values, on the tape",
                                    .rule = "dx = g",
                                    .kind = OpKind::shape,
                                    .call = [](const TensorList& v) { return v[0].t().clone(); },
                                    .samples = {{{Shape{2, 3}}, -2.0, 2.0}},
                                    .accepts_int64 = true});
const OpDef& contiguous_def = define_op({.name = "contiguous",
                                         .signature = "x.contiguous()",
                                         .doc = "x itself when contiguous, else a contiguous copy",
                                         .rule = "dx = g",
                                         .kind = OpKind::shape,
                                         .call = [](const TensorList& v) { return v[0].t().contiguous(); },
                                         .samples = {{{Shape{2, 3}}, -2.0, 2.0}},
                                         .accepts_int64 = true});
const OpDef& to_def = define_op({.name = "to",
                                 .signature = "x.to(dtype)",
                                 .doc = "the values cast to another dtype; differentiable between float dtypes",
                                 .rule = "dx = g converted back to x's dtype",
                                 .kind = OpKind::shape,
                                 .call = [](const TensorList& v) { return v[0].to(Dtype::float32); },
                                 .samples = {},  // a float32 round trip cannot be gradchecked: tensor_test covers it
                                 .accepts_int64 = true});

Tensor Tensor::clone() const {
    checked("clone");
    Tensor out = detail::contiguous_values(*this);
    if (!needs_grad(*this)) return out;
    return record(clone_def, out, {*this}, {}, [](const OpContext&, const Tensor& g) { return GradList{g}; });
}

Tensor Tensor::contiguous() const {
    if (checked("contiguous").contiguous) return *this;
    Tensor out = detail::contiguous_values(*this);
    if (!needs_grad(*this)) return out;
    return record(contiguous_def, out, {*this}, {}, [](const OpContext&, const Tensor& g) { return GradList{g}; });
}

namespace {
Tensor cast_values(const Tensor& t, Dtype dtype) {
    return detail::visit_dtype(t.dtype(), "to", [&](auto from_zero) {
        using From = decltype(from_zero);
        const detail::Dense<From> in(t);
        return detail::visit_dtype(dtype, "to", [&](auto to_zero) {
            using To = decltype(to_zero);
            Tensor out = detail::empty_dense<To>(t.shape(), "to");
            if (const auto bad = detail::cast_into(in.data(), out.data_ptr<To>(), in.size()))
                fail("to: element {} is {}, which has no int64 value", index_str(*bad, t.shape()),
                     static_cast<double>(in.data()[*bad]));
            return out;
        });
    });
}
}  // namespace

Tensor Tensor::to(Dtype dtype) const {
    checked("to");
    if (dtype == this->dtype()) return *this;
    detail::check_dtype(dtype, "to");
    Tensor out = cast_values(*this, dtype);
    if (!is_floating_point(dtype) || !needs_grad(*this)) return out;
    return record(to_def, out, {*this}, {},
                  [](const OpContext& c, const Tensor& g) { return GradList{g.to(c.input_dtype(0))}; });
}

Tensor& Tensor::set_values_(const Tensor& src) {
    TensorImpl& impl = checked("set_values_");
    if (impl.requires_grad && is_grad_enabled())
        fail("set_values_: in-place write to a tensor that requires grad; do it inside rg::NoGrad");
    if (impl.grad_fn) fail("set_values_: only leaves can have their values replaced");
    Tensor copy = detail::contiguous_values(detail::defined_or_fail(src, "set_values_"));
    impl.storage->bump_version();  // graphs that saved the old values must not use them
    impl.storage = copy.impl()->storage;
    impl.dtype = copy.dtype();
    impl.set_geometry(copy.shape(), copy.strides(), 0);
    if (impl.grad.defined() && impl.grad.dtype() != dtype()) impl.grad = Tensor{};
    return *this;
}

// ---- printing ---------------------------------------------------------------

namespace {
template <class T>
void print_values(std::ostringstream& os, const T* data, const Shape& shape, std::size_t axis, std::size_t offset,
                  const Strides& strides, bool summarize) {
    if (axis == shape.size()) {
        if constexpr (std::is_same_v<T, bool>) {
            os << (data[offset] ? "True" : "False");  // as PyTorch prints them
        } else if constexpr (std::is_integral_v<T>) {
            os << data[offset];
        } else {
            const double v = static_cast<double>(data[offset]);
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
    const std::string separator = axis + 1 < shape.size() ? ",\n" + std::string(axis + 8, ' ') : ", ";
    os << '[';
    for (std::size_t k = 0; k < shown.size(); ++k) {
        if (k > 0) os << separator;
        if (shown[k] == skipped) {
            os << "...";
            continue;
        }
        print_values(os, data, shape, axis + 1, offset + shown[k] * static_cast<std::size_t>(strides[axis]), strides,
                     summarize);
    }
    os << ']';
}
}  // namespace

std::string to_string(const Tensor& t) {
    if (!t.defined()) return "tensor(undefined)";
    std::ostringstream os;
    os << "tensor(";
    detail::visit_dtype(t.dtype(), "to_string", [&](auto zero) {
        using T = decltype(zero);
        print_values(os, t.data_ptr<T>(), t.shape(), 0, 0, t.strides(), t.numel() > 1000);
        return 0;
    });
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

void detail::link_tensor() {}  // see registry.cpp

}  // namespace rg
