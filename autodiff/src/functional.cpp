// The functional API (vjp, jvp, jacobian, hessian, hvp) and custom ops, all
// built on grad().
#include "kernels.hpp"

#include <retrograd/registry.hpp>

namespace rg {
namespace {

// Fresh leaves for f's inputs, so the user's tensors keep their .grad; with
// create_graph the originals are used so results stay connected to them.
TensorList prepare(const TensorList& inputs, bool create_graph, const char* op) {
    TensorList xs;
    for (const Tensor& in : inputs) {
        detail::defined_or_fail(in, op);
        if (!in.is_floating()) fail("{}: inputs must be float32 or float64, got {}", op, dtype_name(in.dtype()));
        if (create_graph && in.requires_grad()) {
            xs.push_back(in);
        } else {
            xs.push_back(in.detach().requires_grad_());
        }
    }
    return xs;
}

Tensor call(const Function& f, const TensorList& xs, const char* op) {
    Tensor out = f(xs);
    detail::defined_or_fail(out, op);
    return out;
}

// One-hot tensor of `like`'s shape with a 1 at flat position `index`.
Tensor unit(const Tensor& like, std::size_t index) {
    Tensor e = zeros_like(like);
    detail::visit_float(e, "jacobian", [&](const auto& a) {
        using T = typename std::decay_t<decltype(a)>::value_type;
        e.data_ptr<T>()[index] = 1;  // e is a fresh dense tensor
        return 0;
    });
    return e;
}

// Rows J[k] = d out[k] / d x for every output element, as out.shape + x.shape.
TensorList jacobian_rows(const Tensor& out, const TensorList& xs, bool create_graph) {
    std::vector<TensorList> rows(xs.size());
    for (std::size_t k = 0; k < out.numel(); ++k) {
        TensorList grads;
        if (out.requires_grad()) {
            grads = grad({out}, xs, {unit(out, k)},
                         {.retain_graph = true, .create_graph = create_graph, .allow_unused = true});
        } else {
            for (const Tensor& x : xs) grads.push_back(zeros_like(x));
        }
        for (std::size_t i = 0; i < xs.size(); ++i) rows[i].push_back(grads[i]);
    }
    TensorList result;
    for (std::size_t i = 0; i < xs.size(); ++i) {
        Shape shape = out.shape();
        shape.insert(shape.end(), xs[i].shape().begin(), xs[i].shape().end());
        if (rows[i].empty()) {
            result.push_back(zeros(shape, {xs[i].dtype()}));
            continue;
        }
        result.push_back(reshape(stack(rows[i], 0), shape));
    }
    return result;
}

}  // namespace

VjpResult vjp(const Function& f, const TensorList& inputs, const Tensor& v, bool create_graph) {
    TensorList xs = prepare(inputs, create_graph, "vjp");
    Tensor out = call(f, xs, "vjp");
    if (!out.requires_grad()) {
        TensorList zeros;
        for (const Tensor& x : xs) zeros.push_back(zeros_like(x));
        return {out, zeros};
    }
    TensorList grads = grad({out}, xs, {v}, {.create_graph = create_graph, .allow_unused = true});
    return {create_graph ? out : out.detach(), grads};
}

JvpResult jvp(const Function& f, const TensorList& inputs, const TensorList& tangents, bool create_graph) {
    if (tangents.size() != inputs.size()) fail("jvp: got {} tangents for {} inputs", tangents.size(), inputs.size());
    TensorList xs = prepare(inputs, create_graph, "jvp");
    Tensor out = call(f, xs, "jvp");
    if (!out.requires_grad()) return {out, zeros_like(out)};
    // The double-VJP trick: u -> J^T u is linear in u, and its VJP along the
    // tangents is J t.
    Tensor u = zeros_like(out).requires_grad_();
    TensorList g = grad({out}, xs, {u}, {.create_graph = true, .allow_unused = true});
    TensorList used_g, used_t;
    for (std::size_t i = 0; i < g.size(); ++i) {
        if (g[i].requires_grad()) {
            used_g.push_back(g[i]);
            used_t.push_back(tangents[i]);
        }
    }
    if (used_g.empty()) return {out.detach(), zeros_like(out)};
    Tensor tangent = grad(used_g, {u}, used_t, {.create_graph = create_graph, .allow_unused = true})[0];
    return {create_graph ? out : out.detach(), tangent};
}

TensorList jacobian(const Function& f, const TensorList& inputs, bool create_graph) {
    TensorList xs = prepare(inputs, create_graph, "jacobian");
    Tensor out = call(f, xs, "jacobian");
    return jacobian_rows(out, xs, create_graph);
}

Tensor hessian(const Function& f, const Tensor& input) {
    TensorList xs = prepare({input}, false, "hessian");
    Tensor out = call(f, xs, "hessian");
    if (out.numel() != 1) fail("hessian: f must return a single element, got shape {}", shape_str(out.shape()));
    Shape shape = input.shape();
    shape.insert(shape.end(), input.shape().begin(), input.shape().end());
    if (!out.requires_grad()) return zeros(shape, {input.dtype()});
    Tensor g = grad({out}, xs, {}, {.create_graph = true, .allow_unused = true})[0];
    return reshape(jacobian_rows(g, xs, false)[0], shape);
}

Tensor hvp(const Function& f, const Tensor& input, const Tensor& v, bool create_graph) {
    if (v.shape() != input.shape())
        fail("hvp: v has shape {}, expected the input's shape {}", shape_str(v.shape()), shape_str(input.shape()));
    TensorList xs = prepare({input}, create_graph, "hvp");
    Tensor out = call(f, xs, "hvp");
    if (out.numel() != 1) fail("hvp: f must return a single element, got shape {}", shape_str(out.shape()));
    if (!out.requires_grad()) return zeros_like(input);
    Tensor g = grad({out}, xs, {}, {.create_graph = true, .allow_unused = true})[0];
    if (!g.requires_grad()) return zeros_like(input);
    return grad({g}, xs, {v}, {.create_graph = create_graph, .allow_unused = true})[0];
}

namespace {
// A custom op's VJP: the user's, given the saved inputs.
struct CustomNodeVjp {
    CustomVjp vjp;
    GradList operator()(const OpContext& c, const Tensor& g) const {
        TensorList inputs(c.inputs());
        for (std::size_t i = 0; i < inputs.size(); ++i) inputs[i] = c.input(i);
        TensorList grads = vjp(inputs, g);
        if (grads.size() != inputs.size())
            fail("custom op '{}': vjp returned {} gradients for {} inputs", c.op(), grads.size(), inputs.size());
        return GradList(std::move(grads));
    }
};
}  // namespace

Tensor custom_op(std::string_view name, const TensorList& inputs, const CustomForward& forward, const CustomVjp& vjp) {
    const std::string op(name);
    for (const Tensor& in : inputs) detail::defined_or_fail(in, op.c_str());
    Tensor out = detail::without_grad([&] { return forward(inputs); });
    if (!out.defined()) fail("custom op '{}': forward returned an undefined tensor", op);
    bool aliased = out.requires_grad() || !out.is_leaf();
    for (const Tensor& in : inputs) aliased = aliased || out.same(in);
    if (aliased) out = out.detach();  // the result must be a fresh tensor to own its node
    if (!needs_grad(inputs)) return out;
    // Recorded as a registered op is, its inputs saved, so that one modified
    // in place before backward is refused naming the op.
    auto node = detail::make_small_shared<detail::OpNodeWith<CustomNodeVjp>>(name, CustomNodeVjp{vjp});
    detail::attach_op(std::move(node), out, inputs.data(), inputs.size(), Saves{.inputs = SavedInputs::all()});
    return out;
}

}  // namespace rg
