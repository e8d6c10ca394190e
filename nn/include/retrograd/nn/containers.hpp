#pragma once
// Containers that hold modules or parameters under PyTorch's names, so that a
// model written with them saves and loads the state dicts of its PyTorch twin:
// ModuleList (children "0", "1"...), ModuleDict (children by key),
// ParameterList and ParameterDict. None has a forward: the owning module's
// forward calls what they hold, in whatever order and with whatever inputs.
#include <retrograd/nn/module.hpp>

#include <memory>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

namespace rg::nn {

namespace detail {
// The message of a container's element that is not of the type asked for.
[[noreturn]] void fail_wrong_type(const std::string& container, const std::string& element, const Module& module,
                                  const std::type_info& wanted);
// What the containers' forward says: they hold modules, they do not run them.
[[noreturn]] void fail_container_forward(const std::string& container);
}  // namespace detail

/// Modules in a list, as torch::nn::ModuleList: each is a child named by its
/// position ("0", "1"...), so `blocks.1.weight` is the second module's weight
/// in both libraries' state dicts. The owner's forward iterates over it:
///
///     for (const auto& block : blocks) x = block->forward(x);
///     auto& attention = blocks.at<MultiheadAttention>(2);
class ModuleList : public Module {
public:
    /// An empty list.
    ModuleList() = default;
    /// The modules, in order (by value or shared_ptr).
    /// @param modules the modules
    template <class... M>
    requires(sizeof...(M) > 0 &&
             (!std::is_same_v<std::decay_t<M>, ModuleList> && ...)) explicit ModuleList(M&&... modules) {
        (push_back(std::forward<M>(modules)), ...);
    }
    /// Appends a module passed by value (moved into shared ownership).
    /// @param module the module
    template <ModuleLike M> void push_back(M&& module) { push_back(share(std::forward<M>(module))); }
    /// Appends a shared module (the list shares it, as LibTorch's).
    /// @param module the module
    /// @throws rg::Error when it is null
    void push_back(ModulePtr module);
    /// Appends every module of another list (shared, not copied).
    /// @param other the list
    void extend(const ModuleList& other);
    /// Inserts a module before position `index`; the modules after it are renamed (index + 1...).
    /// @param index from 0 to size()
    /// @param module the module
    /// @throws rg::Error when index > size() or the module is null
    void insert(std::size_t index, ModulePtr module);
    /// The module at a position.
    /// @param index from 0
    /// @throws rg::Error when index >= size()
    const ModulePtr& operator[](std::size_t index) const;
    /// The module at a position, as its own type (LibTorch's at<T>).
    /// @param index from 0
    /// @throws rg::Error when index >= size() or the module is not a T
    template <ModuleLike T> T& at(std::size_t index) const { return *ptr<T>(index); }
    /// The module at a position, shared, as its own type (LibTorch's ptr<T>).
    /// @param index from 0
    /// @throws rg::Error when index >= size() or the module is not a T
    template <ModuleLike T> std::shared_ptr<T> ptr(std::size_t index) const {
        const ModulePtr& module = (*this)[index];
        auto typed = std::dynamic_pointer_cast<T>(module);
        if (!typed) detail::fail_wrong_type("ModuleList", std::to_string(index), *module, typeid(T));
        return typed;
    }
    /// The number of modules.
    std::size_t size() const { return modules_.size(); }
    /// Whether the list is empty.
    bool is_empty() const { return modules_.empty(); }
    /// The first module.
    auto begin() const { return modules_.begin(); }
    /// Past the last module.
    auto end() const { return modules_.end(); }
    /// Fails: a ModuleList has no forward; the owner's forward calls its modules.
    /// @param input not read
    /// @throws rg::Error always
    Tensor forward(const Tensor& input) override;
    /// "ModuleList(n modules)".
    std::string describe() const override;

private:
    std::vector<ModulePtr> modules_;
};

/// Modules by name, in insertion order, as torch::nn::ModuleDict: each is a
/// child named by its key, so `heads.mean.weight` names the same tensor in
/// both libraries' state dicts.
///
///     ModuleDict heads({{"mean", std::make_shared<Linear>(4, 2)}, {"scale", std::make_shared<Linear>(4, 2)}});
///     Tensor mean = heads["mean"]->forward(x);
class ModuleDict : public Module {
public:
    /// An empty dictionary.
    ModuleDict() = default;
    /// The modules under their keys, in order.
    /// @param modules (key, module) pairs
    /// @throws rg::Error as insert
    explicit ModuleDict(const std::vector<std::pair<std::string, ModulePtr>>& modules) { update(modules); }
    /// Inserts or replaces each (key, module) in turn, as PyTorch's update().
    /// @param modules (key, module) pairs
    /// @throws rg::Error as insert
    void update(const std::vector<std::pair<std::string, ModulePtr>>& modules);
    /// Adds a module under a key, or replaces the module there (keeping its place, as a Python dict).
    /// @param key a name without '.'
    /// @param module the module
    /// @return the module
    /// @throws rg::Error when the key is empty or holds a '.', or the module is null
    ModulePtr insert(const std::string& key, ModulePtr module);
    /// Adds a module passed by value (moved into shared ownership) under a key.
    /// @param key a name without '.'
    /// @param module the module
    /// @return the module, shared
    template <ModuleLike M> std::shared_ptr<std::decay_t<M>> insert(const std::string& key, M&& module) {
        auto shared = std::make_shared<std::decay_t<M>>(std::forward<M>(module));
        insert(key, ModulePtr(shared));
        return shared;
    }
    /// The module under a key.
    /// @param key the key
    /// @throws rg::Error when there is none, listing the keys
    const ModulePtr& operator[](const std::string& key) const;
    /// The module under a key, as its own type.
    /// @param key the key
    /// @throws rg::Error when there is none, or it is not a T
    template <ModuleLike T> T& at(const std::string& key) const { return *ptr<T>(key); }
    /// The module under a key, shared, as its own type.
    /// @param key the key
    /// @throws rg::Error when there is none, or it is not a T
    template <ModuleLike T> std::shared_ptr<T> ptr(const std::string& key) const {
        const ModulePtr& module = (*this)[key];
        auto typed = std::dynamic_pointer_cast<T>(module);
        if (!typed) detail::fail_wrong_type("ModuleDict", "'" + key + "'", *module, typeid(T));
        return typed;
    }
    /// Whether a key is there.
    /// @param key the key
    bool contains(const std::string& key) const;
    /// Removes the module under a key and returns it.
    /// @param key the key
    /// @throws rg::Error when there is none
    ModulePtr pop(const std::string& key);
    /// Removes every module.
    void clear();
    /// The keys, in order.
    std::vector<std::string> keys() const;
    /// The modules, in order.
    std::vector<ModulePtr> values() const;
    /// The (key, module) pairs, in order.
    const std::vector<std::pair<std::string, ModulePtr>>& items() const { return children(); }
    /// The number of modules.
    std::size_t size() const { return children().size(); }
    /// Whether the dictionary is empty.
    bool empty() const { return children().empty(); }
    /// Fails: a ModuleDict has no forward; the owner's forward calls its modules.
    /// @param input not read
    /// @throws rg::Error always
    Tensor forward(const Tensor& input) override;
    /// "ModuleDict(key, ...)".
    std::string describe() const override;
};

/// Parameters in a list, as torch::nn::ParameterList: named "0", "1"..., so
/// `gains.0` names the same tensor in both libraries' state dicts.
class ParameterList : public Module {
public:
    /// An empty list.
    ParameterList() = default;
    /// The tensors, in order, each made a parameter (requiring grad).
    /// @param parameters defined float tensors
    /// @throws rg::Error as append
    explicit ParameterList(const TensorList& parameters) { extend(parameters); }
    /// Appends a parameter (made to require grad) and returns it.
    /// @param parameter a defined float32 or float64 tensor
    /// @throws rg::Error when it is undefined or not floating
    Tensor append(Tensor parameter);
    /// Appends each tensor in turn.
    /// @param parameters defined float tensors
    void extend(const TensorList& parameters);
    /// The parameter at a position.
    /// @param index from 0
    /// @throws rg::Error when index >= size()
    Tensor operator[](std::size_t index) const;
    /// The number of parameters.
    std::size_t size() const { return values_.size(); }
    /// Whether the list is empty.
    bool is_empty() const { return values_.empty(); }
    /// The first parameter.
    auto begin() const { return values_.begin(); }
    /// Past the last parameter.
    auto end() const { return values_.end(); }
    /// Fails: a ParameterList has no forward; the owner's forward reads its parameters.
    /// @param input not read
    /// @throws rg::Error always
    Tensor forward(const Tensor& input) override;
    /// "ParameterList(n parameters)".
    std::string describe() const override;

private:
    TensorList values_;
};

/// Parameters by name, in insertion order, as torch::nn::ParameterDict: each
/// under its key, so `offsets.mean` names the same tensor in both libraries'
/// state dicts.
class ParameterDict : public Module {
public:
    /// An empty dictionary.
    ParameterDict() = default;
    /// The tensors under their keys, in order, each made a parameter.
    /// @param parameters (key, tensor) pairs
    /// @throws rg::Error as insert
    explicit ParameterDict(const NamedTensors& parameters) { update(parameters); }
    /// Inserts or replaces each (key, tensor) in turn.
    /// @param parameters (key, tensor) pairs
    /// @throws rg::Error as insert
    void update(const NamedTensors& parameters);
    /// Adds a parameter (made to require grad) under a key, or replaces the one
    /// there (keeping its place, as a Python dict), and returns it.
    /// @param key a name without '.'
    /// @param parameter a defined float32 or float64 tensor
    /// @throws rg::Error when the key is empty or holds a '.', or the tensor is undefined or not floating
    Tensor insert(const std::string& key, Tensor parameter);
    /// The parameter under a key.
    /// @param key the key
    /// @throws rg::Error when there is none, listing the keys
    Tensor operator[](const std::string& key) const;
    /// Whether a key is there.
    /// @param key the key
    bool contains(const std::string& key) const;
    /// Removes the parameter under a key and returns it.
    /// @param key the key
    /// @throws rg::Error when there is none
    Tensor pop(const std::string& key);
    /// Removes every parameter.
    void clear();
    /// The keys, in order.
    std::vector<std::string> keys() const;
    /// The (key, parameter) pairs, in order.
    const NamedTensors& items() const { return entries_; }
    /// The number of parameters.
    std::size_t size() const { return entries_.size(); }
    /// Whether the dictionary is empty.
    bool empty() const { return entries_.empty(); }
    /// Fails: a ParameterDict has no forward; the owner's forward reads its parameters.
    /// @param input not read
    /// @throws rg::Error always
    Tensor forward(const Tensor& input) override;
    /// "ParameterDict(key, ...)".
    std::string describe() const override;

private:
    NamedTensors entries_;
};

}  // namespace rg::nn
