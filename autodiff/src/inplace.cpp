// In-place ops (add_, mul_, copy_, fill_...). Each computes its result with
// the out-of-place op, writes it into the tensor's storage and bumps the
// storage's version, so a saved tensor that was overwritten is caught in
// backward. When the op is recorded, the tensor's history is rebased onto the
// new node (PyTorch's semantics): later ops see the written values and their
// gradients flow through the op. A write into a view rebases the view's base
// instead (copy_slices, view_history.cpp), as PyTorch's CopySlices does.
// Refused, with an rg::Error naming the out-of-place form that works:
// - a write into a tensor whose elements share memory (an expanded view);
// - outside rg::NoGrad: a write into a leaf that requires grad, or into a view
//   of one (its .grad would no longer describe its values);
// - while recording: a write into a view made under rg::NoGrad.
#include "anomaly.hpp"
#include "kernels.hpp"
#include "kernels/elementwise.hpp"
#include "op_defs.hpp"

#include <algorithm>

namespace rg {
namespace {

// The out-of-place form of each in-place op, for the errors that refuse one.
std::string_view out_of_place(std::string_view op) {
    static constexpr std::pair<std::string_view, std::string_view> forms[] =
        {{"add_", "x = x + y"},
         {"sub_", "x = x - y"},
         {"mul_", "x = x * y"},
         {"div_", "x = x / y"},
         {"clamp_", "x = x.clamp(low, high)"},
         {"relu_", "x = rg::relu(x)"},
         {"fill_", "x = rg::full_like(x, value)"},
         {"zero_", "x = rg::zeros_like(x)"},
         {"copy_", "x = rg::broadcast_to(src, x.shape()).clone()"},
         {"masked_fill_", "x = rg::where(mask, rg::full_like(x, value), x)"}};
    for (const auto& form : forms)
        if (form.first == op) return form.second;
    return "x = f(x)";
}

// True when two elements of t sit at the same place in memory (PyTorch's
// internal-overlap check, made exact): writing t in place would then depend
// on the order of the writes.
bool has_internal_overlap(const TensorImpl& t) {
    if (t.contiguous || t.numel <= 1) return false;
    std::vector<std::pair<std::size_t, std::size_t>> axes;  // (|stride|, size) of the axes of size > 1
    for (std::size_t d = 0; d < t.shape.size(); ++d) {
        if (t.shape[d] <= 1) continue;
        if (t.strides[d] == 0) return true;
        axes.emplace_back(static_cast<std::size_t>(std::abs(t.strides[d])), t.shape[d]);
    }
    std::sort(axes.begin(), axes.end());
    // Each axis stepping over everything the smaller ones reach: no overlap.
    std::size_t reach = 0;
    bool nested = true;
    for (const auto& [stride, size] : axes) {
        nested = nested && stride > reach;
        reach += stride * (size - 1);
    }
    if (nested) return false;
    // Otherwise mark every element's place over the span they cover.
    std::vector<bool> taken(reach + 1, false);
    std::vector<std::size_t> index(axes.size(), 0);
    for (std::size_t n = 0; n < t.numel; ++n) {
        std::size_t place = 0;
        for (std::size_t d = 0; d < axes.size(); ++d) place += index[d] * axes[d].first;
        if (taken[place]) return true;
        taken[place] = true;
        for (std::size_t d = 0; d < axes.size() && ++index[d] == axes[d].second; ++d) index[d] = 0;
    }
    return false;
}

struct Plan {
    bool recording = false;
    bool view = false;  // a write into a view: its base's history is rebased
};

Plan check_inplace(const Tensor& self, const char* op, const TensorList& operands) {
    detail::defined_or_fail(self, op);
    for (const Tensor& t : operands) detail::defined_or_fail(t, op);
    const TensorImpl& impl = *self.impl();
    if (has_internal_overlap(impl))
        fail("{}: unsupported operation: more than one element of the written-to tensor (shape {}, strides ({})) "
             "refers to a single memory location; write into a copy (x = x.clone()) or use the out-of-place "
             "form {}",
             op, shape_str(impl.shape), fmt::join(impl.strides, ", "), out_of_place(op));
    Plan plan;
    if (!is_grad_enabled()) return plan;
    detail::refresh_view(self);  // (a view whose base's values were replaced forgets its base)
    const bool operand_grad =
        std::any_of(operands.begin(), operands.end(), [](const Tensor& t) { return t.requires_grad(); });
    if (impl.view_base) {
        const TensorImpl& base = *impl.view_base;
        if (!base.requires_grad && !operand_grad) return plan;
        if (base.requires_grad && !base.grad_fn)
            fail("{}: in-place write to a view of shape {} of a leaf of shape {} that requires grad (PyTorch: a "
                 "view of a leaf Variable that requires grad is being used in an in-place operation); update "
                 "the leaf inside rg::NoGrad, write into a view of a copy (y = leaf.clone()), or use the "
                 "out-of-place form {}",
                 op, shape_str(impl.shape), shape_str(base.shape), out_of_place(op));
        if (impl.view_made_without_grad)
            fail("{}: in-place write, while recording, to a view of shape {} that was made under rg::NoGrad: "
                 "whether the write belongs to the graph is ambiguous; make the view and the write both inside "
                 "rg::NoGrad (not recorded) or both outside it (recorded), or use the out-of-place form {}",
                 op, shape_str(impl.shape), out_of_place(op));
        plan.recording = plan.view = true;
        return plan;
    }
    if (self.requires_grad() && self.is_leaf())
        fail("{}: in-place write to a leaf of shape {} that requires grad; update parameters inside rg::NoGrad, "
             "or use the out-of-place form {}",
             op, shape_str(impl.shape), out_of_place(op));
    plan.recording = self.requires_grad() || operand_grad;
    return plan;
}

// Makes self, a non-view, the output of the op that recorded `result` (its new values).
void rebase(Tensor& self, const Tensor& result) {
    if (!result.requires_grad()) return;
    TensorImpl& impl = *self.impl();
    impl.requires_grad = true;
    impl.grad_fn = result.grad_fn();
    if (impl.has_hooks() || impl.retains_grad) impl.grad_fn->output = self.impl_ptr();
}

// Writes `result` (self's shape, computed from the old values) into self.
Tensor& commit(Tensor& self, const Tensor& result, const char* op, const Plan& plan) {
    if (result.shape() != self.shape())
        fail("{}: the result has shape {}, which cannot be written into a tensor of shape {}; "
             "broadcasting may not grow the tensor written in place",
             op, shape_str(result.shape()), shape_str(self.shape()));
    if (result.impl() != self.impl()) detail::copy_values(self, result);
    self.impl()->storage->bump_version();
    if (plan.view) {
        // The view itself is stale now; its history is remade from the base's when it is next used.
        detail::rebase_view_base(self, result);
    } else {
        rebase(self, result);
    }
    return self;
}

// The old values of self for an op whose VJP reads them: a copy when
// recording, since the storage is about to be overwritten.
Tensor old_values(const Tensor& self, const Plan& plan) { return plan.recording ? self.clone() : self; }

// A result equal to `values` that is recorded when self's history is (its
// gradient to self's old values is zero: they were overwritten), for fill_,
// zero_, copy_ and masked_fill_. A view needs none: copy_slices already sends
// nothing to the overwritten elements.
Tensor overwrite(const Tensor& self, const Tensor& values, const Plan& plan) {
    if (!plan.recording || plan.view) return values;
    return where(zeros(Shape{}, {Dtype::bool_}), self, values);
}

Tensor same_dtype(const Tensor& self, const Tensor& t) { return t.dtype() == self.dtype() ? t : t.to(self.dtype()); }

Tensor& fill_named(Tensor& self, double value, const char* op) {
    const Plan plan = check_inplace(self, op, {});
    return commit(self, overwrite(self, full(self.shape(), value, {self.dtype()}), plan), op, plan);
}

}  // namespace

void increment_version(const Tensor& t) {
    detail::defined_or_fail(t, "increment_version").impl()->storage->bump_version();
}

Tensor& Tensor::add_(const Tensor& other, double alpha) {
    const Plan plan = check_inplace(*this, "add_", {other});
    return commit(*this, alpha == 1.0 ? add(*this, other) : add(*this, mul(other, alpha)), "add_", plan);
}
Tensor& Tensor::add_(double value) {
    const Plan plan = check_inplace(*this, "add_", {});
    return commit(*this, add(*this, value), "add_", plan);
}
Tensor& Tensor::sub_(const Tensor& other, double alpha) {
    const Plan plan = check_inplace(*this, "sub_", {other});
    return commit(*this, alpha == 1.0 ? sub(*this, other) : sub(*this, mul(other, alpha)), "sub_", plan);
}
Tensor& Tensor::sub_(double value) {
    const Plan plan = check_inplace(*this, "sub_", {});
    return commit(*this, add(*this, -value), "sub_", plan);
}
Tensor& Tensor::mul_(const Tensor& other) {
    const Plan plan = check_inplace(*this, "mul_", {other});
    return commit(*this, mul(old_values(*this, plan), other), "mul_", plan);
}
Tensor& Tensor::mul_(double value) {
    const Plan plan = check_inplace(*this, "mul_", {});
    return commit(*this, mul(*this, value), "mul_", plan);
}
Tensor& Tensor::div_(const Tensor& other) {
    const Plan plan = check_inplace(*this, "div_", {other});
    return commit(*this, div(old_values(*this, plan), other), "div_", plan);
}
Tensor& Tensor::div_(double value) {
    const Plan plan = check_inplace(*this, "div_", {});
    return commit(*this, mul(*this, 1.0 / value), "div_", plan);
}
Tensor& Tensor::clamp_(double low, double high) {
    const Plan plan = check_inplace(*this, "clamp_", {});
    return commit(*this, rg::clamp(old_values(*this, plan), low, high), "clamp_", plan);
}
Tensor& Tensor::relu_() {
    const Plan plan = check_inplace(*this, "relu_", {});
    const TensorImpl& impl = *this->impl();
    const bool float_values = impl.dtype == Dtype::float32 || impl.dtype == Dtype::float64;
    if (plan.view || !impl.contiguous || !float_values) return commit(*this, rg::relu(*this), "relu_", plan);
    // Straight into the storage, no temporary: relu saves its output, which is
    // now this storage at its new version, and needs nothing of the old values.
    detail::visit_float_dtype(impl.dtype, "relu_", [&](auto zero) {
        detail::map_in_place<decltype(zero)>(*this, detail::relu_value);
        return 0;
    });
    impl.storage->bump_version();
    if (plan.recording) rebase(*this, detail::record_relu(*this, detach()));
    return *this;
}
Tensor& Tensor::zero_() { return fill_named(*this, 0.0, "zero_"); }
Tensor& Tensor::fill_(double value) { return fill_named(*this, value, "fill_"); }
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
    return commit(*this, overwrite(*this, values, plan), "copy_", plan);
}
Tensor& Tensor::masked_fill_(const Tensor& mask, double value) {
    const detail::CallingOp calling("masked_fill_");  // recorded as where: anomaly errors name masked_fill_
    const Plan plan = check_inplace(*this, "masked_fill_", {});
    detail::check_fill_mask(*this, mask, "masked_fill_");
    return commit(*this, where(mask, value, *this), "masked_fill_", plan);
}

}  // namespace rg
