// Convolution and pooling: values against direct loops, gradients against
// finite differences, and the course's worked exercise (*Réseaux de neurones en pratique*, part XV).
#include "helpers.hpp"

#include <cmath>
#include <limits>

using rg::Tensor;
using rg::TensorList;
using test::check_gradients;
using test::check_values;
using test::rand64;

namespace {

// The definition, one output element at a time (float64).
Tensor direct_conv2d(const Tensor& x, const Tensor& w, const Tensor& b, rg::Conv2dOptions o) {
    const auto& xv = x.value<double>();
    const auto& wv = w.value<double>();
    const std::size_t n = x.shape()[0], c = x.shape()[1], h = x.shape()[2], wd = x.shape()[3];
    const std::size_t oc = w.shape()[0], kh = w.shape()[2], kw = w.shape()[3];
    const std::size_t oh = (h + 2 * o.padding[0] - o.dilation[0] * (kh - 1) - 1) / o.stride[0] + 1;
    const std::size_t ow = (wd + 2 * o.padding[1] - o.dilation[1] * (kw - 1) - 1) / o.stride[1] + 1;
    xt::xarray<double> out = xt::zeros<double>({n, oc, oh, ow});
    for (std::size_t b0 = 0; b0 < n; ++b0)
        for (std::size_t f = 0; f < oc; ++f)
            for (std::size_t y = 0; y < oh; ++y)
                for (std::size_t z = 0; z < ow; ++z) {
                    double acc = b.defined() ? b.value<double>()(f) : 0.0;
                    for (std::size_t ch = 0; ch < c; ++ch)
                        for (std::size_t i = 0; i < kh; ++i)
                            for (std::size_t j = 0; j < kw; ++j) {
                                const long iy = long(y * o.stride[0] + i * o.dilation[0]) - long(o.padding[0]);
                                const long ix = long(z * o.stride[1] + j * o.dilation[1]) - long(o.padding[1]);
                                if (iy < 0 || ix < 0 || iy >= long(h) || ix >= long(wd)) continue;
                                acc += xv(b0, ch, iy, ix) * wv(f, ch, i, j);
                            }
                    out(b0, f, y, z) = acc;
                }
    return Tensor(out);
}

}  // namespace

TEST_CASE("conv2d matches the direct definition for strides, padding and dilation") {
    rg::manual_seed(21);
    const std::vector<rg::Conv2dOptions> cases = {{},
                                                  {{2, 2}, {0, 0}, {1, 1}},
                                                  {{1, 1}, {1, 1}, {1, 1}},
                                                  {{1, 2}, {2, 1}, {2, 1}}};
    for (const auto& o : cases) {
        auto x = rg::randn({2, 3, 7, 6}, {.dtype = rg::float64});
        auto w = rg::randn({4, 3, 3, 2}, {.dtype = rg::float64});
        auto b = rg::randn({4}, {.dtype = rg::float64});
        check_values(rg::conv2d(x, w, b, o), direct_conv2d(x, w, b, o), 1e-10);
        check_values(rg::conv2d(x, w, {}, o), direct_conv2d(x, w, {}, o), 1e-10);
    }
}

TEST_CASE("im2col and col2im with padding equal them on the zero-padded image, padding wider than the kernel too") {
    rg::manual_seed(12);
    struct Case {
        std::size_t h, w, kh, kw, ph, pw;
    };
    for (const Case& c : {Case{5, 5, 3, 3, 4, 4}, Case{5, 7, 3, 2, 1, 3}, Case{4, 4, 5, 5, 2, 2},
                          Case{6, 3, 1, 1, 2, 0}, Case{3, 3, 3, 3, 0, 5}}) {
        CAPTURE(c.ph);
        CAPTURE(c.pw);
        const auto x = rand64({2, 3, c.h, c.w}, false);
        const auto ph = static_cast<std::int64_t>(c.ph), pw = static_cast<std::int64_t>(c.pw);
        const auto padded = rg::pad(x, {pw, pw, ph, ph});
        const auto columns = rg::im2col(x, {c.kh, c.kw}, {.padding = {c.ph, c.pw}});
        check_values(columns, rg::im2col(padded, {c.kh, c.kw}), 0.0);
        const auto g = rand64(columns.shape(), false);
        const auto summed = rg::col2im(g, x.shape(), {c.kh, c.kw}, {.padding = {c.ph, c.pw}});
        const auto summed_padded = rg::col2im(g, padded.shape(), {c.kh, c.kw});
        check_values(summed,
                     rg::narrow(rg::narrow(summed_padded, 2, ph, static_cast<std::int64_t>(c.h)), 3, pw,
                                static_cast<std::int64_t>(c.w)),
                     1e-12);
    }
}

TEST_CASE("conv2d reads a strided bias correctly") {
    // A bias that is a column of a matrix: not contiguous, so conv2d reads a
    // dense copy of it, which must live as long as the loop that reads it.
    rg::manual_seed(22);
    auto x = rg::randn({2, 3, 5, 5}, {.dtype = rg::float64});
    auto w = rg::randn({4, 3, 3, 3}, {.dtype = rg::float64});
    auto columns = rg::randn({4, 2}, {.dtype = rg::float64});
    auto b = columns.select(1, 1);
    REQUIRE_FALSE(b.is_contiguous());
    check_values(rg::conv2d(x, w, b), direct_conv2d(x, w, b.contiguous(), {}), 1e-10);
}

TEST_CASE("gradcheck: conv2d, im2col and col2im at first and second order") {
    rg::manual_seed(22);
    const rg::Conv2dOptions o{{2, 1}, {1, 0}, {1, 2}};
    check_gradients([o](const TensorList& v) { return rg::conv2d(v[0], v[1], v[2], o); },
                    {rand64({2, 2, 5, 6}), rand64({3, 2, 2, 2}), rand64({3})});
    check_gradients([](const TensorList& v) { return rg::im2col(v[0], {2, 3}, {{1, 2}, {1, 1}, {1, 1}}); },
                    {rand64({1, 2, 4, 5})});
    auto cols = rg::im2col(rg::zeros({1, 2, 4, 5}), {2, 3}, {{1, 2}, {1, 1}, {1, 1}});
    check_gradients([](const TensorList& v) { return rg::col2im(v[0], {1, 2, 4, 5}, {2, 3}, {{1, 2}, {1, 1}, {1, 1}}); },
                    {rand64(cols.shape())});
}

TEST_CASE("conv2d's gradient ops equal col2im(Wᵀ G) and Σ G im2col(X)ᵀ, and are differentiable") {
    rg::manual_seed(25);
    const std::vector<rg::Conv2dOptions> cases = {{}, {{2, 1}, {1, 0}, {1, 2}}, {{1, 1}, {1, 1}, {1, 1}}};
    for (const auto& o : cases) {
        auto x = rand64({2, 3, 6, 5}), w = rand64({4, 3, 2, 3});
        auto g = rand64(rg::conv2d(x, w, {}, o).shape());
        const std::size_t pixels = g.shape()[2] * g.shape()[3];
        auto g3 = rg::reshape(g, rg::Shape{2, 4, pixels});
        auto cols = rg::im2col(x, {2, 3}, o);
        check_values(rg::conv2d_input_grad(g, w, x.shape(), o),
                     rg::col2im(rg::gemm(rg::reshape(w, rg::Shape{4, 18}), g3, true, false), x.shape(), {2, 3}, o),
                     1e-12);
        check_values(rg::conv2d_weight_grad(g, x, w.shape(), o),
                     rg::reshape(rg::gemm_sum(g3, cols, false, true), w.shape()), 1e-12);
        check_gradients([&](const TensorList& v) { return rg::conv2d_input_grad(v[0], v[1], x.shape(), o); }, {g, w});
        check_gradients([&](const TensorList& v) { return rg::conv2d_weight_grad(v[0], v[1], w.shape(), o); }, {g, x});
    }
    // A 1x1 kernel multiplies the image itself, without patches.
    auto x = rand64({2, 3, 4, 4}), w = rand64({5, 3, 1, 1}), b = rand64({5});
    check_values(rg::conv2d(x, w, b), direct_conv2d(x, w, b, {}), 1e-12);
    check_gradients([](const TensorList& v) { return rg::conv2d(v[0], v[1], v[2]); }, {x, w, b});
    CHECK_THROWS_WITH_AS(rg::conv2d_input_grad(rg::zeros({2, 4, 3, 3}), rg::zeros({4, 3, 2, 2}), {2, 3, 5, 5}),
                         "conv2d_input_grad: output gradient has shape (2, 4, 3, 3), expected (2, 4, 4, 4)", rg::Error);
    CHECK_THROWS_WITH_AS(rg::conv2d_weight_grad(rg::zeros({2, 4, 4, 4}), rg::zeros({2, 3, 5, 5}), {4, 2, 2, 2}),
                         "conv2d_weight_grad: input has 3 channels but weight (4, 2, 2, 2) expects 2", rg::Error);
}

TEST_CASE("float32 convolutions agree with float64 on shapes that leave partial tiles") {
    // float32 products run oneDNN's sgemm (ctest also runs this capped at
    // SSE4.1 and AVX2): rows and columns that leave partial register tiles,
    // sums longer than a cache block, weight gradients with fewer and with
    // more output channels than patch rows, and patch rows shorter than,
    // equal to and longer than the 8 values im2col copies at a time.
    rg::manual_seed(26);
    struct Case {
        rg::Shape x, w;
        rg::Conv2dOptions o;
    };
    const std::vector<Case> cases = {{{3, 5, 9, 10}, {11, 5, 3, 3}, {}},
                                     {{2, 1, 12, 12}, {20, 1, 2, 2}, {}},
                                     {{2, 30, 6, 6}, {9, 30, 3, 3}, {{1, 1}, {1, 1}, {1, 1}}},
                                     {{2, 3, 20, 20}, {4, 3, 3, 3}, {}},
                                     {{2, 3, 20, 20}, {4, 3, 3, 3}, {{1, 2}, {0, 1}, {2, 1}}}};
    for (const auto& c : cases) {
        auto x = rg::randn(c.x, {.dtype = rg::float64}), w = rg::randn(c.w, {.dtype = rg::float64});
        auto b = rg::randn({c.w[0]}, {.dtype = rg::float64});
        auto y = rg::conv2d(x, w, b, c.o);
        auto g = rg::randn(y.shape(), {.dtype = rg::float64});
        auto single = [](const Tensor& t) { return t.to(rg::float32); };
        auto close = [](const Tensor& f32, const Tensor& f64) {
            CHECK_MESSAGE(rg::allclose(f32.to(rg::float64), f64, 1e-4, 1e-4), "float32 " << f32 << "\nfloat64 " << f64);
        };
        close(rg::conv2d(single(x), single(w), single(b), c.o), y);
        close(rg::conv2d(single(x), single(w), {}, c.o), rg::conv2d(x, w, {}, c.o));
        close(rg::conv2d_input_grad(single(g), single(w), x.shape(), c.o), rg::conv2d_input_grad(g, w, x.shape(), c.o));
        close(rg::conv2d_weight_grad(single(g), single(x), w.shape(), c.o),
              rg::conv2d_weight_grad(g, x, w.shape(), c.o));
    }
}

TEST_CASE("max_pool2d takes window maxima and sends the gradient to them") {
    auto x = rg::tensor({{{{1.0, 2.0, 5.0, 0.0}, {3.0, 4.0, 1.0, 1.0}, {0.0, 0.0, 2.0, 3.0}, {1.0, 9.0, 4.0, 0.0}}}},
                        {.requires_grad = true});
    auto y = rg::max_pool2d(x, {2, 2});
    check_values(y, rg::tensor({{{{4.0, 5.0}, {9.0, 4.0}}}}));
    rg::sum(y * rg::tensor({{{{1.0, 2.0}, {3.0, 4.0}}}})).backward();
    check_values(x.grad(),
                 rg::tensor(
                     {{{{0.0, 0.0, 2.0, 0.0}, {0.0, 1.0, 0.0, 0.0}, {0.0, 0.0, 0.0, 0.0}, {0.0, 3.0, 4.0, 0.0}}}}));
    CHECK(rg::max_pool2d(rg::zeros({2, 3, 7, 7}), {3, 3}, {.stride = {2, 2}, .padding = {1, 1}}).shape() ==
          rg::Shape{2, 3, 4, 4});
    rg::manual_seed(23);
    check_gradients([](const TensorList& v) { return rg::max_pool2d(v[0], {2, 2}, {.stride = {1, 2}}); },
                    {rand64({2, 2, 5, 4})});
    // The 2x2, stride 2 kernel has its own loops: its VJP writes whole
    // windows on even sides; odd sides drop the last row and column.
    check_gradients([](const TensorList& v) { return rg::max_pool2d(v[0], {2, 2}); }, {rand64({2, 3, 4, 6})});
    check_gradients([](const TensorList& v) { return rg::max_pool2d(v[0], {2, 2}); }, {rand64({2, 3, 5, 7})});
}

TEST_CASE("max_pool2d with padding matches a window-by-window reference, NaN propagating") {
    // Both code paths (unpadded and padded) against a direct definition.
    rg::manual_seed(31);
    auto x = rg::randn({2, 3, 7, 6}, {.dtype = rg::float64});
    for (auto [stride, padding] :
         {std::pair{rg::Size2{2, 2}, rg::Size2{1, 1}}, std::pair{rg::Size2{1, 2}, rg::Size2{0, 1}},
          std::pair{rg::Size2{1, 1}, rg::Size2{0, 0}}}) {
        auto y = rg::max_pool2d(x, {3, 2}, {.stride = stride, .padding = padding});
        const auto& xv = x.value<double>();
        const auto& yv = y.value<double>();
        for (std::size_t n = 0; n < 2; ++n)
            for (std::size_t c = 0; c < 3; ++c)
                for (std::size_t oy = 0; oy < y.shape()[2]; ++oy)
                    for (std::size_t ox = 0; ox < y.shape()[3]; ++ox) {
                        double best = -std::numeric_limits<double>::infinity();
                        for (long i = 0; i < 3; ++i)
                            for (long j = 0; j < 2; ++j) {
                                const long iy = long(oy * stride[0]) + i - long(padding[0]);
                                const long ix = long(ox * stride[1]) + j - long(padding[1]);
                                if (iy >= 0 && iy < 7 && ix >= 0 && ix < 6) best = std::max(best, xv(n, c, iy, ix));
                            }
                        CHECK(yv(n, c, oy, ox) == best);
                    }
    }
    auto with_nan = rg::tensor({{{{1.0, NAN}, {3.0, 2.0}}}}, {.requires_grad = true});
    auto pooled = rg::max_pool2d(with_nan, {2, 2});
    CHECK(std::isnan(pooled.item()));
    pooled.backward(rg::ones_like(pooled));
    check_values(with_nan.grad(), rg::tensor({{{{0.0, 1.0}, {0.0, 0.0}}}}));
    // A window of -inf still has a maximum, at its first element.
    const double inf = std::numeric_limits<double>::infinity();
    auto all_minus_inf = rg::tensor({{{{-inf, -inf}, {-inf, -inf}}}}, {.requires_grad = true});
    rg::max_pool2d(all_minus_inf, {2, 2}).backward(rg::ones({1, 1, 1, 1}));
    check_values(all_minus_inf.grad(), rg::tensor({{{{1.0, 0.0}, {0.0, 0.0}}}}));
    check_gradients([](const TensorList&
                           v) { return rg::max_pool2d(v[0], {3, 3}, {.stride = {2, 2}, .padding = {1, 1}}); },
                    {rand64({1, 2, 5, 5})});
}

TEST_CASE("avg_pool2d averages windows, padding counted as zeros") {
    auto x = rg::reshape(rg::arange(16), rg::Shape{1, 1, 4, 4});
    check_values(rg::avg_pool2d(x, {2, 2}), rg::tensor({{{{2.5, 4.5}, {10.5, 12.5}}}}));
    check_values(rg::avg_pool2d(rg::ones({1, 1, 2, 2}), {2, 2}, {.stride = {1, 1}, .padding = {1, 1}}),
                 rg::tensor({{{{0.25, 0.5, 0.25}, {0.5, 1.0, 0.5}, {0.25, 0.5, 0.25}}}}));
    rg::manual_seed(24);
    check_gradients([](const TensorList& v) { return rg::avg_pool2d(v[0], {3, 2}, {.stride = {1, 1}}); },
                    {rand64({1, 2, 4, 4})});
}

TEST_CASE("convolution errors name the shapes") {
    CHECK_THROWS_WITH_AS(rg::conv2d(rg::zeros({1, 3, 5, 5}), rg::zeros({2, 2, 3, 3})),
                         "conv2d: input has 3 channels but weight (2, 2, 3, 3) expects 2", rg::Error);
    CHECK_THROWS_WITH_AS(rg::conv2d(rg::zeros({3, 5, 5}), rg::zeros({2, 3, 3, 3})),
                         doctest::Contains("expected input (N, C, H, W)"), rg::Error);
    CHECK_THROWS_WITH_AS(rg::conv2d(rg::zeros({1, 1, 2, 2}), rg::zeros({1, 1, 3, 3})),
                         "conv2d: the kernel spans 3 pixels but the padded input has only 2 (input 2, padding 0)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::conv2d(rg::zeros({1, 1, 4, 4}), rg::zeros({2, 1, 3, 3}), rg::zeros({3})),
                         "conv2d: bias has shape (3,), expected (2,)", rg::Error);
    CHECK_THROWS_WITH_AS(rg::max_pool2d(rg::zeros({1, 1, 4, 4}), {2, 2}, {.padding = {2, 2}}),
                         doctest::Contains("padding (2, 2) must be at most half the kernel"), rg::Error);
}

TEST_CASE("conv_output_size refuses a zero kernel, stride or dilation instead of dividing by zero") {
    CHECK(rg::conv_output_size(28, 3, 1, 1, 1, "conv2d") == 28);
    CHECK(rg::conv_output_size(28, 3, 2, 0, 1, "conv2d") == 13);
    CHECK_THROWS_WITH_AS(rg::conv_output_size(28, 3, 0, 1, 1, "my_pool"),
                         "my_pool: kernel 3, stride 0 and dilation 1; expected each at least 1", rg::Error);
    CHECK_THROWS_WITH_AS(rg::conv_output_size(28, 0, 1, 1, 1, "my_pool"),
                         "my_pool: kernel 0, stride 1 and dilation 1; expected each at least 1", rg::Error);
    CHECK_THROWS_WITH_AS(rg::conv_output_size(28, 3, 1, 1, 0, "my_pool"),
                         "my_pool: kernel 3, stride 1 and dilation 0; expected each at least 1", rg::Error);
}
