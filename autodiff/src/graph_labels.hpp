#pragma once
// Shared by tape_table, to_dot and explain: the nodes behind a tensor and the
// names their tensors go by (a model's parameter names, named inputs, the loss).
#include <retrograd/graph.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace rg::detail {

// Every node reachable from t (accumulators first, then ops), in recording order.
std::vector<const Node*> reachable_nodes(const Tensor& t);

class GraphLabels {
public:
    GraphLabels() = default;  // names only from Tensor::set_name; no marks
    // Leaves that require grad are matched by identity. A tensor that needs no
    // gradient is not kept by the tape (an edge only knows its shape and dtype),
    // so a named one is matched by shape and dtype, when no other named
    // tensor without grad has both.
    GraphLabels(const NamedTensors& names, const Tensor& output);

    // The leaf's name ("fc1.weight"), or its set_name, or "".
    std::string leaf_name(const TensorImpl* leaf) const;
    // The name given to the tensor a node made ("Z2"; the node itself, for a
    // leaf's accumulator), else that tensor's set_name when it is reachable, or "".
    std::string node_name(const Node* node) const;
    // The name of the input behind a constant edge ("x"), or "".
    std::string input_name(const Edge& edge) const;
    bool marks() const { return marks_; }  // mark the inputs and the output
    // "loss" for a scalar output, "output" otherwise.
    std::string output_mark() const { return output_mark_; }

private:
    std::map<const TensorImpl*, std::string> leaves_;
    std::map<const Node*, std::string> nodes_;
    struct Input {
        Shape shape;
        Dtype dtype;
        std::string name;
    };
    std::vector<Input> inputs_;
    bool marks_ = false;
    std::string output_mark_;
};

// "fc1.weight (128, 784)*", "input x (64, 784)", "(2, 3)": one input of an op.
std::string edge_label(const Edge& edge, const GraphLabels& labels);

// What explain adds to an op's box or a leaf's ellipse: a URL (with the SVG id
// "tape-<sequence>") and a prefix to the label, e.g. "[3] ".
struct DotDecoration {
    std::function<std::string(const Node*)> link;
    std::function<std::string(const Node*)> prefix;
};
// The DOT text behind to_dot.
std::string dot_graph(const Tensor& t, const GraphLabels& labels, const DotOptions& options,
                      const DotDecoration& decoration = {});

std::string dot_escape(const std::string& s);

}  // namespace rg::detail
