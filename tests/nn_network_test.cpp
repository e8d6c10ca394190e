// The course's Network facade (*Réseaux de neurones en pratique*, parts X-XI) on XOR.
#include <sstream>

#include "helpers.hpp"

using namespace rg::nn;

TEST_CASE("Network trains the course's XOR network to outputs within 0.05 of 0, 1, 1, 0") {
    // The seed: FC(2, 3), tanh, FC(3, 1), tanh; mse; 1000 epochs at 0.1, sample by sample.
    rg::manual_seed(0);
    auto x = rg::tensor({{0, 0}, {0, 1}, {1, 0}, {1, 1}});
    auto y = rg::tensor({{0}, {1}, {1}, {0}});
    Network net;
    net.add(Linear(2, 3));
    net.add(Tanh());
    net.add(Linear(3, 1));
    net.add(Tanh());
    net.use(mse_loss);
    std::ostringstream log;
    auto history = net.fit(x, y, {.epochs = 1000, .learning_rate = 0.1, .out = &log});
    CHECK(log.str().rfind("epoch 1/1000  error=", 0) == 0);
    CHECK(history.loss.size() == 1000);
    CHECK(history.loss.back() < history.loss.front());
    auto out = net.predict(x).to_vector();
    CHECK(std::abs(out[0] - 0.0) < 0.05);
    CHECK(std::abs(out[1] - 1.0) < 0.05);
    CHECK(std::abs(out[2] - 1.0) < 0.05);
    CHECK(std::abs(out[3] - 0.0) < 0.05);
}

TEST_CASE("Network fits in mini-batches and reports misuse") {
    rg::manual_seed(1);
    Network net;
    CHECK_THROWS_WITH_AS(net.fit(rg::ones({2, 1}), rg::ones({2, 1}), {}), doctest::Contains("no layers"), rg::Error);
    net.add(Linear(1, 1));
    CHECK_THROWS_WITH_AS(net.fit(rg::ones({2, 1}), rg::ones({2, 1}), {}), doctest::Contains("no loss chosen"),
                         rg::Error);
    net.use([](const rg::Tensor& p, const rg::Tensor& t) { return half_sse(p, t); });
    CHECK_THROWS_WITH_AS(net.fit(rg::ones({2, 1}), rg::ones({3, 1}), {}), doctest::Contains("same number of samples"),
                         rg::Error);
    // y = 2x + 1 by linear regression in batches of 4.
    auto x = rg::reshape(rg::linspace(-1, 1, 16), rg::Shape{16, 1});
    auto y = x * 2.0 + 1.0;
    auto h = net.fit(x, y, {.epochs = 300, .learning_rate = 0.05, .batch_size = 4, .shuffle = true, .verbose = false});
    CHECK(h.loss.back() < 1e-4);
    auto fc = net.layers().named_parameters();
    CHECK(fc[0].second.item() == doctest::Approx(2.0).epsilon(0.01));
    CHECK(fc[1].second.item() == doctest::Approx(1.0).epsilon(0.01));
}
