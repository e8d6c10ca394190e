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

#include <array>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

namespace rg {

// Inputs a test can build: one shape per tensor input, values drawn uniformly
// from [low, high) (keep away from kinks and poles), or fixed values.
struct OpSample {
    std::vector<Shape> shapes;
    double low = -2.0;
    double high = 2.0;
};

enum class OpKind {
    elementwise,  // unary or broadcasting binary: values checked against `reference`
    reduction,
    linalg,
    view,  // the result shares its input's storage
    shape,
    nn,  // activations, softmax, convolution, pooling
    backward,  // an op that exists as another op's VJP
};

struct OpDef {
    std::string_view name;  // as recorded on the tape and shown by to_dot/explain
    std::string_view signature;  // as a user calls it: "exp(x)"
    std::string_view doc;  // one line for the op table
    std::string_view rule;  // the VJP as readable text: "dx = g * y"
    OpKind kind = OpKind::elementwise;
    // Calls the op on sample inputs (float64 or float32 tensors with the sample's
    // shapes), with the op's other arguments fixed; used by the generated tests.
    std::function<Tensor(const TensorList&)> call;
    std::vector<OpSample> samples;
    // Which tensor inputs get a gradient (an index input, a mask, does not).
    std::vector<bool> differentiable;
    // Exact values in float64, element by element (unary: x; binary: x, y).
    std::function<double(double)> reference1;
    std::function<double(double, double)> reference2;
    // Built from other registered ops: records no node of its own (mean = sum * 1/n).
    bool composite = false;
    bool second_order = true;  // gradgradcheck applies (false for piecewise-constant gradients)
    bool accepts_int64 = false;  // int64 inputs are valid (else: an rg::Error naming the op)
    // Other public functions this entry covers (gemm is recorded as matmul).
    std::vector<std::string_view> aliases;
    // Input shapes that must be refused with an rg::Error naming the op (empty: none).
    std::vector<Shape> bad_shapes;
    // For ops that are not elementwise: the whole result in float64 from the
    // float64 inputs, computed independently of the forward (plain loops).
    std::function<Tensor(const TensorList&)> reference;

    // The name the signature gives tensor input i ("add(a, b)": a, b), for
    // explain; "x" when the signature names none.
    std::string input_name(std::size_t i) const;
};

// Adds an op to the registry (at static initialisation, in the op's own file)
// and returns the stored definition: `const OpDef& exp_def = define_op({...});`
const OpDef& define_op(OpDef def);
// Every registered op, in registration order; find_op gives one by name.
const std::vector<const OpDef*>& op_registry();
const OpDef* find_op(std::string_view name);
// The op table of docs/autodiff.md, made from the registry (a test checks the
// page holds exactly this): one row per op, grouped by kind.
std::string op_table_markdown();

// ---- recording through the registry -----------------------------------------

namespace detail {
class OpNode;
class Storage;
}  // namespace detail

// What the VJP of a registered op sees: the tensors it asked to save (checked
// against in-place writes when read), which inputs need a gradient, and the
// inputs' shapes and dtypes.
class OpContext {
public:
    Tensor input(std::size_t i) const;  // a saved input (rg::Error if it was not saved)
    Tensor output() const;  // the saved output (likewise)
    bool needs_grad(std::size_t i) const;
    const Shape& input_shape(std::size_t i) const;
    Dtype input_dtype(std::size_t i) const;
    std::size_t inputs() const;

    using SavedList = detail::InlineList<SavedTensor, 2>;
    explicit OpContext(const detail::OpNode& node) : node_(node) {}

private:
    const Edge& edge(std::size_t i) const;
    const detail::OpNode& node_;
};

// What a registered op keeps for its VJP.
struct Saves {
    std::array<bool, 4> inputs{};  // save input i (its values are read by the VJP)
    bool output = false;  // save the op's result (y = exp(x): dx = g * y)
};

// Returns one gradient per input: `return GradList{dx, dy};`.
using OpVjp = std::function<GradList(const OpContext& context, const Tensor& grad_output)>;

namespace detail {
class OpNode final : public Node {
public:
    OpNode(const OpDef& def, OpVjp vjp) : Node(def), vjp_(std::move(vjp)) {}
    GradList apply(Tensor grad_output) override;
    void release() override;

    OpContext::SavedList saved;
    // With Saves::output, the op's result as its storage and the storage's
    // version then: the result is dense, and its shape and dtype are the
    // node's, so no tensor header is kept and no reference cycle made.
    std::shared_ptr<Storage> output_storage;
    std::uint64_t output_version = 0;

private:
    OpVjp vjp_;
};
}  // namespace detail

// Makes `output` the result of registered op `def` over `inputs`, saving what
// `saves` asks for; returns `output` untouched when no input needs grad.
Tensor record(const OpDef& def, Tensor output, std::initializer_list<Tensor> inputs, Saves saves, OpVjp vjp);
Tensor record(const OpDef& def, Tensor output, const TensorList& inputs, Saves saves, OpVjp vjp);

}  // namespace rg
