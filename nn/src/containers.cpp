// ModuleList, ModuleDict, ParameterList and ParameterDict: bookkeeping of
// names only. Their entries are the Module's children or parameters, so
// named_parameters(), save/load, to(), train()/eval() reach them unchanged.
#include <retrograd/nn/containers.hpp>

#include "type_name.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace rg::nn {

void detail::fail_wrong_type(const std::string& container, const std::string& element, const Module& module,
                             const std::type_info& wanted) {
    fail("{}: the module at {} is {}, not a {}", container, element, module.describe(), class_name(wanted));
}

void detail::fail_container_forward(const std::string& container) {
    fail("{}: a container has no forward; the module that owns it calls what it holds", container);
}

namespace {

std::string keys_list(const std::vector<std::string>& keys) {
    return keys.empty() ? std::string("none") : fmt::format("'{}'", fmt::join(keys, "', '"));
}

void require_float_parameter(const Tensor& t, const std::string& container, const std::string& element) {
    if (!t.defined()) fail("{}: the parameter {} is undefined", container, element);
    if (!t.is_floating())
        fail("{}: the parameter {} is {}, expected a float32 or float64 tensor", container, element,
             dtype_name(t.dtype()));
}

// The rules of Module's names, in the container's words.
void require_key(const std::string& key, const std::string& container) {
    if (key.empty()) fail("{}: a key is empty", container);
    if (key.find('.') != std::string::npos)
        fail("{}: the key '{}' holds a '.', which separates a child's name from its own", container, key);
}

}  // namespace

// ---- ModuleList ------------------------------------------------------------------------

void ModuleList::push_back(ModulePtr module) {
    if (!module) fail("ModuleList: the module to append is null");
    register_module(std::to_string(modules_.size()), module);
    modules_.push_back(std::move(module));
}

void ModuleList::extend(const ModuleList& other) {
    // A copy first: `other` may be this list.
    const std::vector<ModulePtr> added = other.modules_;
    for (const ModulePtr& module : added) push_back(module);
}

void ModuleList::insert(std::size_t index, ModulePtr module) {
    if (index > modules_.size())
        fail("ModuleList: cannot insert at {} in a list of {} modules, expected at most {}", index, modules_.size(),
             modules_.size());
    if (!module) fail("ModuleList: the module to insert is null");
    // Children keep their registration order, so the ones after `index` are
    // registered again, each under its new position.
    for (std::size_t i = index; i < modules_.size(); ++i) unregister_module(std::to_string(i));
    modules_.insert(modules_.begin() + static_cast<std::ptrdiff_t>(index), std::move(module));
    for (std::size_t i = index; i < modules_.size(); ++i) register_module(std::to_string(i), modules_[i]);
}

const ModulePtr& ModuleList::operator[](std::size_t index) const {
    if (index >= modules_.size()) fail("ModuleList: index {} is out of range for {} modules", index, modules_.size());
    return modules_[index];
}

Tensor ModuleList::forward(const Tensor& /*input*/) { detail::fail_container_forward(describe()); }

std::string ModuleList::describe() const { return fmt::format("ModuleList({} modules)", modules_.size()); }

// ---- ModuleDict ------------------------------------------------------------------------

void ModuleDict::update(const std::vector<std::pair<std::string, ModulePtr>>& modules) {
    for (const auto& [key, module] : modules) insert(key, module);
}

ModulePtr ModuleDict::insert(const std::string& key, ModulePtr module) {
    require_key(key, "ModuleDict");
    if (!module) fail("ModuleDict: the module to insert under '{}' is null", key);
    const std::vector<std::string> names = keys();
    const auto at = std::find(names.begin(), names.end(), key);
    if (at == names.end()) {
        register_module(key, module);
        return module;
    }
    // A replaced module keeps its place: the ones from it on are registered again.
    std::vector<ModulePtr> tail;
    for (auto name = at; name != names.end(); ++name) tail.push_back(unregister_module(*name));
    tail.front() = module;
    for (std::size_t i = 0; i < tail.size(); ++i)
        register_module(names[static_cast<std::size_t>(at - names.begin()) + i], tail[i]);
    return module;
}

const ModulePtr& ModuleDict::operator[](const std::string& key) const {
    for (const auto& [name, module] : children())
        if (name == key) return module;
    fail("ModuleDict: there is no module '{}' (the keys: {})", key, keys_list(keys()));
}

bool ModuleDict::contains(const std::string& key) const {
    const auto& entries = children();
    return std::any_of(entries.begin(), entries.end(), [&](const auto& entry) { return entry.first == key; });
}

ModulePtr ModuleDict::pop(const std::string& key) {
    if (!contains(key)) fail("ModuleDict: there is no module '{}' to pop (the keys: {})", key, keys_list(keys()));
    return unregister_module(key);
}

void ModuleDict::clear() {
    for (const std::string& key : keys()) unregister_module(key);
}

std::vector<std::string> ModuleDict::keys() const {
    std::vector<std::string> out;
    for (const auto& [name, module] : children()) out.push_back(name);
    return out;
}

std::vector<ModulePtr> ModuleDict::values() const {
    std::vector<ModulePtr> out;
    for (const auto& [name, module] : children()) out.push_back(module);
    return out;
}

Tensor ModuleDict::forward(const Tensor& /*input*/) { detail::fail_container_forward(describe()); }

std::string ModuleDict::describe() const { return fmt::format("ModuleDict({})", fmt::join(keys(), ", ")); }

// ---- ParameterList ---------------------------------------------------------------------

Tensor ParameterList::append(Tensor parameter) {
    const std::string name = std::to_string(values_.size());
    require_float_parameter(parameter, "ParameterList", name);
    values_.push_back(register_parameter(name, std::move(parameter)));
    return values_.back();
}

void ParameterList::extend(const TensorList& parameters) {
    for (const Tensor& parameter : parameters) append(parameter);
}

Tensor ParameterList::operator[](std::size_t index) const {
    if (index >= values_.size())
        fail("ParameterList: index {} is out of range for {} parameters", index, values_.size());
    return values_[index];
}

Tensor ParameterList::forward(const Tensor& /*input*/) { detail::fail_container_forward(describe()); }

std::string ParameterList::describe() const { return fmt::format("ParameterList({} parameters)", values_.size()); }

// ---- ParameterDict ---------------------------------------------------------------------

void ParameterDict::update(const NamedTensors& parameters) {
    for (const auto& [key, parameter] : parameters) insert(key, parameter);
}

Tensor ParameterDict::insert(const std::string& key, Tensor parameter) {
    require_key(key, "ParameterDict");
    require_float_parameter(parameter, "ParameterDict", "'" + key + "'");
    const auto at =
        std::find_if(entries_.begin(), entries_.end(), [&](const auto& entry) { return entry.first == key; });
    if (at == entries_.end()) {
        entries_.emplace_back(key, register_parameter(key, std::move(parameter)));
        return entries_.back().second;
    }
    // A replaced parameter keeps its place: the ones from it on are registered again.
    for (auto entry = at; entry != entries_.end(); ++entry) unregister_parameter(entry->first);
    at->second = std::move(parameter);
    for (auto entry = at; entry != entries_.end(); ++entry)
        entry->second = register_parameter(entry->first, entry->second);
    return at->second;
}

Tensor ParameterDict::operator[](const std::string& key) const {
    for (const auto& [name, parameter] : entries_)
        if (name == key) return parameter;
    fail("ParameterDict: there is no parameter '{}' (the keys: {})", key, keys_list(keys()));
}

bool ParameterDict::contains(const std::string& key) const {
    return std::any_of(entries_.begin(), entries_.end(), [&](const auto& entry) { return entry.first == key; });
}

Tensor ParameterDict::pop(const std::string& key) {
    const auto at =
        std::find_if(entries_.begin(), entries_.end(), [&](const auto& entry) { return entry.first == key; });
    if (at == entries_.end())
        fail("ParameterDict: there is no parameter '{}' to pop (the keys: {})", key, keys_list(keys()));
    Tensor parameter = unregister_parameter(key);
    entries_.erase(at);
    return parameter;
}

void ParameterDict::clear() {
    for (const auto& [key, parameter] : entries_) unregister_parameter(key);
    entries_.clear();
}

std::vector<std::string> ParameterDict::keys() const {
    std::vector<std::string> out;
    for (const auto& [key, parameter] : entries_) out.push_back(key);
    return out;
}

Tensor ParameterDict::forward(const Tensor& /*input*/) { detail::fail_container_forward(describe()); }

std::string ParameterDict::describe() const { return fmt::format("ParameterDict({})", fmt::join(keys(), ", ")); }

}  // namespace rg::nn
