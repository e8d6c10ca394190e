// float32 max pooling on both kernels (oneDNN's, and retrograd's own window
// loops) against direct float64 loops, on shapes that leave partial tiles:
// 1x1 and 7x7 windows, stride 2, padding, one image, channel counts that are
// not multiples of 8, dilation and ceil_mode, ties and NaN. ctest reruns the
// "float32" cases with oneDNN capped at SSE4.1 and AVX2 and with
// RETROGRAD_NO_AVX2.
#include "helpers.hpp"

#include <retrograd/detail/conv_kernel.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

using rg::Tensor;
using Kernel = rg::detail::ConvKernel;

namespace {

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

struct Pool {
    rg::Shape x;
    rg::Size2 kernel;
    rg::Pool2dOptions o;
};

// One side's output size, as PyTorch computes it.
std::size_t out_size(std::size_t in, std::size_t k, std::size_t s, std::size_t p, std::size_t d, bool ceil_mode) {
    const long span = long(in) + 2 * long(p) - long(d * (k - 1)) - 1;
    long out = (ceil_mode ? (span + long(s) - 1) / long(s) : span / long(s)) + 1;
    if (ceil_mode && (out - 1) * long(s) >= long(in + p)) --out;
    return std::size_t(out);
}

// The definition in float64: each window's largest value (the first of
// equal ones; a NaN wins) and the gradient g routed to it.
std::pair<Tensor, Tensor> direct(const Tensor& x, const Tensor& g, const Pool& p) {
    const auto& xv = x.value<double>();
    const auto& gv = g.value<double>();
    const std::size_t n = p.x[0], c = p.x[1], h = p.x[2], w = p.x[3];
    const std::size_t oh = g.shape()[2], ow = g.shape()[3];
    const std::size_t sy = p.o.stride[0] ? p.o.stride[0] : p.kernel[0],
                      sx = p.o.stride[1] ? p.o.stride[1] : p.kernel[1];
    xt::xarray<double> y = xt::zeros<double>({n, c, oh, ow}), dx = xt::zeros<double>({n, c, h, w});
    for (std::size_t b = 0; b < n; ++b)
        for (std::size_t f = 0; f < c; ++f)
            for (std::size_t q = 0; q < oh; ++q)
                for (std::size_t r = 0; r < ow; ++r) {
                    double best = -std::numeric_limits<double>::infinity();
                    long by = -1, bx = -1;
                    for (std::size_t i = 0; i < p.kernel[0]; ++i)
                        for (std::size_t j = 0; j < p.kernel[1]; ++j) {
                            const long iy = long(q * sy + i * p.o.dilation[0]) - long(p.o.padding[0]);
                            const long ix = long(r * sx + j * p.o.dilation[1]) - long(p.o.padding[1]);
                            if (iy < 0 || ix < 0 || iy >= long(h) || ix >= long(w)) continue;
                            const double v = xv(b, f, iy, ix);
                            if (by < 0 || (!std::isnan(best) && (v > best || std::isnan(v)))) {
                                best = v;
                                by = iy;
                                bx = ix;
                            }
                        }
                    y(b, f, q, r) = best;
                    dx(b, f, by, bx) += gv(b, f, q, r);
                }
    return {Tensor(y), Tensor(dx)};
}

std::string name(Kernel k) { return k == Kernel::onednn ? "oneDNN" : k == Kernel::own ? "window loops" : "automatic"; }

}  // namespace

TEST_CASE("float32 max_pool2d and its gradient equal a direct float64 reference on both kernels") {
    rg::manual_seed(46);
    const std::vector<Pool> pools = {
        {{2, 3, 8, 8}, {2, 2}, {}},  // the common 2x2
        {{2, 5, 9, 7}, {1, 1}, {}},  // 1x1
        {{2, 3, 17, 15}, {7, 7}, {.stride = {2, 2}, .padding = {3, 3}}},  // 7x7, stride 2
        {{1, 13, 10, 11}, {3, 3}, {.stride = {2, 2}, .padding = {1, 1}}},  // one image, 13 channels, odd sides
        {{3, 1, 12, 12}, {3, 2}, {.stride = {1, 3}, .padding = {1, 0}}},  // one channel, per-axis options
        {{2, 17, 9, 9}, {3, 3}, {.stride = {1, 1}, .dilation = {2, 2}}},  // dilation (composed)
        {{2, 6, 7, 8}, {2, 2}, {.ceil_mode = true}},  // ceil_mode: a last partial window (composed)
        {{2, 10, 9, 9}, {3, 3}, {.stride = {2, 2}, .padding = {1, 1}, .ceil_mode = true}},
    };
    for (const Pool& p : pools) {
        for (bool ties : {false, true}) {
            // With ties, values are few integers: many windows hold their maximum twice.
            auto x = ties ? rg::randint(0, 3, p.x).to(rg::float64) : test::rand64(p.x, false);
            const std::size_t sy = p.o.stride[0] ? p.o.stride[0] : p.kernel[0];
            const std::size_t sx = p.o.stride[1] ? p.o.stride[1] : p.kernel[1];
            const rg::Shape out{p.x[0], p.x[1],
                                out_size(p.x[2], p.kernel[0], sy, p.o.padding[0], p.o.dilation[0], p.o.ceil_mode),
                                out_size(p.x[3], p.kernel[1], sx, p.o.padding[1], p.o.dilation[1], p.o.ceil_mode)};
            auto g = test::rand64(out, false);
            const auto [y_ref, dx_ref] = direct(x, g, p);
            for (Kernel k : {Kernel::onednn, Kernel::own, Kernel::automatic}) {
                Forced forced(k);
                auto x32 = x.to(rg::float32).requires_grad_();
                auto y = rg::max_pool2d(x32, p.kernel, p.o);
                auto [dx] = rg::grad(rg::sum(y * g.to(rg::float32)), {x32});
                CHECK_MESSAGE(rg::allclose(y.to(rg::float64), y_ref, 1e-6, 1e-6),
                              name(k) << " " << rg::shape_str(p.x) << (ties ? " with ties" : ""));
                CHECK_MESSAGE(rg::allclose(dx.to(rg::float64), dx_ref, 1e-5, 1e-5),
                              name(k) << " " << rg::shape_str(p.x) << (ties ? " with ties" : ""));
            }
        }
    }
}

TEST_CASE("float32 max_pool2d propagates NaN and differentiates twice on both kernels") {
    rg::manual_seed(47);
    for (Kernel k : {Kernel::onednn, Kernel::own}) {
        Forced forced(k);
        auto x = rg::randn({2, 3, 6, 6});
        x.data_ptr<float>()[3] = std::numeric_limits<float>::quiet_NaN();  // row 0, column 3: window (0, 1)
        auto y = rg::max_pool2d(x, {2, 2});
        CHECK_MESSAGE(std::isnan(y.data_ptr<float>()[1]), name(k));
        int nans = 0;
        for (float v : y.value<float>()) nans += std::isnan(v) ? 1 : 0;
        CHECK_MESSAGE(nans == 1, name(k));
        // Second order: d/dg of <grad of sum(pool(x) * g), v> is pool(v) at the maxima.
        auto xs = rg::randn({2, 3, 6, 6}).requires_grad_();
        auto g = rg::randn({2, 3, 3, 3}).requires_grad_();
        auto [dx] = rg::grad(rg::sum(rg::max_pool2d(xs, {2, 2}) * g), {xs}, {.create_graph = true});
        auto v = rg::randn({2, 3, 6, 6});
        auto [dg] = rg::grad(rg::sum(dx * v), {g});
        Forced own(Kernel::own);
        auto [dx_own] = rg::grad(rg::sum(rg::max_pool2d(xs, {2, 2}) * g), {xs}, {.create_graph = true});
        auto [dg_own] = rg::grad(rg::sum(dx_own * v), {g});
        CHECK_MESSAGE(rg::allclose(dg, dg_own, 0.0, 0.0), name(k));
    }
}
