// Module, Sequential, summaries, modes, dtype conversion, and the rule that
// no module under nn/ writes its own backward.
#include <filesystem>
#include <fstream>
#include <regex>

#include "helpers.hpp"

using namespace rg::nn;

TEST_CASE("Sequential registers children and names their parameters") {
    rg::manual_seed(1);
    Sequential net{Linear(4, 3), ReLU(), Linear(3, 2, false)};
    CHECK(net.size() == 3);
    auto named = net.named_parameters();
    REQUIRE(named.size() == 3);
    CHECK(named[0].first == "0.weight");
    CHECK(named[1].first == "0.bias");
    CHECK(named[2].first == "2.weight");
    CHECK(net.parameter_count() == 4 * 3 + 3 + 3 * 2);
    CHECK(net(rg::randn({5, 4})).shape() == rg::Shape{5, 2});
    for (auto& p : net.parameters()) CHECK(p.requires_grad());
    CHECK(net[1].describe() == "ReLU()");
    CHECK_THROWS_WITH_AS(net[3], "Sequential: index 3 out of range for 3 modules", rg::Error);
}

TEST_CASE("a custom module composes registered submodules") {
    struct Block : Module {
        std::shared_ptr<Linear> fc = register_module("fc", std::make_shared<Linear>(2, 2));
        rg::Tensor scale = register_parameter("scale", rg::ones({2}));
        rg::Tensor forward(const rg::Tensor& x) override { return rg::tanh((*fc)(x)) * scale; }
        std::string describe() const override { return "Block()"; }
    };
    Block block;
    auto names = block.named_parameters();
    REQUIRE(names.size() == 3);
    CHECK(names[0].first == "scale");
    CHECK(names[1].first == "fc.weight");
    auto loss = rg::sum(block(rg::ones({1, 2})));
    loss.backward();
    for (auto& p : block.parameters()) CHECK(p.grad().defined());
    block.zero_grad();
    for (auto& p : block.parameters()) CHECK_FALSE(p.grad().defined());
}

namespace user {
// A module as a LibTorch user writes one: two inputs, two outputs, a submodule,
// no describe().
struct Gate : Callable<Gate> {
    std::shared_ptr<Linear> mix = register_module("mix", std::make_shared<Linear>(4, 2));
    std::pair<rg::Tensor, rg::Tensor> forward(const rg::Tensor& x, const rg::Tensor& h, double scale = 1.0) {
        rg::Tensor g = rg::sigmoid((*mix)(rg::concat({x, h}, 1))) * scale;
        return {g * x, (1.0 - g) * h};
    }
};
// A one-tensor module without describe().
struct Twice : Module {
    rg::Tensor forward(const rg::Tensor& x) override { return x * 2.0; }
};
}  // namespace user

TEST_CASE("a module's forward may take several inputs and return several outputs") {
    user::Gate gate;
    const rg::Tensor x = rg::ones({3, 2}), h = rg::zeros({3, 2});
    auto [a, b] = gate(x, h);
    auto [c, d] = gate(x, h, 2.0);
    test::check_values(c, a * 2.0);
    CHECK(b.shape() == rg::Shape{3, 2});
    rg::sum(a + d).backward();
    CHECK(gate.mix->weight.grad().defined());
    CHECK(gate.named_parameters()[0].first == "mix.weight");
    // describe() is optional: the class name.
    CHECK(gate.describe() == "Gate()");
    CHECK(user::Twice().describe() == "Twice()");
    Sequential net{user::Twice(), user::Twice()};
    test::check_values(net(x), x * 4.0);
    static_assert(!OneTensorModule<user::Gate> && OneTensorModule<user::Twice>);
    Module& as_module = gate;
    CHECK_THROWS_WITH_AS(as_module(x), doctest::Contains("Gate(): called with one tensor"), rg::Error);
}

TEST_CASE("train and eval reach every submodule; Dropout follows them") {
    rg::manual_seed(2);
    Sequential net{Linear(10, 10), Dropout(0.5)};
    auto x = rg::ones({8, 10});
    CHECK(net.is_training());
    net.eval();
    CHECK_FALSE(net[1].is_training());
    test::check_values(net(x), net(x));  // deterministic in eval
    net.train();
    auto zeros = rg::sum(rg::eq(Dropout(0.5)(x), rg::zeros_like(x))).item();
    CHECK(zeros > 10);
    CHECK(zeros < 70);
}

TEST_CASE("to(dtype) converts parameters in place") {
    Sequential net{Linear(3, 2), BatchNorm1d(2)};
    auto w = net.parameters()[0];
    net.to(rg::float64);
    CHECK(w.dtype() == rg::float64);  // the same tensor, converted
    // The float buffers too; the batch count stays int64, as PyTorch's .double().
    for (auto& [name, b] : net.named_buffers())
        CHECK(b.dtype() == (name == "1.num_batches_tracked" ? rg::int64 : rg::float64));
    CHECK(net(rg::randn({4, 3}, {.dtype = rg::float64})).dtype() == rg::float64);
}

TEST_CASE("summary lists layers, output shapes and parameter counts") {
    Sequential net{Conv2d(1, 4, 3), ReLU(), MaxPool2d(2), Flatten(), Linear(std::size_t{4} * 13 * 13, 10)};
    const std::string text = summary(net, {1, 1, 28, 28});
    CHECK(text.find("0: Conv2d(1, 4, kernel=(3, 3), stride=(1, 1), padding=(0, 0))  (1, 4, 26, 26)") !=
          std::string::npos);
    CHECK(text.find("2: MaxPool2d(2, 2)") != std::string::npos);
    CHECK(text.find("(1, 676)") != std::string::npos);
    CHECK(text.find("Total parameters: " + std::to_string(4 * 9 + 4 + 676 * 10 + 10)) != std::string::npos);
}

TEST_CASE("no module, loss or optimizer under nn/ defines a backward method") {
    // Gradients must come from the tape. A definition such as
    // `Tensor backward(` or `void backward(` in nn/ breaks that rule.
    const std::regex definition(R"((Tensor|TensorList|void|auto)\s+(\w+::)?backward\s*\()");
    std::size_t files = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(RETROGRAD_SOURCE_DIR "/nn")) {
        if (!entry.is_regular_file()) continue;
        std::ifstream in(entry.path());
        std::string text((std::istreambuf_iterator<char>(in)), {});
        ++files;
        CHECK_MESSAGE(!std::regex_search(text, definition), entry.path().string() << " defines a backward method");
    }
    CHECK(files > 10);
}

namespace {
// A ReLU whose forward differs: a Sequential must call it, not fuse it.
class HalfReLU : public rg::nn::ReLU {
public:
    rg::Tensor forward(const rg::Tensor& x) override { return rg::relu(x) * 0.5; }
};
}  // namespace

TEST_CASE("Sequential runs Conv2d-ReLU-MaxPool2d and Conv2d-ReLU as one op, with the layers' values and gradients") {
    using namespace rg::nn;
    rg::manual_seed(5);
    Sequential pooled(Conv2d(2, 3, 3), ReLU(), MaxPool2d(2), Flatten());
    Sequential plain(Conv2d(2, 3, 3), ReLU({.inplace = true}));
    pooled.to(rg::float64);
    plain.to(rg::float64);
    const auto x = rg::randn({2, 2, 8, 8}, {.dtype = rg::float64});
    for (Sequential* seq : {&pooled, &plain}) {
        const bool with_pool = seq == &pooled;
        CAPTURE(with_pool);
        auto& conv = dynamic_cast<Conv2d&>((*seq)[0]);
        const rg::Tensor y = (*seq)(x);
        rg::Tensor ref = rg::relu(rg::conv2d(x, conv.weight, conv.bias));
        if (with_pool) ref = rg::flatten(rg::max_pool2d(ref, {2, 2}), 1);
        CHECK(rg::allclose(y, ref, 1e-12, 1e-12));  // the pool's window order rounds the products differently
        const auto fused = rg::grad(rg::sum(y * y), {conv.weight, conv.bias}, rg::GradOptions{});
        const auto composed = rg::grad(rg::sum(ref * ref), {conv.weight, conv.bias}, rg::GradOptions{});
        CHECK(rg::allclose(fused[0], composed[0], 1e-12, 1e-12));
        CHECK(rg::allclose(fused[1], composed[1], 1e-12, 1e-12));
    }
    CHECK(plain(x).grad_fn()->op() == "conv2d_relu");
    Sequential unflattened(Conv2d(2, 3, 3), ReLU(), MaxPool2d(2));
    unflattened.to(rg::float64);
    CHECK(unflattened(x).grad_fn()->op() == "conv2d_relu_max_pool2d");
    {
        rg::ExplainMode explaining;  // the course's view: each layer its own step
        CHECK(unflattened(x).grad_fn()->op() == "max_pool2d");
    }
    Sequential own(Conv2d(2, 3, 3), HalfReLU());
    own.to(rg::float64);
    auto& conv = dynamic_cast<Conv2d&>(own[0]);
    CHECK(rg::allclose(own(x), rg::relu(rg::conv2d(x, conv.weight, conv.bias)) * 0.5, 0.0, 0.0));
}
