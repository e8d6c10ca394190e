// The bool dtype and the ops around it: creation, casts, printing, views,
// counting, comparisons and their operators, logic, where and masked_fill
// (the causal mask of attention), and the dtype layer's refusal of a dtype
// outside its list.
#include <cmath>
#include <limits>

#include "helpers.hpp"

using rg::Tensor;
using rg::tensor;
using rg::TensorList;
using test::check_values;

namespace {
std::vector<double> values_of(const Tensor& t) { return t.to_vector(); }
const double inf = std::numeric_limits<double>::infinity();
}  // namespace

TEST_CASE("bool tensors: creation, size, casts both ways, item and printing") {
    const Tensor m = tensor({true, false, true});
    CHECK(m.dtype() == rg::bool_);
    CHECK(rg::dtype_name(rg::bool_) == "bool");
    CHECK(rg::dtype_size(rg::bool_) == 1);
    CHECK(m.nbytes() == 3);
    CHECK_FALSE(m.is_floating());
    CHECK(values_of(m) == std::vector<double>{1, 0, 1});
    CHECK(tensor({{true}, {false}}).shape() == rg::Shape{2, 1});
    CHECK(tensor({{true}, {false}}).dtype() == rg::bool_);
    CHECK(tensor({1.0, 0.0}).dtype() == rg::float32);  // numbers stay float32
    CHECK(tensor({true, false}, {.dtype = rg::float64}).dtype() == rg::float64);
    CHECK(values_of(rg::zeros({2}, {.dtype = rg::bool_})) == std::vector<double>{0, 0});
    CHECK(values_of(rg::ones({2}, {.dtype = rg::bool_})) == std::vector<double>{1, 1});
    CHECK(values_of(rg::full({2}, 2.5, {.dtype = rg::bool_})) == std::vector<double>{1, 1});
    CHECK(rg::zeros_like(m).dtype() == rg::bool_);
    // Casts: non-zero (NaN included) is true, as in PyTorch; true is 1.
    const Tensor b = tensor({0.0, -1.5, std::nan("")}).to(rg::bool_);
    CHECK(b.dtype() == rg::bool_);
    CHECK(values_of(b) == std::vector<double>{0, 1, 1});
    check_values(m.to(rg::float64), tensor({1.0, 0.0, 1.0}, {.dtype = rg::float64}));
    CHECK(m.to(rg::int64).dtype() == rg::int64);
    CHECK(values_of(rg::from_indices({0, 3, -2}).to(rg::bool_)) == std::vector<double>{0, 1, 1});
    CHECK(tensor(true).item<bool>());
    CHECK_FALSE(tensor(false).item<bool>());
    CHECK(tensor(true).item<double>() == 1.0);
    CHECK(tensor(0.25).item<bool>());
    CHECK(m.value<bool>()(1) == false);
    CHECK(Tensor(xt::xarray<bool>{true, false}).dtype() == rg::bool_);
    CHECK(rg::to_string(m) == "tensor([True, False, True], dtype=bool)");
    // Not differentiable, not random.
    CHECK_THROWS_WITH_AS(rg::zeros({2}, {.dtype = rg::bool_, .requires_grad = true}),
                         "zeros: bool tensors cannot require grad", rg::Error);
    Tensor leaf = tensor({true});
    CHECK_THROWS_WITH_AS(leaf.requires_grad_(),
                         "requires_grad_: bool tensors cannot require grad; convert with .to(rg::float32)", rg::Error);
    CHECK_THROWS_WITH_AS(rg::rand({2}, {.dtype = rg::bool_}), "rand: expected a float dtype, got bool", rg::Error);
    CHECK_THROWS_WITH_AS(rg::exp(m), "exp: expected a float32 or float64 tensor, got bool", rg::Error);
    CHECK_THROWS_WITH_AS(m + m, "add: expected float32 or float64 tensors, got bool", rg::Error);
    CHECK_THROWS_WITH_AS(rg::matmul(m.reshape({1, 3}), m.reshape({3, 1})),
                         "matmul: expected float32 or float64 tensors, got bool", rg::Error);
}

TEST_CASE("a dtype outside the list is an rg::Error naming the op, never another dtype") {
    const auto unknown = static_cast<rg::Dtype>(42);
    const std::string expected = "unknown dtype (enum value 42); expected float32, float64, int64, bool or bfloat16";
    CHECK(rg::dtype_name(unknown) == "unknown");
    CHECK_FALSE(rg::is_floating_point(unknown));
    CHECK_THROWS_WITH_AS(rg::dtype_size(unknown), ("dtype_size: " + expected).c_str(), rg::Error);
    CHECK_THROWS_WITH_AS(rg::zeros({2}, {.dtype = unknown}), ("zeros: " + expected).c_str(), rg::Error);
    CHECK_THROWS_WITH_AS(rg::from_vector({1.0}, {1}, {.dtype = unknown}), ("from_vector: " + expected).c_str(),
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::randn({2}, {.dtype = unknown}), ("randn: " + expected).c_str(), rg::Error);
    CHECK_THROWS_WITH_AS(tensor({1.0}).to(unknown), ("to: " + expected).c_str(), rg::Error);
}

TEST_CASE("views and shape ops carry bool values unchanged") {
    const Tensor m = tensor({{true, false, false}, {false, true, true}});  // (2, 3)
    const auto same = [](const Tensor& t, std::vector<double> expected) {
        CHECK(t.dtype() == rg::bool_);
        CHECK(values_of(t) == expected);
    };
    same(m.reshape({3, 2}), {1, 0, 0, 0, 1, 1});
    same(m.view({-1}), {1, 0, 0, 0, 1, 1});
    same(m.flatten(), {1, 0, 0, 0, 1, 1});
    same(m.t(), {1, 0, 0, 1, 0, 1});
    same(m.transpose(0, 1).contiguous(), {1, 0, 0, 1, 0, 1});
    same(m.permute({1, 0}).clone(), {1, 0, 0, 1, 0, 1});
    same(m.select(0, 1), {0, 1, 1});
    same(m.narrow(1, 1, 2), {0, 0, 1, 1});
    same(m.slice(1, 0, 3, 2), {1, 0, 0, 1});
    same(m.diagonal(), {1, 1});
    same(m.unsqueeze(0).squeeze(0), {1, 0, 0, 0, 1, 1});
    same(m.select(0, 0).unsqueeze(0).expand({2, 3}), {1, 0, 0, 1, 0, 0});
    same(rg::broadcast_to(tensor({true, false}), {2, 2}), {1, 0, 1, 0});
    same(rg::concat({m, m.select(0, 0).unsqueeze(0)}, 0), {1, 0, 0, 0, 1, 1, 1, 0, 0});
    same(rg::stack({m.select(0, 0), m.select(0, 1)}, 1), {1, 0, 0, 1, 0, 1});
    same(rg::index_select(m, 1, rg::from_indices({2, 0})), {0, 1, 1, 0});
    Tensor target = rg::zeros({2, 3}, {.dtype = rg::bool_});
    target.copy_(m.select(0, 1));
    same(target, {0, 1, 1, 0, 1, 1});
}

TEST_CASE("sum of a bool tensor counts its true values in int64; any and all") {
    const Tensor m = tensor({{true, false, true}, {false, false, true}});
    const Tensor total = rg::sum(m);
    CHECK(total.dtype() == rg::int64);
    CHECK(total.item<std::int64_t>() == 3);
    CHECK(values_of(m.sum(0)) == std::vector<double>{1, 0, 2});
    CHECK(m.sum(1, true).shape() == rg::Shape{2, 1});
    CHECK(rg::sum(rg::from_indices({4, -1, 2})).item<std::int64_t>() == 5);
    CHECK(m.any().item<bool>());
    CHECK_FALSE(m.all().item<bool>());
    CHECK(values_of(rg::any(m, {0})) == std::vector<double>{1, 0, 1});
    CHECK(values_of(rg::all(m, {0})) == std::vector<double>{0, 0, 1});
    CHECK(rg::all(m, {1}, true).shape() == rg::Shape{2, 1});
    CHECK(rg::any(m, {1}).dtype() == rg::bool_);
    CHECK(values_of(rg::any(tensor({{0.0, 0.5}, {0.0, 0.0}}), {1})) == std::vector<double>{1, 0});
    CHECK(rg::all(rg::zeros({0}, {.dtype = rg::bool_})).item<bool>());  // empty: vacuously true
    CHECK_FALSE(rg::any(rg::zeros({0}, {.dtype = rg::bool_})).item<bool>());
    CHECK_THROWS_WITH_AS(rg::mean(m),
                         "mean: expected a float32 or float64 tensor, got bool; convert with .to(rg::float32)",
                         rg::Error);
    CHECK(rg::mean(m.to(rg::float32)).item() == doctest::Approx(0.5));
}

TEST_CASE("comparisons: tensors, numbers and operators give bool masks, broadcasting") {
    const Tensor a = tensor({1.0, 2.0, 3.0}, {.requires_grad = true});
    const Tensor b = tensor({2.0, 2.0, 2.0});
    const auto mask = [](const Tensor& t, std::vector<double> expected) {
        CHECK(t.dtype() == rg::bool_);
        CHECK_FALSE(t.requires_grad());
        CHECK(values_of(t) == expected);
    };
    mask(a == b, {0, 1, 0});
    mask(a != b, {1, 0, 1});
    mask(a < b, {1, 0, 0});
    mask(a <= b, {1, 1, 0});
    mask(a > b, {0, 0, 1});
    mask(a >= b, {0, 1, 1});
    mask(a > 1.5, {0, 1, 1});
    mask(a == 2, {0, 1, 0});
    mask(rg::le(a, 2.0), {1, 1, 0});
    mask(rg::ne(a, 2.0), {1, 0, 1});
    mask(rg::ge(a, 3.0), {0, 0, 1});
    mask(2.0 < a, {0, 0, 1});  // a number on the left
    mask(2.0 >= a, {1, 1, 0});
    mask(2.0 == a, {0, 1, 0});
    mask(a.gt(b), {0, 0, 1});
    mask(a.le(2.0), {1, 1, 0});
    // Broadcasting: (2, 1) against (3,) gives (2, 3).
    const Tensor column = tensor({{1.0}, {3.0}});
    const Tensor outer = column < a;
    CHECK(outer.shape() == rg::Shape{2, 3});
    mask(outer, {0, 1, 1, 0, 0, 0});
    // Mixed dtypes compare in the wider one; a float32 meets a number in float32.
    mask(tensor({0.5, 2.0}) < tensor({1.0, 1.0}, {.dtype = rg::float64}), {1, 0});
    mask(rg::from_indices({1, 2}) == tensor({1.0, 2.5}), {1, 0});
    mask(rg::from_indices({1, 2}) < 1.5, {1, 0});
    mask(tensor({0.1}) == 0.1, {1});
    mask(tensor({true, false}) == tensor({true, true}), {1, 0});
    CHECK_THROWS_WITH_AS(rg::lt(a, tensor({1.0, 2.0})),
                         "lt: cannot broadcast (3,) with (2,): sizes 3 and 2 differ at axis -1", rg::Error);
}

TEST_CASE("logic on masks: logical_and/or/xor/not and the operators & | ^ ~") {
    const Tensor p = tensor({true, true, false, false});
    const Tensor q = tensor({true, false, true, false});
    CHECK(values_of(p & q) == std::vector<double>{1, 0, 0, 0});
    CHECK(values_of(p | q) == std::vector<double>{1, 1, 1, 0});
    CHECK(values_of(p ^ q) == std::vector<double>{0, 1, 1, 0});
    CHECK(values_of(~p) == std::vector<double>{0, 0, 1, 1});
    CHECK((p & q).dtype() == rg::bool_);
    CHECK(values_of(p.logical_and(q)) == std::vector<double>{1, 0, 0, 0});
    CHECK(values_of(p.logical_or(q)) == std::vector<double>{1, 1, 1, 0});
    CHECK(values_of(p.logical_not()) == std::vector<double>{0, 0, 1, 1});
    // The functions read any dtype, non-zero as true.
    CHECK(values_of(rg::logical_and(tensor({0.0, 2.0}), rg::from_indices({5, 1}))) == std::vector<double>{0, 1});
    CHECK(values_of(rg::logical_xor(tensor({0.0, 2.0}), tensor({true, true}))) == std::vector<double>{1, 0});
    CHECK(values_of(rg::logical_not(tensor({0.0, -3.0}))) == std::vector<double>{1, 0});
    const Tensor x = tensor({-1.0, 0.5, 2.0});
    CHECK(values_of((x > 0.0) & (x < 1.0)) == std::vector<double>{0, 1, 0});
    CHECK_THROWS_WITH_AS(x & (x > 0.0),
                         "operator&: expected bool tensors, got float32 and bool; compare first (x > 0), or use "
                         "rg::logical_and",
                         rg::Error);
    CHECK_THROWS_WITH_AS(~x,
                         "operator~: expected bool tensors, got float32 and float32; compare first (x > 0), or use "
                         "rg::logical_not",
                         rg::Error);
}

TEST_CASE("a bool mask multiplies a float tensor as 0 and 1, and the gradient flows to the float side") {
    rg::manual_seed(4);
    const Tensor mask = rg::randn({2, 3}) > 0.0;
    const Tensor x = test::rand64({2, 3});
    check_values(x * mask, rg::where(mask, x, 0.0));
    check_values(mask * x, rg::where(mask, x, 0.0));
    CHECK((x + mask).dtype() == rg::float64);
    test::check_gradients([mask](const TensorList& v) { return v[0] * mask + mask; }, {x});
}

TEST_CASE("where and masked_fill take bool masks; the gradient goes to the values picked") {
    rg::manual_seed(5);
    const Tensor keep = tensor({{true, false, true}});  // (1, 3): broadcasts over rows
    const Tensor x = test::rand64({2, 3});
    const Tensor y = test::rand64({2, 3});
    const Tensor picked = rg::where(keep, x, y);
    CHECK(values_of(picked)[1] == values_of(y)[1]);
    CHECK(values_of(picked)[3] == values_of(x)[3]);
    check_values(rg::where(keep, x, -1.0).select(0, 0).select(0, 1), tensor(-1.0, {.dtype = rg::float64}));
    check_values(rg::where(keep, 7.0, y).select(0, 1).select(0, 0), tensor(7.0, {.dtype = rg::float64}));
    const Tensor filled = x.masked_fill(keep, 0.5);
    CHECK(values_of(filled)[0] == 0.5);
    CHECK(values_of(filled)[1] == values_of(x)[1]);
    check_values(rg::masked_fill(x, keep, 0.5), filled);
    test::check_gradients([keep](const TensorList& v) { return rg::where(keep, v[0], v[1]); }, {x, y});
    test::check_gradients([keep](const TensorList& v) { return rg::masked_fill(v[0] * v[0], keep, -2.0); }, {x});
    test::check_gradients([keep](const TensorList& v) { return rg::where(~keep, v[0], 3.0); }, {x});
    // In place, on a non-leaf, recorded: the filled entries get no gradient.
    Tensor leaf = x.detach().clone();
    leaf.requires_grad_();
    Tensor h = leaf * 2.0;
    h.masked_fill_(keep, 0.0);
    h.sum().backward();
    check_values(leaf.grad(), rg::where(keep, 0.0, rg::full_like(x, 2.0)));
    // Wrong dtype, wrong shape.
    const Tensor float_mask = tensor({1.0, 0.0, 1.0});
    CHECK_THROWS_WITH_AS(rg::where(float_mask, x, y),
                         "where: the mask of shape (3,) is float32, expected a bool tensor (from a comparison such "
                         "as x > 0, or .to(rg::bool_))",
                         rg::Error);
    CHECK_THROWS_WITH_AS(x.masked_fill(float_mask, 0.0),
                         "masked_fill: the mask of shape (3,) is float32, expected a bool tensor (from a comparison "
                         "such as x > 0, or .to(rg::bool_))",
                         rg::Error);
    Tensor z = x.detach().clone();
    CHECK_THROWS_WITH_AS(z.masked_fill_(float_mask, 0.0),
                         "masked_fill_: the mask of shape (3,) is float32, expected a bool tensor (from a comparison "
                         "such as x > 0, or .to(rg::bool_))",
                         rg::Error);
    const Tensor long_mask = tensor({true, false, true, true});
    CHECK_THROWS_WITH_AS(x.masked_fill(long_mask, 0.0),
                         "masked_fill: mask of shape (4,) does not broadcast to the tensor's shape (2, 3)", rg::Error);
    CHECK_THROWS_WITH_AS(z.masked_fill_(tensor({{true}, {false}, {true}}), 0.0),
                         "masked_fill_: mask of shape (3, 1) does not broadcast to the tensor's shape (2, 3)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::where(long_mask, x, y),
                         "where: cannot broadcast (4,) with (2, 3): sizes 4 and 3 differ at axis -1", rg::Error);
}

TEST_CASE("the causal mask of attention: masked_fill(-inf) then softmax, gradients at both orders") {
    rg::manual_seed(6);
    constexpr std::int64_t T = 4;
    // j > i: the future of each query position, built from comparisons of arange.
    const Tensor i = rg::arange(static_cast<double>(T)).reshape({T, 1});
    const Tensor j = rg::arange(static_cast<double>(T)).reshape({1, T});
    const Tensor future = j > i;
    CHECK(future.dtype() == rg::bool_);
    CHECK(rg::sum(future).item<std::int64_t>() == T * (T - 1) / 2);
    const Tensor scores = test::rand64({2, T, T});
    const Tensor attention = rg::softmax(scores.masked_fill(future, -inf), -1);
    for (std::int64_t b = 0; b < 2; ++b)
        for (std::int64_t r = 0; r < T; ++r) {
            const auto row = values_of(attention.select(0, b).select(0, r));
            double total = 0;
            for (std::int64_t c = 0; c < T; ++c) {
                if (c > r) CHECK(row[static_cast<std::size_t>(c)] == 0.0);
                total += row[static_cast<std::size_t>(c)];
            }
            CHECK(total == doctest::Approx(1.0));
        }
    const Tensor values = test::rand64({2, T, 3}, false);
    test::check_gradients([future, values](
                              const TensorList&
                                  v) { return rg::matmul(rg::softmax(rg::masked_fill(v[0], future, -inf), -1), values); },
                          {scores});
    // Only the visible scores get a gradient.
    Tensor leaf = scores.detach().clone();
    leaf.requires_grad_();
    rg::matmul(rg::softmax(leaf.masked_fill(future, -inf), -1), values).sum().backward();
    for (double g : values_of(rg::where(future, leaf.grad(), 0.0))) CHECK(g == 0.0);
    CHECK(rg::any(rg::where(future, 0.0, leaf.grad()) != 0.0).item<bool>());
}

TEST_CASE("clamp with tensor bounds and with one bound") {
    rg::manual_seed(8);
    const Tensor x = tensor({-2.0, -0.5, 0.5, 2.0}, {.dtype = rg::float64});
    const Tensor low = tensor({-1.0, 0.0, 0.0, -1.0}, {.dtype = rg::float64});
    check_values(rg::clamp(x, low, tensor(1.0, {.dtype = rg::float64})),
                 tensor({-1.0, 0.0, 0.5, 1.0}, {.dtype = rg::float64}));
    check_values(rg::clamp_min(x, low), tensor({-1.0, 0.0, 0.5, 2.0}, {.dtype = rg::float64}));
    check_values(rg::clamp_max(x, low), tensor({-2.0, -0.5, 0.0, -1.0}, {.dtype = rg::float64}));
    check_values(rg::clamp(x, low, Tensor{}), rg::clamp_min(x, low));
    check_values(rg::clamp(x, Tensor{}, low), rg::clamp_max(x, low));
    check_values(rg::clamp_min(x, 0.0), tensor({0.0, 0.0, 0.5, 2.0}, {.dtype = rg::float64}));
    check_values(x.clamp_max(0.0), tensor({-2.0, -0.5, 0.0, 0.0}, {.dtype = rg::float64}));
    check_values(rg::clamp(x, std::nullopt, 1.0), tensor({-2.0, -0.5, 0.5, 1.0}, {.dtype = rg::float64}));
    check_values(rg::clamp(x, -1.0, std::nullopt), tensor({-1.0, -0.5, 0.5, 2.0}, {.dtype = rg::float64}));
    // low > high: high wins, as in PyTorch.
    check_values(rg::clamp(x, tensor(1.0, {.dtype = rg::float64}), tensor(0.0, {.dtype = rg::float64})),
                 rg::zeros({4}, {.dtype = rg::float64}));
    // Broadcasting bounds; gradients to x and to both bounds at both orders.
    const Tensor xs = test::rand64({2, 3}), lo = test::rand64({3}), hi = test::rand64({2, 1});
    test::check_gradients([](const TensorList& v) { return rg::clamp(v[0], v[1] - 0.5, v[2] + 0.5); }, {xs, lo, hi});
    test::check_gradients([](const TensorList& v) { return rg::clamp_min(v[0] * v[0], 0.3); }, {xs});
    // At a tie x == bound the gradient goes to x, as PyTorch's (x >= min) mask.
    const Tensor at = tensor({0.0, 1.0}, {.dtype = rg::float64, .requires_grad = true});
    const Tensor bound = tensor({0.0, 0.0}, {.dtype = rg::float64, .requires_grad = true});
    rg::clamp_min(at, bound).sum().backward();
    check_values(at.grad(), tensor({1.0, 1.0}, {.dtype = rg::float64}));
    check_values(bound.grad(), tensor({0.0, 0.0}, {.dtype = rg::float64}));
    CHECK_THROWS_WITH_AS(rg::clamp(x, std::nullopt, std::nullopt), "clamp: at least one of low and high must be given",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::clamp(x, Tensor{}, Tensor{}), "clamp: at least one of low and high must be given",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::clamp_min(x, tensor({0.0})),
                         "clamp_min: dtype mismatch, float64 and float32; convert one side with .to(rg::float64)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::clamp(x, low, rg::zeros({3}, {.dtype = rg::float64})),
                         "clamp: cannot broadcast (4,) with (3,): sizes 4 and 3 differ at axis -1", rg::Error);
    CHECK_THROWS_WITH_AS(rg::clamp_max(x, std::nan("")), "clamp_max: high is NaN", rg::Error);
}
