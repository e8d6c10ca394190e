#pragma once
// Explain mode: runs a backward pass and records what happens at each node, in
// the order it runs: the gradient that arrives, the op's local rule in words,
// the gradient it sends to each input and where that lands (the step of the
// node that receives it, or a named leaf's .grad). Printed as text, or as a
// self-contained HTML page with the graph (SVG by Graphviz) linked to the steps.
#include <retrograd/composite.hpp>
#include <retrograd/graph.hpp>

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace rg {

/// What explain() names, how it seeds the pass and how much it prints.
struct ExplainOptions {
    // Names of tensors, as for to_dot: parameters ("W1", "fc1.weight"), inputs
    // and targets ("X", "Y"), and intermediate tensors ("Z2"), which name the
    // step making them. Rules are written with these names.
    /// Names of tensors, as for to_dot: parameters ("W1", "fc1.weight"), inputs
    /// and targets ("X", "Y"), and intermediate tensors ("Z2"), which name the
    /// step making them. Rules are written with these names.
    NamedTensors names;
    /// The seed: the output's gradient; undefined: 1 for a one-element output.
    Tensor grad_output;  // the seed; ones for a scalar output when undefined
    /// As backward(): keep the graph to run it again.
    bool retain_graph = false;  // as backward(): keep the graph to run it again
    /// false: leaves' .grad stay untouched (the pass runs as rg::grad).
    bool accumulate = true;  // false: leaves' .grad stay untouched (the pass runs as rg::grad)
    /// Larger tensors print as shape, norm and a few entries.
    std::size_t max_elements = 16;  // larger tensors print as shape, norm and a few entries
    // Name the gradient at each pre-activation Z (a product or a sum that feeds
    // an activation, softmax or cross-entropy) δˡ, as *Les Réseaux de Neurones*,
    // §2.10 does (δˡ = ∇_Z C), so the steps read beside its equations (4)–(8).
    // Layers count from `input_layer`, the course's number for the input A₁:
    // the first pre-activation's gradient is δ², the next δ³... Unnamed
    // pre-activations and activations are then called Zˡ and Aˡ.
    /// Name the gradient at each pre-activation Z (a product or a sum that feeds
    /// an activation, softmax or cross-entropy) δˡ, as *Les Réseaux de Neurones*,
    /// §2.10 does (δˡ = ∇_Z C), so the steps read beside its equations (4)–(8).
    bool deltas = false;
    /// With deltas: the course's number for the input A₁, from which layers count
    /// (the first pre-activation's gradient is then δ²).
    int input_layer = 1;
    // to_string: the ops folded under each composite step in full, not just their names.
    /// to_string: the ops folded under each composite step in full, not just their names.
    bool expand = false;
};

// One gradient an op sends to one of its inputs.
/// One gradient an op sends to one of its inputs.
struct ExplainSend {
    /// Position among the op's inputs.
    std::size_t input = 0;  // position among the op's inputs
    /// The input's name in the explanation: "W1", "X", "t4".
    std::string input_name;  // the tensor's name in the explanation: "W1", "X", "t4"
    /// Its gradient's name: "dW1", "δ²".
    std::string grad_name;  // its gradient's: "dW1", "δ²"
    /// The input as labelled in the text: "W1 (3, 4)*", "input X (1, 3)".
    std::string input_label;  // "W1 (3, 4)*", "input X (1, 3)", "t4 (1, 4)*"
    /// The gradient sent; undefined when nothing is sent.
    Tensor grad;  // undefined when nothing is sent
    /// The (top-level) step that receives it, -1 for none.
    long to_step = -1;  // the (top-level) step that receives it, -1 for none
    /// The exact step that receives it: "5", or "3.2" inside a composite step.
    std::string to_id;  // the exact step that receives it: "5", or "3.2" inside a composite step
    /// Where it lands, as text: "[4] tanh -> Z", "[7] W1.grad", "needs no gradient".
    std::string destination;  // "[4] tanh -> Z", "[7] W1.grad", "needs no gradient"
};

/// What the backward pass did at one node (or one composite step: a layer or loss).
struct ExplainStep {
    /// Position in the backward pass, from 0 (within its composite step for a part).
    std::size_t index = 0;  // position in the backward pass, from 0 (within its composite step for a part)
    /// "4"; "3.2" for the second op folded under step 3.
    std::string id;  // "4"; "3.2" for the second op folded under step 3
    /// The node's position on the tape (id "tape-<n>" in the page's SVG).
    std::uint64_t tape_position = 0;  // the node's position on the tape (id "tape-<n>" in the page's SVG)
    /// The op: "tanh", "cross_entropy"; "accumulate_grad" for a leaf.
    std::string op;  // "tanh", "cross_entropy"; "accumulate_grad" for a leaf
    /// The tensor this node made: "loss", "Z2", "t5".
    std::string output;  // the tensor this node made: "loss", "Z2", "t5"
    /// What the node computed: "A2 = sigmoid(Z2)".
    std::string forward;  // what the node computed: "A2 = sigmoid(Z2)"
    /// The name of the gradient that arrives: "dA2", "δ³".
    std::string grad_name;  // the name of the gradient that arrives: "dA2", "δ³"
    /// The output's shape (and the arriving gradient's).
    Shape shape;  // of that tensor (and of the gradient that arrives)
    /// What arrived (after hooks): ∂loss/∂output.
    Tensor grad_output;  // what arrived (after hooks): ∂loss/∂output
    /// The top-level steps that sent it (summed when several).
    std::vector<std::size_t> from_steps;  // the top-level steps that sent it (summed when several)
    /// The same, exactly ("2", "3.4").
    std::vector<std::string> from_ids;  // the same, exactly ("2", "3.4")
    /// The local rule with the names filled in: "sigmoid: δ³ = dA3 ⊙ A3 ⊙ (1 − A3)".
    std::string rule;  // "sigmoid: δ³ = dA3 ⊙ A3 ⊙ (1 − A3)"
    /// One per input; empty for a leaf.
    std::vector<ExplainSend> sends;  // one per input; empty for a leaf
    /// Accumulators: the leaf's name ("W1") or "leaf<n>".
    std::string leaf;  // accumulators: the leaf's name ("W1") or "leaf<n>"
    /// A layer or loss (rg::CompositeStep), its ops in `parts`.
    bool composite = false;  // a layer or loss (rg::CompositeStep), its ops in `parts`
    /// A composite step's ops, in the order they ran.
    std::vector<ExplainStep> parts;  // a composite step's ops, in the order they ran
};

/// A recorded backward pass (explain()): its steps, in the order they ran,
/// and the graph. No LibTorch equivalent.
struct Explanation {
    /// Every top-level step, in the order the backward pass ran them.
    std::vector<ExplainStep> steps;
    /// "loss" or "output", with its name when it has one.
    std::string output;  // "loss" or "output", with its name when it has one
    /// The output's shape.
    Shape output_shape;
    /// The graph in Graphviz's language, loss on top, op nodes linked to
    /// "#step-<id>", edges labelled with gradients.
    std::string dot;  // the graph, loss on top, op nodes linked to "#step-<id>", edges labelled with gradients
    /// ExplainOptions::max_elements, for to_string.
    std::size_t max_elements = 16;
    /// ExplainOptions::expand, for to_string.
    bool expand = false;
    // Every step, in the order the backward pass ran them.
    /// Every step as text, in the order the backward pass ran them.
    std::string to_string() const;
    // The step of the node that made the tensor called `name` (given in
    // ExplainOptions::names, or the output's "loss"), or of the leaf so
    // named; steps folded in a composite step are searched too.
    /// The step of the node that made the tensor called `name` (given in
    /// ExplainOptions::names, or the output's "loss"), or of the leaf so named;
    /// steps folded in a composite step are searched too.
    /// @param name the tensor's name
    /// @throws rg::Error when no step has that name (the message lists the named ones)
    const ExplainStep& step(std::string_view name) const;
};

/// Prints e.to_string().
/// @param os the stream
/// @param e the explanation
inline std::ostream& operator<<(std::ostream& os, const Explanation& e) { return os << e.to_string(); }

// Runs output.backward() (leaves' .grad accumulate as usual, unless
// options.accumulate is false) and records it. Layers and losses show as one
// step each when their forward ran under rg::ExplainMode (retrograd/composite.hpp).
/// Runs output.backward() (leaves' .grad accumulate as usual, unless
/// options.accumulate is false) and records each node it applies. Layers and
/// losses show as one step each when their forward ran under rg::ExplainMode
/// (retrograd/composite.hpp).
/// @param output the tensor differentiated
/// @param options names, seed, what is printed
/// @throws rg::Error when output is undefined or does not require grad, or as backward
Explanation explain(const Tensor& output, const ExplainOptions& options = {});

/// How explain_html draws its page.
struct HtmlOptions {
    /// Graphviz's dot, looked up in PATH.
    std::string dot_program = "dot";  // Graphviz; looked up in PATH
    /// The page's title; empty: "Backward pass of <output>".
    std::string title;  // default: "Backward pass of <output>"
};
// A self-contained page (no external resources, works offline): the graph
// (inline SVG made by `dot -Tsvg`, the loss on top, each edge labelled with
// the gradient flowing back along it) beside the steps; a click on a node goes
// to its step and back, composite steps fold and unfold, and a step control
// walks the backward pass one node at a time. Without Graphviz the page says
// how to install it and still lists the steps.
/// A self-contained page (no external resources, works offline): the graph
/// (inline SVG made by `dot -Tsvg`, the loss on top, each edge labelled with
/// the gradient flowing back along it) beside the steps; a click on a node goes
/// to its step and back, composite steps fold and unfold, and a step control
/// walks the backward pass one node at a time. Without Graphviz the page says
/// how to install it and still lists the steps.
/// @param explanation what explain() recorded
/// @param options the dot program and the title
/// @return the HTML
/// @throws rg::Error when the temporary files for dot cannot be written
std::string explain_html(const Explanation& explanation, const HtmlOptions& options = {});

// The local rule of an op as text, e.g. "tanh: dx = g * (1 - y^2)"; for an op
// the library does not know (a custom op) a generic line naming it.
/// The local rule of an op as text, e.g. "tanh: dx = g * (1 - y^2)"; for an op
/// the library does not know (a custom op) a generic line naming it.
/// @param op the op's name
std::string backward_rule(std::string_view op);
// Whether the library has a rule text for `op` (every built-in op must).
/// Whether the library has a rule text for `op` (every registered op has).
/// @param op the op's name
bool has_backward_rule(std::string_view op);

}  // namespace rg

template <> struct fmt::formatter<rg::Explanation> : fmt::formatter<std::string_view> {
    auto format(const rg::Explanation& e, format_context& ctx) const {
        return fmt::formatter<std::string_view>::format(e.to_string(), ctx);
    }
};
