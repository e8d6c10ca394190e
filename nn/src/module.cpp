// Module bookkeeping (parameters, buffers, modes) and Sequential.
#include <retrograd/ops.hpp>
#include <retrograd/composite.hpp>
#include <retrograd/nn/activations.hpp>
#include <retrograd/nn/layers.hpp>
#include <retrograd/nn/module.hpp>

#include "type_name.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <typeinfo>

namespace rg::nn {
namespace {

// Own tensors first, then each child's; a tensor met again (a weight tied
// between two modules) is listed once, under its first name, as PyTorch does.
void collect(const Module& m, const std::string& prefix, NamedTensors& out, bool buffers, const NamedTensors& own) {
    auto add = [&](std::string name, const Tensor& t) {
        for (const auto& seen : out)
            if (seen.second.same(t)) return;
        out.emplace_back(std::move(name), t);
    };
    for (const auto& [name, t] : own) add(prefix + name, t);
    for (const auto& [name, child] : m.children()) {
        NamedTensors nested = buffers ? child->named_buffers() : child->named_parameters();
        for (auto& [n, t] : nested) add(prefix + name + "." + n, t);
    }
}

}  // namespace

Tensor Module::forward(const Tensor& /*input*/) {
    fail("{}: called with one tensor (as Sequential and summary call a module), but its forward takes other inputs "
         "or returns several outputs; call it with the inputs its forward declares",
         describe());
}

std::string detail::class_name(const std::type_info& type) {
    const char* mangled = type.name();
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> name(abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
    std::string text = status == 0 && name ? std::string(name.get()) : std::string(mangled);
    // The class's own name, as a user reads it: "Net", not "app::(anonymous namespace)::Net".
    const auto colons = text.rfind("::");
    if (text.find('<') == std::string::npos && colons != std::string::npos) text.erase(0, colons + 2);
    return text;
}

std::string Module::describe() const { return detail::class_name(typeid(*this)) + "()"; }

// PyTorch's rules for attribute names: a '.' would make dotted names ambiguous,
// and a second tensor or child of one name would be saved twice and loaded once.
void Module::check_new_name(const char* operation, const std::string& name) const {
    if (name.empty()) fail("{}: the name is empty", operation);
    if (name.find('.') != std::string::npos)
        fail("{}: the name '{}' holds a '.', which separates a child's name from its own", operation, name);
    const auto taken = [&](const auto& entries) {
        return std::any_of(entries.begin(), entries.end(), [&](const auto& entry) { return entry.first == name; });
    };
    if (taken(parameters_)) fail("{}: the module already has a parameter '{}'", operation, name);
    if (taken(buffers_)) fail("{}: the module already has a buffer '{}'", operation, name);
    if (taken(children_)) fail("{}: the module already has a child '{}'", operation, name);
}

void Module::add_child(const std::string& name, ModulePtr module) {
    if (!module) fail("register_module: the module '{}' is null", name);
    check_new_name("register_module", name);
    children_.emplace_back(name, std::move(module));
}

ModulePtr Module::unregister_module(const std::string& name) {
    const auto it = std::find_if(children_.begin(), children_.end(), [&](const auto& c) { return c.first == name; });
    if (it == children_.end()) fail("unregister_module: there is no child '{}'", name);
    ModulePtr child = it->second;
    children_.erase(it);
    return child;
}

Tensor Module::unregister_parameter(const std::string& name) {
    const auto it =
        std::find_if(parameters_.begin(), parameters_.end(), [&](const auto& p) { return p.first == name; });
    if (it == parameters_.end()) fail("unregister_parameter: there is no parameter '{}'", name);
    Tensor parameter = it->second;
    parameters_.erase(it);
    return parameter;
}

Tensor Module::register_parameter(std::string name, Tensor value) {
    if (!value.defined()) fail("register_parameter: '{}' is undefined", name);
    check_new_name("register_parameter", name);
    if (!value.requires_grad()) value.requires_grad_();
    parameters_.emplace_back(std::move(name), value);
    return value;
}

Tensor Module::replace_parameter(const std::string& name, Tensor value) {
    if (!value.defined()) fail("replace_parameter: the new '{}' is undefined", name);
    for (auto& [own, t] : parameters_) {
        if (own != name) continue;
        if (t.shape() != value.shape() || t.dtype() != value.dtype())
            fail("replace_parameter: {}'s '{}' is {} {}, the new one {} {}; a tied parameter keeps its shape and "
                 "dtype",
                 describe(), name, shape_str(t.shape()), dtype_name(t.dtype()), shape_str(value.shape()),
                 dtype_name(value.dtype()));
        if (!value.requires_grad()) value.requires_grad_();
        t = value;
        parameter_replaced(name, value);
        return value;
    }
    std::vector<std::string> names;
    for (const auto& entry : parameters_) names.push_back(entry.first);
    fail("replace_parameter: {} has no parameter '{}' of its own (it has: {})", describe(), name,
         names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", ")));
}

void Module::parameter_replaced(const std::string& /*name*/, const Tensor& /*value*/) {}

Tensor Module::register_buffer(std::string name, Tensor value, bool required_in_files) {
    check_new_name("register_buffer", name);
    if (!required_in_files) buffers_not_required_in_files_.push_back(name);
    buffers_.emplace_back(std::move(name), value);
    return value;
}

bool Module::buffer_required_in_files(const std::string& name) const {
    const auto own = [&](const std::string& local) {
        return std::find(buffers_not_required_in_files_.begin(), buffers_not_required_in_files_.end(), local) ==
               buffers_not_required_in_files_.end();
    };
    // "a.b.c": child "a" answers for "b.c", unless this module owns a buffer named so itself.
    for (const auto& [local, t] : buffers_)
        if (local == name) return own(local);
    const auto dot = name.find('.');
    if (dot == std::string::npos) return true;
    for (const auto& [child_name, child] : children_)
        if (child_name == name.substr(0, dot)) return child->buffer_required_in_files(name.substr(dot + 1));
    return true;
}

NamedTensors Module::named_parameters() const {
    NamedTensors out;
    collect(*this, "", out, false, parameters_);
    return out;
}

NamedTensors Module::named_buffers() const {
    NamedTensors out;
    collect(*this, "", out, true, buffers_);
    return out;
}

TensorList Module::parameters() const {
    TensorList out;
    for (auto& [name, t] : named_parameters()) out.push_back(t);
    return out;
}

std::size_t Module::parameter_count() const {
    std::size_t n = 0;
    for (const Tensor& p : parameters()) n += p.numel();
    return n;
}

void Module::train(bool on) {
    training_ = on;
    for (auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad() {
    for (Tensor& p : parameters()) p.zero_grad();
}

void Module::to(Dtype dtype) {
    if (!is_floating_point(dtype))
        fail("Module::to: parameters must stay float32 or float64, got {}", dtype_name(dtype));
    NoGrad off;
    for (auto& [name, t] : named_parameters())
        if (t.dtype() != dtype) t.set_values_(t.to(dtype));
    for (auto& [name, t] : named_buffers())
        if (t.is_floating() && t.dtype() != dtype) t.set_values_(t.to(dtype));
}

namespace {

// Whether `module` is exactly an M (a subclass may override forward).
template <class M> bool is_exactly(const Module& module) { return typeid(module) == typeid(M); }

}  // namespace

Tensor Sequential::forward(const Tensor& input) {
    Tensor x = input;
    const auto& list = children();
    for (std::size_t i = 0; i < list.size(); ++i) {
        Module& child = *list[i].second;
        // A Conv2d followed by a ReLU, and a MaxPool2d after them, run as
        // one op (rg::conv2d_relu, rg::conv2d_relu_max_pool2d): the same
        // values, without writing and re-reading the activations between
        // them. Not under ExplainMode, which shows each layer as the course does.
        if (i + 1 < list.size() && is_exactly<Conv2d>(child) && is_exactly<ReLU>(*list[i + 1].second) &&
            !is_explain_mode()) {
            auto& conv = static_cast<Conv2d&>(child);
            if (i + 2 < list.size() && is_exactly<MaxPool2d>(*list[i + 2].second)) {
                x = conv.forward_relu_max_pool(x, static_cast<const MaxPool2d&>(*list[i + 2].second));
                i += 2;
            } else {
                x = conv.forward_relu(x);
                ++i;
            }
            continue;
        }
        x = child.forward(x);
    }
    return x;
}

std::string Sequential::describe() const { return fmt::format("Sequential({} modules)", size()); }

Module& Sequential::operator[](std::size_t index) const {
    if (index >= size()) fail("Sequential: index {} out of range for {} modules", index, size());
    return *children()[index].second;
}

std::string summary(Module& module, const Shape& input_shape, Dtype dtype) {
    NoGrad off;
    const bool was_training = module.is_training();
    module.eval();
    std::vector<std::array<std::string, 3>> rows;
    Tensor x = zeros(input_shape, {dtype});
    auto* sequential = dynamic_cast<Sequential*>(&module);
    if (sequential) {
        for (const auto& [name, child] : sequential->children()) {
            x = child->forward(x);
            rows.push_back(
                {name + ": " + child->describe(), shape_str(x.shape()), std::to_string(child->parameter_count())});
        }
    } else {
        x = module.forward(x);
        rows.push_back({module.describe(), shape_str(x.shape()), std::to_string(module.parameter_count())});
    }
    module.train(was_training);
    std::size_t w0 = 5, w1 = 12;
    for (auto& r : rows) {
        w0 = std::max(w0, r[0].size());
        w1 = std::max(w1, r[1].size());
    }
    std::ostringstream os;
    const std::string rule(w0 + w1 + 16, '-');
    os << fmt::format("{:<{}}  {:<{}}  {:>10}\n{}\n", "Layer", w0, "Output shape", w1, "Params", rule);
    os << fmt::format("{:<{}}  {:<{}}  {:>10}\n", "input", w0, shape_str(input_shape), w1, "");
    for (auto& r : rows) os << fmt::format("{:<{}}  {:<{}}  {:>10}\n", r[0], w0, r[1], w1, r[2]);
    os << fmt::format("{}\nTotal parameters: {}\n", rule, module.parameter_count());
    return os.str();
}

}  // namespace rg::nn
