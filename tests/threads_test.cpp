// rg::set_num_threads, and results that do not depend on the thread count.
#include "helpers.hpp"

#include <retrograd/detail/conv_kernel.hpp>

#include <thread>
#include "thread_count.hpp"

namespace {

using Threads = test::ThreadCount;

bool same(const rg::Tensor& a, const rg::Tensor& b) { return rg::allclose(a, b, 0.0, 0.0); }  // to the bit

}  // namespace

TEST_CASE("set_num_threads sets the count every thread computes on; a count below 1 is an error") {
    const int before = rg::get_num_threads();
    CHECK(before >= 1);
    {
        Threads three(3);
        CHECK(rg::get_num_threads() == 3);
        int seen = 0;
        std::thread([&] { seen = rg::get_num_threads(); }).join();
        CHECK(seen == 3);
    }
    CHECK(rg::get_num_threads() == before);
    CHECK_THROWS_WITH_AS(rg::set_num_threads(0), "set_num_threads: the thread count must be at least 1, got 0",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::set_num_threads(-4), "set_num_threads: the thread count must be at least 1, got -4",
                         rg::Error);
    CHECK(rg::get_num_threads() == before);
}

TEST_CASE("float32 kernels give the same values on 1 and 2 threads") {
    // Large enough for the parallel loops (elementwise, sums, pooling); the
    // sums add fixed blocks in a fixed order, so they agree to the bit.
    rg::manual_seed(51);
    auto x = rg::randn({3, 8, 160, 160}), y = rg::randn({160}), w = rg::randn({6, 8, 3, 3});
    auto run = [&] {
        rg::TensorList out;
        out.push_back(rg::exp(x) * 0.5 + y);
        out.push_back(rg::sum(x));
        out.push_back(rg::sum(x * x, {0, 2, 3}));
        out.push_back(rg::max_pool2d(x, {2, 2}));
        out.push_back(rg::max_pool2d(x, {3, 3}, {.stride = {2, 2}, .padding = {1, 1}}));
        out.push_back(rg::avg_pool2d(x, {3, 3}, {.stride = {2, 2}, .padding = {1, 1}}));
        auto xg = x.detach().requires_grad_();
        auto pooled = rg::max_pool2d(xg, {2, 2});
        auto [dx] = rg::grad(rg::sum(pooled * pooled), {xg});
        out.push_back(dx);
        {
            rg::detail::ConvKernel previous = rg::detail::forced_conv_kernel();
            rg::detail::force_conv_kernel(rg::detail::ConvKernel::own);
            out.push_back(rg::conv2d(x, w));
            rg::detail::force_conv_kernel(previous);
        }
        return out;
    };
    rg::TensorList one, two;
    {
        Threads t(1);
        one = run();
    }
    {
        Threads t(2);
        two = run();
    }
    for (std::size_t i = 0; i < one.size(); ++i) CHECK_MESSAGE(same(one[i], two[i]), "result " << i);
}

TEST_CASE("float32 convolutions through oneDNN agree on 1 and 2 threads within rounding") {
    // oneDNN may split a convolution's sums differently by thread count: the
    // results agree to float32 rounding, not to the bit (docs/performance.md).
    // The second case is one the automatic choice gives oneDNN's Winograd
    // convolution on AVX-512 CPUs (32 channels, 3x3, unit stride).
    rg::manual_seed(52);
    struct Case {
        rg::Shape x, w;
        rg::detail::ConvKernel kernel;
    };
    for (const Case& c : {Case{{8, 16, 20, 20}, {32, 16, 3, 3}, rg::detail::ConvKernel::onednn},
                          Case{{8, 32, 12, 12}, {40, 32, 3, 3}, rg::detail::ConvKernel::automatic}}) {
        CAPTURE(rg::shape_str(c.w));
        auto x = rg::randn(c.x), w = rg::randn(c.w);
        rg::detail::ConvKernel previous = rg::detail::forced_conv_kernel();
        rg::detail::force_conv_kernel(c.kernel);
        auto run = [&] {
            auto y = rg::conv2d(x, w, {}, {.padding = {1, 1}});
            auto g = rg::ones_like(y);
            return rg::TensorList{y, rg::conv2d_input_grad(g, w, x.shape(), {.padding = {1, 1}}),
                                  rg::conv2d_weight_grad(g, x, w.shape(), {.padding = {1, 1}})};
        };
        rg::TensorList one, two;
        {
            Threads t(1);
            one = run();
        }
        {
            Threads t(2);
            two = run();
        }
        rg::detail::force_conv_kernel(previous);
        for (std::size_t i = 0; i < one.size(); ++i)
            CHECK_MESSAGE(rg::allclose(one[i], two[i], 1e-5, 1e-4), "result " << i);
    }
}

TEST_CASE("a oneDNN convolution runs on the thread count set when it runs, not the one it was first made for") {
    // oneDNN fixes a primitive's split of the work when it makes it: made on
    // one thread, it ran on one after set_num_threads(2). Each count has its
    // own primitive, made once.
    auto x = rg::randn({2, 8, 9, 9}), w = rg::randn({16, 8, 3, 3});
    const rg::detail::ConvKernel previous = rg::detail::forced_conv_kernel();
    rg::detail::force_conv_kernel(rg::detail::ConvKernel::onednn);
    // Counted as made, not as held: earlier cases in the same process may have filled the cache.
    const auto primitives_after = [&](int threads) {
        Threads t(threads);
        (void)rg::conv2d(x, w, {}, {.stride = {2, 2}});
        return rg::detail::onednn_primitives_made();
    };
    const std::size_t on_one = primitives_after(1);
    const std::size_t on_two = primitives_after(2);
    CHECK(on_two == on_one + 1);
    CHECK(primitives_after(1) == on_two);  // both kept: switching back makes none
    CHECK(primitives_after(2) == on_two);
    rg::detail::force_conv_kernel(previous);
}
