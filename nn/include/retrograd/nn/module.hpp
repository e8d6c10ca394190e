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

    virtual Tensor forward(const Tensor& input) = 0;
    Tensor operator()(const Tensor& input) { return forward(input); }
    // One line for summaries and printing, e.g. "Linear(784, 256)".
    virtual std::string describe() const = 0;

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

// Runs its children in order: Sequential net{Linear(784, 256), ReLU(), Linear(256, 10)}.
class Sequential : public Module {
public:
    Sequential() = default;
    template <class... M>
    requires(sizeof...(M) > 1 ||
             (!std::is_same_v<std::decay_t<M>, Sequential> && ...)) explicit Sequential(M&&... modules) {
        (add(std::forward<M>(modules)), ...);
    }
    template <class M> Sequential& add(M&& module) {
        register_module(std::to_string(children().size()), share(std::forward<M>(module)));
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
