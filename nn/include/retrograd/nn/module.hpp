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

/// Tensors with their dotted names: ("0.weight", w), ("block.conv.bias", b).
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module;
/// Shared ownership of a module, as LibTorch's module holders.
using ModulePtr = std::shared_ptr<Module>;

/// The base of layers and models (torch::nn::Module): owns parameters (and
/// buffers, like BatchNorm's running statistics) and child modules, and maps
/// tensors to tensors with tape ops. A module never has a backward method: its
/// gradient is whatever the tape records in forward().
class Module {
public:
    virtual ~Module() = default;

    // The one-tensor form, which Sequential and summary() call. A module whose
    // forward takes other inputs or returns several outputs derives from
    // Callable<Self> instead and need not define this one; calling it then fails.
    /// The one-tensor form, which Sequential and summary() call. A module whose
    /// forward takes other inputs or returns several outputs derives from
    /// Callable<Self> instead and need not define this one.
    /// @param input the input
    /// @throws rg::Error when the module does not define it (its forward takes other inputs)
    virtual Tensor forward(const Tensor& input);
    /// forward(input).
    /// @param input the input
    Tensor operator()(const Tensor& input) { return forward(input); }
    // One line for summaries and printing, e.g. "Linear(784, 256)"; by default
    // the class name, e.g. "Net()".
    /// One line for summaries and printing, e.g. "Linear(784, 256)"; by default
    /// the class name, e.g. "Net()".
    virtual std::string describe() const;

    /// Every parameter, this module's then its children's, depth first (torch's
    /// parameters()); a tensor two modules share (tied weights) once, under its
    /// first name, as PyTorch does.
    TensorList parameters() const;
    /// Every parameter with its dotted name: "0.weight", "block.conv.bias".
    NamedTensors named_parameters() const;  // dotted names: "0.weight", "block.conv.bias"
    /// Every buffer (running statistics...) with its dotted name.
    NamedTensors named_buffers() const;
    /// Whether a file must hold the buffer of this dotted name to load into this module.
    /// @param name a dotted name from named_buffers()
    /// @return false for a buffer registered with required_in_files = false
    bool buffer_required_in_files(const std::string& name) const;
    /// The direct children, with their names, in registration order (torch's named_children()).
    const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const { return children_; }
    /// The number of elements in all parameters.
    std::size_t parameter_count() const;

    /// Sets training mode (dropout active, batch statistics used) on this module and its children.
    /// @param on training (true) or evaluation (false)
    void train(bool on = true);
    /// train(false): evaluation mode.
    void eval() { train(false); }
    /// Whether the module is in training mode (torch's is_training()).
    bool is_training() const { return training_; }
    /// Drops every parameter's gradient (set_to_none, LibTorch's default).
    void zero_grad();
    // Converts every parameter and buffer in place (the tensors keep their identity).
    /// Converts every parameter and buffer in place (the tensors keep their
    /// identity, so optimizers built before still hold them).
    /// @param dtype float32 or float64
    /// @throws rg::Error when the dtype is not floating
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
    /// An empty module (for derived classes).
    Module() = default;
    /// Copies the handles: the copy shares the parameters' tensors.
    Module(const Module&) = default;
    /// Copies the handles: the copy shares the parameters' tensors.
    Module& operator=(const Module&) = default;
    /// Adds a parameter, made to require grad.
    /// @param name its name, unique among this module's parameters, buffers and children
    /// @param value the tensor
    /// @return value, now requiring grad
    /// @throws rg::Error when value is undefined, or the name is empty, holds a '.' or is taken
    Tensor register_parameter(std::string name, Tensor value);
    /// Adds a buffer: state that is saved and converted but not trained.
    /// @param name its name, unique among this module's parameters, buffers and children
    /// @param value the tensor
    /// @param required_in_files false: a weights file or checkpoint without it
    /// still loads, leaving it as it is (BatchNorm's num_batches_tracked, which
    /// files written before it existed lack, as PyTorch loads them)
    /// @return value
    /// @throws rg::Error when the name is empty, holds a '.' or is taken
    Tensor register_buffer(std::string name, Tensor value, bool required_in_files = true);
    /// Adds a child module, whose parameters become this module's under "name.".
    /// @param name its name, unique among this module's parameters, buffers and children
    /// @param module the child
    /// @return module
    /// @throws rg::Error when the module is null, or the name is empty, holds a '.' or is taken
    template <class M> std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
        add_child(name, module);
        return module;
    }
    /// Called by replace_parameter once it has replaced `name`: a module whose
    /// forward reads its weights from a list of its own, not from members the
    /// user can assign (RNN, LSTM, GRU), updates that list here.
    /// @param name the replaced parameter
    /// @param value the new tensor
    virtual void parameter_replaced(const std::string& name, const Tensor& value);
    /// Removes a child module (torch's unregister_module); the names of the others stay.
    /// @param name the child's name
    /// @return the child
    /// @throws rg::Error when there is no child of that name
    ModulePtr unregister_module(const std::string& name);
    /// Removes one of this module's own parameters (what `del module.name` does in PyTorch).
    /// @param name the parameter's name
    /// @return the parameter
    /// @throws rg::Error when the module has no own parameter of that name
    Tensor unregister_parameter(const std::string& name);

private:
    void add_child(const std::string& name, ModulePtr module);
    void check_new_name(const char* operation, const std::string& name) const;

    NamedTensors parameters_;
    NamedTensors buffers_;
    std::vector<std::string> buffers_not_required_in_files_;
    std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
    bool training_ = true;
};

/// A type derived from Module.
template <class M>
concept ModuleLike = std::is_base_of_v<Module, std::decay_t<M>>;

// A module passed by value is moved into shared ownership; a shared_ptr is kept.
/// A module passed by value, moved into shared ownership.
/// @param module the module
template <ModuleLike M> ModulePtr share(M&& module) {
    return std::make_shared<std::decay_t<M>>(std::forward<M>(module));
}
/// A shared module, kept as it is.
/// @param module the module
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
/// A module whose forward has its own signature, as LibTorch's: several inputs,
/// defaulted ones, several outputs (a tuple or a struct).
///
///     struct Gate : rg::nn::Callable<Gate> {
///         std::pair<Tensor, Tensor> forward(const Tensor& x, const Tensor& h);
///     };
///     auto [y, z] = gate(x, h);  // calls Gate::forward(x, h)
///
/// Sequential takes only modules whose forward takes one tensor and returns one.
template <class Self> class Callable : public Module {
public:
    /// Self::forward(args...).
    /// @param args the forward's arguments
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
/// A module Sequential can chain: its forward takes one tensor and returns one.
template <class M>
concept OneTensorModule = ModuleLike<M> && requires {
    static_cast<Tensor (std::decay_t<M>::*)(const Tensor&)>(&std::decay_t<M>::forward);
};

// Runs its children in order: Sequential net{Linear(784, 256), ReLU(), Linear(256, 10)}.
/// Runs its children in order: Sequential net{Linear(784, 256), ReLU(), Linear(256, 10)}
/// (torch::nn::Sequential). Children are named "0", "1"...
class Sequential : public Module {
public:
    /// An empty sequence.
    Sequential() = default;
    /// The modules, in order (by value or shared_ptr).
    /// @param modules one-tensor modules
    template <class... M>
    requires(sizeof...(M) > 1 ||
             (!std::is_same_v<std::decay_t<M>, Sequential> && ...)) explicit Sequential(M&&... modules) {
        (add(std::forward<M>(modules)), ...);
    }
    /// Appends a module passed by value (moved into shared ownership).
    /// @param module the module
    /// @return this sequence
    template <OneTensorModule M> Sequential& add(M&& module) {
        register_module(std::to_string(children().size()), share(std::forward<M>(module)));
        return *this;
    }
    /// Appends a shared module.
    /// @param module the module
    /// @return this sequence
    template <OneTensorModule M> Sequential& add(std::shared_ptr<M> module) {
        register_module(std::to_string(children().size()), ModulePtr(std::move(module)));
        return *this;
    }

    /// Each child's forward in turn.
    /// @param input the first child's input
    Tensor forward(const Tensor& input) override;
    /// "Sequential" and its children's descriptions.
    std::string describe() const override;
    /// The number of children.
    std::size_t size() const { return children().size(); }
    /// The child at a position.
    /// @param index from 0
    /// @throws rg::Error when index >= size()
    Module& operator[](std::size_t index) const;
};

// A table like Keras' summary(): each child with its output shape and
// parameter count, computed by running zeros of `input_shape` (no recording).
/// A table like Keras' summary(): each child with its output shape and
/// parameter count, computed by running zeros of `input_shape` (no recording,
/// in evaluation mode; the mode is restored after).
/// @param module a one-tensor module (a Sequential's children are listed one by one)
/// @param input_shape the input's shape, batch included
/// @param dtype the input's dtype
/// @throws rg::Error when the module's forward refuses the input
std::string summary(Module& module, const Shape& input_shape, Dtype dtype = Dtype::float32);

}  // namespace rg::nn
