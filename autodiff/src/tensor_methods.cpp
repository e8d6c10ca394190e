// The method forms of the common ops (x.sum(), x.reshape({-1, 784}),
// x.matmul(w)...), each the free function of ops.hpp applied to *this.
#include "kernels.hpp"

namespace rg {

Tensor Tensor::sum() const { return rg::sum(*this); }
Tensor Tensor::sum(int axis, bool keepdim) const { return rg::sum(*this, {axis}, keepdim); }
Tensor Tensor::sum(const Axes& axes, bool keepdim) const { return rg::sum(*this, axes, keepdim); }
Tensor Tensor::mean() const { return rg::mean(*this); }
Tensor Tensor::mean(int axis, bool keepdim) const { return rg::mean(*this, {axis}, keepdim); }
Tensor Tensor::mean(const Axes& axes, bool keepdim) const { return rg::mean(*this, axes, keepdim); }
Tensor Tensor::max() const { return rg::max(*this); }
Tensor Tensor::max(int axis, bool keepdim) const { return rg::max(*this, {axis}, keepdim); }
Tensor Tensor::min() const { return rg::min(*this); }
Tensor Tensor::min(int axis, bool keepdim) const { return rg::min(*this, {axis}, keepdim); }
Tensor Tensor::argmax() const { return rg::argmax(*this); }
Tensor Tensor::argmax(int axis, bool keepdim) const { return rg::argmax(*this, axis, keepdim); }
Tensor Tensor::reshape(IntList shape) const { return rg::reshape(*this, shape); }
Tensor Tensor::view(IntList shape) const { return rg::view(*this, shape); }
Tensor Tensor::flatten(int start_axis, int end_axis) const { return rg::flatten(*this, start_axis, end_axis); }
Tensor Tensor::squeeze() const { return rg::squeeze(*this); }
Tensor Tensor::squeeze(int axis) const { return rg::squeeze(*this, axis); }
Tensor Tensor::unsqueeze(int axis) const { return rg::unsqueeze(*this, axis); }
Tensor Tensor::t() const {
    if (dim() > 2) fail("t: expects a tensor of rank 2 or less, got shape {}; use transpose(a, b)", shape_str(shape()));
    return rg::transpose(*this);
}
Tensor Tensor::transpose(int axis0, int axis1) const { return rg::transpose(*this, axis0, axis1); }
Tensor Tensor::permute(const Axes& order) const { return rg::permute(*this, order); }
Tensor Tensor::expand(IntList shape) const { return rg::expand(*this, shape); }
Tensor Tensor::narrow(int axis, std::int64_t start, std::int64_t length) const {
    return rg::narrow(*this, axis, start, length);
}
Tensor Tensor::select(int axis, std::int64_t index) const { return rg::select(*this, axis, index); }
Tensor Tensor::slice(int axis, std::int64_t start, std::int64_t stop, std::int64_t step) const {
    return rg::slice(*this, axis, start, stop, step);
}
Tensor Tensor::diagonal(std::int64_t offset, int axis0, int axis1) const {
    return rg::diagonal(*this, offset, axis0, axis1);
}
Tensor Tensor::matmul(const Tensor& other) const { return rg::matmul(*this, other); }
Tensor Tensor::pow(double exponent) const { return rg::pow(*this, exponent); }
Tensor Tensor::pow(const Tensor& exponent) const { return rg::pow(*this, exponent); }
#define RETROGRAD_DEFINE_UNARY_METHOD(name) \
    Tensor Tensor::name() const { return rg::name(*this); }
RETROGRAD_UNARY_METHODS(RETROGRAD_DEFINE_UNARY_METHOD)
#undef RETROGRAD_DEFINE_UNARY_METHOD

Tensor Tensor::clamp(double low, double high) const { return rg::clamp(*this, low, high); }
Tensor Tensor::softmax(int axis) const { return rg::softmax(*this, axis); }
Tensor Tensor::log_softmax(int axis) const { return rg::log_softmax(*this, axis); }

}  // namespace rg
