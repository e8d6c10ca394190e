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
struct Edge {
    Edge() {}  // provided (not defaulted), so a new node's edges are not zeroed first
    std::shared_ptr<Node> node;
    Shape shape;
    Dtype dtype = Dtype::float32;
};

// The gradients a VJP returns, one per input (an undefined Tensor: none);
// up to four are kept inline, so returning them allocates nothing.
using GradList = detail::InlineList<Tensor, 4>;

class Node {
public:
    // Takes the next position on the current thread's tape.
    explicit Node(std::string_view op);
    explicit Node(const OpDef& def);  // a registered op
    virtual ~Node();  // frees the nodes only it kept alive in a loop, not by recursion
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;

    std::string_view op() const { return op_; }
    const OpDef* def() const { return def_; }  // null for custom ops and accumulators
    std::uint64_t sequence() const { return sequence_; }  // position on the tape
    std::uint64_t tape_id() const { return tape_id_; }
    bool released() const { return released_; }
    // Leaves' accumulators return the leaf whose .grad receives the gradient.
    virtual std::shared_ptr<TensorImpl> leaf() const { return nullptr; }
    bool is_accumulator() const { return accumulator_; }

    // Gradients for each input, given the gradient of the output (VJP). The
    // gradient is handed over, so a VJP may reuse its buffer.
    virtual GradList apply(Tensor grad_output) = 0;
    // For an op of one input whose VJP writes the output gradient into zeros
    // of the input's shape (a slice, a select): adds grad_output into
    // `input_grad`, the input's gradient so far (dense, the engine's own), in
    // place, and returns true; false to be applied as usual. A loop that
    // reads the steps of one tensor then sends each step's gradient to its
    // slice rather than a whole zero tensor per step.
    virtual bool add_to_input_grad(const Tensor& grad_output, Tensor& input_grad) {
        (void)grad_output, (void)input_grad;
        return false;
    }
    // Frees saved values; a later apply() is an error.
    virtual void release() { released_ = true; }

    // (Declared in this order so that what backward's first walk over the
    // graph reads, the flags, the sequence and the edges' nodes, shares the
    // node's first cache line.)
private:
    std::uint64_t sequence_;
    std::uint64_t tape_id_;
    const OpDef* def_ = nullptr;

protected:
    bool released_ = false;
    bool accumulator_ = false;

public:
    detail::InlineList<Edge, 2> edges;  // one per input
    Shape out_shape;
    Dtype out_dtype = Dtype::float32;
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
class SavedTensor {
public:
    SavedTensor() = default;
    SavedTensor(const Tensor& t, std::string_view op);  // an input, or any tensor the op did not make
    Tensor unpack() const;
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
bool needs_grad(const Tensor& a);
bool needs_grad(const Tensor& a, const Tensor& b);
bool needs_grad(const TensorList& inputs);
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
using CustomForward = std::function<Tensor(const TensorList& inputs)>;
using CustomVjp = std::function<TensorList(const TensorList& inputs, const Tensor& grad_output)>;
Tensor custom_op(std::string_view name, const TensorList& inputs, const CustomForward& forward, const CustomVjp& vjp);

// Marks t's storage as written in place (bumps its version counter), for code
// that writes through data_ptr() (an optimizer's update): graphs that saved
// the old values then refuse them in backward, as after an in-place op
// (torch::autograd::increment_version).
void increment_version(const Tensor& t);

// ---- modes --------------------------------------------------------------------

bool is_grad_enabled();
// Disables recording in its scope (evaluation, optimizer updates).
class NoGrad {
public:
    NoGrad();
    ~NoGrad();
    NoGrad(const NoGrad&) = delete;
    NoGrad& operator=(const NoGrad&) = delete;

private:
    bool previous_;
};
// Sets recording on or off in its scope.
class GradMode {
public:
    explicit GradMode(bool enabled);
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
struct AnomalyOptions {
    bool forward = false;  // also check each recorded op's forward result
    bool infinities = false;  // count ±Inf as an anomaly too, not only NaN
};
class DetectAnomaly {
public:
    DetectAnomaly();
    explicit DetectAnomaly(AnomalyOptions options);
    ~DetectAnomaly();
    DetectAnomaly(const DetectAnomaly&) = delete;
    DetectAnomaly& operator=(const DetectAnomaly&) = delete;

private:
    bool previous_;
    AnomalyOptions previous_options_;
};
bool is_anomaly_enabled();

// What a backward pass does at one node, in the order it runs: the gradient that
// arrived (after hooks) and the gradients it sends to each input (undefined
// where an input gets none; empty for a leaf's accumulator, whose node->leaf()
// names the tensor that receives grad_output).
struct BackwardEvent {
    const Node* node = nullptr;
    const Tensor* grad_output = nullptr;
    const TensorList* grad_inputs = nullptr;
};
using BackwardObserver = std::function<void(const BackwardEvent&)>;
// In its scope, every backward pass on this thread reports each node it applies
// to `observer` (explain mode is built on this).
class ObserveBackward {
public:
    explicit ObserveBackward(BackwardObserver observer);
    ~ObserveBackward();
    ObserveBackward(const ObserveBackward&) = delete;
    ObserveBackward& operator=(const ObserveBackward&) = delete;

private:
    BackwardObserver previous_;
};

// Identifies the current thread's tape (every thread has its own).
std::uint64_t current_tape_id();

// ---- backward and the functional API ---------------------------------------------

void backward(const TensorList& outputs, const TensorList& grad_outputs = {}, BackwardOptions options = {});

struct GradOptions {
    bool retain_graph = false;  // defaults to create_graph when create_graph is set
    bool create_graph = false;
    bool allow_unused = false;  // an input the outputs do not depend on gets zeros
};
// Gradients of sum(outputs[i] * grad_outputs[i]) with respect to each input,
// returned rather than accumulated into .grad.
TensorList grad(const TensorList& outputs, const TensorList& inputs, const TensorList& grad_outputs = {},
                GradOptions options = {});
TensorList grad(const Tensor& output, const TensorList& inputs, GradOptions options);
// With a braced list of inputs the result has a fixed size, so that
// `auto [gw, gb] = rg::grad(loss, {w, b});` works.
template <std::size_t N>
std::array<Tensor, N> grad(const Tensor& output, const Tensor (&inputs)[N], GradOptions options = {}) {
    TensorList grads = grad(output, TensorList(inputs, inputs + N), options);
    std::array<Tensor, N> result;
    std::move(grads.begin(), grads.end(), result.begin());
    return result;
}

using Function = std::function<Tensor(const TensorList& inputs)>;

struct VjpResult {
    Tensor output;
    TensorList grads;
};
VjpResult vjp(const Function& f, const TensorList& inputs, const Tensor& v, bool create_graph = false);
struct JvpResult {
    Tensor output;
    Tensor tangent;
};
JvpResult jvp(const Function& f, const TensorList& inputs, const TensorList& tangents, bool create_graph = false);
// Jacobian of f's output with respect to each input: shape out.shape + in.shape.
TensorList jacobian(const Function& f, const TensorList& inputs, bool create_graph = false);
// Hessian of scalar f with respect to one input: shape in.shape + in.shape.
Tensor hessian(const Function& f, const Tensor& input);
// Hessian-vector product of scalar f at input, along v (no Hessian is built).
Tensor hvp(const Function& f, const Tensor& input, const Tensor& v, bool create_graph = false);

}  // namespace rg
