#pragma once
// The older way a registered op recorded itself: a VJP lambda taking only the
// output gradient and capturing what it saved (SavedTensor). Only conv.cpp
// still records this way, until its ops move to record(def, output, inputs,
// Saves, vjp) (registry.hpp), the one documented path; delete this header then.
// Private to the library: it is not installed and not part of the API.
#include <retrograd/registry.hpp>

#include <optional>

namespace rg {
namespace detail {
template <class F> class LambdaNode final : public Node {
public:
    LambdaNode(const OpDef& def, F fn) : Node(def), fn_(std::move(fn)) {}
    GradList apply(Tensor grad_output) override {
        if (!fn_) fail("backward: node '{}' was already released", op());
        return GradList((*fn_)(std::move(grad_output)));
    }
    void release() override {
        fn_.reset();
        released_ = true;
    }

private:
    std::optional<F> fn_;
};
}  // namespace detail

template <class F> Tensor record(const OpDef& def, Tensor output, std::initializer_list<Tensor> inputs, F&& vjp) {
    if (!needs_grad_any(inputs.begin(), inputs.size())) return output;
    auto node = detail::make_small_shared<detail::LambdaNode<std::decay_t<F>>>(def, std::forward<F>(vjp));
    detail::attach(std::move(node), output, inputs.begin(), inputs.size());
    return output;
}

}  // namespace rg
