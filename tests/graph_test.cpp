// Graph semantics: accumulation, sharing, retain_graph, NoGrad, detach, hooks,
// retain_grad, custom ops, per-thread tapes, anomaly detection, inspection.
#include <cmath>
#include <thread>

#include "helpers.hpp"

using rg::Tensor;
using rg::tensor;
using rg::TensorList;
using test::check_values;

TEST_CASE("gradients accumulate across backward calls until zero_grad") {
    auto w = tensor({1.0, 2.0}, {.requires_grad = true});
    rg::sum(w * 3.0).backward();
    check_values(w.grad(), tensor({3.0, 3.0}));
    rg::sum(w * w).backward();
    check_values(w.grad(), tensor({5.0, 7.0}));
    w.zero_grad();
    CHECK_FALSE(w.grad().defined());
    rg::sum(w).backward();
    check_values(w.grad(), tensor({1.0, 1.0}));
}

TEST_CASE("a tensor used twice receives the sum of both paths") {
    auto x = tensor(3.0, {.requires_grad = true});
    auto y = x * x + x;  // dy/dx = 2x + 1
    y.backward();
    CHECK(x.grad().item() == doctest::Approx(7.0));
    auto z = tensor(2.0, {.requires_grad = true});
    auto shared = rg::exp(z);
    auto out = shared * shared + rg::sin(shared);  // d/dz = 2e^{2z} + cos(e^z) e^z
    out.backward();
    const double e = std::exp(2.0);
    CHECK(z.grad().item() == doctest::Approx(2 * e * e + std::cos(e) * e).epsilon(1e-5));
}

TEST_CASE("backward frees the graph unless retain_graph is set") {
    auto x = tensor({1.0, 2.0}, {.requires_grad = true});
    auto loss = rg::sum(rg::tanh(x));
    loss.backward({}, {.retain_graph = true});
    loss.backward();
    CHECK_THROWS_WITH_AS(loss.backward(), doctest::Contains("already freed by an earlier backward"), rg::Error);
}

TEST_CASE("backward on a non-scalar needs an explicit output gradient") {
    auto x = tensor({1.0, 2.0}, {.requires_grad = true});
    auto y = x * 2.0;
    CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("a non-scalar output needs an explicit output gradient"),
                         rg::Error);
    y.backward(tensor({1.0, -1.0}));
    check_values(x.grad(), tensor({2.0, -2.0}));
}

TEST_CASE("NoGrad records nothing, and nesting restores the mode") {
    auto w = tensor({1.0}, {.requires_grad = true});
    {
        rg::NoGrad off;
        CHECK_FALSE(rg::is_grad_enabled());
        auto y = w * 2.0;
        CHECK_FALSE(y.requires_grad());
        CHECK(y.grad_fn() == nullptr);
        {
            rg::GradMode on(true);
            CHECK((w * 2.0).requires_grad());
        }
        CHECK_FALSE(rg::is_grad_enabled());
    }
    CHECK(rg::is_grad_enabled());
}

TEST_CASE("detach cuts the graph") {
    auto x = tensor(2.0, {.requires_grad = true});
    auto y = x * x;
    auto z = y.detach() * x;  // only the direct path counts: dz/dx = y = 4
    z.backward();
    CHECK(x.grad().item() == doctest::Approx(4.0));
}

TEST_CASE("hooks see and may replace the incoming gradient") {
    auto x = tensor({1.0, 2.0}, {.requires_grad = true});
    Tensor seen;
    x.register_hook([&](const Tensor& g) {
        seen = g;
        return g * 10.0;
    });
    auto h = x * 3.0;
    h.register_hook([](const Tensor& g) { return g + 1.0; });
    rg::sum(h).backward();
    check_values(seen, tensor({6.0, 6.0}));  // (1 + 1) * 3
    check_values(x.grad(), tensor({60.0, 60.0}));
}

TEST_CASE("retain_grad keeps the gradient of an intermediate tensor") {
    auto x = tensor({1.0, -2.0}, {.requires_grad = true});
    auto h = x * 3.0;
    h.retain_grad();
    auto loss = rg::sum(h * h);
    loss.backward();
    CHECK(h.retains_grad());
    check_values(h.grad(), tensor({6.0, -12.0}));
    auto other = x * 2.0;
    rg::sum(other * other).backward();
    CHECK_FALSE(other.grad().defined());
}

TEST_CASE("a custom op with its own VJP is used like a built-in, at any order") {
    // cube(x) = x^3 with the hand-derived VJP 3x^2 g.
    auto cube = [](const Tensor& x) {
        return rg::custom_op(
            "cube", {x}, [](const TensorList& in) { return in[0] * in[0] * in[0]; },
            [](const TensorList& in, const Tensor& g) { return TensorList{g * in[0] * in[0] * 3.0}; });
    };
    auto x = tensor({1.0, 2.0}, {.dtype = rg::float64, .requires_grad = true});
    auto y = cube(x);
    CHECK(y.grad_fn()->op() == "cube");
    rg::sum(y).backward();
    check_values(x.grad(), tensor({3.0, 12.0}, {.dtype = rg::float64}));
    test::check_gradients([&](const TensorList& v) { return cube(v[0]); }, {x});
    auto [g] = rg::grad(rg::sum(cube(x)), {x}, {.create_graph = true});
    auto [gg] = rg::grad(rg::sum(g), {x});
    check_values(gg, tensor({6.0, 12.0}, {.dtype = rg::float64}));  // 6x
}

TEST_CASE("a custom op whose VJP returns a wrong shape is caught") {
    auto x = tensor({1.0, 2.0}, {.requires_grad = true});
    auto y = rg::custom_op(
        "broken", {x}, [](const TensorList& in) { return in[0] * 2.0; },
        [](const TensorList&, const Tensor&) { return TensorList{rg::ones({3})}; });
    CHECK_THROWS_WITH_AS(rg::sum(y).backward(),
                         doctest::Contains("the VJP of 'broken' returned a gradient of shape (3,) (float32) for input "
                                           "0 of shape (2,)"),
                         rg::Error);
}

TEST_CASE("each thread has its own tape; two threads train at once") {
    auto train = [](double target, double* result) {
        auto w = tensor(0.0, {.dtype = rg::float64, .requires_grad = true});
        for (int i = 0; i < 200; ++i) {
            auto loss = rg::square(w - target);
            w.zero_grad();
            loss.backward();
            rg::NoGrad off;
            w.value<double>() -= 0.1 * w.grad().value<double>();
        }
        *result = w.item();
    };
    double a = 0, b = 0;
    std::thread t1(train, 3.0, &a);
    std::thread t2(train, -5.0, &b);
    t1.join();
    t2.join();
    CHECK(a == doctest::Approx(3.0).epsilon(1e-6));
    CHECK(b == doctest::Approx(-5.0).epsilon(1e-6));
    CHECK(rg::current_tape_id() != 0);
}

TEST_CASE("a tensor recorded on one thread cannot be used on another's tape") {
    auto x = tensor({1.0}, {.requires_grad = true});
    auto y = x * 2.0;  // recorded on this thread
    std::string error;
    std::thread other([&] {
        try {
            auto z = y * 3.0;
        } catch (const rg::Error& e) {
            error = e.what();
        }
    });
    other.join();
    CHECK(error.find("recorded on another thread's tape") != std::string::npos);
    std::string backward_error;
    std::thread other2([&] {
        try {
            rg::sum(y).backward();
        } catch (const rg::Error& e) {
            backward_error = e.what();
        }
    });
    other2.join();
    CHECK(backward_error.find("another thread's tape") != std::string::npos);
}

TEST_CASE("DetectAnomaly, as PyTorch's: the first VJP that returns NaN, forward only on request") {
    auto x = tensor({-1.0, 1.0}, {.requires_grad = true});
    {
        rg::DetectAnomaly anomaly;
        CHECK(rg::is_anomaly_enabled());
        auto root = rg::sqrt(x);  // NaN in the forward is not checked by default; its VJP is
        CHECK_THROWS_WITH_AS(rg::sum(root).backward(),
                             "DetectAnomaly: the backward of 'sqrt' produced NaN at flat index 0 (shape (2,))",
                             rg::Error);
        auto z = tensor({0.0}, {.requires_grad = true});
        rg::sum(rg::sqrt(z)).backward();  // 1 / (2 sqrt(0)) = inf: not an anomaly unless asked
        CHECK(std::isinf(z.grad().item()));
    }
    CHECK_FALSE(rg::is_anomaly_enabled());
    CHECK_NOTHROW(rg::sqrt(x));
    {
        rg::DetectAnomaly anomaly({.forward = true, .infinities = true});
        CHECK_THROWS_WITH_AS(rg::sqrt(x),
                             "DetectAnomaly: the forward of 'sqrt' produced NaN at flat index 0 (shape (2,))",
                             rg::Error);
        auto z = tensor({0.0}, {.requires_grad = true});
        CHECK_THROWS_WITH_AS(rg::sum(rg::sqrt(z)).backward(), doctest::Contains("the backward of 'sqrt' produced Inf"),
                             rg::Error);
    }
}

TEST_CASE("DetectAnomaly accepts the standard -inf causal mask and names the op the user called") {
    const rg::TensorOptions f64{.dtype = rg::float64};
    auto scores = rg::tensor({{0.5, 1.0}, {2.0, -1.0}}, {.dtype = rg::float64, .requires_grad = true});
    auto mask = rg::tensor({{false, true}, {false, false}});  // causal: no look at later positions
    {
        rg::DetectAnomaly anomaly;
        auto masked = scores * 1.0;
        masked.masked_fill_(mask, -INFINITY);
        rg::sum(rg::square(rg::softmax(masked, 1))).backward();
        CHECK(std::isfinite(rg::sum(scores.grad()).item()));
        auto again = scores * 1.0;
        again.masked_fill_(mask, 0.0);
        CHECK_THROWS_WITH_AS(again.backward(rg::tensor({{NAN, 1.0}, {1.0, 1.0}}, f64)),
                             "DetectAnomaly: the backward of 'where' (recorded for masked_fill_) produced NaN at flat "
                             "index 0 (shape (2, 2))",
                             rg::Error);
    }
    rg::DetectAnomaly forward({.forward = true, .infinities = true});
    auto masked = scores * 1.0;
    CHECK_THROWS_WITH_AS(masked.masked_fill_(mask, -INFINITY),
                         "DetectAnomaly: the forward of 'where' (recorded for masked_fill_) produced Inf at flat "
                         "index 1 (shape (2, 2))",
                         rg::Error);
}

TEST_CASE("tape_table lists the ops in recording order") {
    auto x = rg::ones({2, 2});
    auto w = rg::ones({2, 3}, {.requires_grad = true});
    w.set_name("w");
    auto loss = rg::mean(rg::tanh(rg::matmul(x, w) + 1.0));
    const std::string table = rg::tape_table(loss);
    CHECK(table == "  #  op          inputs             output\n"
                   "  0  matmul      (2, 2), w (2, 3)*  (2, 3) float32\n"
                   "  1  add_scalar  (2, 3)*            (2, 3) float32\n"
                   "  2  tanh        (2, 3)*            (2, 3) float32\n"
                   "  3  sum         (2, 3)*            () float32\n"
                   "  4  mul_scalar  ()*                () float32\n"
                   "  * requires grad\n");
}

TEST_CASE("to_dot draws ops, tensors, constants, values and gradients") {
    auto x = tensor({1.0, 2.0});
    auto w = tensor({0.5, -0.5}, {.requires_grad = true});
    w.set_name("w");
    auto loss = rg::sum(x * w);
    loss.backward({}, {.retain_graph = true});
    const std::string dot = rg::to_dot(loss, {.show_values = true, .show_grads = true});
    CHECK(dot.rfind("digraph retrograd {", 0) == 0);
    CHECK(dot.find("label=\"mul\"") != std::string::npos);
    CHECK(dot.find("label=\"sum\"") != std::string::npos);
    CHECK(dot.find("const (2,)") != std::string::npos);
    CHECK(dot.find("w\\n(2,)\\ntensor([0.5, -0.5], requires_grad=true)\\ngrad tensor([1, 2])") != std::string::npos);
    CHECK(dot.find("->") != std::string::npos);
}

TEST_CASE("requires_grad_ is for leaves, and int64 tensors cannot require grad") {
    auto x = tensor({1.0}, {.requires_grad = true});
    auto y = x * 2.0;
    CHECK_THROWS_WITH_AS(y.requires_grad_(false), doctest::Contains("only leaves"), rg::Error);
    CHECK_THROWS_AS(rg::from_indices({1}).requires_grad_(), rg::Error);
    CHECK_FALSE(y.is_leaf());
}

TEST_CASE("post-accumulate hooks see the leaf after its .grad was updated") {
    auto w = tensor({1.0, 2.0}, {.requires_grad = true});
    std::vector<double> seen;
    w.register_post_accumulate_grad_hook([&](Tensor& leaf) {
        for (double v : leaf.grad().to_vector()) seen.push_back(v);
    });
    rg::sum(w * 3.0).backward();
    rg::sum(w * w).backward();  // accumulates: 3 + 2w
    CHECK(seen == std::vector<double>{3.0, 3.0, 5.0, 7.0});
    auto y = w * 2.0;
    CHECK_THROWS_WITH(y.register_post_accumulate_grad_hook([](Tensor&) {}),
                      "register_post_accumulate_grad_hook: the tensor was produced by op 'mul_scalar'; "
                      "only leaves accumulate gradients");
}

TEST_CASE("ObserveBackward reports every node with what arrived and what it sent") {
    auto x = tensor({1.0, -2.0}, {.requires_grad = true});
    auto y = rg::sum(x * 3.0);
    std::vector<std::string> ops;
    std::vector<std::size_t> sent;
    {
        rg::ObserveBackward watch([&](const rg::BackwardEvent& e) {
            ops.emplace_back(e.node->op());
            sent.push_back(e.grad_inputs->size());
            if (e.node->is_accumulator()) check_values(*e.grad_output, tensor({3.0, 3.0}));
        });
        y.backward();
    }
    CHECK(ops == std::vector<std::string>{"sum", "mul_scalar", "accumulate_grad"});
    CHECK(sent == std::vector<std::size_t>{1, 1, 0});
    ops.clear();
    rg::sum(x * 3.0).backward();  // out of scope: nothing reported
    CHECK(ops.empty());
}

TEST_CASE("tape_table and to_dot with names: parameters, inputs, intermediate tensors and the loss") {
    auto x = rg::ones({2, 2});
    auto w = rg::ones({2, 3}, {.requires_grad = true});
    auto h = rg::matmul(x, w) + 1.0;
    auto loss = rg::mean(rg::tanh(h));
    const rg::NamedTensors names{{"fc1.weight", w}, {"x", x}, {"h", h}};
    CHECK(rg::tape_table(loss, names) == "  #  op          inputs                              output\n"
                                         "  0  matmul      input x (2, 2), fc1.weight (2, 3)*  (2, 3) float32\n"
                                         "  1  add_scalar  (2, 3)*                             (2, 3) float32\n"
                                         "  2  tanh        (2, 3)*                             (2, 3) float32\n"
                                         "  3  sum         (2, 3)*                             () float32\n"
                                         "  4  mul_scalar  ()*                                 () float32  <- loss\n"
                                         "  * requires grad\n");
    const std::string dot = rg::to_dot(loss, names);
    CHECK(dot.find("label=\"fc1.weight\\n(2, 3)\"") != std::string::npos);
    CHECK(dot.find("label=\"input x\\n(2, 2)\", fillcolor=\"lightyellow\"") != std::string::npos);
    CHECK(dot.find("label=\"h\\n(2, 3)\"") != std::string::npos);
    CHECK(dot.find("label=\"loss\\n()\", peripheries=2") != std::string::npos);
    // Without names nothing is marked, as before.
    CHECK(rg::to_dot(loss).find("loss") == std::string::npos);
    // Two named tensors without grad of the same shape and dtype cannot be told apart: neither is used.
    auto table = rg::tape_table(loss, {{"x", x}, {"y", rg::zeros({2, 2})}});
    CHECK(table.find("input x") == std::string::npos);
    CHECK(table.find("  0  matmul      (2, 2), (2, 3)*") != std::string::npos);
    CHECK(table.find("<- loss") != std::string::npos);
    CHECK(rg::tape_table(rg::sum(w * 2.0), {}).find("() float32  <- loss") != std::string::npos);
    CHECK(rg::tape_table(w * 2.0, {}).find("(2, 3) float32  <- output") != std::string::npos);
    CHECK_THROWS_WITH_AS(rg::to_dot(loss, {{"ghost", Tensor{}}}), "graph names: the tensor named 'ghost' is undefined",
                         rg::Error);
}
