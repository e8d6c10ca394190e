// conv2d_relu and conv2d_relu_max_pool2d: relu(conv2d) and
// max_pool2d(relu(conv2d)) as one op. Their values equal the composed ops'
// (conv2d_relu's to the bit); their one-pass backward (im2col + GEMM, not recorded) equals
// the composed ops' gradients for each option and each set of inputs that
// needs one; recorded (create_graph), they pass gradcheck at second order.
#include "helpers.hpp"

#include <retrograd/detail/conv_kernel.hpp>

#include <algorithm>
#include <string>
#include <vector>

using rg::Tensor;
using rg::TensorList;

namespace {

struct Case {
    rg::Shape x, w;
    rg::Conv2dOptions conv;
    rg::Size2 kernel;
    rg::Pool2dOptions pool;
};

// The op's (fused) or the composition's output and its gradients at output
// gradient g, with respect to the inputs that `needs` marks.
TensorList run(bool fused, bool pooled, const Case& c, const Tensor& x, const Tensor& w, const Tensor& b,
               const Tensor& g, const std::vector<bool>& needs) {
    Tensor xs = x.detach(), ws = w.detach(), bs = b.defined() ? b.detach() : Tensor{};
    TensorList wrt;
    for (auto [t, need] : {std::pair{&xs, needs[0]}, {&ws, needs[1]}, {&bs, needs[2]}})
        if (need && t->defined()) wrt.push_back(t->requires_grad_());
    Tensor y;
    if (pooled)
        y = fused ? rg::conv2d_relu_max_pool2d(xs, ws, bs, c.conv, c.kernel, c.pool)
                  : rg::max_pool2d(rg::relu(rg::conv2d(xs, ws, bs, c.conv)), c.kernel, c.pool);
    else
        y = fused ? rg::conv2d_relu(xs, ws, bs, c.conv) : rg::relu(rg::conv2d(xs, ws, bs, c.conv));
    TensorList out{y};
    if (wrt.empty()) return out;
    for (const Tensor& d : rg::grad(rg::sum(y * g), wrt, rg::GradOptions{})) out.push_back(d);
    return out;
}

// Whether a and b agree within `rel` of b's largest magnitude (float32 sums
// of many products differ in their last bits with the order of the terms).
bool agree(const Tensor& a, const Tensor& b, double rel) {
    const auto av = a.to(rg::float64), bv = b.to(rg::float64);
    const double scale = xt::amax(xt::abs(bv.value<double>()))();
    return rg::allclose(av, bv, 0.0, rel * std::max(scale, 1.0));
}

const std::vector<Case>& cases() {
    static const std::vector<Case> list = {
        {{2, 3, 8, 7}, {4, 3, 3, 2}, {}, {2, 2}, {}},
        {{3, 4, 11, 10},
         {6, 2, 3, 3},
         {.stride = {2, 1}, .padding = {1, 2}, .dilation = {1, 2}, .groups = 2},
         {3, 3},
         {.stride = {2, 2}, .padding = {1, 1}}},
        {{1, 8, 6, 6}, {4, 8, 1, 1}, {}, {2, 2}, {}},  // 1x1: the image is its own patches
        {{2, 2, 9, 9}, {3, 2, 3, 3}, {.padding = {1, 1}}, {3, 2}, {.stride = {1, 2}}},  // overlapping windows
        {{64, 1, 28, 28}, {32, 1, 3, 3}, {}, {2, 2}, {}},  // the CNN's first layer: blocks summed in order
        // float32 through oneDNN, the batch at once: direct, then Winograd on AVX-512
        // (direct on AVX2, where the fused op keeps oneDNN's blocked output)
        {{2, 4, 9, 9}, {8, 4, 3, 3}, {}, {2, 2}, {}},
        {{2, 32, 13, 13}, {64, 32, 3, 3}, {}, {2, 2}, {}},
    };
    return list;
}

}  // namespace

TEST_CASE("conv2d_relu and conv2d_relu_max_pool2d equal the composed ops, values and gradients") {
    const std::vector<std::vector<bool>> needs = {{true, true, true},
                                                  {false, true, true},
                                                  {true, false, false},
                                                  {false, false, true}};
    for (std::size_t i = 0; i < cases().size(); ++i) {
        const Case& c = cases()[i];
        CAPTURE(i);
        for (rg::Dtype dtype : {rg::float32, rg::float64}) {
            CAPTURE(std::string(rg::dtype_name(dtype)));
            const double tol = dtype == rg::float64 ? 1e-12 : 1e-5;
            rg::manual_seed(31 + i);
            const Tensor x = rg::randn(c.x, {.dtype = dtype}), w = rg::randn(c.w, {.dtype = dtype});
            for (bool pooled : {false, true}) {
                CAPTURE(pooled);
                for (bool with_bias : {true, false}) {
                    const Tensor b = with_bias ? rg::randn({c.w[0]}, {.dtype = dtype}) : Tensor{};
                    Tensor g;
                    {
                        rg::NoGrad off;
                        g = rg::randn(run(false, pooled, c, x, w, b, Tensor{}, {false, false, false})[0].shape(),
                                      {.dtype = dtype});
                    }
                    for (const auto& need : needs) {
                        CAPTURE(need[0]);
                        CAPTURE(need[1]);
                        CAPTURE(need[2]);
                        const TensorList fused = run(true, pooled, c, x, w, b, g, need);
                        const TensorList composed = run(false, pooled, c, x, w, b, g, need);
                        REQUIRE(fused.size() == composed.size());
                        // conv2d_relu's products are conv2d's; the pool's window order
                        // multiplies in other GEMM shapes, which round differently.
                        if (pooled)
                            CHECK(agree(fused[0], composed[0], tol));
                        else
                            CHECK(rg::allclose(fused[0], composed[0], 0.0, 0.0));
                        for (std::size_t k = 1; k < fused.size(); ++k)
                            CHECK_MESSAGE(agree(fused[k], composed[k], tol), "gradient " << k);
                    }
                }
            }
        }
    }
}

TEST_CASE("conv2d_relu_max_pool2d records the fused op and keeps no activation of the convolution's size") {
    const Tensor x = rg::randn({2, 3, 8, 8}, {.dtype = rg::float64});
    const Tensor w = rg::randn({4, 3, 3, 3}, {.dtype = rg::float64, .requires_grad = true});
    const Tensor y = rg::conv2d_relu_max_pool2d(x, w, {}, {}, {2, 2});
    REQUIRE(y.grad_fn() != nullptr);
    CHECK(y.grad_fn()->op() == "conv2d_relu_max_pool2d");
    CHECK(y.shape() == rg::Shape{2, 4, 3, 3});
    CHECK(rg::conv2d_relu(x, w).grad_fn()->op() == "conv2d_relu");
}

TEST_CASE("conv2d_relu and conv2d_relu_max_pool2d pass gradcheck at first and second order") {
    for (std::size_t i = 0; i < 4; ++i) {
        const Case& c = cases()[i];
        CAPTURE(i);
        rg::manual_seed(57 + i);
        rg::Shape small_x = c.x;
        small_x[0] = 1;
        const TensorList inputs = {test::rand64(small_x), test::rand64(c.w), test::rand64({c.w[0]})};
        test::check_gradients([&](const TensorList& v) { return rg::conv2d_relu(v[0], v[1], v[2], c.conv); }, inputs);
        test::
            check_gradients([&](const TensorList&
                                    v) { return rg::conv2d_relu_max_pool2d(v[0], v[1], v[2], c.conv, c.kernel, c.pool); },
                            inputs);
    }
}

TEST_CASE("conv2d_relu_max_pool2d composes the ops where it cannot fuse them") {
    rg::manual_seed(61);
    // float32 through oneDNN (64 channels), a pool with ceil_mode, a padding mode, bfloat16.
    const Tensor x = rg::randn({2, 64, 9, 9}), w = rg::randn({64, 64, 3, 3}), b = rg::randn({64});
    const auto composed = [](const Tensor& xs, const Tensor& ws, const Tensor& bs, rg::Conv2dOptions conv,
                             rg::Pool2dOptions pool) {
        return rg::max_pool2d(rg::relu(rg::conv2d(xs, ws, bs, conv)), {2, 2}, pool);
    };
    CHECK(rg::allclose(rg::conv2d_relu_max_pool2d(x, w, b, {}, {2, 2}), composed(x, w, b, {}, {}), 0.0, 0.0));
    const rg::Pool2dOptions ceil{.ceil_mode = true};
    CHECK(rg::allclose(rg::conv2d_relu_max_pool2d(x, w, b, {}, {2, 2}, ceil), composed(x, w, b, {}, ceil), 0.0, 0.0));
    const rg::Conv2dOptions reflect{.padding = {1, 1}, .padding_mode = rg::PadMode::reflect};
    CHECK(rg::allclose(rg::conv2d_relu_max_pool2d(x, w, b, reflect, {2, 2}), composed(x, w, b, reflect, {}), 0.0, 0.0));
    CHECK(rg::allclose(rg::conv2d_relu(x, w, b, reflect), rg::relu(rg::conv2d(x, w, b, reflect)), 0.0, 0.0));
    const Tensor xb = x.to(rg::bfloat16), wb = w.to(rg::bfloat16), bb = b.to(rg::bfloat16);
    CHECK(rg::allclose(rg::conv2d_relu_max_pool2d(xb, wb, bb, {}, {2, 2}).to(rg::float32),
                       composed(xb, wb, bb, {}, {}).to(rg::float32), 0.0, 0.0));
}

TEST_CASE("conv2d_relu and conv2d_relu_max_pool2d refuse bad input as conv2d and max_pool2d do") {
    const Tensor x = rg::zeros({1, 3, 6, 6}), w = rg::zeros({4, 3, 3, 3});
    CHECK_THROWS_WITH_AS(rg::conv2d_relu(x, w, rg::zeros({3})), "conv2d_relu: bias has shape (3,), expected (4,)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::conv2d_relu_max_pool2d(x, w, rg::zeros({5}), {}, {2, 2}),
                         "conv2d_relu_max_pool2d: bias has shape (5,), expected (4,)", rg::Error);
    CHECK_THROWS_WITH_AS(rg::conv2d_relu_max_pool2d(x, w, {}, {}, {2, 2}, {.padding = {2, 2}}),
                         "max_pool2d: padding (2, 2) must be at most half the kernel (2, 2)", rg::Error);
    CHECK_THROWS_WITH_AS(rg::conv2d_relu(x, rg::zeros({4, 2, 3, 3})),
                         "conv2d_relu: input has 3 channels but weight (4, 2, 3, 3) expects 2", rg::Error);
    CHECK_THROWS_WITH_AS(rg::conv2d_relu_max_pool2d(rg::zeros({1, 3, 6, 6}, {.dtype = rg::int64}), w, {}, {}, {2, 2}),
                         "conv2d_relu_max_pool2d: expected a float32 or float64 tensor, got int64", rg::Error);
    CHECK_THROWS_WITH_AS(rg::conv2d_relu_max_pool2d(Tensor{}, w, {}, {}, {2, 2}),
                         "conv2d_relu_max_pool2d: got an undefined tensor (default-constructed rg::Tensor)", rg::Error);
}

// Through oneDNN the forward pass keeps its converted copy of x for the
// weight gradient (kernels/onednn.hpp, ConvInputCopy): x changed in place
// after the forward pass is the saved-tensor error, never a stale copy.
TEST_CASE("conv2d_relu_max_pool2d through oneDNN: x changed after the forward pass is an error in backward") {
    rg::detail::force_conv_kernel(rg::detail::ConvKernel::onednn);
    const Tensor w = rg::randn({8, 16, 3, 3}, {.requires_grad = true});
    Tensor x = rg::randn({2, 16, 9, 9});
    const Tensor y = rg::conv2d_relu_max_pool2d(x, w, {}, {}, {2, 2});
    x.mul_(2.0);
    CHECK_THROWS_WITH_AS(y.sum().backward(),
                         doctest::Contains("saved by 'conv2d_relu_max_pool2d' was modified by an in-place operation"),
                         rg::Error);
    // A new forward pass reads the new values.
    rg::conv2d_relu_max_pool2d(x, w, {}, {}, {2, 2}).sum().backward();
    const Tensor fresh = w.grad().clone();
    w.grad().zero_();
    const Tensor again = x.clone();
    rg::conv2d_relu_max_pool2d(again, w, {}, {}, {2, 2}).sum().backward();
    CHECK(rg::allclose(w.grad(), fresh, 0.0, 0.0));
    rg::detail::force_conv_kernel(rg::detail::ConvKernel::automatic);
}
