#pragma once
/// @file
/// Looking at the tape: the ops behind a tensor as a table, or as Graphviz DOT,
/// optionally with the names of a model's parameters and inputs.
#include <retrograd/autograd.hpp>

#include <string>
#include <utility>
#include <vector>

namespace rg {

/// The ops that produced `t`, in recording order, one row each: position, op,
/// input shapes (* marks inputs that require grad) and output shape.
/// @param t a tensor with history (a leaf gives a table of no op)
/// @throws rg::Error when `t` is undefined
std::string tape_table(const Tensor& t);

/// What to_dot() shows besides ops and shapes.
struct DotOptions {
    bool show_values = false;  ///< values of leaves and of tensors still alive
    bool show_grads = false;  ///< .grad of leaves (after backward)
};
/// Graphviz text of the graph that produced `t`: op nodes as boxes, tensors as
/// ellipses labelled with their names and shapes. Render with `dot -Tsvg`.
/// @param t the tensor the graph ends in
/// @param options values and gradients to show
/// @throws rg::Error when `t` is undefined
std::string to_dot(const Tensor& t, DotOptions options = {});

/// (name, tensor) pairs, as a module's named_parameters() gives them.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
/// tape_table() with names: leaves that require grad (parameters) are named by
/// identity ("fc1.weight (128, 784)*"); tensors without grad (inputs, targets)
/// are not kept by the tape, whose edge knows only their shape and dtype, so
/// each is named where a constant input has its shape and dtype, provided no
/// other named tensor without grad has both ("input x (64, 784)"). The tensor
/// the graph ends in is marked "loss" (scalar) or "output". rg::nn adds
/// overloads taking a Module (<retrograd/nn/graph_names.hpp>).
/// @param t the tensor the graph ends in
/// @param names the names to use
/// @throws rg::Error when `t` or a named tensor is undefined
std::string tape_table(const Tensor& t, const NamedTensors& names);
/// to_dot() with names, as tape_table(const Tensor&, const NamedTensors&) names them.
/// @param t the tensor the graph ends in
/// @param names the names to use
/// @param options values and gradients to show
/// @throws rg::Error when `t` or a named tensor is undefined
std::string to_dot(const Tensor& t, const NamedTensors& names, DotOptions options = {});

}  // namespace rg
