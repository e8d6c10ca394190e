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

// ---- names, and the containers ModuleList, ModuleDict, ParameterList, ParameterDict ----

TEST_CASE("a module refuses a second tensor or child of one name, an empty name and a dotted one") {
    struct Owner : Module {
        void add_parameter(const std::string& name) { register_parameter(name, rg::zeros({1})); }
        void add_buffer(const std::string& name) { register_buffer(name, rg::zeros({1})); }
        void add_child(const std::string& name) { register_module(name, std::make_shared<ReLU>()); }
        ModulePtr remove_child(const std::string& name) { return unregister_module(name); }
        rg::Tensor remove_parameter(const std::string& name) { return unregister_parameter(name); }
    };
    Owner owner;
    owner.add_parameter("w");
    owner.add_buffer("running");
    owner.add_child("act");
    CHECK_THROWS_WITH_AS(owner.add_buffer("w"), "register_buffer: the module already has a parameter 'w'", rg::Error);
    CHECK_THROWS_WITH_AS(owner.add_child("running"), "register_module: the module already has a buffer 'running'",
                         rg::Error);
    CHECK_THROWS_WITH_AS(owner.add_parameter("act"), "register_parameter: the module already has a child 'act'",
                         rg::Error);
    CHECK_THROWS_WITH_AS(owner.add_parameter(""), "register_parameter: the name is empty", rg::Error);
    CHECK_THROWS_WITH_AS(owner.add_child("a.b"),
                         "register_module: the name 'a.b' holds a '.', which separates a child's name from its own",
                         rg::Error);
    CHECK(owner.remove_child("act")->describe() == "ReLU()");
    CHECK_THROWS_WITH_AS(owner.remove_child("act"), "unregister_module: there is no child 'act'", rg::Error);
    CHECK(owner.remove_parameter("w").shape() == rg::Shape{1});
    CHECK_THROWS_WITH_AS(owner.remove_parameter("w"), "unregister_parameter: there is no parameter 'w'", rg::Error);
    CHECK(owner.named_parameters().empty());
    owner.add_parameter("w");  // free again
}

TEST_CASE("ModuleList names its modules by position, as PyTorch; insert renames those after") {
    rg::manual_seed(2);
    ModuleList blocks(Linear(3, 4), std::make_shared<Tanh>());
    blocks.push_back(Linear(4, 2, false));
    REQUIRE(blocks.size() == 3);
    const std::vector<std::string> names{"0.weight", "0.bias", "2.weight"};
    const auto named = blocks.named_parameters();
    REQUIRE(named.size() == names.size());
    for (std::size_t i = 0; i < names.size(); ++i) CHECK(named[i].first == names[i]);
    // The owner's forward iterates over it.
    rg::Tensor x = rg::randn({5, 3});
    rg::Tensor y = x;
    for (const auto& block : blocks) y = block->forward(y);
    CHECK(y.shape() == rg::Shape{5, 2});
    CHECK(blocks.at<Linear>(2).weight.same(named[2].second));
    CHECK(blocks.ptr<Tanh>(1) == blocks[1]);
    CHECK_THROWS_WITH_AS(blocks.at<Linear>(1), "ModuleList: the module at 1 is Tanh(), not a Linear", rg::Error);
    CHECK_THROWS_WITH_AS(blocks[3], "ModuleList: index 3 is out of range for 3 modules", rg::Error);

    auto first = std::make_shared<Linear>(3, 3);
    blocks.insert(0, first);
    const auto renamed = blocks.named_parameters();
    REQUIRE(renamed.size() == 5);
    CHECK(renamed[0].first == "0.weight");
    CHECK(renamed[0].second.same(first->weight));
    CHECK(renamed[2].first == "1.weight");
    CHECK(renamed[2].second.same(named[0].second));
    CHECK(renamed[4].first == "3.weight");
    CHECK(blocks.at<Linear>(3).weight.same(named[2].second));
    CHECK_THROWS_WITH_AS(blocks.insert(6, first),
                         "ModuleList: cannot insert at 6 in a list of 4 modules, expected at most 4", rg::Error);
    CHECK_THROWS_WITH_AS(blocks.push_back(ModulePtr{}), "ModuleList: the module to append is null", rg::Error);

    blocks.extend(blocks);  // shares, as LibTorch's extend
    CHECK(blocks.size() == 8);
    CHECK(blocks[4] == blocks[0]);
    CHECK(blocks.parameters().size() == 5);  // each shared tensor once, as PyTorch
    blocks.eval();
    CHECK(!blocks[7]->is_training());
    CHECK(blocks.describe() == "ModuleList(8 modules)");
    CHECK_THROWS_WITH_AS(blocks(x),
                         "ModuleList(8 modules): a container has no forward; the module that owns it calls what it "
                         "holds",
                         rg::Error);
}

TEST_CASE("ModuleDict keeps insertion order; a replaced module keeps its place") {
    rg::manual_seed(3);
    ModuleDict heads({{"mean", std::make_shared<Linear>(4, 2)}, {"scale", std::make_shared<Linear>(4, 2)}});
    heads.insert("act", ReLU());
    CHECK(heads.keys() == std::vector<std::string>{"mean", "scale", "act"});
    CHECK(heads.named_parameters()[2].first == "scale.weight");
    auto replacement = std::make_shared<Linear>(4, 3, false);
    heads.insert("mean", replacement);
    CHECK(heads.keys() == std::vector<std::string>{"mean", "scale", "act"});
    CHECK(heads.named_parameters()[0].second.same(replacement->weight));
    CHECK(heads.named_parameters()[1].first == "scale.weight");
    CHECK(heads.at<Linear>("mean").weight.shape() == rg::Shape{3, 4});
    CHECK(heads["act"]->describe() == "ReLU()");
    CHECK(heads.contains("scale"));
    CHECK(heads.describe() == "ModuleDict(mean, scale, act)");
    CHECK_THROWS_WITH_AS(heads["sd"], "ModuleDict: there is no module 'sd' (the keys: 'mean', 'scale', 'act')",
                         rg::Error);
    CHECK_THROWS_WITH_AS(heads.at<Linear>("act"), "ModuleDict: the module at 'act' is ReLU(), not a Linear", rg::Error);
    CHECK_THROWS_WITH_AS(heads.insert("a.b", ReLU()),
                         "ModuleDict: the key 'a.b' holds a '.', which separates a child's name from its own",
                         rg::Error);
    CHECK_THROWS_WITH_AS(heads.insert("", ReLU()), "ModuleDict: a key is empty", rg::Error);
    CHECK(heads.pop("scale")->describe() == "Linear(4, 2)");
    CHECK(heads.keys() == std::vector<std::string>{"mean", "act"});
    CHECK_THROWS_WITH_AS(heads.pop("scale"), "ModuleDict: there is no module 'scale' to pop (the keys: 'mean', 'act')",
                         rg::Error);
    heads.clear();
    CHECK(heads.empty());
    CHECK_THROWS_WITH_AS(heads["mean"], "ModuleDict: there is no module 'mean' (the keys: none)", rg::Error);
}

TEST_CASE("ParameterList and ParameterDict hold parameters under PyTorch's names") {
    ParameterList gains({rg::ones({2}), rg::zeros({3})});
    gains.append(rg::full({1}, 2.0));
    REQUIRE(gains.size() == 3);
    CHECK(gains.named_parameters()[2].first == "2");
    CHECK(gains[2].requires_grad());
    std::size_t elements = 0;
    for (const rg::Tensor& g : gains) elements += g.numel();
    CHECK(elements == 6);
    CHECK_THROWS_WITH_AS(gains[3], "ParameterList: index 3 is out of range for 3 parameters", rg::Error);
    CHECK_THROWS_WITH_AS(gains.append(rg::zeros({2}, {.dtype = rg::int64})),
                         "ParameterList: the parameter 3 is int64, expected a float32 or float64 tensor", rg::Error);
    CHECK_THROWS_WITH_AS(gains.append(rg::Tensor{}), "ParameterList: the parameter 3 is undefined", rg::Error);
    CHECK(gains.describe() == "ParameterList(3 parameters)");

    ParameterDict offsets({{"mean", rg::zeros({2})}, {"scale", rg::ones({2})}});
    offsets.insert("shift", rg::ones({1}));
    const rg::Tensor wider = offsets.insert("mean", rg::zeros({4}));
    CHECK(offsets.keys() == std::vector<std::string>{"mean", "scale", "shift"});
    CHECK(offsets.named_parameters()[0].second.same(wider));
    CHECK(offsets["mean"].shape() == rg::Shape{4});
    CHECK(offsets.pop("scale").shape() == rg::Shape{2});
    CHECK(offsets.describe() == "ParameterDict(mean, shift)");
    CHECK(offsets.named_parameters().size() == 2);
    CHECK_THROWS_WITH_AS(offsets["scale"], "ParameterDict: there is no parameter 'scale' (the keys: 'mean', 'shift')",
                         rg::Error);
    CHECK_THROWS_WITH_AS(offsets.insert("a.b", rg::ones({1})),
                         "ParameterDict: the key 'a.b' holds a '.', which separates a child's name from its own",
                         rg::Error);
    offsets.clear();
    CHECK(offsets.empty());
    CHECK(offsets.named_parameters().empty());
}
