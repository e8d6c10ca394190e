#pragma once
// Modules: objects that own parameters (and buffers, like BatchNorm's running
// statistics) and map tensors to tensors with tape ops. A module never has a
// backward method: its gradient is whatever the tape records in forward().
#include <retrograd/autograd.hpp>

#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace rg::nn {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module {
public:
    virtual ~Module() = default;

    // The one-tensor form, which Sequential and summary() call. A module whose
    // forward takes other inputs or returns several outputs derives from
    // Callable<Self> instead and need not define this one; calling it then fails.
    virtual Tensor forward(const Tensor& input);
    Tensor operator()(const Tensor& input) { return forward(input); }
    // One line for summaries and printing, e.g. "Linear(784, 256)"; by default
    // the class name, e.g. "Net()".
    virtual std::string describe() const;

    // Each parameter once, even when two modules share it (tied weights): under
    // its first name, own parameters before the children's, as PyTorch does.
    TensorList parameters() const;
    NamedTensors named_parameters() const;  // dotted names: "0.weight", "block.conv.bias"
    NamedTensors named_buffers() const;
    const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const { return children_; }
    std::size_t parameter_count() const;

    void train(bool on = true);
    void eval() { train(false); }
    bool is_training() const { return training_; }
    void zero_grad();
    // Converts every parameter and buffer in place (the tensors keep their identity).
    void to(Dtype dtype);

    /// Makes `value` this module's parameter `name` (one of its own, not a
    /// child's): weight tying, one tensor in two modules. The member the
    /// forward reads must be given the same tensor, as in LibTorch:
    ///
    ///     out->weight = out->replace_parameter("weight", embedding->weight);
    ///
    /// parameters() then lists the tied tensor once, so an optimizer updates it
    /// once with the sum of both uses' gradients, and save() writes it once
    /// (under its first name); load() restores it into both.
    /// @param name the module's own parameter, e.g. "weight"
    /// @param value the tensor to share; requires_grad is turned on
    /// @return `value`
    /// @throws rg::Error when the module has no own parameter `name`, or the shape or dtype differs
    Tensor replace_parameter(const std::string& name, Tensor value);

protected:
    Module() = default;
    Module(const Module&) = default;
    Module& operator=(const Module&) = default;
    Tensor register_parameter(std::string name, Tensor value);
    Tensor register_buffer(std::string name, Tensor value);
    template <class M> std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> module) {
        children_.emplace_back(std::move(name), module);
        return module;
    }

private:
    NamedTensors parameters_;
    NamedTensors buffers_;
    std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
    bool training_ = true;
};

using ModulePtr = std::shared_ptr<Module>;

template <class M>
concept ModuleLike = std::is_base_of_v<Module, std::decay_t<M>>;

// A module passed by value is moved into shared ownership; a shared_ptr is kept.
template <ModuleLike M> ModulePtr share(M&& module) {
    return std::make_shared<std::decay_t<M>>(std::forward<M>(module));
}
template <class M>
requires std::is_base_of_v<Module, M> ModulePtr share(std::shared_ptr<M> module) { return module; }

namespace detail {
struct NotAForward {};
}  // namespace detail

// A module whose forward has its own signature, as LibTorch's: several inputs,
// defaulted ones, several outputs (a tuple or a struct).
//
//     struct Gate : rg::nn::Callable<Gate> {
//         std::pair<Tensor, Tensor> forward(const Tensor& x, const Tensor& h);
//     };
//     auto [y, z] = gate(x, h);  // calls Gate::forward(x, h)
//
// Sequential takes only modules whose forward takes one tensor and returns one.
template <class Self> class Callable : public Module {
public:
    template <class... Args> decltype(auto) operator()(Args&&... args) {
        return static_cast<Self&>(*this).forward(std::forward<Args>(args)...);
    }

protected:
    // Never called: a non-virtual `forward` that hides Module's virtual one
    // from name lookup here, once, so that Self's forward of other parameters
    // is not reported as hiding it (-Woverloaded-virtual, in clang's -Wall). A
    // Self that declares forward(const Tensor&) returning Tensor still
    // overrides Module's, and Sequential then calls it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverloaded-virtual"
    void forward(detail::NotAForward) = delete;
#pragma GCC diagnostic pop
};

// A module Sequential can chain: its forward takes one tensor and returns one.
template <class M>
concept OneTensorModule = ModuleLike<M> && requires {
    static_cast<Tensor (std::decay_t<M>::*)(const Tensor&)>(&std::decay_t<M>::forward);
};

// Runs its children in order: Sequential net{Linear(784, 256), ReLU(), Linear(256, 10)}.
class Sequential : public Module {
public:
    Sequential() = default;
    template <class... M>
    requires(sizeof...(M) > 1 ||
             (!std::is_same_v<std::decay_t<M>, Sequential> && ...)) explicit Sequential(M&&... modules) {
        (add(std::forward<M>(modules)), ...);
    }
    template <OneTensorModule M> Sequential& add(M&& module) {
        register_module(std::to_string(children().size()), share(std::forward<M>(module)));
        return *this;
    }
    template <OneTensorModule M> Sequential& add(std::shared_ptr<M> module) {
        register_module(std::to_string(children().size()), ModulePtr(std::move(module)));
        return *this;
    }

    Tensor forward(const Tensor& input) override;
    std::string describe() const override;
    std::size_t size() const { return children().size(); }
    Module& operator[](std::size_t index) const;
};

// A table like Keras' summary(): each child with its output shape and
// parameter count, computed by running zeros of `input_shape` (no recording).
std::string summary(Module& module, const Shape& input_shape, Dtype dtype = Dtype::float32);

}  // namespace rg::nn
