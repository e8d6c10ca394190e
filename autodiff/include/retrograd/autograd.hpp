#pragma once
// The tape. Every recorded op becomes a Node holding its vector-Jacobian
// product (VJP); nodes are numbered in recording order on the current thread's
// tape (a Wengert list), and backward() sweeps the nodes reachable from the
// output in reverse recording order.
//
// Nodes are reference-counted by the tensors that depend on them, so a forward
// pass that is never differentiated frees itself, and backward() releases the
// saved values of the graph it swept unless retain_graph is set. Ops reach the
// tape through record() (registry.hpp).
#include <retrograd/detail/inline_list.hpp>
#include <retrograd/detail/small_blocks.hpp>
#include <retrograd/tensor.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rg {

class Node;
struct OpDef;

// One input of a recorded op: the node that produced it (where its gradient
// goes; null when it needs none) and its shape and dtype, against which the
// VJP's result is checked.
/// One input of a recorded op: the node that produced it (where its gradient
/// goes; null when it needs none) and its shape and dtype, against which the
/// VJP's result is checked.
struct Edge {
    /// An edge to nothing (provided, not defaulted, so a new node's edges are not zeroed first).
    Edge() {}  // provided (not defaulted), so a new node's edges are not zeroed first
    /// The input's node: its op's, or its leaf's accumulator; null when it needs no gradient.
    std::shared_ptr<Node> node;
    /// The input's shape.
    Shape shape;
    /// The input's dtype.
    Dtype dtype = Dtype::float32;
    /// Whether the input was a tensor: an optional input left out (conv2d
    /// without bias) keeps its position but has no shape, dtype or gradient.
    bool defined = false;
};

// The gradients a VJP returns, one per input (an undefined Tensor: none);
// up to four are kept inline, so returning them allocates nothing.
/// The gradients a VJP returns, one per input (an undefined Tensor: none);
/// up to four are kept inline, so returning them allocates nothing.
using GradList = detail::InlineList<Tensor, 4>;

/// A node of the tape (LibTorch's torch::autograd::Node): a recorded op, or a
/// leaf's gradient accumulator, with its VJP. Tensors own the node that made
/// them (grad_fn()), nodes own their inputs' nodes.
class Node {
public:
    // Takes the next position on the current thread's tape.
    /// A node for a custom op, taking the next position on the current thread's tape.
    /// @param op the op's name (copied)
    explicit Node(std::string_view op);
    /// A node for a registered op, taking the next position on the current thread's tape.
    /// @param def the op's declaration
    explicit Node(const OpDef& def);  // a registered op
    virtual ~Node();  // frees the nodes only it kept alive in a loop, not by recursion
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;

    /// The op's name, as to_dot and explain show it.
    std::string_view op() const { return op_; }
    /// The op's declaration; null for custom ops and accumulators.
    const OpDef* def() const { return def_; }  // null for custom ops and accumulators
    /// The node's position on its tape, in recording order.
    std::uint64_t sequence() const { return sequence_; }  // position on the tape
    /// The tape it was recorded on (current_tape_id() of its thread).
    std::uint64_t tape_id() const { return tape_id_; }
    /// True once its saved values were freed (after a backward without retain_graph).
    bool released() const { return released_; }
    // Leaves' accumulators return the leaf whose .grad receives the gradient.
    /// A leaf's accumulator returns the leaf whose .grad receives the gradient; other nodes null.
    virtual std::shared_ptr<TensorImpl> leaf() const { return nullptr; }
    /// True for a leaf's gradient accumulator.
    bool is_accumulator() const { return accumulator_; }

    // Gradients for each input, given the gradient of the output (VJP). The
    // gradient is handed over, so a VJP may reuse its buffer.
    /// The VJP: a gradient for each input, given the gradient of the output. The
    /// gradient is handed over, so a VJP may reuse its buffer.
    /// @param grad_output the output's gradient
    /// @throws rg::Error when the node was released
    virtual GradList apply(Tensor grad_output) = 0;
    /// For an op of one input whose VJP writes the output gradient into zeros
    /// of the input's shape (a slice, a select): adds grad_output into
    /// `input_grad`, the input's gradient so far (dense, owned by the backward
    /// pass alone), in place. A loop that reads the steps of one tensor then
    /// sends each step's gradient to its slice rather than a whole zero tensor
    /// per step. The engine calls it only without create_graph, hooks or
    /// anomaly checks.
    /// @param grad_output the output's gradient
    /// @param input_grad the input's gradient so far, added into
    /// @return true when added; false to be applied as usual (the default)
    virtual bool add_to_input_grad(const Tensor& grad_output, Tensor& input_grad) {
        (void)grad_output, (void)input_grad;
        return false;
    }
    // Frees saved values; a later apply() is an error.
    /// Frees the saved values; a later apply() is an rg::Error.
    virtual void release() { released_ = true; }

    // (Declared in this order so that what backward's first walk over the
    // graph reads, the flags, the sequence and the edges' nodes, shares the
    // node's first cache line.)
private:
    std::uint64_t sequence_;
    std::uint64_t tape_id_;
    const OpDef* def_ = nullptr;

protected:
    /// Set by release().
    bool released_ = false;
    /// Set by a leaf's accumulator.
    bool accumulator_ = false;

public:
    /// One edge per input.
    detail::InlineList<Edge, 2> edges;  // one per input
    /// The output's shape, against which incoming gradients are checked.
    Shape out_shape;
    /// The output's dtype.
    Dtype out_dtype = Dtype::float32;
    /// The output, set when it has hooks or retains its gradient.
    std::weak_ptr<TensorImpl> output;  // set when the output has hooks or retains grad

private:
    std::string_view op_;  // the OpDef's name, or owned_op_
    std::unique_ptr<char[]> owned_op_;  // a name given as a string: a custom op's
};

// ---- saved tensors ---------------------------------------------------------------

// A tensor an op keeps for its backward pass (PyTorch's SavedVariable): the
// values and the version of their storage when saved. unpack() refuses values
// that an in-place op has modified since, naming the op that saved them. (An
// op's own result is saved differently, as its storage only: OpNode in
// registry.hpp.)
/// A tensor an op keeps for its backward pass (LibTorch's SavedVariable): the
/// values and the version of their storage when saved. unpack() refuses values
/// that an in-place op has modified since, naming the op that saved them.
class SavedTensor {
public:
    /// Nothing saved.
    SavedTensor() = default;
    /// Saves t (an input, or any tensor the op did not make) and its storage's version.
    /// @param t the tensor
    /// @param op the op saving it, named in the error
    SavedTensor(const Tensor& t, std::string_view op);  // an input, or any tensor the op did not make
    /// The saved tensor.
    /// @throws rg::Error when its storage was written in place since it was saved
    Tensor unpack() const;
    /// Whether a tensor was saved.
    bool defined() const { return tensor_.defined(); }

private:
    Tensor tensor_;
    const void* storage_ = nullptr;
    std::uint64_t version_ = 0;
    std::string_view op_;
};

// ---- recording ----------------------------------------------------------------

// True when an op over these inputs must be recorded (grad mode on and some
// input requires grad).
/// True when an op over this input must be recorded: grad mode is on and it requires grad.
/// @param a the input (an undefined one needs none)
bool needs_grad(const Tensor& a);
/// True when an op over these inputs must be recorded: grad mode is on and one requires grad.
/// @param a, b the inputs
bool needs_grad(const Tensor& a, const Tensor& b);
/// True when an op over these inputs must be recorded: grad mode is on and one requires grad.
/// @param inputs the inputs
bool needs_grad(const TensorList& inputs);
/// needs_grad over an array of inputs.
/// @param inputs the first input
/// @param count how many
bool needs_grad_any(const Tensor* inputs, std::size_t count);

namespace detail {
// Drops one owner of a node. A graph is a chain of owners (node -> input
// node, node -> saved tensor -> its grad_fn), so destroying a long one by
// recursion overflows the stack: the last owner's release queues the node,
// and one loop per thread destroys the queue.
void release_node(std::shared_ptr<Node>&& node) noexcept;

// Links node to its inputs and makes it the grad_fn of output.
void attach(std::shared_ptr<Node> node, Tensor& output, const Tensor* inputs, std::size_t count);
}  // namespace detail

// A user-defined op: forward computes the values (it runs with recording off,
// on detached inputs), vjp receives the original inputs and the output gradient
// and returns one gradient per input, written with rg ops so that it is itself
// differentiable. The op records as a built-in op does (record() in
// registry.hpp) and saves its inputs: one modified in place before backward is
// an rg::Error naming the op.
/// A custom op's forward: the values from the inputs (run with recording off, on detached inputs).
using CustomForward = std::function<Tensor(const TensorList& inputs)>;
/// A custom op's VJP: one gradient per input (undefined: none), from the
/// original inputs and the output's gradient, written with rg ops.
using CustomVjp = std::function<TensorList(const TensorList& inputs, const Tensor& grad_output)>;
/// Runs a user-defined op and records it (LibTorch's torch::autograd::Function):
/// its VJP is differentiable when written with rg ops, and its inputs are
/// saved, so one modified in place before backward is an rg::Error naming the op.
/// @param name the op's name on the tape
/// @param inputs its tensor inputs
/// @param forward computes the output
/// @param vjp computes the inputs' gradients
/// @return the output, recorded when an input requires grad
/// @throws rg::Error when an input is undefined, forward returns an undefined
/// tensor, or (in backward) vjp returns another number of gradients than inputs
Tensor custom_op(std::string_view name, const TensorList& inputs, const CustomForward& forward, const CustomVjp& vjp);

// Marks t's storage as written in place (bumps its version counter), for code
// that writes through data_ptr() (an optimizer's update): graphs that saved
// the old values then refuse them in backward, as after an in-place op
// (torch::autograd::increment_version).
/// Marks t's storage as written in place (bumps its version counter), for
/// code that writes through data_ptr() (an optimizer's update): graphs that
/// saved the old values then refuse them in backward, as after an in-place op
/// (torch::autograd::increment_version).
/// @param t the tensor written
/// @throws rg::Error when t is undefined
void increment_version(const Tensor& t);

// ---- modes --------------------------------------------------------------------

/// Whether ops are being recorded on this thread (false inside NoGrad).
bool is_grad_enabled();
// Disables recording in its scope (evaluation, optimizer updates).
/// Disables recording in its scope, on this thread (evaluation, optimizer
/// updates): torch::NoGradGuard.
class NoGrad {
public:
    /// Turns recording off until destroyed.
    NoGrad();
    /// Restores the previous mode.
    ~NoGrad();
    NoGrad(const NoGrad&) = delete;
    NoGrad& operator=(const NoGrad&) = delete;

private:
    bool previous_;
};
// Sets recording on or off in its scope.
/// Sets recording on or off in its scope, on this thread (torch::AutoGradMode).
class GradMode {
public:
    /// Sets the mode until destroyed.
    /// @param enabled whether ops are recorded
    explicit GradMode(bool enabled);
    /// Restores the previous mode.
    ~GradMode();
    GradMode(const GradMode&) = delete;
    GradMode& operator=(const GradMode&) = delete;

private:
    bool previous_;
};

// Anomaly mode, as PyTorch's: in its scope the first VJP that returns NaN
// throws rg::Error naming the op (and the op the user called, when that was
// an in-place op such as masked_fill_ recorded as another op). Forward values
// are checked only on request: -inf is a legitimate value there (a causal
// attention mask), NaN in the forward shows up in backward anyway.
/// What anomaly mode checks (DetectAnomaly).
struct AnomalyOptions {
    /// Also check each recorded op's forward result (-inf is legitimate there, a causal mask).
    bool forward = false;  // also check each recorded op's forward result
    /// Count ±Inf as an anomaly too, not only NaN.
    bool infinities = false;  // count ±Inf as an anomaly too, not only NaN
};
/// Anomaly mode in its scope, as torch::autograd::DetectAnomalyGuard: the
/// first VJP that returns NaN throws rg::Error naming the op (and the op the
/// user called, when an in-place op such as masked_fill_ was recorded as another).
class DetectAnomaly {
public:
    /// Checks the VJPs' results for NaN until destroyed.
    DetectAnomaly();
    /// Anomaly mode with options: forward results too, infinities too.
    /// @param options what is checked
    explicit DetectAnomaly(AnomalyOptions options);
    /// Restores the previous mode.
    ~DetectAnomaly();
    DetectAnomaly(const DetectAnomaly&) = delete;
    DetectAnomaly& operator=(const DetectAnomaly&) = delete;

private:
    bool previous_;
    AnomalyOptions previous_options_;
};
/// Whether anomaly mode is on on this thread.
bool is_anomaly_enabled();

// What a backward pass does at one node, in the order it runs: the gradient that
// arrived (after hooks) and the gradients it sends to each input (undefined
// where an input gets none; empty for a leaf's accumulator, whose node->leaf()
// names the tensor that receives grad_output).
/// What a backward pass does at one node, in the order it runs: the gradient
/// that arrived (after hooks) and the gradients it sends to each input.
struct BackwardEvent {
    /// The node applied (for a leaf's accumulator, node->leaf() is the tensor that receives grad_output).
    const Node* node = nullptr;
    /// The gradient that arrived, after hooks.
    const Tensor* grad_output = nullptr;
    /// The gradients sent to each input (undefined where one gets none; empty for an accumulator).
    const TensorList* grad_inputs = nullptr;
};
/// Called with each node a backward pass applies (ObserveBackward).
using BackwardObserver = std::function<void(const BackwardEvent&)>;
// In its scope, every backward pass on this thread reports each node it applies
// to `observer` (explain mode is built on this).
/// In its scope, every backward pass on this thread reports each node it
/// applies to an observer (explain mode is built on this). No LibTorch equivalent.
class ObserveBackward {
public:
    /// Reports to `observer` until destroyed.
    /// @param observer called once per node applied
    explicit ObserveBackward(BackwardObserver observer);
    /// Restores the previous observer.
    ~ObserveBackward();
    ObserveBackward(const ObserveBackward&) = delete;
    ObserveBackward& operator=(const ObserveBackward&) = delete;

private:
    BackwardObserver previous_;
};

// Identifies the current thread's tape (every thread has its own).
/// Identifies the current thread's tape (every thread has its own).
std::uint64_t current_tape_id();

// ---- backward and the functional API ---------------------------------------------

/// Backpropagates from several outputs at once, accumulating into the leaves'
/// grad() (torch::autograd::backward).
/// @param outputs the tensors differentiated
/// @param grad_outputs one gradient per output; empty for one-element outputs
/// @param options retain_graph, create_graph
/// @throws rg::Error when an output does not require grad, a non-scalar output
/// has no output gradient, an output gradient's shape or dtype differ, the graph
/// was freed by an earlier backward or recorded on another thread, or a saved
/// tensor was modified in place, or the counts differ
void backward(const TensorList& outputs, const TensorList& grad_outputs = {}, BackwardOptions options = {});

/// Options of rg::grad.
struct GradOptions {
    /// Keep the graph for another backward (implied by create_graph).
    bool retain_graph = false;  // defaults to create_graph when create_graph is set
    /// Record the backward pass, so that the gradients can be differentiated.
    bool create_graph = false;
    /// An input the outputs do not depend on gets zeros (LibTorch gives an
    /// undefined tensor); otherwise that is an rg::Error.
    bool allow_unused = false;  // an input the outputs do not depend on gets zeros
};
// Gradients of sum(outputs[i] * grad_outputs[i]) with respect to each input,
// returned rather than accumulated into .grad.
/// The gradients of Σ outputs[i] · grad_outputs[i] with respect to each input,
/// returned rather than accumulated into .grad (torch::autograd::grad).
/// @param outputs the tensors differentiated
/// @param inputs the tensors differentiated against; each requires grad
/// @param grad_outputs one per output; empty for one-element outputs
/// @param options retain_graph, create_graph, allow_unused
/// @return one gradient per input
/// @throws rg::Error when an output does not require grad, a non-scalar output
/// has no output gradient, an output gradient's shape or dtype differ, the graph
/// was freed by an earlier backward or recorded on another thread, or a saved
/// tensor was modified in place, an input does not
/// require grad, or (without allow_unused) an input is not used
TensorList grad(const TensorList& outputs, const TensorList& inputs, const TensorList& grad_outputs = {},
                GradOptions options = {});
/// The gradients of a one-element output with respect to each input.
/// @param output the tensor differentiated
/// @param inputs the tensors differentiated against
/// @param options retain_graph, create_graph, allow_unused
/// @throws rg::Error as the general grad
TensorList grad(const Tensor& output, const TensorList& inputs, GradOptions options);
// With a braced list of inputs the result has a fixed size, so that
// `auto [gw, gb] = rg::grad(loss, {w, b});` works.
/// grad with a braced list of inputs: a fixed-size result, so that
/// `auto [gw, gb] = rg::grad(loss, {w, b});` works.
/// @param output the tensor differentiated, one element
/// @param inputs the tensors differentiated against
/// @param options retain_graph, create_graph, allow_unused
/// @throws rg::Error as the general grad
template <std::size_t N>
std::array<Tensor, N> grad(const Tensor& output, const Tensor (&inputs)[N], GradOptions options = {}) {
    TensorList grads = grad(output, TensorList(inputs, inputs + N), options);
    std::array<Tensor, N> result;
    std::move(grads.begin(), grads.end(), result.begin());
    return result;
}

/// A function of tensors, for the functional API (vjp, jvp, jacobian, hessian, hvp).
using Function = std::function<Tensor(const TensorList& inputs)>;

/// vjp's result.
struct VjpResult {
    /// f(inputs).
    Tensor output;
    /// vᵀ J for each input.
    TensorList grads;
};
/// f's output and the vector-Jacobian product vᵀ J_f with respect to each input
/// (torch.autograd.functional.vjp). The inputs' own .grad are untouched.
/// @param f the function
/// @param inputs where it is evaluated, float tensors
/// @param v a tensor of the output's shape
/// @param create_graph keep the results differentiable with respect to the inputs
/// @throws rg::Error when an input is undefined or not floating, or f returns an undefined tensor
VjpResult vjp(const Function& f, const TensorList& inputs, const Tensor& v, bool create_graph = false);
/// jvp's result.
struct JvpResult {
    /// f(inputs).
    Tensor output;
    /// J t: the output's directional derivative.
    Tensor tangent;
};
/// f's output and the Jacobian-vector product J_f t along the tangents
/// (torch.autograd.functional.jvp; computed by the double-VJP trick).
/// @param f the function
/// @param inputs where it is evaluated, float tensors
/// @param tangents one per input, of its shape
/// @param create_graph keep the results differentiable
/// @throws rg::Error when the counts differ, an input is undefined or not floating
JvpResult jvp(const Function& f, const TensorList& inputs, const TensorList& tangents, bool create_graph = false);
// Jacobian of f's output with respect to each input: shape out.shape + in.shape.
/// The Jacobian of f's output with respect to each input, of shape
/// out.shape + in.shape (torch.autograd.functional.jacobian); one backward per
/// output element.
/// @param f the function
/// @param inputs where it is evaluated, float tensors
/// @param create_graph keep the results differentiable
/// @throws rg::Error when an input is undefined or not floating
TensorList jacobian(const Function& f, const TensorList& inputs, bool create_graph = false);
// Hessian of scalar f with respect to one input: shape in.shape + in.shape.
/// The Hessian of a one-element f with respect to one input, of shape
/// in.shape + in.shape (torch.autograd.functional.hessian, for one input).
/// @param f the function
/// @param input where it is evaluated, a float tensor
/// @throws rg::Error when f does not return one element, or the input is not floating
Tensor hessian(const Function& f, const Tensor& input);
// Hessian-vector product of scalar f at input, along v (no Hessian is built).
/// The Hessian-vector product H v of a one-element f at input, without building
/// the Hessian (torch.autograd.functional.hvp, for one input).
/// @param f the function
/// @param input where it is evaluated, a float tensor
/// @param v a tensor of the input's shape
/// @param create_graph keep the result differentiable
/// @throws rg::Error when v's shape differs, f does not return one element, or the input is not floating
Tensor hvp(const Function& f, const Tensor& input, const Tensor& v, bool create_graph = false);

}  // namespace rg
