#pragma once
// Looking at the tape: the ops behind a tensor as a table, or as Graphviz DOT.
#include <retrograd/autograd.hpp>

#include <string>

namespace rg {

// The ops that produced `t`, in recording order, one row each: position, op,
// input shapes (* marks inputs that require grad) and output shape.
std::string tape_table(const Tensor& t);

struct DotOptions {
    bool show_values = false;  // values of leaves and of tensors still alive
    bool show_grads = false;   // .grad of leaves (after backward)
};
// Graphviz text of the graph that produced `t`: op nodes as boxes, tensors as
// ellipses labelled with their names and shapes. Render with `dot -Tsvg`.
std::string to_dot(const Tensor& t, DotOptions options = {});

}  // namespace rg
