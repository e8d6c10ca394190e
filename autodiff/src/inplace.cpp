// In-place ops (add_, mul_, copy_, fill_...). Each computes its result with
// the out-of-place op, writes it into the tensor's storage and bumps the
// storage's version, so a saved tensor that was overwritten is caught in
// backward. When the op is recorded, the tensor's history is rebased onto the
// new node (PyTorch's semantics): later ops see the written values and their
// gradients flow through the op. Refused, with an rg::Error:
// - on a leaf that requires grad, outside rg::NoGrad (its .grad would no
//   longer describe its values);
// - on a view while recording, when the view or the operand requires grad
//   (the base's history cannot be rewritten; use an out-of-place op).
#include "anomaly.hpp"
#include "kernels.hpp"

namespace rg {
namespace {

struct Plan {
    bool recording = false;
};

Plan check_inplace(const Tensor& self, const char* op, const TensorList& operands) {
    detail::defined_or_fail(self, op);
    for (const Tensor& t : operands) detail::defined_or_fail(t, op);
    Plan plan;
    if (!is_grad_enabled()) return plan;
    const bool operand_grad =
        std::any_of(operands.begin(), operands.end(), [](const Tensor& t) { return t.requires_grad(); });
    if (self.requires_grad() && self.is_leaf())
        fail("{}: in-place write to a leaf of shape {} that requires grad; update parameters inside "
             "rg::NoGrad, or use the out-of-place op (x = x + y)",
             op, shape_str(self.shape()));
    if (self.is_view() && (self.requires_grad() || operand_grad))
        fail("{}: in-place write to a view of shape {} while recording cannot be recorded (its base's "
             "history would change); use the out-of-place op, or clone() the view first",
             op, shape_str(self.shape()));
    plan.recording = self.requires_grad() || operand_grad;
    return plan;
}

// Writes `result` (self's shape, computed from the old values) into self.
Tensor& commit(Tensor& self, const Tensor& result, const char* op) {
    if (result.shape() != self.shape())
        fail("{}: the result has shape {}, which cannot be written into a tensor of shape {}; "
             "broadcasting may not grow the tensor written in place",
             op, shape_str(result.shape()), shape_str(self.shape()));
    if (result.impl() != self.impl()) detail::copy_values(self, result);
    TensorImpl& impl = *self.impl();
    impl.storage->bump_version();
    if (result.requires_grad()) {
        // Rebase: self is now the output of the op that computed `result`.
        impl.requires_grad = true;
        impl.grad_fn = result.grad_fn();
        if (impl.has_hooks() || impl.retains_grad) impl.grad_fn->output = self.impl_ptr();
        impl.view_version = TensorImpl::kNoViewCheck;
    }
    return self;
}

// The old values of self for an op whose VJP reads them: a copy when
// recording, since the storage is about to be overwritten.
Tensor old_values(const Tensor& self, const Plan& plan) { return plan.recording ? self.clone() : self; }

// A recorded result equal to `values` whose gradient to self's old history is
// zero (the values were overwritten), for fill_, zero_, copy_ and masked_fill_.
Tensor overwrite(const Tensor& self, const Tensor& values, const Plan& plan) {
    if (!plan.recording) return values;
    return where(zeros(Shape{}, {self.dtype()}), self, values);
}

Tensor same_dtype(const Tensor& self, const Tensor& t) { return t.dtype() == self.dtype() ? t : t.to(self.dtype()); }

}  // namespace

Tensor& Tensor::add_(const Tensor& other, double alpha) {
    check_inplace(*this, "add_", {other});
    return commit(*this, alpha == 1.0 ? add(*this, other) : add(*this, mul(other, alpha)), "add_");
}
Tensor& Tensor::add_(double value) {
    check_inplace(*this, "add_", {});
    return commit(*this, add(*this, value), "add_");
}
Tensor& Tensor::sub_(const Tensor& other, double alpha) {
    check_inplace(*this, "sub_", {other});
    return commit(*this, alpha == 1.0 ? sub(*this, other) : sub(*this, mul(other, alpha)), "sub_");
}
Tensor& Tensor::sub_(double value) {
    check_inplace(*this, "sub_", {});
    return commit(*this, add(*this, -value), "sub_");
}
Tensor& Tensor::mul_(const Tensor& other) {
    const Plan plan = check_inplace(*this, "mul_", {other});
    return commit(*this, mul(old_values(*this, plan), other), "mul_");
}
Tensor& Tensor::mul_(double value) {
    check_inplace(*this, "mul_", {});
    return commit(*this, mul(*this, value), "mul_");
}
Tensor& Tensor::div_(const Tensor& other) {
    const Plan plan = check_inplace(*this, "div_", {other});
    return commit(*this, div(old_values(*this, plan), other), "div_");
}
Tensor& Tensor::div_(double value) {
    check_inplace(*this, "div_", {});
    return commit(*this, mul(*this, 1.0 / value), "div_");
}
Tensor& Tensor::clamp_(double low, double high) {
    const Plan plan = check_inplace(*this, "clamp_", {});
    return commit(*this, rg::clamp(old_values(*this, plan), low, high), "clamp_");
}
Tensor& Tensor::zero_() { return fill_(0.0); }
Tensor& Tensor::fill_(double value) {
    const Plan plan = check_inplace(*this, "fill_", {});
    return commit(*this, overwrite(*this, full(shape(), value, {dtype()}), plan), "fill_");
}
Tensor& Tensor::copy_(const Tensor& src) {
    const Plan plan = check_inplace(*this, "copy_", {src});
    if (src.dim() > dim() || broadcast_shapes(src.shape(), shape(), "copy_") != shape())
        fail("copy_: source of shape {} cannot be written into a tensor of shape {}", shape_str(src.shape()),
             shape_str(shape()));
    if (!plan.recording) {
        // A plain copy: no temporary.
        detail::copy_values(*this, same_dtype(*this, src));
        impl()->storage->bump_version();
        return *this;
    }
    Tensor values = broadcast_to(same_dtype(*this, src), shape());
    return commit(*this, overwrite(*this, values, plan), "copy_");
}
Tensor& Tensor::masked_fill_(const Tensor& mask, double value) {
    const detail::CallingOp calling("masked_fill_");  // recorded as where: anomaly errors name masked_fill_
    check_inplace(*this, "masked_fill_", {});
    detail::defined_or_fail(mask, "masked_fill_");
    if (mask.dim() > dim() || broadcast_shapes(mask.shape(), shape(), "masked_fill_") != shape())
        fail("masked_fill_: mask of shape {} does not broadcast to the tensor's shape {}", shape_str(mask.shape()),
             shape_str(shape()));
    const Tensor m = detail::without_grad([&] { return mask.dtype() == dtype() ? mask : mask.to(dtype()); });
    return commit(*this, where(m, full(Shape{}, value, {dtype()}), *this), "masked_fill_");
}

}  // namespace rg
