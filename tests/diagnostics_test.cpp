// rg::nn::diagnose: the numbers and warnings of dead, saturated and vanishing layers.
#include "helpers.hpp"

using namespace rg::nn;

namespace {
LossFn ce = [](const rg::Tensor& out, const rg::Tensor& t) { return cross_entropy(out, t); };
bool warns(const Diagnostics& d, const std::string& text) {
    for (const auto& w : d.warnings)
        if (w.find(text) != std::string::npos) return true;
    return false;
}
}  // namespace

TEST_CASE("diagnose reports dead ReLU units and the silent layer before them") {
    rg::manual_seed(0);
    Sequential net{Linear(4, 8), ReLU(), Linear(8, 2)};
    init::constant_(static_cast<Linear&>(net[0]).bias, -100.0);
    auto d = diagnose(net, rg::randn({16, 4}), rg::randint(0, 2, {16}), ce);
    REQUIRE(d.layers.size() == 3);
    CHECK(d.layers[1].dead_fraction == 1.0);
    CHECK(d.layers[0].grad_norm == 0.0);
    CHECK(warns(d, "1: ReLU(): 100.0% of its units are dead"));
    CHECK(warns(d, "0: Linear(4, 8): vanishing gradient"));
    CHECK(d.text().find("grad norm") != std::string::npos);
}

TEST_CASE("diagnose reports saturated sigmoid and tanh outputs, and a healthy net has no warning") {
    rg::manual_seed(1);
    Sequential saturated{Linear(4, 8), Sigmoid(), Linear(8, 8), Tanh(), Linear(8, 2)};
    for (auto& p : saturated.parameters()) init::constant_(p, 5.0);
    auto d = diagnose(saturated, rg::ones({8, 4}), rg::randint(0, 2, {8}), ce);
    CHECK(d.layers[1].saturated_fraction == 1.0);
    CHECK(d.layers[3].saturated_fraction == 1.0);
    CHECK(warns(d, "Sigmoid(): 100.0% of its outputs are saturated"));
    Sequential healthy{Linear(4, 8), ReLU(), Linear(8, 2)};
    auto h = diagnose(healthy, rg::randn({32, 4}), rg::randint(0, 2, {32}), ce);
    CHECK(h.warnings.empty());
    CHECK(h.layers[1].dead_fraction < 0.5);
}
