// float32 convolutions and pooling on both kernels (oneDNN's, and
// retrograd's own im2col + GEMM and window loops) against direct float64
// loops, on shapes that leave partial tiles and blocks: 1x1, 7x7, stride 2,
// dilation, one image, channel counts that are not multiples of 8, groups,
// and the 3x3 layers of 32 channels and more that run oneDNN's Winograd
// algorithm when neither kernel is forced.
// ctest reruns the "float32" cases with oneDNN capped at SSE4.1 and AVX2.
#include "helpers.hpp"

#include <retrograd/detail/conv_kernel.hpp>

#include <vector>

using rg::Tensor;
using rg::TensorList;
using test::check_gradients;
using test::rand64;
using Kernel = rg::detail::ConvKernel;

namespace {

struct Case {
    rg::Shape x, w;
    rg::Conv2dOptions o;
};

// The three results of a convolution at one output gradient g, written from
// the definition y[n, o, p, q] = b[o] + Σ x[n, c, p s + i d - pad, q s + j d - pad] w[o, c', i, j]
// (c = the group's first channel + c'), in float64.
struct Direct {
    Tensor y, dx, dw;
};
Direct direct(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& g, const rg::Conv2dOptions& o) {
    const auto& xv = x.value<double>();
    const auto& wv = w.value<double>();
    const auto& gv = g.value<double>();
    const std::size_t n = x.shape()[0], c = x.shape()[1], h = x.shape()[2], wd = x.shape()[3];
    const std::size_t oc = w.shape()[0], cg = w.shape()[1], kh = w.shape()[2], kw = w.shape()[3];
    const std::size_t oh = g.shape()[2], ow = g.shape()[3], og = oc / o.groups;
    xt::xarray<double> y = xt::zeros<double>({n, oc, oh, ow}), dx = xt::zeros<double>({n, c, h, wd}),
                       dw = xt::zeros<double>({oc, cg, kh, kw});
    for (std::size_t b0 = 0; b0 < n; ++b0)
        for (std::size_t f = 0; f < oc; ++f)
            for (std::size_t p = 0; p < oh; ++p)
                for (std::size_t q = 0; q < ow; ++q) {
                    double acc = b.value<double>()(f);
                    for (std::size_t k = 0; k < cg; ++k)
                        for (std::size_t i = 0; i < kh; ++i)
                            for (std::size_t j = 0; j < kw; ++j) {
                                const long iy = long(p * o.stride[0] + i * o.dilation[0]) - long(o.padding[0]);
                                const long ix = long(q * o.stride[1] + j * o.dilation[1]) - long(o.padding[1]);
                                if (iy < 0 || ix < 0 || iy >= long(h) || ix >= long(wd)) continue;
                                const std::size_t ch = f / og * cg + k;
                                acc += xv(b0, ch, iy, ix) * wv(f, k, i, j);
                                dx(b0, ch, iy, ix) += gv(b0, f, p, q) * wv(f, k, i, j);
                                dw(f, k, i, j) += gv(b0, f, p, q) * xv(b0, ch, iy, ix);
                            }
                    y(b0, f, p, q) = acc;
                }
    return {Tensor(y), Tensor(dx), Tensor(dw)};
}

const std::vector<Case>& odd_cases() {
    static const std::vector<Case> cases = {
        {{2, 5, 9, 7}, {6, 5, 1, 1}, {}},  // 1x1
        {{2, 3, 17, 15}, {5, 3, 7, 7}, {{2, 2}, {3, 3}, {1, 1}}},  // 7x7, stride 2, the usual stem
        {{1, 13, 10, 11}, {7, 13, 3, 3}, {{1, 1}, {1, 1}, {1, 1}}},  // one image, 13 channels
        {{3, 1, 12, 12}, {9, 1, 3, 3}, {}},  // one input channel
        {{2, 20, 8, 9}, {10, 20, 3, 2}, {{2, 1}, {1, 0}, {1, 1}}},  // strides and padding per axis
        {{2, 17, 9, 9}, {19, 17, 3, 3}, {{1, 1}, {2, 2}, {2, 2}}},  // dilation
        {{2, 6, 7, 8}, {4, 3, 3, 3}, {.padding = {1, 1}, .groups = 2}},  // groups
        {{2, 12, 6, 6}, {12, 1, 3, 3}, {.stride = {2, 2}, .padding = {1, 1}, .groups = 12}},  // depthwise
        {{2, 18, 5, 5}, {33, 6, 5, 5}, {.padding = {2, 2}, .groups = 3}},  // 5x5, groups of 6 -> 11
        {{4, 24, 6, 6}, {40, 24, 3, 3}, {.padding = {1, 1}}},  // 16+ channels on a small image
        // 32+ channels, 3x3, unit stride: the automatic choice runs oneDNN's
        // Winograd convolution (AVX-512) forward and for the weight gradient.
        {{2, 32, 9, 9}, {32, 32, 3, 3}, {.padding = {1, 1}}},
        {{3, 40, 7, 10}, {36, 40, 3, 3}, {}},
    };
    return cases;
}

// Forces one kernel for the scope.
class Forced {
public:
    explicit Forced(Kernel k) : previous_(rg::detail::forced_conv_kernel()) { rg::detail::force_conv_kernel(k); }
    ~Forced() { rg::detail::force_conv_kernel(previous_); }
    Forced(const Forced&) = delete;
    Forced& operator=(const Forced&) = delete;

private:
    Kernel previous_;
};

const char* name(Kernel k) { return k == Kernel::onednn ? "oneDNN" : k == Kernel::own ? "im2col + GEMM" : "automatic"; }

void close(const Tensor& f32, const Tensor& f64, const char* what, Kernel k, const Case& c) {
    CHECK_MESSAGE(rg::allclose(f32.to(rg::float64), f64, 1e-4, 1e-4),
                  what << " through " << name(k) << ", input " << rg::shape_str(c.x) << ", weight "
                       << rg::shape_str(c.w) << "\nfloat32 " << f32 << "\nfloat64 reference " << f64);
}

}  // namespace

TEST_CASE("float32 conv2d and its gradients equal a direct float64 reference on both kernels") {
    rg::manual_seed(41);
    for (const Case& c : odd_cases()) {
        auto x = rand64(c.x, false), w = rand64(c.w, false), b = rand64({c.w[0]}, false);
        auto y64 = rg::conv2d(x, w, b, c.o);
        auto g = rand64(y64.shape(), false);
        const Direct ref = direct(x, w, b, g, c.o);
        test::check_values(y64, ref.y, 1e-10);  // float64: always im2col + GEMM
        test::check_values(rg::conv2d_input_grad(g, w, c.x, c.o), ref.dx, 1e-10);
        test::check_values(rg::conv2d_weight_grad(g, x, c.w, c.o), ref.dw, 1e-10);
        auto f = [](const Tensor& t) { return t.to(rg::float32); };
        for (Kernel k : {Kernel::onednn, Kernel::own, Kernel::automatic}) {
            Forced forced(k);
            close(rg::conv2d(f(x), f(w), f(b), c.o), ref.y, "conv2d", k, c);
            close(rg::conv2d_input_grad(f(g), f(w), c.x, c.o), ref.dx, "conv2d_input_grad", k, c);
            close(rg::conv2d_weight_grad(f(g), f(x), c.w, c.o), ref.dw, "conv2d_weight_grad", k, c);
            // Through conv2d's VJP, which runs both passes (and the bias
            // gradient) in one oneDNN call where both go through oneDNN.
            const Tensor xg = f(x).requires_grad_(), wg = f(w).requires_grad_(), bg = f(b).requires_grad_();
            const auto grads = rg::grad(rg::sum(rg::conv2d(xg, wg, bg, c.o) * f(g)), {xg, wg, bg});
            close(grads[0], ref.dx, "conv2d's VJP, input", k, c);
            close(grads[1], ref.dw, "conv2d's VJP, weight", k, c);
            close(grads[2], rg::sum(g, {0, 2, 3}), "conv2d's VJP, bias", k, c);
        }
    }
}

TEST_CASE("float32 conv2d backpropagates through oneDNN at first and second order") {
    // The VJPs are convolution ops, so grad of grad runs the same kernels:
    // float32 on oneDNN against float64 on im2col + GEMM.
    rg::manual_seed(42);
    const Case c{{2, 4, 7, 6}, {6, 2, 3, 3}, {.stride = {2, 1}, .padding = {1, 1}, .groups = 2}};
    auto x = rand64(c.x), w = rand64(c.w), b = rand64({6});
    auto loss = [&](const Tensor& xs, const Tensor& ws, const Tensor& bs) {
        auto y = rg::conv2d(xs, ws, bs, c.o);
        auto [dx] = rg::grad(rg::sum(y * y), {xs}, {.create_graph = true});
        return rg::sum(dx * dx);
    };
    auto grads64 = rg::grad(loss(x, w, b), {x, w, b});
    Forced forced(Kernel::onednn);
    auto x32 = x.detach().to(rg::float32).requires_grad_(), w32 = w.detach().to(rg::float32).requires_grad_(),
         b32 = b.detach().to(rg::float32).requires_grad_();
    auto grads32 = rg::grad(loss(x32, w32, b32), {x32, w32, b32});
    for (std::size_t i = 0; i < 3; ++i)
        CHECK_MESSAGE(rg::allclose(grads32[i].to(rg::float64), grads64[i], 1e-3, 1e-3),
                      "input " << i << ": float32 " << grads32[i] << "\nfloat64 " << grads64[i]);
}

TEST_CASE("conv2d with groups: gradients at both orders and errors") {
    rg::manual_seed(43);
    const rg::Conv2dOptions o{.stride = {1, 2}, .padding = {1, 0}, .dilation = {2, 1}, .groups = 3};
    check_gradients([o](const TensorList& v) { return rg::conv2d(v[0], v[1], v[2], o); },
                    {rand64({2, 6, 6, 5}), rand64({9, 2, 2, 3}), rand64({9})});
    CHECK_THROWS_WITH_AS(rg::conv2d(rg::zeros({1, 6, 5, 5}), rg::zeros({4, 3, 3, 3}), {}, {.groups = 3}),
                         "conv2d: groups must be positive and divide the 4 output channels of weight (4, 3, 3, 3), "
                         "got 3",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::conv2d(rg::zeros({1, 6, 5, 5}), rg::zeros({4, 2, 3, 3}), {}, {.groups = 2}),
                         "conv2d: input has 6 channels but weight (4, 2, 3, 3) in 2 groups expects 4 (2 per group)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::conv2d(rg::zeros({1, 6, 5, 5}), rg::zeros({4, 6, 3, 3}), {}, {.groups = 0}),
                         doctest::Contains("conv2d: groups must be positive"), rg::Error);
}

TEST_CASE("nn::Conv2d with groups holds a (out, in / groups, kh, kw) weight") {
    rg::nn::Conv2d conv(6, 9, 3, {.padding = {1, 1}, .groups = 3});
    CHECK(conv.weight.shape() == rg::Shape{9, 2, 3, 3});
    CHECK(conv.describe() == "Conv2d(6, 9, kernel=(3, 3), stride=(1, 1), padding=(1, 1), groups=3)");
    CHECK(conv(rg::zeros({2, 6, 5, 5})).shape() == rg::Shape{2, 9, 5, 5});
    CHECK_THROWS_WITH_AS(rg::nn::Conv2d(6, 8, 3, {.groups = 3}),
                         "Conv2d: groups must be positive and divide in (6) and out (8) channels, got 3", rg::Error);
}

TEST_CASE("float32 avg_pool2d and its gradient equal window means on both kernels") {
    rg::manual_seed(44);
    struct Pool {
        rg::Shape x;
        rg::Size2 kernel;
        rg::Pool2dOptions o;
    };
    const std::vector<Pool> pools = {{{2, 3, 8, 8}, {2, 2}, {}},
                                     {{1, 5, 9, 7}, {3, 3}, {.stride = {2, 2}, .padding = {1, 1}}},
                                     {{2, 13, 7, 10}, {3, 2}, {.stride = {1, 3}, .padding = {1, 0}}},
                                     {{3, 1, 5, 5}, {5, 5}, {}}};
    for (const Pool& p : pools) {
        auto x = rand64(p.x, false);
        auto y64 = rg::avg_pool2d(x, p.kernel, p.o);
        auto g = rand64(y64.shape(), false);
        // The definition: the window's sum over the kernel's area, padding as zeros.
        auto conv = [&](const Tensor& images) {
            const std::size_t n = p.x[0], c = p.x[1];
            auto planes = rg::reshape(images, rg::Shape{n * c, 1, p.x[2], p.x[3]});
            auto ones = rg::full({1, 1, p.kernel[0], p.kernel[1]}, 1.0 / double(p.kernel[0] * p.kernel[1]),
                                 {.dtype = rg::float64});
            const rg::Size2 stride{p.o.stride[0] ? p.o.stride[0] : p.kernel[0],
                                   p.o.stride[1] ? p.o.stride[1] : p.kernel[1]};
            auto y = rg::conv2d(planes, ones, {}, {.stride = stride, .padding = p.o.padding});
            return rg::reshape(y, rg::Shape{n, c, y.shape()[2], y.shape()[3]});
        };
        const Direct ref{conv(x), {}, {}};
        test::check_values(y64, ref.y, 1e-12);
        auto xr = x.detach().requires_grad_();
        auto [dx_ref] = rg::grad(rg::sum(conv(xr) * g), {xr});
        test::check_values(rg::avg_pool2d_backward(g, p.x, p.kernel, p.o), dx_ref, 1e-12);
        for (Kernel k : {Kernel::onednn, Kernel::own}) {
            Forced forced(k);
            CHECK_MESSAGE(rg::allclose(rg::avg_pool2d(x.to(rg::float32), p.kernel, p.o).to(rg::float64), ref.y, 1e-5,
                                       1e-5),
                          name(k) << " " << rg::shape_str(p.x));
            CHECK_MESSAGE(rg::allclose(rg::avg_pool2d_backward(g.to(rg::float32), p.x, p.kernel, p.o).to(rg::float64),
                                       dx_ref, 1e-5, 1e-5),
                          name(k) << " " << rg::shape_str(p.x));
        }
    }
    check_gradients([](const TensorList&
                           v) { return rg::avg_pool2d(v[0], {3, 2}, {.stride = {2, 1}, .padding = {1, 1}}); },
                    {rand64({2, 3, 5, 6})});
    CHECK_THROWS_WITH_AS(rg::avg_pool2d_backward(rg::zeros({1, 1, 3, 3}), {1, 1, 4, 4}, {2, 2}),
                         "avg_pool2d_backward: output gradient has shape (1, 1, 3, 3), expected (1, 1, 2, 2) for "
                         "input (1, 1, 4, 4)",
                         rg::Error);
}

TEST_CASE("float32 training steps make their oneDNN primitives once; the cache is bounded") {
    rg::manual_seed(45);
    rg::nn::Sequential net{rg::nn::Conv2d(3, 8, 3, {.padding = {1, 1}}), rg::nn::ReLU(),    rg::nn::AvgPool2d({2, 2}),
                           rg::nn::Conv2d(8, 16, 3, {.stride = {2, 2}}), rg::nn::Flatten(), rg::nn::Linear(16, 4)};
    rg::optim::SGD opt(net.parameters(), {.lr = 0.01});
    auto x = rg::randn({5, 3, 8, 8});
    auto target = rg::from_indices({0, 1, 2, 3, 0});
    auto step = [&] {
        opt.zero_grad();
        rg::nn::cross_entropy(net(x), target).backward();
        opt.step();
    };
    step();
    CHECK(rg::detail::onednn_cached_primitives() > 0);
    const std::size_t after_first = rg::detail::onednn_primitives_made();
    for (int i = 0; i < 3; ++i) step();
    CHECK(rg::detail::onednn_primitives_made() == after_first);
    // Many shapes: the cache keeps the most recent ones only.
    Forced forced(Kernel::onednn);
    for (std::size_t side = 3; side < 3 + 150; ++side) rg::conv2d(rg::zeros({1, 1, side, 3}), rg::zeros({1, 1, 2, 2}));
    CHECK(rg::detail::onednn_cached_primitives() <= 128);
}
