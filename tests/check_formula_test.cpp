// rg::check_formula: passes right formulas, and points at the wrong element of a wrong one.
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
                                  [](const TensorList& v) { return TensorList{rg::eye(2, {.dtype = rg::float64}) * v[0] * 6.0}; },
                                  {.kind = rg::Derivative::hessian});
    CHECK_MESSAGE(hess.ok, hess.text());
    auto jac = rg::check_formula([](const TensorList& v) { return v[0] * 2.0; }, {rg::Shape{3}},
                                 [](const TensorList&) { return TensorList{rg::eye(3, {.dtype = rg::float64}) * 2.0}; },
                                 {.kind = rg::Derivative::jacobian});
    CHECK_MESSAGE(jac.ok, jac.text());
    CHECK_THROWS_WITH_AS(rg::check_formula(product, {a, b}, TensorList{b}), doctest::Contains("returned 1 tensors, expected 2"),
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::check_formula(product, {a, b}, TensorList{b, rg::ones({3}, {.dtype = rg::float64})}),
                         doctest::Contains("has shape (3,), expected (2,)"), rg::Error);
}
