#pragma once
/// @file
/// tape_table, to_dot and explain with a module's parameter names: rows and
/// nodes read "fc1.weight (128, 784)*" or "0.weight" instead of "leaf".
#include <retrograd/explain.hpp>
#include <retrograd/graph.hpp>
#include <retrograd/nn/module.hpp>

namespace rg {

namespace detail {
// The module's named parameters, then `inputs` (e.g. {{"x", x}, {"y", y}}).
inline NamedTensors module_names(const nn::Module& module, const NamedTensors& inputs) {
    NamedTensors names = module.named_parameters();
    names.insert(names.end(), inputs.begin(), inputs.end());
    return names;
}
}  // namespace detail

// Templates on the module type, so that a braced `{}` second argument still
// means NamedTensors.

/// tape_table() with the module's parameter names ("fc1.weight (128, 784)*").
/// @param t the tensor the graph ends in
/// @param module the model whose named_parameters() name the leaves
/// @param inputs more names, e.g. {{"x", x}, {"y", y}}
/// @throws rg::Error when `t` or a named tensor is undefined
template <nn::ModuleLike M> std::string tape_table(const Tensor& t, const M& module, const NamedTensors& inputs = {}) {
    return tape_table(t, detail::module_names(module, inputs));
}
/// to_dot() with the module's parameter names.
/// @param t the tensor the graph ends in
/// @param module the model whose named_parameters() name the leaves
/// @param options values and gradients to show
/// @param inputs more names, e.g. {{"x", x}, {"y", y}}
/// @throws rg::Error when `t` or a named tensor is undefined
template <nn::ModuleLike M>
std::string to_dot(const Tensor& t, const M& module, DotOptions options = {}, const NamedTensors& inputs = {}) {
    return to_dot(t, detail::module_names(module, inputs), options);
}
/// explain() with the module's parameter names (and `options.names`, kept after them).
/// @param output the tensor to run backward from
/// @param module the model whose named_parameters() name the leaves
/// @param options as for explain()
/// @throws rg::Error as explain() does
template <nn::ModuleLike M> Explanation explain(const Tensor& output, const M& module, ExplainOptions options = {}) {
    NamedTensors names = module.named_parameters();
    names.insert(names.end(), options.names.begin(), options.names.end());
    options.names = std::move(names);
    return explain(output, options);
}

}  // namespace rg
