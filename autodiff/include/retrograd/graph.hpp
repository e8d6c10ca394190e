#pragma once
// Looking at the tape: the ops behind a tensor as a table, or as Graphviz DOT,
// optionally with the names of a model's parameters and inputs.
#include <retrograd/autograd.hpp>

#include <string>
#include <utility>
#include <vector>

namespace rg {

// The ops that produced `t`, in recording order, one row each: position, op,
// input shapes (* marks inputs that require grad) and output shape.
std::string tape_table(const Tensor& t);

struct DotOptions {
    bool show_values = false;  // values of leaves and of tensors still alive
    bool show_grads = false;  // .grad of leaves (after backward)
};
// Graphviz text of the graph that produced `t`: op nodes as boxes, tensors as
// ellipses labelled with their names and shapes. Render with `dot -Tsvg`.
std::string to_dot(const Tensor& t, DotOptions options = {});

// (name, tensor) pairs, as a module's named_parameters() gives them.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
// The same, with names: leaves that require grad (parameters) are named by
// identity ("fc1.weight (128, 784)*"); tensors without grad (inputs, targets)
// are not kept by the tape, whose edge knows only their shape and dtype, so
// each is named where a constant input has its shape and dtype, provided no
// other named tensor without grad has both ("input x (64, 784)"). The tensor
// the graph ends in is marked "loss" (scalar) or "output". rg::nn adds
// overloads taking a Module (<retrograd/nn/graph_names.hpp>).
std::string tape_table(const Tensor& t, const NamedTensors& names);
std::string to_dot(const Tensor& t, const NamedTensors& names, DotOptions options = {});

}  // namespace rg
