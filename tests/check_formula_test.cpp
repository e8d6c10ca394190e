// rg::check_formula: passes right formulas, points at the wrong element of a wrong one,
// and names the pattern of the error (shape, factor, sign, offset, transpose, rows).
#include <sstream>

#include "helpers.hpp"

using rg::TensorList;

TEST_CASE("check_formula reports the worst element of a wrong derivative") {
    auto x = rg::tensor({0.5, -1.0, 3.0}, {.dtype = rg::float64});
    // A classic slip: d/dx x³ written as 3x.
    auto report = rg::check_formula([](const TensorList& v) { return rg::pow(v[0], 3.0); }, {x},
                                    [](const TensorList& v) { return TensorList{v[0] * 3.0}; });
    CHECK_FALSE(report.ok);
    REQUIRE(report.checks.size() == 1);
    CHECK(report.checks[0].worst == "[2]");
    CHECK(report.checks[0].autodiff == doctest::Approx(27.0));
    CHECK(report.checks[0].formula == doctest::Approx(9.0));
    CHECK(report.checks[0].max_abs_error == doctest::Approx(18.0));
    CHECK(fmt::format("{}", report).find("input 0 (3,): FAIL") != std::string::npos);
    auto right = rg::check_formula([](const TensorList& v) { return rg::pow(v[0], 3.0); }, {x},
                                   [](const TensorList& v) { return TensorList{v[0] * v[0] * 3.0}; });
    CHECK_MESSAGE(right.ok, right.text());
    CHECK(right.text().rfind("formula check: PASS", 0) == 0);
}

TEST_CASE("check_formula: given tensors, jacobians, second derivatives and several inputs") {
    auto a = rg::tensor({1.0, 2.0}, {.dtype = rg::float64});
    auto b = rg::tensor({3.0, -1.0}, {.dtype = rg::float64});
    auto product = [](const TensorList& v) { return rg::sum(v[0] * v[1]); };
    CHECK(rg::check_formula(product, {a, b}, TensorList{b, a}).ok);
    CHECK_FALSE(rg::check_formula(product, {a, b}, TensorList{a, b}).ok);
    auto hess = rg::check_formula([](const TensorList& v) { return rg::sum(rg::pow(v[0], 3.0)); }, {a},
                                  [](const TensorList& v) {
                                      return TensorList{rg::eye(2, {.dtype = rg::float64}) * v[0] * 6.0};
                                  },
                                  {.kind = rg::Derivative::hessian});
    CHECK_MESSAGE(hess.ok, hess.text());
    auto jac = rg::check_formula([](const TensorList& v) { return v[0] * 2.0; }, {rg::Shape{3}},
                                 [](const TensorList&) { return TensorList{rg::eye(3, {.dtype = rg::float64}) * 2.0}; },
                                 {.kind = rg::Derivative::jacobian});
    CHECK_MESSAGE(jac.ok, jac.text());
    CHECK_THROWS_WITH_AS(rg::check_formula(product, {a, b}, TensorList{b}),
                         doctest::Contains("returned 1 tensors, expected 2"), rg::Error);
    auto wrong_shape = rg::check_formula(product, {a, b}, TensorList{b, rg::ones({3}, {.dtype = rg::float64})});
    CHECK_FALSE(wrong_shape.ok);
    CHECK(wrong_shape.checks[0].ok);
    CHECK(wrong_shape.checks[1].pattern == "expected (2,), got (3,)");
}

namespace {
const rg::TensorOptions f64{.dtype = rg::float64};
// d/dW sum(W ⊙ C) = C: a gradient whose every element is known.
rg::FormulaReport check_against(const rg::Tensor& c, const rg::Tensor& claimed) {
    return rg::check_formula([c](const TensorList& v) { return rg::sum(v[0] * c); }, {rg::zeros_like(c)},
                             TensorList{claimed});
}
}  // namespace

TEST_CASE("check_formula: a formula of the wrong shape fails, and says how it relates to autodiff") {
    auto c = rg::tensor({{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}}, f64);
    auto transposed = check_against(c, rg::transpose(c));
    CHECK_FALSE(transposed.ok);
    CHECK(transposed.checks[0].pattern == "expected (3, 2), got (2, 3); the formula matches autodiff transposed");
    CHECK(transposed.checks[0].formula_shape == rg::Shape{2, 3});
    CHECK(transposed.text() ==
          "formula check: FAIL\n"
          "  input 0 (3, 2): FAIL shape: expected (3, 2), got (2, 3); the formula matches autodiff transposed\n"
          "    autodiff tensor([[1, 2],\n"
          "                     [3, 4],\n"
          "                     [5, 6]], dtype=float64)\n"
          "    formula  tensor([[1, 3, 5],\n"
          "                     [2, 4, 6]], dtype=float64)\n");
    CHECK(check_against(c, rg::ones({2, 3}, f64)).checks[0].pattern == "expected (3, 2), got (2, 3)");
    CHECK(check_against(c, rg::reshape(c, rg::Shape{2, 3})).checks[0].pattern ==
          "expected (3, 2), got (2, 3); the values are autodiff's in row-major order: reshape the formula to (3, 2)");
    CHECK(check_against(c, rg::ones({3}, f64)).checks[0].pattern == "expected (3, 2), got (3,)");
    // Same number of elements, same values, a shape that only looked compatible: still a failure.
    CHECK_FALSE(check_against(c, rg::reshape(c, rg::Shape{6})).ok);

    auto c3 = rg::reshape(rg::arange(24.0, f64), rg::Shape{2, 3, 4});
    CHECK(check_against(c3, rg::permute(c3, {2, 0, 1})).checks[0].pattern ==
          "expected (2, 3, 4), got (4, 2, 3); permute(formula, {1, 2, 0}) matches autodiff");

    // The course's ∇b = δ, with δ of a batch: the bias is broadcast, its gradient sums δ's rows.
    auto z = rg::tensor({{1.0, -2.0, 0.5}, {3.0, 0.0, -1.0}}, f64);
    auto bias = rg::check_formula([z](const TensorList& v) { return rg::sum(rg::square(z + v[0])) * 0.5; },
                                  {rg::tensor({{0.1, 0.2, 0.3}}, f64)},
                                  [z](const TensorList& v) { return TensorList{z + v[0]}; });
    CHECK(bias.checks[0].pattern ==
          "expected (1, 3), got (2, 3); summed down to (1, 3) (rg::sum_to) it matches autodiff: the input is "
          "broadcast in f, so its gradient sums over the broadcast axes");
}

TEST_CASE("check_formula names a constant factor, a flipped sign, an offset and a transpose") {
    auto x = rg::tensor({0.5, -1.0, 3.0}, f64);
    auto square = [](const TensorList& v) { return rg::sum(v[0] * v[0]); };  // gradient 2x
    auto half = rg::check_formula(square, {x}, [](const TensorList& v) { return TensorList{v[0]}; });
    CHECK(half.checks[0].pattern == "the formula is 0.5 × autodiff everywhere");
    CHECK(half.text() ==
          "formula check: FAIL\n"
          "  input 0 (3,): FAIL max abs error 3, max rel error 0.5; worst at [2]: autodiff 6, formula 3\n"
          "    the formula is 0.5 × autodiff everywhere\n"
          "    autodiff tensor([1, -2, 6], dtype=float64)\n"
          "    formula  tensor([0.5, -1, 3], dtype=float64)\n");
    CHECK(
        rg::check_formula(square, {x}, [](const TensorList& v) { return TensorList{v[0] * -2.0}; }).checks[0].pattern ==
        "the sign is flipped: the formula is -autodiff everywhere");
    CHECK(rg::check_formula(square, {x}, [](const TensorList& v) { return TensorList{v[0] * 2.0 + 1.0}; })
              .checks[0]
              .pattern == "the formula is autodiff + 1 everywhere");
    CHECK(rg::check_formula(square, {x}, [](const TensorList& v) { return TensorList{rg::zeros_like(v[0])}; })
              .checks[0]
              .pattern == "the formula is 0 everywhere");
    CHECK(rg::check_formula([](const TensorList& v) { return rg::sum(rg::step(v[0])); }, {x},
                            [](const TensorList& v) { return TensorList{rg::ones_like(v[0])}; })
              .checks[0]
              .pattern == "autodiff is 0 everywhere: f does not depend on this input here");
    auto c = rg::tensor({{1.0, 2.0}, {3.0, 4.0}}, f64);
    CHECK(check_against(c, rg::transpose(c)).checks[0].pattern == "the formula is autodiff transposed");
    // The report keeps both tensors.
    CHECK(rg::allclose(half.checks[0].autodiff_tensor, x * 2.0));
    CHECK(rg::allclose(half.checks[0].formula_tensor, x));
}

TEST_CASE("check_formula says where the errors are when they are confined") {
    auto c = rg::tensor({{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}}, f64);
    auto row = c.clone();
    {
        rg::NoGrad off;
        row.value<double>()(1, 0) = 0;
        row.value<double>()(1, 1) = 0;
    }
    CHECK(check_against(c, row).checks[0].pattern == "2 of 6 elements differ, all in row 1 (of 3)");
    auto column = c * rg::tensor({{-1.0, 1.0}}, f64);
    CHECK(check_against(c, column).checks[0].pattern == "3 of 6 elements differ, all in column 0 (of 2)");
    // d/dx x³ = 3x², with a slip on the negative side only.
    auto x = rg::tensor({0.5, -1.0, 3.0}, f64);
    auto cube =
        rg::check_formula([](const TensorList& v) { return rg::pow(v[0], 3.0); }, {x},
                          [](const TensorList& v) {
                              return TensorList{rg::where(rg::gt(v[0], 0.0), v[0] * v[0] * 3.0, v[0] * v[0] * -3.0)};
                          });
    CHECK(cube.checks[0].pattern == "1 of 3 elements differ, at [1]");
    auto everywhere = c * rg::tensor({{2.0, 3.0}}, f64);
    CHECK(check_against(c, everywhere).checks[0].pattern.empty());
}

TEST_CASE("check_formula: a float32 constant inside the float64 check gets the float64 fix") {
    auto x = rg::tensor({1.0, 2.0}, f64);
    const std::string expected =
        "check_formula: the formula mixes dtypes (mul: dtype mismatch, float32 and float64); check_formula runs in "
        "float64: create its constants with {.dtype = rg::float64} or convert them with .to(rg::float64) (a module: "
        "module.to(rg::float64))";
    CHECK_THROWS_WITH_AS(rg::check_formula([](const TensorList& v) { return rg::sum(v[0] * v[0]); }, {x},
                                           [](const TensorList& v) {
                                               return TensorList{rg::tensor({2.0, 2.0}) * v[0]};
                                           }),
                         expected.c_str(), rg::Error);
    CHECK_THROWS_WITH_AS(rg::check_formula([](const TensorList& v) { return rg::sum(v[0] * rg::tensor({1.0, 1.0})); },
                                           {x}, [](const TensorList& v) { return TensorList{v[0]}; }),
                         "check_formula: f mixes dtypes (mul: dtype mismatch, float64 and float32); check_formula runs "
                         "in "
                         "float64: create its constants with {.dtype = rg::float64} or convert them with "
                         ".to(rg::float64) "
                         "(a module: module.to(rg::float64))",
                         rg::Error);
}

TEST_CASE("a FormulaReport prints with operator<<") {
    const rg::TensorOptions f64{.dtype = rg::float64};
    auto report =
        rg::check_formula([](const rg::TensorList& v) { return rg::sum(v[0] * v[0]); }, {rg::tensor({1.0, 2.0}, f64)},
                          [](const rg::TensorList& v) { return rg::TensorList{v[0] * 2.0}; });
    std::ostringstream os;
    os << report;
    CHECK(os.str() == report.text());
    CHECK(os.str().rfind("formula check: PASS", 0) == 0);
}
