#pragma once
// Composite steps: a layer or a loss (Linear, cross_entropy, a user's own
// layer) marks the ops it records as one step of explain's output, with its
// textbook rule, e.g. cross-entropy with softmax: "d{Z} = (softmax({Z}) − {Y}) / n".
// Explain shows that step with its numbers and folds the primitive ops
// underneath. Steps are noted only in the scope of an rg::ExplainMode; outside
// one a CompositeStep costs one thread-local flag check.
//
//   Tensor MyLayer::forward(const Tensor& x) {
//       rg::CompositeStep step("MyLayer", "d{X} = d{Z} ⊙ 2 {X}", {{"X", x}});
//       return step.output(x * x, "Z");
//   }
//
// In a rule, {name} stands for the tensor declared under that name (an input,
// or the output) and d{name} for its gradient; explain writes the names the
// tensors have in the explanation ("dZ2", "δ³", "W1"), so a rule never uses a
// letter that means two things.
#include <retrograd/tensor.hpp>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace rg {

/// An input of a composite step, under the name its rule uses.
struct StepInput {
    std::string_view name;  ///< the name the rule writes as {name}
    const Tensor& tensor;  ///< the tensor it stands for
};

/// Marks the ops recorded in its scope as one step of rg::explain's output,
/// with a textbook rule (see the top of this header).
class CompositeStep {
public:
    /// Opens a step; inactive (nothing noted) outside an ExplainMode scope.
    /// @param op names the step ("Linear", "cross_entropy")
    /// @param rule its backward rule, {name} standing for a tensor and d{name} for its gradient
    /// @param inputs the step's inputs under the names the rule uses; an
    /// undefined tensor (an optional bias left out) is skipped
    CompositeStep(std::string_view op, std::string_view rule, std::initializer_list<StepInput> inputs = {});
    ~CompositeStep();
    CompositeStep(const CompositeStep&) = delete;
    CompositeStep& operator=(const CompositeStep&) = delete;

    /// Whether this step is being noted (in an ExplainMode scope): guard work
    /// done only for explain, such as formatting a rule with numbers in it.
    bool active() const { return record_ != kInactive; }
    /// Replaces the rule, e.g. with one that holds the step's numbers.
    /// @param rule the new rule, in the same notation
    void set_rule(std::string rule);
    /// Marks the step's result, under the name the rule uses for it, and
    /// returns it. A step whose result is never marked is not shown.
    /// @param result the tensor the step computed
    /// @param name the name the rule uses for it
    const Tensor& output(const Tensor& result, std::string_view name = "out");

private:
    static constexpr std::uint64_t kInactive = 0;
    std::uint64_t record_ = kInactive;
};

/// In its scope, on this thread, composite steps note the ops they record, so
/// that rg::explain shows each layer and loss as one step. Wrap the forward
/// pass in it (explain itself can run later).
class ExplainMode {
public:
    /// Turns composite steps on for this thread until the scope ends.
    ExplainMode();
    ~ExplainMode();
    ExplainMode(const ExplainMode&) = delete;
    ExplainMode& operator=(const ExplainMode&) = delete;

private:
    bool previous_;
};
/// Whether an ExplainMode scope is open on this thread.
bool is_explain_mode();

}  // namespace rg
