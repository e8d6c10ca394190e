// rg::checkpoint (activation checkpointing) and the random generator's state.
#include "helpers.hpp"

#include <retrograd/activation_checkpoint.hpp>
#include <retrograd/random_state.hpp>

#include <doctest/doctest.h>

#include <random>

using rg::Tensor;
using rg::TensorList;

namespace {

// Two Linear layers with tanh and dropout between them: a block with
// parameters the checkpoint must find, and random draws it must replay.
struct Block {
    std::shared_ptr<rg::nn::Linear> first = std::make_shared<rg::nn::Linear>(5, 7);
    std::shared_ptr<rg::nn::Linear> second = std::make_shared<rg::nn::Linear>(7, 3);
    double p = 0.0;
    Tensor operator()(const Tensor& x) const { return (*second)(rg::dropout(rg::tanh((*first)(x)), p, p > 0)); }
    TensorList parameters() const { return {first->weight, first->bias, second->weight, second->bias}; }
};

TensorList gradients_of(const Tensor& x, const Block& block) {
    TensorList out = {x.grad()};
    for (const Tensor& p : block.parameters()) out.push_back(p.grad());
    return out;
}

void clear(Tensor x, const Block& block) {
    x.zero_grad();
    for (Tensor p : block.parameters()) p.zero_grad();
}

// The gradients of sum(sin(block(x))) with and without the checkpoint.
void check_same_gradients(Block& block, const Tensor& x) {
    rg::manual_seed(11);
    rg::sum(rg::sin(block(x))).backward();
    const TensorList plain = gradients_of(x, block);
    clear(x, block);
    rg::manual_seed(11);
    Tensor y = rg::checkpoint([&](const TensorList& in) { return block(in[0]); }, {x});
    CHECK(y.grad_fn()->op() == "checkpoint");
    rg::sum(rg::sin(y)).backward();
    const TensorList checkpointed = gradients_of(x, block);
    for (std::size_t i = 0; i < plain.size(); ++i) {
        REQUIRE(checkpointed[i].defined());
        test::check_values(checkpointed[i], plain[i], 1e-6);
    }
}

}  // namespace

TEST_CASE("checkpoint gives the gradients of the plain function, to its input and the parameters it reads") {
    Block block;
    check_same_gradients(block, rg::randn({4, 5}, {.requires_grad = true}));
}

TEST_CASE("checkpoint replays the random draws of the first run, so dropout keeps its mask") {
    Block block;
    block.p = 0.5;
    check_same_gradients(block, rg::randn({6, 5}, {.requires_grad = true}));

    // The generator ends where it would without the checkpoint, backward included.
    const Tensor x = rg::randn({6, 5}, {.requires_grad = true});
    rg::manual_seed(3);
    Tensor y = rg::checkpoint([&](const TensorList& in) { return block(in[0]); }, {x});
    rg::sum(y).backward();
    const Tensor after = rg::rand({4});
    rg::manual_seed(3);
    (void)block(x);
    test::check_values(after, rg::rand({4}), 0.0);
}

TEST_CASE("checkpoint of an input that does not need grad still trains the parameters inside") {
    Block block;
    const Tensor x = rg::randn({4, 5});
    rg::sum(rg::checkpoint([&](const TensorList& in) { return block(in[0]); }, {x})).backward();
    const TensorList with = {block.first->weight.grad(), block.second->bias.grad()};
    block.first->weight.zero_grad();
    block.second->bias.zero_grad();
    rg::sum(block(x)).backward();
    test::check_values(with[0], block.first->weight.grad());
    test::check_values(with[1], block.second->bias.grad());

    // rg::grad with respect to a parameter works through the checkpoint too.
    auto [gw] = rg::grad(rg::sum(rg::checkpoint([&](const TensorList& in) { return block(in[0]); }, {x})),
                         {block.first->weight});
    test::check_values(gw, block.first->weight.grad());
}

TEST_CASE("checkpoint passes gradcheck and gradgradcheck in float64, inputs and read tensors") {
    auto f = [](const TensorList& in) {
        const Tensor w = in[1];
        return rg::checkpoint([w](const TensorList& x) { return rg::tanh(rg::matmul(x[0], w)) * rg::sigmoid(x[1]); },
                              {in[0], in[2]});
    };
    test::check_gradients(f, {test::rand64({3, 4}), test::rand64({4, 2}), test::rand64({3, 2})});
}

TEST_CASE("checkpoints nest") {
    Block block;
    block.p = 0.3;
    const Tensor x = rg::randn({4, 5}, {.requires_grad = true});
    const auto inner = [&](const TensorList& in) { return rg::tanh((*block.first)(in[0])); };
    const auto outer = [&](const TensorList& in) {
        return (*block.second)(rg::dropout(rg::checkpoint(inner, {in[0]}), block.p, true));
    };
    rg::manual_seed(9);
    rg::sum(rg::square(rg::checkpoint(outer, {x}))).backward();
    const TensorList nested = gradients_of(x, block);
    clear(x, block);
    rg::manual_seed(9);
    rg::sum(rg::square(block(x))).backward();
    const TensorList plain = gradients_of(x, block);
    for (std::size_t i = 0; i < plain.size(); ++i) test::check_values(nested[i], plain[i], 1e-6);

    auto nested64 = [](const TensorList& in) {
        return rg::checkpoint(
            [](const TensorList& a) {
                return rg::exp(rg::checkpoint([](const TensorList& b) { return rg::sin(b[0] * b[1]); }, a)) + a[0];
            },
            in);
    };
    test::check_gradients(nested64, {test::rand64({2, 3}), test::rand64({2, 3})});
}

TEST_CASE("checkpoint refuses what it cannot recompute, and runs plainly without grad") {
    const Tensor x = rg::randn({2, 3});
    CHECK_THROWS_WITH_AS(rg::checkpoint([](const TensorList& in) { return in[0] * 2.0; }, {x}),
                         "checkpoint: none of the 1 inputs requires grad, nor any tensor fn reads, so its output has "
                         "no gradient to recompute (PyTorch warns: \"None of the inputs have requires_grad=True\"); "
                         "call fn directly, or pass an input that requires grad",
                         rg::Error);
    const Tensor w = rg::randn({3}, {.requires_grad = true});
    const Tensor computed = w * 3.0;
    CHECK_THROWS_WITH_AS(rg::checkpoint([&](const TensorList& in) { return in[0] * computed; }, {x}),
                         "checkpoint: fn reads a tensor computed outside it (by op 'mul_scalar') that requires grad; "
                         "pass "
                         "it to fn through the inputs, so that its gradient reaches that history",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::checkpoint([](const TensorList&) { return Tensor{}; }, {w}),
                         "checkpoint: fn returned an undefined tensor; expected its output", rg::Error);
    CHECK_THROWS_WITH_AS(rg::checkpoint([](const TensorList& in) { return in[0]; }, {w, Tensor{}}),
                         "checkpoint: input 1 is undefined; expected defined tensors", rg::Error);
    CHECK_THROWS_WITH_AS(rg::checkpoint(rg::CheckpointFunction{}, {w}),
                         "checkpoint: fn is empty; expected a function of the inputs", rg::Error);
    rg::NoGrad off;
    const Tensor y = rg::checkpoint([](const TensorList& in) { return in[0] * 2.0; }, {w});
    CHECK_FALSE(y.requires_grad());
    test::check_values(y, w.detach() * 2.0, 0.0);
}

TEST_CASE("get_rng_state and set_rng_state replay the same draws") {
    rg::manual_seed(21);
    const rg::RngState state = rg::get_rng_state();
    const Tensor first = rg::randn({5});
    (void)rg::rand({3});
    rg::set_rng_state(state);
    test::check_values(rg::randn({5}), first, 0.0);
    rg::set_rng_state(rg::RngState{});
    const Tensor from_default = rg::rand({2});
    rg::manual_seed(5489);
    test::check_values(rg::rand({2}), from_default, 0.0);
}

TEST_CASE("rand draws what std::uniform_real_distribution<double> draws from the same engine") {
    rg::manual_seed(77);
    const Tensor drawn = rg::rand({1000}, {.dtype = rg::float64});
    std::mt19937_64 engine(77);
    std::uniform_real_distribution<double> dist(0.0, 1.0);
    const double* values = drawn.data_ptr<double>();
    for (int i = 0; i < 1000; ++i) REQUIRE(values[i] == dist(engine));
}
