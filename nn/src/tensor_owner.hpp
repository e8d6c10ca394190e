#pragma once
// Which layer of a model a state-dict name belongs to, for load errors.
#include <retrograd/nn/module.hpp>

#include <string>

namespace rg::nn::detail {

// "LSTM(3, 5)" for one of the root's own tensors, "LayerNorm((3,)) at 'block.1'"
// for a child's: the deepest module whose path prefixes `name`.
std::string owner_of(const Module& root, const std::string& name);
// owner_of(), then " has " and the tensor names under that module (at most a dozen).
std::string owner_and_its_tensors(const Module& root, const std::string& name);

}  // namespace rg::nn::detail
