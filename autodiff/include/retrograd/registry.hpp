#pragma once
// The op registry: every differentiable op is declared once, as an OpDef beside
// its forward and its VJP. The declaration names the op and gives its one-line
// documentation, its local rule (the text explain mode shows), which inputs
// are differentiable, sample inputs, and a float64 reference where one exists.
// From it follow the recording (the op's node carries the OpDef; its VJP gets
// an OpContext saying which inputs need a gradient), the generated tests
// (values, gradcheck, gradgradcheck, dtype and shape errors for every entry),
// the op table of docs/autodiff.md (checked by a test), and explain's text.
// See docs/contributing.md for a worked example.
#include <retrograd/autograd.hpp>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string_view>
#include <type_traits>
#include <vector>

namespace rg {

// Inputs a test can build: one shape per tensor input, values drawn uniformly
// from [low, high) (keep away from kinks and poles), or fixed values.
/// Inputs a generated test builds for an op: one shape per tensor input,
/// values drawn uniformly from [low, high).
struct OpSample {
    /// One shape per tensor input.
    std::vector<Shape> shapes;
    /// The lower end of the values drawn (keep away from kinks and poles).
    double low = -2.0;
    /// The upper end of the values drawn, excluded.
    double high = 2.0;
};

/// What kind of op an OpDef declares: the op table's groups, and which generated tests apply.
enum class OpKind {
    /// Unary or broadcasting binary: values checked against reference1 / reference2.
    elementwise,  // unary or broadcasting binary: values checked against `reference`
    /// Reduces axes (sum, max, argmax...).
    reduction,
    /// Matrix products.
    linalg,
    /// The result shares its input's storage.
    view,  // the result shares its input's storage
    /// Copies in another shape or order (concat, pad, gather...).
    shape,
    /// Neural-network ops: softmax, convolution, pooling, dropout, attention.
    nn,  // activations, softmax, convolution, pooling
    /// An op that exists as another op's VJP (tanh_backward, slice_scatter...).
    backward,  // an op that exists as another op's VJP
};

/// The one declaration of a differentiable op, beside its forward and VJP:
/// from it follow the op's node on the tape, its generated tests, its row in
/// docs/autodiff.md's op table and explain's text (docs/contributing.md).
/// LibTorch's nearest equivalent is derivatives.yaml.
struct OpDef {
    /// The op's name, as recorded on the tape and shown by to_dot and explain; unique.
    std::string_view name;  // as recorded on the tape and shown by to_dot/explain
    /// How a user calls it: "exp(x)"; empty: name(a, b) for binary ops.
    std::string_view signature;  // as a user calls it: "exp(x)"
    /// What it computes, one line for the op table.
    std::string_view doc;  // one line for the op table
    /// The VJP as readable text: "dx = g * y" ("composite: ..." for composites).
    std::string_view rule;  // the VJP as readable text: "dx = g * y"
    /// Its group in the op table, and which generated tests apply.
    OpKind kind = OpKind::elementwise;
    // Calls the op on sample inputs (float64 or float32 tensors with the sample's
    // shapes), with the op's other arguments fixed; used by the generated tests.
    /// Calls the op on sample inputs, its other arguments fixed (the generated tests).
    std::function<Tensor(const TensorList&)> call;
    /// The inputs the generated tests try.
    std::vector<OpSample> samples;
    // Which tensor inputs get a gradient (an index input, a mask, does not).
    /// Which tensor inputs get a gradient, one flag per input.
    std::vector<bool> differentiable;
    // Exact values in float64, element by element (unary: x; binary: x, y).
    /// A unary elementwise op's exact value in float64, element by element.
    std::function<double(double)> reference1;
    /// A binary elementwise op's exact value in float64, element by element.
    std::function<double(double, double)> reference2;
    // Built from other registered ops: records no node of its own (mean = sum * 1/n).
    /// Built from other registered ops: records no node of its own (mean = sum * 1/n).
    bool composite = false;
    /// Whether gradgradcheck applies (false for piecewise-constant gradients).
    bool second_order = true;  // gradgradcheck applies (false for piecewise-constant gradients)
    /// Whether int64 and bool inputs are valid (else the tests expect an rg::Error naming the dtype).
    bool accepts_int64 = false;  // int64 and bool inputs are valid (else: an rg::Error naming the dtype)
    // Other public functions this entry covers (gemm is recorded as matmul).
    /// Other public functions this entry covers (gemm is recorded as matmul).
    std::vector<std::string_view> aliases;
    // Input shapes that must be refused with an rg::Error naming the op (empty: none).
    /// Input shapes that must be refused with an rg::Error naming the op (empty: none).
    std::vector<Shape> bad_shapes;
    // For ops that are not elementwise: the whole result in float64 from the
    // float64 inputs, computed independently of the forward (plain loops).
    /// For ops that are not elementwise: the whole result in float64, computed
    /// independently of the forward (plain loops).
    std::function<Tensor(const TensorList&)> reference;

    /// The tensor inputs' names, in the order they are recorded, where the
    /// signature puts other arguments between them ("layer_norm(x,
    /// normalized_shape, weight, bias)": x, weight, bias); empty: the
    /// signature's names are the inputs'.
    std::vector<std::string_view> input_names;

    /// The name of tensor input i, for explain: from input_names, else the
    /// signature's ("add(a, b)": a, b); "x" when the signature names none.
    /// @param i the input's position
    std::string input_name(std::size_t i) const;
};

// Adds an op to the registry (at static initialisation, in the op's own file)
// and returns the stored definition: `const OpDef& exp_def = define_op({...});`
/// Adds an op to the registry, at static initialisation in the op's own file:
/// `const OpDef& exp_def = define_op({...});`.
/// @param def the declaration
/// @return the stored definition, which lives as long as the program
/// @throws rg::Error when an op of the same name is already registered
const OpDef& define_op(OpDef def);
// Every registered op, in registration order; find_op gives one by name.
/// Every registered op, in registration order.
const std::vector<const OpDef*>& op_registry();
/// The op registered under a name.
/// @param name the op's name (OpDef::name)
/// @return its definition, or nullptr when there is none
const OpDef* find_op(std::string_view name);
// The op table of docs/autodiff.md, made from the registry (a test checks the
// page holds exactly this): one row per op, grouped by kind.
/// The op table of docs/autodiff.md, made from the registry: one row per op,
/// grouped by kind (a test checks the page holds exactly this).
std::string op_table_markdown();

// ---- recording through the registry -----------------------------------------

namespace detail {
class OpNode;
class Storage;
}  // namespace detail

// What the VJP of a registered op sees: the tensors it asked to save (checked
// against in-place writes when read), which inputs need a gradient, and the
// inputs' shapes and dtypes.
/// What the VJP of a registered op sees: the tensors it asked to save (checked
/// against in-place writes when read), which inputs need a gradient, and the
/// inputs' shapes and dtypes. LibTorch's AutogradContext, for registered ops.
class OpContext {
public:
    /// A saved input.
    /// @param i the input's position
    /// @throws rg::Error when the op did not save it (Saves::inputs), or it was
    /// modified in place since
    Tensor input(std::size_t i) const;  // a saved input (rg::Error if it was not saved)
    /// The saved output.
    /// @throws rg::Error when the op did not save it (Saves::output), or it was
    /// modified in place since
    Tensor output() const;  // the saved output (likewise)
    /// The k-th of Saves::tensors.
    /// @param k its position in Saves::tensors
    /// @throws rg::Error when the op saved fewer, or it was modified in place since
    Tensor saved(std::size_t k) const;  // the k-th of Saves::tensors (likewise)
    /// Whether input i needs a gradient (the VJP may return an undefined Tensor{} for one that does not).
    /// @param i the input's position
    bool needs_grad(std::size_t i) const;
    /// Input i's shape (known whether or not it was saved).
    /// @param i the input's position
    /// @throws rg::Error when the op has fewer inputs
    const Shape& input_shape(std::size_t i) const;
    /// Input i's dtype (known whether or not it was saved).
    /// @param i the input's position
    /// @throws rg::Error when the op has fewer inputs
    Dtype input_dtype(std::size_t i) const;
    /// How many tensor inputs the op has.
    std::size_t inputs() const;
    /// The op's name, for the VJP's error messages.
    std::string_view op() const;  // the op's name, for the VJP's error messages

    /// The node's saved tensors (library internals).
    using SavedList = detail::InlineList<SavedTensor, 2>;
    /// The context of a node (made by the library when it calls a VJP).
    /// @param node the op's node
    explicit OpContext(const detail::OpNode& node) : node_(node) {}

private:
    const Edge& edge(std::size_t i) const;
    const detail::OpNode& node_;
};

// Which inputs an op saves, for any number of inputs: by position
// (`{true, false}`: save input 0), every input (`SavedInputs::all()`), or
// the inputs at some positions (`SavedInputs::only({4, 5})`).
/// Which inputs an op saves, for any number of inputs: by position
/// (`{true, false}`: save input 0), every input (`SavedInputs::all()`), or
/// the inputs at some positions (`SavedInputs::only({4, 5})`).
class SavedInputs {
public:
    /// Saves no input.
    SavedInputs() = default;
    /// Saves input i where flags[i] is true.
    /// @param flags one flag per input, from the first
    SavedInputs(std::initializer_list<bool> flags);
    /// Saves every input, however many.
    static SavedInputs all();
    /// Saves the inputs at these positions.
    /// @param positions the inputs' positions
    static SavedInputs only(std::initializer_list<std::size_t> positions);
    /// Whether input i is saved.
    /// @param i the input's position
    bool operator[](std::size_t i) const {
        return all_ || (i / 64 < words_.size() && (words_[i / 64] >> (i % 64) & 1u) != 0);
    }
    /// Whether some input is saved.
    bool any() const;

private:
    void set(std::size_t i);
    detail::InlineList<std::uint64_t, 1> words_;  // bit i: input i is saved
    bool all_ = false;
};

// What a registered op keeps for its VJP.
/// What a registered op keeps for its VJP (record's `saves`): only what the VJP reads.
struct Saves {
    /// The inputs whose values the VJP reads: {.inputs = {true, false}}.
    SavedInputs inputs;  // save input i (its values are read by the VJP): {.inputs = {true, false}}
    /// Save the op's result (y = exp(x): dx = g * y).
    bool output = false;  // save the op's result (y = exp(x): dx = g * y)
    // Tensors that are not inputs of the node but that the VJP reads, such as
    // an index (gather) or a mask; the VJP reads the k-th with saved(k).
    /// Tensors that are not inputs of the node but that the VJP reads, such as
    /// an index (gather) or a mask; the VJP reads the k-th with OpContext::saved(k).
    detail::InlineList<Tensor, 1> tensors;
};

// Returns one gradient per input: `return GradList{dx, dy};`.
/// A VJP: from the context and the output's gradient, one gradient per input
/// (`return GradList{dx, dy};`), written with rg ops so it can be differentiated again.
using OpVjp = std::function<GradList(const OpContext& context, const Tensor& grad_output)>;

namespace detail {
// The node of a registered op (or of a custom_op): what it saved, and, in the
// OpNodeWith<F> it is made as, its VJP.
class OpNode : public Node {
public:
    explicit OpNode(const OpDef& def) : Node(def) {}
    explicit OpNode(std::string_view custom_name) : Node(custom_name) {}
    void release() override;

    // Saves::inputs at the input's position, then Saves::tensors.
    OpContext::SavedList saved;
    // With Saves::output, the op's result as its storage and the storage's
    // version then: the result is dense, and its shape and dtype are the
    // node's, so no tensor header is kept and no reference cycle made.
    std::shared_ptr<Storage> output_storage;
    std::uint64_t output_version = 0;
};

// The VJP is kept in the node itself, whatever it captured (shapes, axes,
// flags), so recording an op costs the node's one small block and no
// allocation for the closure.
template <class F> class OpNodeWith final : public OpNode {
public:
    template <class Name> OpNodeWith(const Name& name, F vjp) : OpNode(name), vjp_(std::move(vjp)) {}
    GradList apply(Tensor grad_output) override {
        if (!vjp_) fail("backward: node '{}' was already released", op());
        return GradList((*vjp_)(OpContext(*this), grad_output));
    }
    bool add_to_input_grad(const Tensor& grad_output, Tensor& input_grad) override {
        if constexpr (requires(const F& f) { f.add_to_input_grad(grad_output, input_grad); })
            return vjp_ && vjp_->add_to_input_grad(grad_output, input_grad);
        return false;
    }
    void release() override {
        vjp_.reset();
        OpNode::release();
    }

private:
    std::optional<F> vjp_;
};

// Saves what `saves` asks for in `node`, links it to the inputs and makes it
// output's grad_fn (a non-dense output saved by Saves::output is made dense first).
void attach_op(std::shared_ptr<OpNode> node, Tensor& output, const Tensor* inputs, std::size_t count, Saves&& saves);
}  // namespace detail

/// A callable usable as a VJP: f(const OpContext&, const Tensor& grad_output) returning a GradList.
template <class F>
concept OpVjpFunction = std::is_invocable_v<F&, const OpContext&, const Tensor&>;

// Makes `output` the result of registered op `def` over `inputs`, saving what
// `saves` asks for; returns `output` untouched when no input needs grad. The
// one way an op reaches the tape; `vjp(context, grad_output)` returns one
// gradient per input, written with rg ops, and captures the op's other
// arguments (axes, sizes, flags).
/// Makes `output` the result of the registered op `def` over `inputs` on the
/// tape, saving what `saves` asks for: the one way an op reaches the tape.
/// Nothing is recorded when no input needs grad (or under rg::NoGrad).
/// @param def the op's declaration
/// @param output the forward's result
/// @param inputs the op's tensor inputs, in order
/// @param saves what the VJP reads
/// @param vjp returns one gradient per input, written with rg ops; captures the
/// op's other arguments (axes, sizes, flags)
/// @return output, now with grad_fn set when recorded
template <OpVjpFunction F>
Tensor record(const OpDef& def, Tensor output, std::initializer_list<Tensor> inputs, Saves saves, F&& vjp) {
    if (!needs_grad_any(inputs.begin(), inputs.size())) return output;
    detail::attach_op(detail::make_small_shared<detail::OpNodeWith<std::decay_t<F>>>(def, std::forward<F>(vjp)), output,
                      inputs.begin(), inputs.size(), std::move(saves));
    return output;
}
/// record for a list of inputs of any length (concat, einsum...).
/// @param def the op's declaration
/// @param output the forward's result
/// @param inputs the op's tensor inputs, in order
/// @param saves what the VJP reads
/// @param vjp returns one gradient per input
/// @return output, now with grad_fn set when recorded
template <OpVjpFunction F>
Tensor record(const OpDef& def, Tensor output, const TensorList& inputs, Saves saves, F&& vjp) {
    if (!needs_grad_any(inputs.data(), inputs.size())) return output;
    detail::attach_op(detail::make_small_shared<detail::OpNodeWith<std::decay_t<F>>>(def, std::forward<F>(vjp)), output,
                      inputs.data(), inputs.size(), std::move(saves));
    return output;
}

}  // namespace rg
