// torch.nn.init's structured initialisers (eye_, dirac_, orthogonal_,
// trunc_normal_, sparse_) by their defining properties, and torch.nn.utils'
// parameters_to_vector, vector_to_parameters and pad_sequence by values,
// gradients and bad input.
#include "helpers.hpp"

#include <cmath>
#include <numbers>

using namespace rg::nn;
using rg::Tensor;
using rg::TensorList;
using test::check_values;
using test::f64;

namespace {

// Same shape and values, whatever the dtypes.
bool same(const Tensor& a, const Tensor& b) { return a.shape() == b.shape() && a.to_vector() == b.to_vector(); }

// Whether m is upper triangular with a positive diagonal (to 1e-9).
bool upper_with_positive_diagonal(const Tensor& m) {
    const std::vector<double> v = m.to_vector();
    const std::size_t n = m.shape()[0];
    for (std::size_t i = 0; i < n; ++i) {
        if (v[i * n + i] <= 0) return false;
        for (std::size_t j = 0; j < i; ++j)
            if (std::abs(v[i * n + j]) > 1e-9) return false;
    }
    return true;
}
}  // namespace

TEST_CASE("init::orthogonal_: orthonormal rows or columns times gain, from the QR of a normal matrix") {
    const double gain = 1.5;
    for (const rg::Shape& shape : {rg::Shape{3, 5}, rg::Shape{5, 3}, rg::Shape{4, 4}, rg::Shape{4, 2, 3}}) {
        CAPTURE(rg::shape_str(shape));
        rg::manual_seed(11);
        Tensor w = rg::zeros(shape, f64());
        init::orthogonal_(w, gain);
        const std::int64_t rows = static_cast<std::int64_t>(shape[0]);
        Tensor flat = rg::reshape(w, {rows, -1});
        const auto cols = static_cast<std::int64_t>(flat.shape()[1]);
        const bool tall = rows >= cols;
        Tensor gram = tall ? rg::matmul(rg::transpose(flat), flat) : rg::matmul(flat, rg::transpose(flat));
        check_values(gram, rg::eye(std::min(rows, cols), f64()) * (gain * gain), 1e-6);
        // The same draw is Q R with R upper triangular and a positive diagonal
        // (torch's sign correction): R = Qᵀ N for a tall N, R = W Nᵀ for a wide one.
        rg::manual_seed(11);
        Tensor normal = rg::randn({rows, cols}, f64());
        Tensor r = tall ? rg::matmul(rg::transpose(flat), normal) : rg::matmul(flat, rg::transpose(normal));
        CHECK(upper_with_positive_diagonal(r / gain));
        // Deterministic under manual_seed.
        rg::manual_seed(11);
        Tensor again = rg::zeros(shape, f64());
        init::orthogonal_(again, gain);
        CHECK(same(w, again));
    }
    Tensor single = rg::zeros({8, 6});  // float32, and a parameter
    init::orthogonal_(single);
    check_values(rg::matmul(rg::transpose(single), single), rg::eye(6), 1e-5);
    Tensor vector = rg::zeros({3});
    CHECK_THROWS_WITH_AS(init::orthogonal_(vector),
                         "init::orthogonal_: expected a tensor of rank 2 or more, got shape (3,)", rg::Error);
    Tensor integers = rg::zeros({3, 3}, {.dtype = rg::int64});
    CHECK_THROWS_WITH_AS(init::orthogonal_(integers),
                         "init::orthogonal_: expected a float32 or float64 tensor, got int64", rg::Error);
}

TEST_CASE("init::eye_ and ones_: exact values") {
    Tensor wide = rg::full({2, 3}, 7.0);
    init::eye_(wide);
    CHECK(same(wide, rg::tensor({{1.0, 0.0, 0.0}, {0.0, 1.0, 0.0}})));
    Tensor tall = rg::full({3, 2}, 7.0, {.requires_grad = true});
    init::eye_(tall);
    CHECK(same(tall, rg::tensor({{1.0, 0.0}, {0.0, 1.0}, {0.0, 0.0}})));
    init::ones_(tall);
    CHECK(same(tall, rg::ones({3, 2})));
    Tensor cube = rg::zeros({2, 2, 2});
    CHECK_THROWS_WITH_AS(init::eye_(cube), "init::eye_: expected a tensor of rank 2, got shape (2, 2, 2)", rg::Error);
}

TEST_CASE("init::dirac_: a convolution with it returns its input's channels") {
    rg::manual_seed(2);
    Tensor x = rg::randn({2, 4, 5, 6});
    rg::Conv2dOptions padded{.padding = {1, 1}};
    Tensor w = rg::full({4, 4, 3, 3}, 9.0);
    init::dirac_(w);
    check_values(rg::conv2d(x, w, {}, padded), x);
    // groups 2: (4, 2, 3, 3), each group's two outputs copy its two inputs.
    Tensor grouped = rg::full({4, 2, 3, 3}, 9.0);
    init::dirac_(grouped, 2);
    padded.groups = 2;
    check_values(rg::conv2d(x, grouped, {}, padded), x);
    // More outputs than inputs: the extra ones are zero; an even kernel's centre is size / 2.
    Tensor more = rg::full({6, 4, 2, 2}, 9.0);
    init::dirac_(more);
    CHECK(rg::sum(more).item() == 4.0);
    CHECK(more.to_vector()[(2 * 4 + 2) * 4 + 1 * 2 + 1] == 1.0);
    Tensor one_d = rg::zeros({2, 2, 3});
    init::dirac_(one_d);
    CHECK(same(one_d, rg::tensor({{{0.0, 1.0, 0.0}, {0.0, 0.0, 0.0}}, {{0.0, 0.0, 0.0}, {0.0, 1.0, 0.0}}})));
    Tensor matrix = rg::zeros({2, 2});
    CHECK_THROWS_WITH_AS(init::dirac_(matrix),
                         "init::dirac_: expected a convolution weight of rank 3, 4 or 5, got shape (2, 2)", rg::Error);
    CHECK_THROWS_WITH_AS(init::dirac_(w, 3),
                         "init::dirac_: groups 3 must be positive and divide the first size of shape (4, 4, 3, 3)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(init::dirac_(w, 0),
                         "init::dirac_: groups 0 must be positive and divide the first size of shape (4, 4, 3, 3)",
                         rg::Error);
}

TEST_CASE("init::trunc_normal_: values inside [a, b], with the truncated normal's mean and std") {
    const double mean = 0.5, std = 2.0, a = -1.0, b = 3.0;
    rg::manual_seed(5);
    Tensor w = rg::zeros({100000}, f64());
    init::trunc_normal_(w, mean, std, a, b);
    CHECK(rg::min(w).item() >= a);
    CHECK(rg::max(w).item() <= b);
    const auto pdf = [](double z) { return std::exp(-z * z / 2) / std::sqrt(2 * std::numbers::pi); };
    const auto cdf = [](double z) { return 0.5 * (1 + std::erf(z / std::numbers::sqrt2)); };
    const double alpha = (a - mean) / std, beta = (b - mean) / std;
    const double mass = cdf(beta) - cdf(alpha);
    const double shift = (pdf(alpha) - pdf(beta)) / mass;
    const double expected_mean = mean + std * shift;
    const double expected_std = std * std::sqrt(1 + (alpha * pdf(alpha) - beta * pdf(beta)) / mass - shift * shift);
    // Standard errors: about 0.004 for the mean and 0.003 for the std.
    CHECK(std::abs(rg::mean(w).item() - expected_mean) < 0.02);
    CHECK(std::sqrt(rg::var(w).item()) == doctest::Approx(expected_std).epsilon(0.01));
    // The defaults: N(0, 1) in [-2, 2]; float32 stays inside too.
    Tensor single = rg::zeros({1000});
    init::trunc_normal_(single);
    CHECK(rg::max(rg::abs(single)).item() <= 2.0);
    // a == b, and std 0: the bound, the mean clamped.
    init::trunc_normal_(single, 0.0, 1.0, 0.25, 0.25);
    CHECK(same(single, rg::full({1000}, 0.25)));
    init::trunc_normal_(single, 5.0, 0.0, -1.0, 1.0);
    CHECK(same(single, rg::ones({1000})));
    rg::manual_seed(9);
    Tensor first = rg::zeros({50});
    init::trunc_normal_(first);
    rg::manual_seed(9);
    Tensor second = rg::zeros({50});
    init::trunc_normal_(second);
    CHECK(same(first, second));
    CHECK_THROWS_WITH_AS(init::trunc_normal_(w, 0.0, -1.0), "init::trunc_normal_: std -1 must not be negative",
                         rg::Error);
    CHECK_THROWS_WITH_AS(init::trunc_normal_(w, 0.0, 1.0, 3.0, 1.0),
                         "init::trunc_normal_: the bounds [3, 1] must satisfy a <= b", rg::Error);
}

TEST_CASE("init::sparse_: ceil(sparsity * rows) zeros in each column") {
    rg::manual_seed(4);
    Tensor w = rg::zeros({10, 7});
    init::sparse_(w, 0.25, 1.0);  // ceil(2.5) = 3 zeros per column
    const std::vector<double> v = w.to_vector();
    for (std::size_t col = 0; col < 7; ++col) {
        int zeros = 0;
        for (std::size_t row = 0; row < 10; ++row) zeros += v[row * 7 + col] == 0.0 ? 1 : 0;
        CHECK(zeros == 3);
    }
    CHECK(std::sqrt(rg::var(w).item()) > 0.5);  // std 1 where not zero
    init::sparse_(w, 0.0);
    CHECK(rg::min(rg::abs(w)).item() > 0.0);
    init::sparse_(w, 1.0);
    CHECK(rg::sum(rg::abs(w)).item() == 0.0);
    Tensor vector = rg::zeros({3});
    CHECK_THROWS_WITH_AS(init::sparse_(vector, 0.5), "init::sparse_: expected a tensor of rank 2, got shape (3,)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(init::sparse_(w, 1.5), "init::sparse_: sparsity 1.5 must be in [0, 1]", rg::Error);
    CHECK_THROWS_WITH_AS(init::sparse_(w, -0.1), "init::sparse_: sparsity -0.1 must be in [0, 1]", rg::Error);
    CHECK_THROWS_WITH_AS(init::sparse_(w, 0.5, -0.01), "init::sparse_: std -0.01 must not be negative", rg::Error);
}

TEST_CASE("utils::parameters_to_vector and vector_to_parameters: a round trip, and the gradient") {
    rg::manual_seed(1);
    Linear linear(3, 2);
    const TensorList params = linear.parameters();
    Tensor flat = utils::parameters_to_vector(params);
    CHECK(flat.shape() == rg::Shape{8});
    CHECK(same(flat, rg::concat({rg::reshape(params[0], {-1}), params[1]})));
    // Gradient: each parameter gets its slice.
    rg::sum(flat * 2.0).backward();
    CHECK(same(params[0].grad(), rg::full({2, 3}, 2.0)));
    CHECK(same(params[1].grad(), rg::full({2}, 2.0)));
    test::check_gradients([](const TensorList& v) { return utils::parameters_to_vector(v); },
                          {test::rand64({2, 3}), test::rand64({4})});
    // Back: written in place, not recorded, the parameters still leaves.
    Tensor values = rg::arange(8.0);
    utils::vector_to_parameters(values, params);
    CHECK(same(linear.weight, rg::tensor({{0.0, 1.0, 2.0}, {3.0, 4.0, 5.0}})));
    CHECK(same(linear.bias, rg::tensor({6.0, 7.0})));
    CHECK(linear.weight.requires_grad());
    CHECK(same(utils::parameters_to_vector(linear.parameters()), values));
    CHECK_THROWS_WITH_AS(utils::vector_to_parameters(rg::zeros({9}), params),
                         "vector_to_parameters: the vector has 9 elements but the 2 parameters have 8 in all",
                         rg::Error);
    CHECK_THROWS_WITH_AS(utils::vector_to_parameters(rg::zeros({2, 4}), params),
                         "vector_to_parameters: expected a 1-D vector, got shape (2, 4)", rg::Error);
    CHECK_THROWS_WITH_AS(utils::parameters_to_vector({}),
                         "parameters_to_vector: no parameters, expected at least one tensor", rg::Error);
    CHECK_THROWS_WITH_AS(utils::parameters_to_vector({rg::zeros({2}), rg::zeros({2}, f64())}),
                         "parameters_to_vector: parameter 1 is float64 but parameter 0 is float32; the dtypes must "
                         "match",
                         rg::Error);
}

TEST_CASE("utils::rnn::pad_sequence: both layouts, the padding value, trailing sizes, gradients") {
    Tensor a = rg::tensor({{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}});
    Tensor b = rg::tensor({{7.0, 8.0}});
    Tensor time_first = utils::rnn::pad_sequence({a, b});
    CHECK(time_first.shape() == rg::Shape{3, 2, 2});
    CHECK(same(time_first, rg::tensor({{{1.0, 2.0}, {7.0, 8.0}}, {{3.0, 4.0}, {0.0, 0.0}}, {{5.0, 6.0}, {0.0, 0.0}}})));
    Tensor batch_first = utils::rnn::pad_sequence({a, b}, true, -1.0);
    CHECK(batch_first.shape() == rg::Shape{2, 3, 2});
    CHECK(same(batch_first,
               rg::tensor({{{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}}, {{7.0, 8.0}, {-1.0, -1.0}, {-1.0, -1.0}}})));
    // 1-D sequences, one of them empty, and integers (token ids).
    Tensor ids =
        utils::rnn::pad_sequence({rg::from_indices({4, 5}), rg::from_indices({}), rg::from_indices({6})}, true, 9);
    CHECK(ids.dtype() == rg::int64);
    CHECK(same(ids, rg::from_indices({4, 5, 9, 9, 6, 9}, {3, 2})));
    // Two trailing axes.
    Tensor c = rg::zeros({1, 2, 3});
    CHECK(utils::rnn::pad_sequence({c, rg::zeros({4, 2, 3})}).shape() == rg::Shape{4, 2, 2, 3});
    for (bool first : {false, true}) {
        test::check_gradients([first](const TensorList& v) { return utils::rnn::pad_sequence(v, first, 0.5); },
                              {test::rand64({3, 2}), test::rand64({1, 2}), test::rand64({2, 2})});
    }
    CHECK_THROWS_WITH_AS(utils::rnn::pad_sequence({}),
                         "pad_sequence: no sequences, expected at least one tensor of shape (L, *)", rg::Error);
    CHECK_THROWS_WITH_AS(utils::rnn::pad_sequence({rg::zeros({2, 3}), rg::zeros({4, 2})}),
                         "pad_sequence: sequence 1 has shape (4, 2) but sequence 0 has (2, 3); the sizes after the "
                         "first must match",
                         rg::Error);
    CHECK_THROWS_WITH_AS(utils::rnn::pad_sequence({rg::zeros({2, 3}), rg::zeros({4})}),
                         "pad_sequence: sequence 1 has shape (4,) but sequence 0 has (2, 3); the sizes after the "
                         "first must match",
                         rg::Error);
    CHECK_THROWS_WITH_AS(utils::rnn::pad_sequence({rg::zeros({2}), rg::zeros({2}, f64())}),
                         "pad_sequence: sequence 1 is float64 but sequence 0 is float32; the dtypes must match",
                         rg::Error);
    CHECK_THROWS_WITH_AS(utils::rnn::pad_sequence({rg::zeros(rg::Shape{})}),
                         "pad_sequence: sequence 0 is a scalar, expected a tensor of shape (L, *)", rg::Error);
}
