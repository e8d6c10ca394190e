// The convolution and pooling kernels of a CNN's training step at 1 and 2
// threads: im2col + GEMM splits its images between threads (the weight
// gradient sums them in blocks fixed by the shape), max pooling its image
// planes. The values agree to the bit, and with float64's to float32
// rounding. Part of the `threads` suite (ThreadSanitizer in .ci/run).
#include "helpers.hpp"

#include <retrograd/detail/conv_kernel.hpp>
#include <retrograd/detail/parallel_thresholds.hpp>

#include <string>
#include <utility>
#include <vector>
#include "thread_count.hpp"

namespace {

using Threads = test::ThreadCount;
using Kernel = rg::detail::ConvKernel;

// Forces a convolution kernel for a scope, then gives the choice back.
class ForcedKernel {
public:
    explicit ForcedKernel(Kernel k) { rg::detail::force_conv_kernel(k); }
    ~ForcedKernel() { rg::detail::force_conv_kernel(Kernel::automatic); }
    ForcedKernel(const ForcedKernel&) = delete;
    ForcedKernel& operator=(const ForcedKernel&) = delete;
};

// conv2d and its two gradients at output gradient g, through the op and its VJP.
rg::TensorList conv_results(const rg::Tensor& x, const rg::Tensor& w, const rg::Tensor& b, const rg::Tensor& g,
                            const rg::Conv2dOptions& o) {
    auto xg = x.detach().requires_grad_(), wg = w.detach().requires_grad_(), bg = b.detach().requires_grad_();
    auto y = rg::conv2d(xg, wg, bg, o);
    auto grads = rg::grad(rg::sum(y * g), {xg, wg, bg});
    return {y, grads[0], grads[1], grads[2]};
}

struct ConvCase {
    rg::Shape x, w;
    rg::Conv2dOptions o;
};

}  // namespace

TEST_CASE("im2col convolutions give the same bits on 1 and 2 threads, and float64's values") {
    // Each case's patches hold compute_parallel_threshold (32768) values or
    // more, so both threads take images.
    static_assert(rg::detail::compute_parallel_threshold == 32768);
    const std::vector<ConvCase> cases = {
        {{8, 6, 12, 12}, {10, 6, 3, 3}, {.padding = {1, 1}}},
        {{5, 4, 15, 13}, {6, 2, 3, 3}, {.stride = {2, 2}, .padding = {1, 0}, .groups = 2}},
        {{3, 16, 20, 20}, {8, 16, 1, 1}, {}},
        {{17, 3, 14, 14}, {4, 3, 5, 5}, {}},
    };
    const ForcedKernel own(Kernel::own);
    for (std::size_t i = 0; i < cases.size(); ++i) {
        const ConvCase& c = cases[i];
        CAPTURE(i);
        for (rg::Dtype dtype : {rg::float32, rg::float64}) {
            CAPTURE(std::string(rg::dtype_name(dtype)));
            rg::manual_seed(static_cast<std::uint64_t>(71 + i));
            const auto x = rg::randn(c.x, {.dtype = dtype}), w = rg::randn(c.w, {.dtype = dtype}),
                       b = rg::randn({c.w[0]}, {.dtype = dtype});
            rg::Tensor g;
            {
                rg::NoGrad off;
                g = rg::randn(rg::conv2d(x, w, b, c.o).shape(), {.dtype = dtype});
            }
            rg::TensorList one, two;
            {
                Threads t(1);
                one = conv_results(x, w, b, g, c.o);
            }
            {
                Threads t(2);
                two = conv_results(x, w, b, g, c.o);
            }
            const rg::TensorList reference =
                conv_results(x.to(rg::float64), w.to(rg::float64), b.to(rg::float64), g.to(rg::float64), c.o);
            for (std::size_t k = 0; k < one.size(); ++k) {
                CHECK_MESSAGE(rg::allclose(one[k], two[k], 0.0, 0.0), "result " << k);
                CHECK_MESSAGE(rg::allclose(two[k].to(rg::float64), reference[k], 1e-4, 1e-3), "result " << k);
            }
        }
    }
}

TEST_CASE("2x2 max pooling and its gradient give the same bits on 1 and 2 threads, odd sides included") {
    // Each input above the pooling loops' threshold, so both threads take planes.
    constexpr std::size_t pool_loops = rg::detail::parallel_threshold;
    for (const rg::Shape& shape :
         {test::shape_reaching<pool_loops, 32, 32, 13, 11>(), test::shape_reaching<pool_loops, 16, 64, 12, 12>()}) {
        CAPTURE(rg::shape_str(shape));
        for (rg::Dtype dtype : {rg::float32, rg::float64}) {
            CAPTURE(std::string(rg::dtype_name(dtype)));
            rg::manual_seed(83);
            const auto x = rg::randn(shape, {.dtype = dtype});
            const std::size_t oh = shape[2] / 2, ow = shape[3] / 2;
            const auto g = rg::randn({shape[0], shape[1], oh, ow}, {.dtype = dtype});
            auto run = [&](int threads) {
                Threads t(threads);
                auto xg = x.detach().requires_grad_();
                auto y = rg::max_pool2d(xg, {2, 2});
                auto [dx] = rg::grad(rg::sum(y * g), {xg});
                return rg::TensorList{y, dx};
            };
            const rg::TensorList one = run(1), two = run(2);
            CHECK(rg::allclose(one[0], two[0], 0.0, 0.0));
            CHECK(rg::allclose(one[1], two[1], 0.0, 0.0));
            // Written from the definition: each window's largest value, and
            // its output's gradient at that pixel (random values: no ties);
            // the pixels of an odd side's last row or column get none.
            const auto xv = x.to(rg::float64), gv = g.to(rg::float64);
            const auto& xs = xv.value<double>();
            const auto& gs = gv.value<double>();
            xt::xarray<double> y = xt::zeros<double>({shape[0], shape[1], oh, ow});
            xt::xarray<double> dx = xt::zeros<double>({shape[0], shape[1], shape[2], shape[3]});
            for (std::size_t n = 0; n < shape[0]; ++n)
                for (std::size_t c = 0; c < shape[1]; ++c)
                    for (std::size_t p = 0; p < oh; ++p)
                        for (std::size_t q = 0; q < ow; ++q) {
                            std::size_t bi = 2 * p, bj = 2 * q;
                            for (std::size_t i = 2 * p; i < 2 * p + 2; ++i)
                                for (std::size_t j = 2 * q; j < 2 * q + 2; ++j)
                                    if (xs(n, c, i, j) > xs(n, c, bi, bj)) {
                                        bi = i;
                                        bj = j;
                                    }
                            y(n, c, p, q) = xs(n, c, bi, bj);
                            dx(n, c, bi, bj) = gs(n, c, p, q);
                        }
            CHECK(rg::allclose(two[0].to(rg::float64), rg::Tensor(y), 0.0, 0.0));
            CHECK(rg::allclose(two[1].to(rg::float64), rg::Tensor(dx), 1e-6, 1e-6));
        }
    }
}

TEST_CASE("max pooling with overlapping windows and its gradient give the same bits on 1 and 2 threads") {
    // Windows that share pixels, whose gradients add up at a shared maximum:
    // the window loops, and the composition of the further options (ceil_mode,
    // dilation); each input holds 32768 values or more, so both threads take planes.
    const std::vector<std::pair<rg::Size2, rg::Pool2dOptions>> pools = {
        {{3, 3}, {.stride = {2, 2}, .padding = {1, 1}}},
        {{3, 2}, {.stride = {1, 1}}},
        {{3, 3}, {.stride = {2, 2}, .padding = {1, 1}, .ceil_mode = true}},
        {{2, 2}, {.stride = {1, 1}, .dilation = {2, 2}}},
    };
    const ForcedKernel own(Kernel::own);
    for (std::size_t i = 0; i < pools.size(); ++i) {
        CAPTURE(i);
        const rg::Size2 kernel = pools[i].first;
        const rg::Pool2dOptions options = pools[i].second;
        for (rg::Dtype dtype : {rg::float32, rg::float64}) {
            CAPTURE(std::string(rg::dtype_name(dtype)));
            rg::manual_seed(static_cast<std::uint64_t>(89 + i));
            // Few distinct values: many windows share their maximum with a neighbour.
            const auto x =
                rg::randint(0, 5, test::shape_reaching<rg::detail::parallel_threshold, 32, 16, 17, 17>()).to(dtype);
            rg::Tensor g;
            {
                rg::NoGrad off;
                g = rg::randn(rg::max_pool2d(x, kernel, options).shape(), {.dtype = dtype});
            }
            auto run = [&](int threads, const rg::Tensor& input, const rg::Tensor& grad) {
                Threads t(threads);
                auto xg = input.detach().requires_grad_();
                auto y = rg::max_pool2d(xg, kernel, options);
                auto [dx] = rg::grad(rg::sum(y * grad), {xg});
                return rg::TensorList{y, dx};
            };
            const rg::TensorList one = run(1, x, g), two = run(2, x, g);
            const rg::TensorList reference = run(1, x.to(rg::float64), g.to(rg::float64));
            for (std::size_t k = 0; k < one.size(); ++k) {
                CHECK_MESSAGE(rg::allclose(one[k], two[k], 0.0, 0.0), "result " << k);
                CHECK_MESSAGE(rg::allclose(two[k].to(rg::float64), reference[k], 1e-5, 1e-5), "result " << k);
            }
        }
    }
}

TEST_CASE("conv2d_relu_max_pool2d and its one-pass backward give the same bits on 1 and 2 threads") {
    // The CNN's first layer: 64 images split between the threads, the weight
    // and bias gradients summed in blocks fixed by the shape.
    for (rg::Dtype dtype : {rg::float32, rg::float64}) {
        CAPTURE(std::string(rg::dtype_name(dtype)));
        rg::manual_seed(89);
        const auto x = rg::randn({64, 1, 28, 28}, {.dtype = dtype}), w = rg::randn({32, 1, 3, 3}, {.dtype = dtype}),
                   b = rg::randn({32}, {.dtype = dtype}), g = rg::randn({64, 32, 13, 13}, {.dtype = dtype});
        auto run = [&](int threads) {
            Threads t(threads);
            auto wg = w.detach().requires_grad_(), bg = b.detach().requires_grad_();
            auto y = rg::conv2d_relu_max_pool2d(x, wg, bg, {}, {2, 2});
            auto grads = rg::grad(rg::sum(y * g), {wg, bg});
            return rg::TensorList{y, grads[0], grads[1]};
        };
        const rg::TensorList one = run(1), two = run(2);
        for (std::size_t k = 0; k < one.size(); ++k)
            CHECK_MESSAGE(rg::allclose(one[k], two[k], 0.0, 0.0), "result " << k);
    }
}
