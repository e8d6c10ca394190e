// rg::explain: the backward pass node by node, as text and as an HTML page;
// every op the library records has its rule text; graphs named by a module.
#include <filesystem>
#include <retrograd/registry.hpp>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "helpers.hpp"

using rg::Tensor;
using rg::TensorList;

namespace {
const rg::TensorOptions f64{.dtype = rg::float64};
const rg::TensorOptions param{.dtype = rg::float64, .requires_grad = true};

// One tanh layer and the course's ½‖a‖² (*Les Réseaux de Neurones*, equations (2) and (3)).
struct Layer {
    Tensor x = rg::tensor({{0.5, -1.0}}, f64);
    Tensor w = rg::tensor({{0.1, 0.2}, {-0.3, 0.4}}, param);
    Tensor b = rg::tensor({{0.1, -0.1}}, param);
    Tensor z, loss;
    Layer() {
        z = rg::matmul(x, w) + b;
        auto a = rg::tanh(z);
        loss = rg::sum(a * a) * 0.5;
    }
    rg::NamedTensors names() const { return {{"x", x}, {"W", w}, {"b", b}, {"Z", z}}; }
};
}  // namespace

TEST_CASE("explain records each node in the order backward runs it") {
    Layer net;
    const auto ex = rg::explain(net.loss, {.names = net.names()});
    CHECK(ex.to_string() == "backward pass from loss (): 8 steps; g is the gradient arriving at a node's output\n"
                            "[0] mul_scalar -> loss ()\n"
                            "    g     tensor(1, dtype=float64)  (the seed)\n"
                            "    rule  mul_scalar: y = c * x: dx = c * g\n"
                            "    dx    tensor(0.5, dtype=float64)  -> [1] sum\n"
                            "[1] sum ()\n"
                            "    g     tensor(0.5, dtype=float64)  (from [0])\n"
                            "    rule  sum: dx = g broadcast back to x's shape\n"
                            "    dx    tensor([[0.5, 0.5]], dtype=float64)  -> [2] mul\n"
                            "[2] mul (1, 2)\n"
                            "    g     tensor([[0.5, 0.5]], dtype=float64)  (from [1])\n"
                            "    rule  mul: da = g * b, db = g * a (each summed to its input's shape)\n"
                            "    da    tensor([[0.21095, -0.189974]], dtype=float64)  -> [3] tanh\n"
                            "    db    tensor([[0.21095, -0.189974]], dtype=float64)  -> [3] tanh\n"
                            "[3] tanh (1, 2)\n"
                            "    g     tensor([[0.421899, -0.379949]], dtype=float64)  (sum of [2] + [2])\n"
                            "    rule  tanh: dx = g * (1 - y^2)\n"
                            "    dx    tensor([[0.346802, -0.325099]], dtype=float64)  -> [4] add -> Z\n"
                            "[4] add -> Z (1, 2)\n"
                            "    g     tensor([[0.346802, -0.325099]], dtype=float64)  (from [3])\n"
                            "    rule  add: da = g, db = g (each summed to its input's shape)\n"
                            "    da    tensor([[0.346802, -0.325099]], dtype=float64)  -> [6] matmul\n"
                            "    db    tensor([[0.346802, -0.325099]], dtype=float64)  -> [5] b.grad\n"
                            "[5] b (1, 2): its gradient\n"
                            "    g     tensor([[0.346802, -0.325099]], dtype=float64)  (from [4])\n"
                            "    rule  accumulate_grad: b.grad += g\n"
                            "[6] matmul (1, 2)\n"
                            "    g     tensor([[0.346802, -0.325099]], dtype=float64)  (from [4])\n"
                            "    rule  matmul: Y = A B: dA = G B^T, dB = A^T G (summed over broadcast batches; for Y = "
                            "A W^T, as in Linear, dW = G^T A)\n"
                            "    dA    input x (1, 2): needs no gradient\n"
                            "    dB    tensor([[0.173401, -0.16255],\n"
                            "                  [-0.346802, 0.325099]], dtype=float64)  -> [7] W.grad\n"
                            "[7] W (2, 2): its gradient\n"
                            "    g     tensor([[0.173401, -0.16255],\n"
                            "                  [-0.346802, 0.325099]], dtype=float64)  (from [6])\n"
                            "    rule  accumulate_grad: W.grad += g\n");
    // The pass is a real backward: the leaves' .grad hold what the last steps received.
    test::check_values(net.w.grad(), ex.steps[7].grad_output);
    test::check_values(net.b.grad(), ex.steps[5].grad_output);
    CHECK(ex.steps[4].output == "Z");
    CHECK(ex.step("Z").index == 4);
    CHECK(ex.step("W").index == 7);
    CHECK(ex.step("loss").index == 0);
    CHECK_THROWS_WITH_AS(ex.step("A"),
                         "explain: no step made a tensor named 'A'; the named ones are 'loss', 'Z', 'b', 'W'",
                         rg::Error);
    CHECK(ex.steps[3].from_steps == std::vector<std::size_t>{2, 2});
    CHECK(ex.steps[4].sends[1].to_step == 5);  // a leaf's gradient is handed over as soon as it is complete
    CHECK(ex.steps[6].sends[0].to_step == -1);
    CHECK_FALSE(ex.steps[6].sends[0].grad.defined());
    // With accumulate off the same pass leaves .grad alone.
    Layer quiet;
    const auto same = rg::explain(quiet.loss, {.names = quiet.names(), .accumulate = false});
    CHECK(same.to_string() == ex.to_string());
    CHECK_FALSE(quiet.w.grad().defined());
    CHECK_FALSE(quiet.b.grad().defined());
    // The graph is freed as by backward(), unless retain_graph is set.
    CHECK_THROWS_WITH_AS(rg::explain(net.loss), doctest::Contains("already freed by an earlier backward"), rg::Error);
    Layer again;
    rg::explain(again.loss, {.retain_graph = true});
    CHECK_NOTHROW(again.loss.backward());
}

TEST_CASE("explain shows large tensors by shape, norm and a few entries, and takes a seed") {
    auto w = rg::reshape(rg::arange(40.0, f64), rg::Shape{4, 10}).requires_grad_();
    auto y = w * 2.0;
    const auto ex = rg::explain(y, {.grad_output = rg::ones({4, 10}, f64), .max_elements = 8});
    REQUIRE(ex.steps.size() == 2);
    CHECK(ex.output == "output");
    const std::string text = ex.to_string();
    CHECK(text.find("    dx    (4, 10) float64, norm 12.6491, first 2, 2, 2, 2, ..., largest 2 at [0, 0]  -> [1] "
                    "leaf.grad\n") != std::string::npos);
    CHECK_THROWS_WITH_AS(rg::explain(rg::ones({2})),
                         "explain: the output (shape (2,)) does not require grad; it was computed from tensors without "
                         "requires_grad, or under rg::NoGrad, so there is no backward pass to explain",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::explain(y * 1.0),
                         doctest::Contains("a non-scalar output needs an explicit output gradient"), rg::Error);
}

TEST_CASE("explain on a leaf: one step, its gradient") {
    auto w = rg::tensor(2.0, param);
    const auto ex = rg::explain(w, {.names = {{"w", w}}});
    CHECK(ex.to_string() == "backward pass from loss (): 1 step; g is the gradient arriving at a node's output\n"
                            "[0] w (): its gradient\n"
                            "    g     tensor(1, dtype=float64)  (the seed)\n"
                            "    rule  accumulate_grad: w.grad += g\n");
    CHECK(w.grad().item() == 1.0);
}

TEST_CASE("explain names a custom op with a generic rule") {
    auto x = rg::tensor({1.0, 2.0}, param);
    auto cube = rg::custom_op(
        "cube", {x}, [](const TensorList& in) { return in[0] * in[0] * in[0]; },
        [](const TensorList& in, const Tensor& g) { return TensorList{g * in[0] * in[0] * 3.0}; });
    const auto ex = rg::explain(rg::sum(cube));
    CHECK(ex.steps[1].rule == "cube (custom op): each input gets what its vjp returns for g");
    CHECK(rg::backward_rule("tanh") == "tanh: dx = g * (1 - y^2)");
    CHECK_FALSE(rg::has_backward_rule("cube"));
}

// The op names the library records: every registered op, any op still
// recorded by a bare name (record("name", ...)) in autodiff/src and nn/src,
// and the leaves' node.
TEST_CASE("every op the library can record has a rule text") {
    std::set<std::string> ops{"accumulate_grad"};
    for (const rg::OpDef* def : rg::op_registry()) ops.insert(std::string(def->name));
    const std::regex recorded("record\\(\"([a-z_0-9]+)\"");
    for (const char* dir : {"autodiff/src", "nn/src"}) {
        for (const auto& entry :
             std::filesystem::directory_iterator(std::filesystem::path(RETROGRAD_SOURCE_DIR) / dir)) {
            if (entry.path().extension() != ".cpp") continue;
            std::ifstream in(entry.path());
            std::stringstream text;
            text << in.rdbuf();
            const std::string s = text.str();
            for (std::sregex_iterator it(s.begin(), s.end(), recorded), end; it != end; ++it) ops.insert((*it)[1]);
        }
    }
    CHECK(ops.size() > 50);
    for (const std::string& op : ops) CHECK_MESSAGE(rg::has_backward_rule(op), "no rule text for op '" << op << "'");
}

TEST_CASE("explain_html: the graph as inline SVG, each node linked to its step, nothing external") {
    Layer net;
    const auto ex = rg::explain(net.loss, {.names = net.names()});
    const std::string page = rg::explain_html(ex);
    CHECK(page.rfind("<!DOCTYPE html>", 0) == 0);
    CHECK(page.find("<title>Backward pass from loss</title>") != std::string::npos);
    for (int i = 0; i < 8; ++i)
        CHECK(page.find(fmt::format("<section class=\"step\" id=\"step-{}\">", i)) != std::string::npos);
    CHECK(page.find("tanh: dx = g * (1 - y^2)") != std::string::npos);
    CHECK(page.find("<a href=\"#step-5\">[5] b.grad</a>") != std::string::npos);
    if (std::system("command -v dot > /dev/null 2>&1") == 0) {
        CHECK(page.find("<svg") != std::string::npos);
        CHECK(page.find("xlink:href=\"#step-3\"") != std::string::npos);  // the tanh node
        CHECK(page.find("<?xml") == std::string::npos);
        // Each step links back to its node, whose id no Graphviz default id can take.
        CHECK(page.find("<a href=\"#tape-") != std::string::npos);
        std::set<std::string> ids;
        const std::regex id(" id=\"([^\"]+)\"");
        for (std::sregex_iterator it(page.begin(), page.end(), id), end; it != end; ++it)
            CHECK_MESSAGE(ids.insert((*it)[1]).second, "id used twice: " << (*it)[1]);
    }
    // No external resource: no src= or stylesheet link, and no URL but the SVG namespaces.
    CHECK(page.find("src=") == std::string::npos);
    CHECK(page.find("<link") == std::string::npos);
    std::string rest = page;
    for (const char* ns : {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"})
        for (auto at = rest.find(ns); at != std::string::npos; at = rest.find(ns)) rest.erase(at, std::strlen(ns));
    CHECK(rest.find("http") == std::string::npos);

    const std::string without = rg::explain_html(ex, {.dot_program = "retrograd-no-such-dot"});
    CHECK(without.find("The graph needs Graphviz's `retrograd-no-such-dot` program, which was not found: install "
                       "Graphviz to see it (Debian/Ubuntu: sudo apt-get install graphviz; Fedora: sudo dnf install "
                       "graphviz; macOS: brew install graphviz).") != std::string::npos);
    CHECK(without.find("<svg") == std::string::npos);
    CHECK(without.find("id=\"step-7\"") != std::string::npos);
    const std::string failing = rg::explain_html(ex, {.dot_program = "false"});
    CHECK(failing.find("Graphviz's `false` failed (exit status 1).") != std::string::npos);
}

TEST_CASE("graphs and explain name a module's parameters, and mark the inputs and the loss") {
    rg::manual_seed(1);
    rg::nn::Sequential net{rg::nn::Linear(3, 4), rg::nn::ReLU(), rg::nn::Linear(4, 2)};
    auto x = rg::randn({5, 3});
    auto y = rg::from_indices({0, 1, 1, 0, 1});
    auto loss = rg::nn::cross_entropy(net(x), y);
    const std::string table = rg::tape_table(loss, net, {{"x", x}});
    CHECK(table == "  #  op           inputs                            output\n"
                   "  0  matmul       input x (5, 3), 0.weight (4, 3)*  (5, 4) float32\n"
                   "  1  add          (5, 4)*, 0.bias (4,)*             (5, 4) float32\n"
                   "  2  relu         (5, 4)*                           (5, 4) float32\n"
                   "  3  matmul       (5, 4)*, 2.weight (2, 4)*         (5, 2) float32\n"
                   "  4  add          (5, 2)*, 2.bias (2,)*             (5, 2) float32\n"
                   "  5  log_softmax  (5, 2)*                           (5, 2) float32\n"
                   "  6  gather       (5, 2)*                           (5, 1) float32\n"
                   "  7  reshape      (5, 1)*                           (5,) float32\n"
                   "  8  neg          (5,)*                             (5,) float32\n"
                   "  9  sum          (5,)*                             () float32\n"
                   " 10  mul_scalar   ()*                               () float32  <- loss\n"
                   "  * requires grad\n");
    const std::string dot = rg::to_dot(loss, net, {}, {{"x", x}});
    CHECK(dot.find("label=\"2.weight\\n(2, 4)\"") != std::string::npos);
    CHECK(dot.find("label=\"input x\\n(5, 3)\"") != std::string::npos);
    CHECK(dot.find("label=\"loss\\n()\", peripheries=2") != std::string::npos);
    const auto ex = rg::explain(loss, net, {.names = {{"x", x}}});
    const std::string text = ex.to_string();
    CHECK(text.find(": its gradient") != std::string::npos);
    CHECK(text.find("0.weight.grad") != std::string::npos);
    CHECK(text.find("2.bias.grad") != std::string::npos);
    CHECK(text.find("leaf") == std::string::npos);
    for (const auto& named : net.named_parameters()) CHECK_MESSAGE(named.second.grad().defined(), named.first);
}
