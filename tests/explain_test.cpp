// rg::explain: the backward pass node by node, as text and as an HTML page;
// every op the library records has its rule text; graphs named by a module.
#include <filesystem>
#include <retrograd/registry.hpp>
#include <fstream>
#include <map>
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
    CHECK(ex.to_string() == "backward pass from loss (): 8 steps; dT is the gradient of loss with respect to T\n"
                            "[0] mul_scalar: loss = mul_scalar(t1)  ()\n"
                            "    dloss tensor(1, dtype=float64)  (the seed)\n"
                            "    rule  mul_scalar: loss = c · t1: dt1 = c · dloss\n"
                            "    dt1   tensor(0.5, dtype=float64)  -> [1] sum -> t1\n"
                            "[1] sum: t1 = sum(t2)  ()\n"
                            "    dt1   tensor(0.5, dtype=float64)  (from [0])\n"
                            "    rule  sum: dt2 = dt1 broadcast back to t2's shape\n"
                            "    dt2   tensor([[0.5, 0.5]], dtype=float64)  -> [2] mul -> t2\n"
                            "[2] mul: t2 = mul(t3, t3)  (1, 2)\n"
                            "    dt2   tensor([[0.5, 0.5]], dtype=float64)  (from [1])\n"
                            "    rule  mul: dt3 = dt2 ⊙ t3, dt3 = dt2 ⊙ t3 (each summed to its input's shape)\n"
                            "    dt3   tensor([[0.21095, -0.189974]], dtype=float64)  -> [3] tanh -> t3\n"
                            "    dt3   tensor([[0.21095, -0.189974]], dtype=float64)  -> [3] tanh -> t3\n"
                            "[3] tanh: t3 = tanh(Z)  (1, 2)\n"
                            "    dt3   tensor([[0.421899, -0.379949]], dtype=float64)  (sum of [2] + [2])\n"
                            "    rule  tanh: dZ = dt3 ⊙ (1 − t3²)\n"
                            "    dZ    tensor([[0.346802, -0.325099]], dtype=float64)  -> [4] add -> Z\n"
                            "[4] add: Z = add(t6, b)  (1, 2)\n"
                            "    dZ    tensor([[0.346802, -0.325099]], dtype=float64)  (from [3])\n"
                            "    rule  add: dt6 = dZ, db = dZ (each summed to its input's shape)\n"
                            "    dt6   tensor([[0.346802, -0.325099]], dtype=float64)  -> [6] matmul -> t6\n"
                            "    db    tensor([[0.346802, -0.325099]], dtype=float64)  -> [5] b.grad\n"
                            "[5] b (1, 2): its gradient\n"
                            "    db    tensor([[0.346802, -0.325099]], dtype=float64)  (from [4])\n"
                            "    rule  accumulate_grad: b.grad += db\n"
                            "[6] matmul: t6 = matmul(x, W)  (1, 2)\n"
                            "    dt6   tensor([[0.346802, -0.325099]], dtype=float64)  (from [4])\n"
                            "    rule  matmul: t6 = x W: dx = dt6 Wᵀ, dW = xᵀ dt6\n"
                            "    dx    input x (1, 2): needs no gradient\n"
                            "    dW    tensor([[0.173401, -0.16255],\n"
                            "                  [-0.346802, 0.325099]], dtype=float64)  -> [7] W.grad\n"
                            "[7] W (2, 2): its gradient\n"
                            "    dW    tensor([[0.173401, -0.16255],\n"
                            "                  [-0.346802, 0.325099]], dtype=float64)  (from [6])\n"
                            "    rule  accumulate_grad: W.grad += dW\n");
    // The pass is a real backward: the leaves' .grad hold what the last steps received.
    test::check_values(net.w.grad(), ex.steps[7].grad_output);
    test::check_values(net.b.grad(), ex.steps[5].grad_output);
    CHECK(ex.steps[4].output == "Z");
    CHECK(ex.step("Z").index == 4);
    CHECK(ex.step("W").index == 7);
    CHECK(ex.step("loss").index == 0);
    CHECK_THROWS_WITH_AS(ex.step("A"),
                         "explain: no step made a tensor named 'A'; the named ones are 'loss', 't1', 't2', 't3', 'Z', "
                         "'b', 't6', 'W'",
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
    CHECK(text.find("    dleaf1 (4, 10) float64, norm 12.6491, first 2, 2, 2, 2, ..., largest 2 at [0, 0]  -> [1] "
                    "leaf1.grad\n") != std::string::npos);
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
    CHECK(ex.to_string() == "backward pass from loss (): 1 step; dT is the gradient of loss with respect to T\n"
                            "[0] w (): its gradient\n"
                            "    dw    tensor(1, dtype=float64)  (the seed)\n"
                            "    rule  accumulate_grad: w.grad += dw\n");
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
    CHECK(page.find("tanh: dZ = dt3 ⊙ (1 − t3²)") != std::string::npos);
    CHECK(page.find("<a href=\"#step-5\">[5] b.grad</a>") != std::string::npos);
    // The step control's data: per step its node, the edge bringing its gradient and the ones it sends along.
    CHECK(page.find("<script type=\"application/json\" id=\"walk\">") != std::string::npos);
    CHECK(page.find("\"arriving\": [\"grad-3\", \"send-2-0\", \"send-2-1\"]") != std::string::npos);
    if (std::system("command -v dot > /dev/null 2>&1") == 0) {
        CHECK(page.find("<svg") != std::string::npos);
        CHECK(page.find("xlink:href=\"#step-3\"") != std::string::npos);  // the tanh node
        // Edges carry the gradient flowing back along them: its name, shape and norm.
        CHECK(page.find("id=\"grad&#45;3\"") != std::string::npos);  // Graphviz writes - as &#45; in ids
        CHECK(page.find("> dZ</text>") != std::string::npos);
        CHECK(page.find("> (1, 2) ‖0.475‖</text>") != std::string::npos);
        CHECK(page.find("<?xml") == std::string::npos);
        // Each step links back to its node, whose id no Graphviz default id can take.
        CHECK(page.find("href=\"#tape-") != std::string::npos);
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
    CHECK(failing.find("id=\"step-7\"") != std::string::npos);
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

// The course's two-layer sigmoid network (*Les Réseaux de Neurones*, §3), the
// target called y as students call it.
TEST_CASE("explain writes rules with the tensors' names, and δ as the course does") {
    auto a1 = rg::tensor({{0.5, -1.0, 2.0}}, f64);
    auto w1 = rg::tensor({{0.1, 0.2, -0.3, 0.4}, {0.5, -0.6, 0.7, 0.8}, {-0.9, 1.0, 0.1, -0.2}}, param);
    auto b2 = rg::tensor({{0.1, 0.1, 0.1, 0.1}}, param);
    auto w2 = rg::tensor({{0.3, -0.1}, {0.2, 0.4}, {-0.5, 0.6}, {0.7, -0.8}}, param);
    auto b3 = rg::tensor({{0.0, 0.2}}, param);
    auto y = rg::tensor({{1.0, 0.0}}, f64);
    auto z2 = rg::matmul(a1, w1) + b2;
    auto a2 = rg::sigmoid(z2);
    auto z3 = rg::matmul(a2, w2) + b3;
    auto a3 = rg::sigmoid(z3);
    auto c = rg::sum(rg::square(a3 - y)) * 0.5;
    const auto ex = rg::explain(c, {.names = {{"A1", a1},
                                              {"W1", w1},
                                              {"B2", b2},
                                              {"W2", w2},
                                              {"B3", b3},
                                              {"A2", a2},
                                              {"A3", a3},
                                              {"y", y},
                                              {"C", c}},
                                    .deltas = true});
    // Unnamed pre-activations are Zˡ, their gradients δˡ, layers counted from the input A1.
    CHECK(ex.step("A3").rule == "sigmoid: δ³ = dA3 ⊙ A3 ⊙ (1 − A3)");
    CHECK(ex.step("A3").sends[0].grad_name == "δ³");
    CHECK(ex.step("Z3").grad_name == "δ³");
    CHECK(ex.step("Z3").forward == "Z3 = add(t7, B3)");
    CHECK(ex.step("Z3").rule == "add: dt7 = δ³, dB3 = δ³ (each summed to its input's shape)");
    CHECK(ex.step("t7").rule == "matmul: t7 = A2 W2: dA2 = dt7 W2ᵀ, dW2 = A2ᵀ dt7");  // dt7 is δ³, passed on by [5]
    CHECK(ex.step("A2").rule == "sigmoid: δ² = dA2 ⊙ A2 ⊙ (1 − A2)");
    CHECK(ex.step("t3").rule == "sub: dA3 = dt3, dy = −dt3 (each summed to its input's shape)");
    // No rule uses a letter of its own: y is the target only.
    for (const rg::ExplainStep& s : ex.steps)
        if (s.op != "sub") CHECK_MESSAGE(s.rule.find(" y") == std::string::npos, s.rule);
    // Layers counted from 0 instead.
    auto again = rg::sum(rg::sigmoid(rg::matmul(a1, w1.detach().requires_grad_()))) * 1.0;
    CHECK(rg::explain(again, {.deltas = true, .input_layer = 0}).step("Z1").grad_name == "δ¹");
    // The numbers are the course's: δ³ = (A3 − y) ⊙ σ'(Z3), δ² = (δ³ W2ᵀ) ⊙ σ'(Z2).
    rg::NoGrad off;
    auto delta3 = (a3 - y) * a3 * (1.0 - a3);
    test::check_values(ex.step("Z3").grad_output, delta3);
    test::check_values(ex.step("Z2").grad_output, rg::matmul(delta3, rg::transpose(w2)) * a2 * (1.0 - a2));
}

TEST_CASE("composite steps: a layer and a loss are one step each, their ops folded under them") {
    rg::manual_seed(1);
    rg::nn::Sequential net{rg::nn::Linear(3, 4), rg::nn::Sigmoid(), rg::nn::Linear(4, 2)};
    net.to(rg::float64);
    auto x = rg::randn({5, 3}, f64);
    auto y = rg::from_indices({0, 1, 1, 0, 1});
    Tensor loss;
    {
        rg::ExplainMode on;
        CHECK(rg::is_explain_mode());
        loss = rg::nn::cross_entropy(net(x), y);
    }
    CHECK_FALSE(rg::is_explain_mode());
    const auto ex = rg::explain(loss, net, {.names = {{"X", x}, {"Y", y}}, .deltas = true});
    REQUIRE(ex.steps.size() == 8);
    const rg::ExplainStep& ce = ex.steps[0];
    CHECK(ce.composite);
    CHECK(ce.op == "cross_entropy");
    CHECK(ce.forward == "loss = cross_entropy(Z3, Y)");
    CHECK(ce.rule == "cross_entropy: δ³ = (softmax(Z3) − Y) / 5 · dloss (Y one-hot)");
    std::vector<std::string> ops;
    for (const rg::ExplainStep& p : ce.parts) ops.push_back(p.op);
    CHECK(ops == std::vector<std::string>{"mul_scalar", "sum", "neg", "reshape", "gather", "log_softmax"});
    CHECK(ce.parts[5].id == "0.6");
    // What it sends is the course's (softmax(Z) − Y) / n, computed here independently.
    REQUIRE(ce.sends.size() == 2);
    CHECK(ce.sends[0].grad_name == "δ³");
    CHECK(ce.sends[0].destination == "[1] Linear -> Z3");
    CHECK(ce.sends[1].input_label == "input Y (5,)");
    CHECK(ce.sends[1].destination == "needs no gradient");
    {
        rg::NoGrad off;
        std::map<std::string, Tensor> w;
        for (const auto& named : net.named_parameters()) w[named.first] = named.second;
        auto a2 = rg::sigmoid(rg::matmul(x, rg::transpose(w["0.weight"])) + w["0.bias"]);
        auto z3 = rg::matmul(a2, rg::transpose(w["2.weight"])) + w["2.bias"];
        auto onehot = rg::zeros({5, 2}, f64);
        for (std::size_t i = 0; i < 5; ++i) onehot.value<double>()(i, y.value<std::int64_t>()(i)) = 1.0;
        test::check_values(ce.sends[0].grad, (rg::softmax(z3, 1) - onehot) / 5.0);
    }
    const rg::ExplainStep& linear = ex.steps[1];
    CHECK(linear.op == "Linear");
    CHECK(linear.rule == "Linear: Z3 = A2 2.weightᵀ + 2.bias: dA2 = δ³ 2.weight, d(2.weight) = δ³ᵀ A2, d(2.bias) = δ³ "
                         "summed over the rows");
    CHECK(linear.from_steps == std::vector<std::size_t>{0});
    CHECK(ex.steps[5].rule == "Linear: Z2 = X 0.weightᵀ + 0.bias: dX = δ² 0.weight, d(0.weight) = δ²ᵀ X, "
                              "d(0.bias) = δ² summed over the rows");
    CHECK(ex.steps[5].sends.back().input_label == "input X (5, 3)");
    CHECK(&ex.step("0.weight") == &ex.steps[7]);
    CHECK(ex.step("0.weight").from_steps == std::vector<std::size_t>{5});
    const std::string text = ex.to_string();
    CHECK(text.find("    ops   mul_scalar -> sum -> neg -> reshape -> gather -> log_softmax (folded; "
                    "ExplainOptions::expand lists them)\n") != std::string::npos);
    // The page folds the parts and draws the composite step as one node.
    const std::string page = rg::explain_html(ex);
    CHECK(page.find("<section class=\"step composite\" id=\"step-0\">") != std::string::npos);
    CHECK(page.find("<details class=\"parts\"><summary>6 primitive ops folded under this step</summary>") !=
          std::string::npos);
    CHECK(page.find("<section class=\"step part\" id=\"step-0-6\">") != std::string::npos);
    CHECK(ex.dot.find("label=\"[0] cross_entropy\"") != std::string::npos);
    CHECK(ex.dot.find("log_softmax") == std::string::npos);

    // Outside ExplainMode the same forward shows its primitive ops.
    auto plain = rg::nn::cross_entropy(net(x), y);
    const auto flat = rg::explain(plain, net, {.names = {{"X", x}}});
    CHECK(flat.steps[0].op == "mul_scalar");
    CHECK_FALSE(flat.steps[0].composite);
}

TEST_CASE("a user's own layer declares its composite step") {
    auto square_layer = [](const Tensor& x) {
        rg::CompositeStep step("Square", "d{X} = 2 {X} ⊙ d{Z}", {{"X", x}});
        CHECK(step.active() == rg::is_explain_mode());
        return step.output(x * x, "Z");
    };
    auto p = rg::tensor({1.0, -2.0}, param);
    Tensor out;
    {
        rg::ExplainMode on;
        out = rg::sum(square_layer(p * 3.0));
    }
    const auto ex = rg::explain(out, {.names = {{"p", p}}, .expand = true});
    REQUIRE(ex.steps.size() == 4);
    CHECK(ex.steps[1].rule == "Square: dt2 = 2 t2 ⊙ dt1");
    CHECK(ex.steps[1].forward == "t1 = Square(t2)");
    test::check_values(ex.steps[1].sends[0].grad, rg::tensor({6.0, -12.0}, f64));
    CHECK(ex.to_string().find("    [1.1] mul: t1 = mul(t2, t2)  (2,)\n") != std::string::npos);
    // Outside ExplainMode a step is inactive and costs a flag check; its ops stand alone.
    auto bare = rg::sum(square_layer(p * 3.0));
    CHECK(rg::explain(bare).steps.size() == 4);
    CHECK(rg::explain(rg::sum(square_layer(p * 3.0))).steps[1].op == "mul");
}

TEST_CASE("composite steps: LayerNorm is one step whose gradient is its textbook rule") {
    rg::manual_seed(2);
    rg::nn::LayerNorm norm(4);
    norm.to(rg::float64);
    auto x = rg::randn({3, 4}, {.dtype = rg::float64, .requires_grad = true});
    Tensor loss;
    {
        rg::ExplainMode on;
        loss = rg::sum(rg::square(norm(x)));
    }
    const auto ex = rg::explain(loss, norm, {.names = {{"X", x}}});
    const rg::ExplainStep* step = nullptr;
    for (const rg::ExplainStep& s : ex.steps)
        if (s.op == "LayerNorm") step = &s;
    REQUIRE(step != nullptr);
    CHECK(step->composite);
    REQUIRE(step->parts.size() == 1);  // one fused op
    CHECK(step->parts[0].op == "layer_norm");
    CHECK(step->rule.find("mean(dX̂ ⊙ X̂)") != std::string::npos);
    // What it sends to X is (dX̂ − mean(dX̂) − X̂ ⊙ mean(dX̂ ⊙ X̂)) / σ, computed here by hand.
    REQUIRE(!step->sends.empty());
    rg::NoGrad off;
    auto mu = rg::mean(x, {1}, true);
    auto sigma = rg::sqrt(rg::mean(rg::square(x - mu), {1}, true) + 1e-5);
    auto xhat = (x - mu) / sigma;
    auto dxhat = 2.0 * xhat;  // d(sum Z²)/dZ with γ = 1, β = 0
    auto dx = (dxhat - rg::mean(dxhat, {1}, true) - xhat * rg::mean(dxhat * xhat, {1}, true)) / sigma;
    test::check_values(step->sends[0].grad, dx);
}

TEST_CASE("an optional input left out is no input of the step: conv2d without bias, layer_norm and batch_norm "
          "with a bias but no weight") {
    rg::manual_seed(4);
    auto x = rg::randn({4, 3}, {.dtype = rg::float64, .requires_grad = true});
    auto b = rg::randn({3}, {.dtype = rg::float64, .requires_grad = true});
    auto images = rg::randn({1, 1, 4, 4}, {.dtype = rg::float64, .requires_grad = true});
    auto w = rg::randn({2, 1, 3, 3}, {.dtype = rg::float64, .requires_grad = true});
    struct Case {
        std::string op;
        Tensor loss;
        std::string call;  // how the step shows the op's call
    };
    const std::vector<Case> cases{{"conv2d", rg::sum(rg::conv2d(images, w, {})), "conv2d(I, W, {})"},
                                  {"layer_norm", rg::sum(rg::square(rg::layer_norm(x, {3}, {}, b))),
                                   "layer_norm(X, {}, B)"},
                                  {"batch_norm", rg::sum(rg::square(rg::batch_norm(x, {}, {}, {}, b, true))),
                                   "batch_norm(X, {}, B)"}};
    for (const Case& c : cases) {
        CAPTURE(c.op);
        const auto ex = rg::explain(c.loss, {.names = {{"X", x}, {"B", b}, {"I", images}, {"W", w}}});
        const rg::ExplainStep* step = nullptr;
        for (const rg::ExplainStep& s : ex.steps)
            if (s.op == c.op) step = &s;
        REQUIRE(step != nullptr);
        CHECK_MESSAGE(ex.to_string().find(c.call) != std::string::npos, ex.to_string());
        // Nothing is sent to the input left out, and its gradient's clause is not in the rule.
        for (const rg::ExplainSend& send : step->sends) CHECK(send.input_label.find("()") == std::string::npos);
        CHECK_MESSAGE(step->rule.find("d{}") == std::string::npos, step->rule);
        CHECK_MESSAGE(step->rule.find("db =") == std::string::npos, step->rule);
        if (c.op == "conv2d") continue;
        // B's clause is the bias's (a sum of the gradient), not the weight's (Σ g x̂).
        const auto at = step->rule.find("dB = ");
        REQUIRE(at != std::string::npos);
        const std::string clause = step->rule.substr(at, step->rule.find(',', at) - at);
        CHECK_MESSAGE(clause.find("over") != std::string::npos, step->rule);
        CHECK_MESSAGE(clause.find("X̂") == std::string::npos, step->rule);
    }
}

TEST_CASE("composite steps: a layer without bias or affine parameters declares no input for them") {
    rg::manual_seed(3);
    rg::nn::Linear linear(3, 2, /*bias=*/false);
    rg::nn::LayerNorm norm(2, {.elementwise_affine = false});
    linear.to(rg::float64);
    auto x = rg::randn({4, 3}, {.dtype = rg::float64, .requires_grad = true});
    Tensor loss;
    {
        rg::ExplainMode on;
        loss = rg::sum(norm(linear(x)));
    }
    const auto ex = rg::explain(loss, linear, {.names = {{"X", x}}});
    for (const rg::ExplainStep& s : ex.steps) {
        if (s.op != "Linear" && s.op != "LayerNorm") continue;
        INFO(s.op);
        CHECK(s.composite);
        // Only defined tensors are sent to: X and the weight for Linear, X for LayerNorm.
        CHECK(s.sends.size() == (s.op == "Linear" ? 2u : 1u));
        for (const rg::ExplainSend& send : s.sends) CHECK(send.input_label.find("()") == std::string::npos);
    }
}

namespace {
const rg::ExplainSend& send_to(const rg::ExplainStep& step, const std::string& name) {
    for (const rg::ExplainSend& send : step.sends)
        if (send.input_name == name) return send;
    FAIL("step ", step.op, " sends nothing to ", name);
    return step.sends.front();
}
}  // namespace

TEST_CASE("composite steps: a GRU cell is one step whose gradient to the state is the course's dH ⊙ z") {
    rg::manual_seed(4);
    rg::nn::GRUCell cell(3, 2);
    cell.to(rg::float64);
    const auto x = rg::randn({4, 3}, {.dtype = rg::float64});
    const auto h = rg::randn({4, 2}, {.dtype = rg::float64, .requires_grad = true});
    Tensor out, loss;
    {
        rg::ExplainMode on;
        out = cell.forward(x, h);
        loss = rg::sum(rg::square(out));
    }
    const auto ex = rg::explain(loss, cell, {.names = {{"H0", h}}});
    const rg::ExplainStep* step = nullptr;
    for (const rg::ExplainStep& s : ex.steps)
        if (s.op == "GRU cell") step = &s;
    REQUIRE(step != nullptr);
    CHECK(step->composite);
    CHECK(step->rule.find("dH0 = ") != std::string::npos);
    // The state reaches the cell's output directly through z (and through its
    // hidden product, outside the step): z = σ of the middle third.
    rg::NoGrad off;
    const auto gates = rg::gemm(x, cell.weight_ih, false, true) + cell.bias_ih +
                       rg::gemm(h, cell.weight_hh, false, true) + cell.bias_hh;
    const auto z = rg::sigmoid(rg::narrow(gates, 1, 2, 2));
    test::check_values(send_to(*step, "H0").grad, 2.0 * out * z);
}

TEST_CASE("composite steps: an LSTM cell is two steps, its cell state's and its hidden state's") {
    rg::manual_seed(5);
    rg::nn::LSTMCell cell(3, 2);
    cell.to(rg::float64);
    const auto x = rg::randn({4, 3}, {.dtype = rg::float64});
    const auto h = rg::randn({4, 2}, {.dtype = rg::float64});
    const auto c = rg::randn({4, 2}, {.dtype = rg::float64, .requires_grad = true});
    rg::nn::LSTMState next;
    Tensor loss;
    {
        rg::ExplainMode on;
        next = cell.forward(x, {h, c});
        loss = rg::sum(next.h);  // dH = 1: only the hidden state's path reaches C0
    }
    const auto ex = rg::explain(loss, cell, {.names = {{"C0", c}, {"C1", next.c}}});
    const rg::ExplainStep *cell_step = nullptr, *hidden_step = nullptr;
    for (const rg::ExplainStep& s : ex.steps) {
        if (s.op == "LSTM cell state") cell_step = &s;
        if (s.op == "LSTM hidden state") hidden_step = &s;
    }
    REQUIRE(cell_step != nullptr);
    REQUIRE(hidden_step != nullptr);
    CHECK(cell_step->composite);
    CHECK(hidden_step->composite);
    rg::NoGrad off;
    const auto gates = rg::gemm(x, cell.weight_ih, false, true) + cell.bias_ih +
                       rg::gemm(h, cell.weight_hh, false, true) + cell.bias_hh;
    const auto f = rg::sigmoid(rg::narrow(gates, 1, 2, 2));
    const auto o = rg::sigmoid(rg::narrow(gates, 1, 6, 2));
    // dC1 = dH ⊙ o ⊙ (1 − tanh²(C1)), then dC0 = dC1 ⊙ f.
    const auto d_c1 = o * (1.0 - rg::square(rg::tanh(next.c)));
    test::check_values(send_to(*hidden_step, "C1").grad, d_c1);
    test::check_values(send_to(*cell_step, "C0").grad, d_c1 * f);
}
