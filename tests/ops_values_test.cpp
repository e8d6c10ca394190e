// Forward values of every op, against hand-computed numbers or xtensor.
#include <xtensor/xmath.hpp>

#include <cmath>
#include <limits>
#include <string>

#include "helpers.hpp"

using rg::tensor;
using test::check_values;

TEST_CASE("arithmetic broadcasts like NumPy") {
    auto col = tensor({{1.0}, {2.0}, {3.0}});  // (3, 1)
    auto row = tensor({{10.0, 20.0, 30.0, 40.0}});  // (1, 4)
    auto s = col + row;
    CHECK(s.shape() == rg::Shape{3, 4});
    CHECK(s.value()(2, 3) == 43.0f);
    check_values(tensor({6.0, 8.0}) - tensor({1.0, 2.0}), tensor({5.0, 6.0}));
    check_values(tensor({6.0, 8.0}) * tensor({0.5}), tensor({3.0, 4.0}));
    check_values(tensor({6.0, 8.0}) / tensor({2.0, 4.0}), tensor({3.0, 2.0}));
    check_values(2.0 - tensor({1.0, 3.0}), tensor({1.0, -1.0}));
    check_values(1.0 / tensor({2.0, 4.0}), tensor({0.5, 0.25}));
    check_values(tensor({2.0, 3.0}) / 2.0, tensor({1.0, 1.5}));
    check_values(-tensor({2.0}), tensor({-2.0}));
    auto cube = rg::randn({2, 3, 4}) * rg::randn({4});
    CHECK(cube.shape() == rg::Shape{2, 3, 4});
    check_values(rg::pow(tensor({2.0, 3.0}), tensor({3.0, 2.0})), tensor({8.0, 9.0}));
    check_values(rg::pow(tensor({2.0, 3.0}), 2.0), tensor({4.0, 9.0}));
    check_values(rg::rpow(2.0, tensor({3.0, -1.0})), tensor({8.0, 0.5}));
    check_values(rg::minimum(tensor({1.0, 5.0}), tensor({3.0, 2.0})), tensor({1.0, 2.0}));
    check_values(rg::maximum(tensor({1.0, 5.0}), tensor({3.0, 2.0})), tensor({3.0, 5.0}));
    check_values(rg::where(tensor({true, false, true}), tensor({1.0, 2.0, 3.0}), tensor({-1.0})),
                 tensor({1.0, -1.0, 3.0}));
}

TEST_CASE("comparisons give bool masks without gradient") {
    auto a = tensor({1.0, 2.0, 3.0}, {.requires_grad = true});
    auto b = tensor({2.0, 2.0, 2.0});
    check_values(rg::lt(a, b), tensor({1.0, 0.0, 0.0}));
    check_values(rg::le(a, b), tensor({1.0, 1.0, 0.0}));
    check_values(rg::gt(a, b), tensor({0.0, 0.0, 1.0}));
    check_values(rg::ge(a, b), tensor({0.0, 1.0, 1.0}));
    check_values(rg::eq(a, b), tensor({0.0, 1.0, 0.0}));
    check_values(rg::ne(a, b), tensor({1.0, 0.0, 1.0}));
    CHECK_FALSE(rg::gt(a, b).requires_grad());
    CHECK(rg::gt(a, b).dtype() == rg::bool_);
    auto labels = rg::from_indices({1, 2, 0});
    check_values(rg::eq(labels, rg::from_indices({1, 0, 0})), tensor({1.0, 0.0, 1.0}));
}

TEST_CASE("unary functions match the C library") {
    xt::xarray<double> v = {-2.0, -0.5, 0.0, 0.5, 2.0};
    rg::Tensor x(v);
    check_values(rg::exp(x), rg::Tensor(xt::xarray<double>(xt::exp(v))));
    check_values(rg::sin(x), rg::Tensor(xt::xarray<double>(xt::sin(v))));
    check_values(rg::cos(x), rg::Tensor(xt::xarray<double>(xt::cos(v))));
    check_values(rg::tanh(x), rg::Tensor(xt::xarray<double>(xt::tanh(v))));
    check_values(rg::atan(x), rg::Tensor(xt::xarray<double>(xt::atan(v))));
    check_values(rg::abs(x), rg::Tensor(xt::xarray<double>(xt::abs(v))));
    check_values(rg::sigmoid(x), rg::Tensor(xt::xarray<double>(1.0 / (1.0 + xt::exp(-v)))));
    check_values(rg::softplus(x), rg::Tensor(xt::xarray<double>(xt::log(1.0 + xt::exp(v)))));
    check_values(rg::relu(x), rg::Tensor(xt::xarray<double>{0, 0, 0, 0.5, 2}));
    check_values(rg::leaky_relu(x, 0.1), rg::Tensor(xt::xarray<double>{-0.2, -0.05, 0, 0.5, 2}));
    check_values(rg::elu(x, 1.0), rg::Tensor(xt::xarray<double>{std::expm1(-2.0), std::expm1(-0.5), 0, 0.5, 2}));
    check_values(rg::step(x),
                 rg::Tensor(xt::xarray<double>{0, 0, 1, 1, 1}));  // 1 at 0, as the course's activation table
    check_values(rg::sign(x), rg::Tensor(xt::xarray<double>{-1, -1, 0, 1, 1}));
    check_values(rg::clamp(x, -1, 1), rg::Tensor(xt::xarray<double>{-1, -0.5, 0, 0.5, 1}));
    check_values(rg::square(x), rg::Tensor(xt::xarray<double>(v * v)));
    xt::xarray<double> p = {0.25, 1.0, 4.0};
    check_values(rg::log(rg::Tensor(p)), rg::Tensor(xt::xarray<double>(xt::log(p))));
    check_values(rg::sqrt(rg::Tensor(p)), rg::Tensor(xt::xarray<double>{0.5, 1, 2}));
}

TEST_CASE("sigmoid and softplus stay finite for large inputs") {
    auto big = tensor({-1000.0, 1000.0});
    check_values(rg::sigmoid(big), tensor({0.0, 1.0}));
    check_values(rg::softplus(big), tensor({0.0, 1000.0}));
}

TEST_CASE("reductions over axis lists, with keepdims") {
    auto x = tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}});
    CHECK(rg::sum(x).item() == 21.0);
    check_values(rg::sum(x, {0}), tensor({5.0, 7.0, 9.0}));
    check_values(rg::sum(x, {1}), tensor({6.0, 15.0}));
    check_values(rg::sum(x, {-1}, true), tensor({{6.0}, {15.0}}));
    check_values(rg::sum(x, {0, 1}, true), tensor({{21.0}}));
    check_values(rg::mean(x, {0}), tensor({2.5, 3.5, 4.5}));
    check_values(rg::max(x, {1}), tensor({3.0, 6.0}));
    check_values(rg::min(x, {0}), tensor({1.0, 2.0, 3.0}));
    CHECK(rg::max(x).item() == 6.0);
    check_values(rg::var(x, {1}), tensor({1.0, 1.0}));
    check_values(rg::var(x, {1}, false, 0), tensor({2.0 / 3.0, 2.0 / 3.0}));
    check_values(rg::logsumexp(x, {1}), tensor({std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)),
                                                std::log(std::exp(4.0) + std::exp(5.0) + std::exp(6.0))}));
    check_values(rg::logsumexp(tensor({1000.0, 1000.0})), tensor(1000.0 + std::log(2.0)));
    CHECK(rg::argmax(x, 1).to_vector() == std::vector<double>{2, 2});
    CHECK(rg::argmin(x, 0).to_vector() == std::vector<double>{0, 0, 0});
    CHECK(rg::argmax(x).item() == 5);
    CHECK(rg::argmax(x, 1).dtype() == rg::int64);
    auto cube = rg::arange(24, {.dtype = rg::float64});
    auto c = rg::reshape(cube, rg::Shape{2, 3, 4});
    check_values(rg::sum(c, {0, 2}), tensor({60.0, 92.0, 124.0}, {.dtype = rg::float64}));
    check_values(rg::sum(c, {1}), rg::Tensor(xt::xarray<double>(xt::sum(c.value<double>(), {1}))));
    // Neighbouring reduced axes are walked as one, size-1 axes skipped: the
    // NCHW bias gradient's sum over (0, 2, 3), and a max over (1, 2).
    auto nchw = rg::reshape(rg::arange(2 * 3 * 1 * 5, {.dtype = rg::float64}), rg::Shape{2, 3, 1, 5});
    const auto& v = nchw.value<double>();
    check_values(rg::sum(nchw, {0, 2, 3}), rg::Tensor(xt::xarray<double>(xt::sum(v, {0, 2, 3}))));
    check_values(rg::sum(nchw, {0, 2, 3}, true), rg::Tensor(xt::xarray<double>(xt::sum(v, {0, 2, 3}, xt::keep_dims))));
    check_values(rg::sum(nchw, {1, 3}), rg::Tensor(xt::xarray<double>(xt::sum(v, {1, 3}))));
    check_values(rg::max(nchw, {1, 2}), rg::Tensor(xt::xarray<double>(xt::amax(v, {1, 2}))));
}

TEST_CASE("max and min over the last axis and over everything: the extreme, or NaN if a NaN is in the row") {
    // Rows of 37 values (four runs of the 8 lanes and a remainder), NaNs in
    // a row's first value, in a lane, in the remainder, in its last value,
    // and in no row but those; in float32 and float64.
    rg::manual_seed(85);
    for (auto dtype : {rg::float32, rg::float64}) {
        CAPTURE(std::string(rg::dtype_name(dtype)));
        auto values = rg::randn({6, 37}, {.dtype = dtype}).to_vector();
        for (std::size_t at : {0 * 37 + 0, 1 * 37 + 13, 2 * 37 + 33, 3 * 37 + 36}) values[at] = std::nan("");
        const auto x = rg::from_vector(values, {6, 37}, {.dtype = dtype});
        const auto back = x.to_vector();
        const auto largest = rg::max(x, {1}).to_vector(), smallest = rg::min(x, {1}).to_vector();
        for (std::size_t r = 0; r < 6; ++r) {
            CAPTURE(r);
            double hi = -INFINITY, lo = INFINITY;
            bool nan = false;
            for (std::size_t j = 0; j < 37; ++j) {
                const double v = back[r * 37 + j];
                nan = nan || std::isnan(v);
                hi = std::isnan(v) ? hi : std::max(hi, v);
                lo = std::isnan(v) ? lo : std::min(lo, v);
            }
            CHECK(nan == (r < 4));
            CHECK((nan ? std::isnan(largest[r]) : largest[r] == hi));
            CHECK((nan ? std::isnan(smallest[r]) : smallest[r] == lo));
        }
        CHECK(std::isnan(rg::max(x).item()));
        CHECK(std::isnan(rg::min(x).item()));
        const auto rest = rg::narrow(x, 0, 4, 2);  // the rows without a NaN
        CHECK(rg::max(rest).item() == std::max(largest[4], largest[5]));
        CHECK(rg::min(rest).item() == std::min(smallest[4], smallest[5]));
    }
}

TEST_CASE("reductions over the leading rows (a bias gradient) fold every column in row order, NaN included") {
    // 37 rows of 50 columns: full runs of a cache line and a partial one, in
    // float32 and float64; the result is the serial loop's to the bit.
    rg::manual_seed(83);
    for (auto dtype : {rg::float32, rg::float64}) {
        auto x = rg::randn({37, 50}, {.dtype = dtype});
        auto values = x.to_vector();
        values[7 * 50 + 3] = std::nan("");
        x = rg::from_vector(values, {37, 50}, {.dtype = dtype});
        const auto back = x.to_vector();  // the values as stored
        std::vector<double> sums(50), maxima(50, -INFINITY);
        for (std::size_t j = 0; j < 50; ++j) {
            if (dtype == rg::float32) {
                float acc = 0;
                for (std::size_t r = 0; r < 37; ++r) acc += static_cast<float>(back[r * 50 + j]);
                sums[j] = acc;
            } else {
                for (std::size_t r = 0; r < 37; ++r) sums[j] += back[r * 50 + j];
            }
            for (std::size_t r = 0; r < 37; ++r)
                maxima[j] = std::isnan(maxima[j]) || std::isnan(back[r * 50 + j])
                                ? std::nan("")
                                : std::max(maxima[j], back[r * 50 + j]);
        }
        const auto summed = rg::sum(x, {0}).to_vector(), largest = rg::max(x, {0}).to_vector();
        for (std::size_t j = 0; j < 50; ++j) {
            CAPTURE(j);
            CHECK((summed[j] == sums[j] || (std::isnan(summed[j]) && std::isnan(sums[j]))));
            CHECK((largest[j] == maxima[j] || (std::isnan(largest[j]) && std::isnan(maxima[j]))));
        }
    }
}

TEST_CASE("segment_argmax: each segment's maximum row per column, the first on ties, a NaN's, empty ones marked") {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    // Rows 0..4 in segments 2, 0, 2, 0, 2; segment 1 has no row.
    const rg::Tensor x = tensor({{1.0, 5.0}, {3.0, -1.0}, {4.0, 5.0}, {3.0, 2.0}, {0.0, nan}});
    const rg::Tensor indices = rg::segment_argmax(x, rg::from_indices({2, 0, 2, 0, 2}), 3, 9);
    CHECK(indices.dtype() == rg::int64);
    CHECK(indices.shape() == rg::Shape{3, 2});
    // Segment 0: column 0 ties 3 and 3 (row 1 first), column 1: row 3. Segment 2: row 2, and row 4's NaN.
    CHECK(indices.to_vector() == std::vector<double>{1, 3, 9, 9, 2, 4});
    rg::Tensor rows = tensor({{1.0, 2.0}, {3.0, 0.5}}, {.dtype = rg::float64, .requires_grad = true});
    const rg::Tensor maxima = rg::gather(rows, 0, rg::segment_argmax(rows, rg::from_indices({0, 0}), 1, -1));
    check_values(maxima, tensor({{3.0, 2.0}}, {.dtype = rg::float64}));
    rg::sum(maxima).backward();
    check_values(rows.grad(), tensor({{0.0, 1.0}, {1.0, 0.0}}, {.dtype = rg::float64}));
    CHECK_THROWS_WITH_AS(rg::segment_argmax(x, rg::from_indices({2, 0, 3, 0, 2}), 3, 0),
                         "segment_argmax: segments[2] is 3, expected a segment in [0, 3)", rg::Error);
    CHECK_THROWS_WITH_AS(rg::segment_argmax(x, rg::from_indices({0, 0}), 3, 0),
                         "segment_argmax: segments must be int64 of shape (5,), one per row of x (5, 2), got int64 "
                         "(2,)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::segment_argmax(rg::zeros({5}), rg::from_indices({0}), 1, 0),
                         "segment_argmax: expected rows (rows, columns), got shape (5,)", rg::Error);
}

TEST_CASE("float32 products agree with float64 for every transpose, partial tiles and long sums") {
    // float32 GEMMs run oneDNN's sgemm, whose code and blocking depend on the
    // CPU; ctest also runs this capped at SSE4.1 and at AVX2
    // (ONEDNN_MAX_CPU_ISA).
    rg::manual_seed(44);
    for (auto mnk : {std::tuple{1, 1, 1}, {9, 33, 7}, {17, 16, 300}, {8, 64, 513}, {130, 5, 40}}) {
        // Not structured bindings: CHECK_MESSAGE captures them in a lambda, which clang 14 rejects.
        const int m = std::get<0>(mnk), n = std::get<1>(mnk), k = std::get<2>(mnk);
        const auto um = std::size_t(m), un = std::size_t(n), uk = std::size_t(k);
        for (bool ta : {false, true})
            for (bool tb : {false, true}) {
                auto a = rg::randn(ta ? rg::Shape{uk, um} : rg::Shape{um, uk}, {.dtype = rg::float64});
                auto b = rg::randn(tb ? rg::Shape{un, uk} : rg::Shape{uk, un}, {.dtype = rg::float64});
                auto single = rg::gemm(a.to(rg::float32), b.to(rg::float32), ta, tb);
                CHECK_MESSAGE(rg::allclose(single.to(rg::float64), rg::gemm(a, b, ta, tb), 1e-4, 1e-4),
                              "m " << m << " n " << n << " k " << k << " ta " << ta << " tb " << tb);
            }
    }
    // Accumulating over a batch (gemm_sum adds each product onto the last).
    auto x = rg::randn({3, 10, 37}, {.dtype = rg::float64}), y = rg::randn({3, 10, 19}, {.dtype = rg::float64});
    CHECK(rg::allclose(rg::gemm_sum(x.to(rg::float32), y.to(rg::float32), true, false).to(rg::float64),
                       rg::gemm_sum(x, y, true, false), 1e-4, 1e-4));
}

TEST_CASE("float32 batched products of head views agree with float64") {
    // An attention block's products: q and k viewed as heads (batch, heads,
    // seq, width) over (batch, seq, heads * width) storage, read in place with
    // a leading dimension of heads * width, k transposed, and their gradients.
    rg::manual_seed(45);
    const std::int64_t b = 3, t = 17, h = 2, d = 5;
    auto x = rg::randn({b, t, h * d}, {.dtype = rg::float64}), y = rg::randn({b, t, h * d}, {.dtype = rg::float64});
    auto scores = [&](const rg::Tensor& q_source, const rg::Tensor& k_source) {
        auto q = q_source.view({b, t, h, d}).transpose(1, 2), k = k_source.view({b, t, h, d}).transpose(1, 2);
        return q.matmul(k.transpose(-2, -1));
    };
    auto xs = x.to(rg::float32).requires_grad_(), ys = y.to(rg::float32).requires_grad_();
    auto xd = x.clone().requires_grad_(), yd = y.clone().requires_grad_();
    auto single = scores(xs, ys), reference = scores(xd, yd);
    CHECK(single.shape() == rg::Shape{3, 2, 17, 17});
    CHECK(rg::allclose(single.to(rg::float64), reference, 1e-4, 1e-4));
    rg::sum(rg::square(single)).backward();
    rg::sum(rg::square(reference)).backward();
    CHECK(rg::allclose(xs.grad().to(rg::float64), xd.grad(), 1e-3, 1e-3));
    CHECK(rg::allclose(ys.grad().to(rg::float64), yd.grad(), 1e-3, 1e-3));
}

TEST_CASE("float32 softmax and log_softmax agree with float64 along every axis") {
    // float32 runs vectorised exponentials: rows shorter and longer than one
    // vector and than the summing block, the axis last (contiguous rows) or
    // not (strided columns), large and -inf inputs.
    rg::manual_seed(46);
    for (const rg::Shape& shape : {rg::Shape{3, 1}, rg::Shape{2, 7}, rg::Shape{2, 1500}, rg::Shape{4, 33, 3}}) {
        auto x = rg::randn(shape, {.dtype = rg::float64}) * 30.0;
        for (int axis = 0; axis < static_cast<int>(shape.size()); ++axis) {
            auto single = x.to(rg::float32);
            CHECK_MESSAGE(rg::allclose(rg::softmax(single, axis).to(rg::float64), rg::softmax(x, axis), 1e-5, 1e-6),
                          "shape " << rg::shape_str(shape) << " axis " << axis);
            CHECK_MESSAGE(rg::allclose(rg::log_softmax(single, axis).to(rg::float64), rg::log_softmax(x, axis), 1e-5,
                                       1e-4),
                          "shape " << rg::shape_str(shape) << " axis " << axis);
        }
    }
    // Its exponential over the whole range a shifted row meets, [-87, 0]:
    // softmax([x, 0]) = (e^x, 1) / (1 + e^x), to float's precision.
    std::vector<double> pairs;
    for (int i = 0; i <= 3000; ++i) pairs.insert(pairs.end(), {-87.0 * i / 3000.0, 0.0});
    auto grid = rg::from_vector(pairs, {3001, 2}, {.dtype = rg::float32});  // the reference sees the same inputs
    CHECK(rg::allclose(rg::softmax(grid, 1).to(rg::float64), rg::softmax(grid.to(rg::float64), 1), 1e-6, 0.0));
    const float inf = std::numeric_limits<float>::infinity();
    auto masked = rg::tensor({{0.0, -inf, 1.0, -inf, 2.0}, {-inf, -inf, -inf, -inf, 3.0}});
    auto p = rg::softmax(masked, 1);
    CHECK(p.value<float>()(0, 1) == 0.0f);
    CHECK(p.value<float>()(1, 4) == 1.0f);
    CHECK(std::abs(p.value<float>()(0, 4) - 0.665241f) < 1e-6f);
}

TEST_CASE("matmul covers 2-D, vector and batched cases like NumPy") {
    auto a = tensor({{1.0, 2.0}, {3.0, 4.0}});
    auto b = tensor({{5.0, 6.0}, {7.0, 8.0}});
    check_values(rg::matmul(a, b), tensor({{19.0, 22.0}, {43.0, 50.0}}));
    check_values(rg::matmul(a, tensor({1.0, 1.0})), tensor({3.0, 7.0}));
    check_values(rg::matmul(tensor({1.0, 1.0}), a), tensor({4.0, 6.0}));
    CHECK(rg::matmul(tensor({1.0, 2.0}), tensor({3.0, 4.0})).item() == 11.0);
    check_values(rg::gemm(a, b, true, false), tensor({{26.0, 30.0}, {38.0, 44.0}}));
    check_values(rg::gemm(a, b, false, true), tensor({{17.0, 23.0}, {39.0, 53.0}}));
    auto batch = rg::stack({a, b});  // (2, 2, 2)
    auto out = rg::matmul(batch, a);
    CHECK(out.shape() == rg::Shape{2, 2, 2});
    check_values(rg::select(out, 0, 1), rg::matmul(b, a));
    auto wide = rg::randn({3, 1, 2, 4});
    auto tall = rg::randn({5, 4, 3});
    CHECK(rg::matmul(wide, tall).shape() == rg::Shape{3, 5, 2, 3});
    check_values(rg::dot(tensor({1.0, 2.0}), tensor({3.0, 4.0})), tensor(11.0));
    check_values(rg::outer(tensor({1.0, 2.0}), tensor({3.0, 4.0, 5.0})), tensor({{3.0, 4.0, 5.0}, {6.0, 8.0, 10.0}}));
    CHECK(rg::matmul(rg::zeros({2, 0}), rg::zeros({0, 3})).to_vector() == std::vector<double>(6, 0.0));
    check_values(rg::gemm_sum(batch, batch, false, false), rg::matmul(a, a) + rg::matmul(b, b));
    CHECK_THROWS_WITH_AS(rg::gemm_sum(batch, a, false, false), doctest::Contains("same batch axes"), rg::Error);
}

TEST_CASE("transpose and permute move axes") {
    auto x = rg::reshape(rg::arange(6), rg::Shape{2, 3});
    check_values(rg::transpose(x), tensor({{0.0, 3.0}, {1.0, 4.0}, {2.0, 5.0}}));
    auto c = rg::reshape(rg::arange(24, {.dtype = rg::float64}), rg::Shape{2, 3, 4});
    auto p = rg::permute(c, {2, 0, 1});
    CHECK(p.shape() == rg::Shape{4, 2, 3});
    CHECK(p.value<double>()(3, 1, 2) == c.value<double>()(1, 2, 3));
    CHECK(rg::transpose(c, 0, -1).shape() == rg::Shape{4, 3, 2});
}

TEST_CASE("shape ops: reshape, flatten, squeeze, unsqueeze, broadcast") {
    auto x = rg::arange(12);
    CHECK(rg::reshape(x, std::vector<long>{3, -1}).shape() == rg::Shape{3, 4});
    auto c = rg::reshape(x, rg::Shape{2, 3, 2});
    CHECK(rg::flatten(c).shape() == rg::Shape{12});
    CHECK(rg::flatten(c, 1).shape() == rg::Shape{2, 6});
    CHECK(rg::unsqueeze(c, 0).shape() == rg::Shape{1, 2, 3, 2});
    CHECK(rg::unsqueeze(c, -1).shape() == rg::Shape{2, 3, 2, 1});
    CHECK(rg::squeeze(rg::zeros({1, 3, 1})).shape() == rg::Shape{3});
    CHECK(rg::squeeze(rg::zeros({1, 3, 1}), 0).shape() == rg::Shape{3, 1});
    check_values(rg::broadcast_to(tensor({1.0, 2.0}), {2, 2}), tensor({{1.0, 2.0}, {1.0, 2.0}}));
    check_values(rg::sum_to(tensor({{1.0, 2.0}, {3.0, 4.0}}), {1, 2}), tensor({{4.0, 6.0}}));
    check_values(rg::sum_to(rg::ones({2, 3, 4}), {3, 1}), rg::full({3, 1}, 8.0));
}

TEST_CASE("slicing, indexing, gather and their scatter counterparts") {
    auto x = rg::reshape(rg::arange(12), rg::Shape{3, 4});
    check_values(rg::slice(x, 1, 1, 3), tensor({{1.0, 2.0}, {5.0, 6.0}, {9.0, 10.0}}));
    check_values(rg::slice(x, 0, -1, 100), tensor({{8.0, 9.0, 10.0, 11.0}}));
    check_values(rg::slice(x, 1, 0, 4, 2), tensor({{0.0, 2.0}, {4.0, 6.0}, {8.0, 10.0}}));
    check_values(rg::select(x, 0, -1), tensor({8.0, 9.0, 10.0, 11.0}));
    check_values(rg::select(x, 1, 2), tensor({2.0, 6.0, 10.0}));
    check_values(rg::slice_scatter(tensor({{1.0}, {2.0}}), {2, 3}, 1, 1, 2),
                 tensor({{0.0, 1.0, 0.0}, {0.0, 2.0, 0.0}}));
    auto idx = rg::from_indices({2, 0, 2});
    check_values(rg::index_select(x, 0, idx),
                 tensor({{8.0, 9.0, 10.0, 11.0}, {0.0, 1.0, 2.0, 3.0}, {8.0, 9.0, 10.0, 11.0}}));
    check_values(rg::index_add(rg::ones({3, 1}), {3, 1}, 0, idx), tensor({{1.0}, {0.0}, {2.0}}));
    // Picking each row's class score, as cross-entropy does.
    auto scores = tensor({{0.1, 0.7, 0.2}, {0.5, 0.3, 0.2}});
    auto labels = rg::from_indices({1, 0}, {2, 1});
    check_values(rg::gather(scores, 1, labels), tensor({{0.7}, {0.5}}));
    check_values(rg::scatter_add(tensor({{1.0}, {1.0}}), {2, 3}, 1, labels),
                 tensor({{0.0, 1.0, 0.0}, {1.0, 0.0, 0.0}}));
}

TEST_CASE("concat, stack and pad") {
    auto a = tensor({{1.0, 2.0}});
    auto b = tensor({{3.0, 4.0}, {5.0, 6.0}});
    check_values(rg::concat({a, b}, 0), tensor({{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}}));
    check_values(rg::concat({b, b}, 1), tensor({{3.0, 4.0, 3.0, 4.0}, {5.0, 6.0, 5.0, 6.0}}));
    CHECK(rg::stack({a, a, a}).shape() == rg::Shape{3, 1, 2});
    CHECK(rg::stack({a, a, a}, -1).shape() == rg::Shape{1, 2, 3});
    check_values(rg::pad(tensor({{1.0}}), {0, 2, 1, 0}, 9.0), tensor({{9.0, 9.0, 9.0}, {1.0, 9.0, 9.0}}));
    // torch::nn::functional::pad's order: the last axis first; negative amounts crop.
    const auto grid = tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}});
    check_values(rg::pad(grid, {1, 0}), tensor({{0.0, 1.0, 2.0, 3.0}, {0.0, 4.0, 5.0, 6.0}}));
    check_values(rg::pad(grid, {0, 0, 0, 1}, -1.0), tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}, {-1.0, -1.0, -1.0}}));
    check_values(rg::pad(grid, {-1, 1, -1, 0}), tensor({{5.0, 6.0, 0.0}}));
    CHECK(rg::pad(grid, {-3, 0}).shape() == rg::Shape{2, 0});
    CHECK_THROWS_WITH_AS(rg::pad(grid, {1, 2, 3}),
                         "pad: got 3 padding amounts (1, 2, 3) for a tensor of rank 2; expected pairs (left, right, "
                         "top, bottom, ...) for at most its 2 axes, last axis first",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::pad(grid, {-2, -2}),
                         "pad: padding (-2, -2) of axis 1 (size 3) in (2, 3) leaves a negative or absurd size",
                         rg::Error);
}

TEST_CASE("softmax is stable: 1000 and 5000 give exact probabilities, no NaN") {
    check_values(rg::softmax(tensor({1000.0, 5000.0})), tensor({0.0, 1.0}));
    check_values(rg::softmax(tensor({4000.0, 5000.0, 6000.0})), tensor({0.0, 0.0, 1.0}));
    check_values(rg::softmax(tensor({1.0, 1.0})), tensor({0.5, 0.5}));
    auto x = rg::randn({3, 5}, {.dtype = rg::float64});
    check_values(rg::sum(rg::softmax(x, 1), {1}), rg::ones({3}, {.dtype = rg::float64}));
    check_values(rg::sum(rg::softmax(x, 0), {0}), rg::ones({5}, {.dtype = rg::float64}));
    check_values(rg::exp(rg::log_softmax(x, 0)), rg::softmax(x, 0), 1e-12);
    check_values(rg::log_softmax(tensor({0.0, 1000.0})), tensor({-1000.0, 0.0}));
    auto e = rg::exp(x);
    check_values(rg::softmax(x), e / rg::sum(e, {1}, true), 1e-12);
}

namespace {
// softmax and log_softmax of each row (last axis) of a (rows, n) tensor,
// computed in long double from the tensor's own values: the exact result to
// well below a float64 ulp for the magnitudes tested.
std::pair<std::vector<long double>, std::vector<long double>> reference_softmax(const rg::Tensor& x) {
    const auto values = x.to_vector();
    const auto n = static_cast<std::size_t>(x.size(-1));
    std::vector<long double> soft(values.size()), logs(values.size());
    for (std::size_t start = 0; start < values.size(); start += n) {
        std::size_t at = start;
        for (std::size_t k = start; k < start + n; ++k)
            if (values[k] > values[at]) at = k;
        const long double top = values[at];
        // Σ e^(x - max) = 1 + (the others), whose log is log1p(the others):
        // exact even when the others are far below long double's epsilon.
        long double others = 0;
        for (std::size_t k = start; k < start + n; ++k)
            if (k != at) others += std::exp(static_cast<long double>(values[k]) - top);
        for (std::size_t k = start; k < start + n; ++k) {
            const long double shifted = static_cast<long double>(values[k]) - top;
            soft[k] = std::exp(shifted) / (1 + others);
            logs[k] = shifted - std::log1p(others);
        }
    }
    return {soft, logs};
}

// The largest distance from the reference rounded to the result's dtype, in
// units of that dtype's epsilon times the reference (ulps, roughly), and at
// least the smallest number the kernels produce there (float64: subnormals;
// float32's exp gives 0 below its smallest normal number).
double worst_ulps(const rg::Tensor& actual, const std::vector<long double>& expected) {
    const bool single = actual.dtype() == rg::float32;
    const double eps = single ? std::numeric_limits<float>::epsilon() : std::numeric_limits<double>::epsilon();
    const double floor = single ? std::numeric_limits<float>::min() : std::numeric_limits<double>::denorm_min();
    const auto got = actual.to_vector();
    double worst = 0;
    for (std::size_t k = 0; k < got.size(); ++k) {
        const double rounded =
            single ? static_cast<double>(static_cast<float>(expected[k])) : static_cast<double>(expected[k]);
        const double unit = std::max(std::abs(rounded) * eps, floor);
        worst = std::max(worst, std::abs(got[k] - rounded) / unit);
    }
    return worst;
}
}  // namespace

TEST_CASE("softmax and log_softmax are within a few ulps of the exact values, for rows up to 1e3 in magnitude") {
    rg::manual_seed(61);
    // Rows around 550 with a small spread (where x - (max + log Σ) lost
    // 5.6e-14 in float64), rows spread over [-1000, 1000], and long rows.
    const std::vector<rg::Tensor> cases = {rg::uniform({16, 8}, 545.0, 555.0, {.dtype = rg::float64}),
                                           rg::uniform({16, 8}, -1000.0, 1000.0, {.dtype = rg::float64}),
                                           rg::uniform({8, 64}, 540.0, 560.0, {.dtype = rg::float64}),
                                           rg::uniform({4, 1000}, -3.0, 3.0, {.dtype = rg::float64}),
                                           rg::uniform({8, 8}, -1e3, -990.0, {.dtype = rg::float64})};
    for (const rg::Tensor& x64 : cases) {
        CAPTURE(rg::shape_str(x64.shape()));
        for (rg::Dtype dtype : {rg::float64, rg::float32}) {
            CAPTURE(rg::dtype_name(dtype));
            const rg::Tensor x = x64.to(dtype);
            const auto exact = reference_softmax(x);  // from the values in this dtype
            CHECK(worst_ulps(rg::log_softmax(x, -1), exact.second) <= 4.0);
            CHECK(worst_ulps(rg::softmax(x, -1), exact.first) <= 4.0);
            // Along an axis that is not the last one (the column kernel).
            const rg::Tensor columns = x.t().contiguous();
            CHECK(worst_ulps(rg::log_softmax(columns, 0).t(), exact.second) <= 4.0);
            CHECK(worst_ulps(rg::softmax(columns, 0).t(), exact.first) <= 4.0);
        }
    }
}
