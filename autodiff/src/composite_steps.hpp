#pragma once
// What CompositeStep notes for explain: per composite step, where on the tape
// its ops start, its rule, its declared inputs and its output's node. Weak
// references only, so a noted step never keeps a graph alive; records whose
// output is gone are dropped as new ones arrive.
#include <retrograd/autograd.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace rg::detail {

struct CompositeInput {
    std::string name;  // as the rule uses it: "X", "W", "Y"
    std::weak_ptr<Node> grad_fn;  // the node that made it, when it has one
    std::weak_ptr<TensorImpl> tensor;  // the tensor itself (a leaf, an input, a target)
    std::weak_ptr<void> storage;  // its storage: a reshaped view of a named input is still that input
    Shape shape;
    Dtype dtype = Dtype::float32;
    bool requires_grad = false;
};

struct CompositeRecord {
    std::uint64_t id = 0;  // CompositeStep's handle on it
    bool open = true;  // its scope has not ended
    std::uint64_t tape = 0;
    std::uint64_t begin = 0;  // the tape position of the step's first op
    std::string op, rule;
    std::vector<CompositeInput> inputs;
    std::string output_name;
    std::weak_ptr<Node> output;  // the node that made the step's result
};

// The records of this thread whose output node is still alive.
std::vector<CompositeRecord> live_composites();

}  // namespace rg::detail
