// Every parallel kernel at 1 and 2 threads: the values agree to the bit (the
// split never changes the order in which an output's terms are combined) and
// match a float64 reference. Part of the `threads` suite, so that .ci/run's
// ThreadSanitizer build runs the kernels' parallel loops too.
#include "helpers.hpp"

#include <string>
#include <vector>
#include "thread_count.hpp"

namespace {

using Threads = test::ThreadCount;

// Each reduction and softmax kernel on x, large enough for their parallel
// loops, with the gradients of the softmax rows and columns.
rg::TensorList parallel_kernels(const rg::Tensor& x) {
    rg::TensorList out;
    const std::vector<rg::Axes> axis_lists{{0}, {1}, {2}, {0, 2}, {1, 2}, {0, 1}, {}};
    for (const rg::Axes& axes : axis_lists) {
        out.push_back(rg::sum(x, axes));
        out.push_back(rg::mean(x, axes, true));
        out.push_back(rg::max(x, axes));
        out.push_back(rg::min(x, axes));
        out.push_back(rg::var(x, axes));
    }
    out.push_back(rg::argmax(x, 0).to(x.dtype()));
    out.push_back(rg::argmin(x, 2).to(x.dtype()));
    for (int axis : {-1, 1, 0}) {
        auto xg = x.detach().requires_grad_();
        auto y = rg::softmax(xg, axis);
        auto z = rg::log_softmax(xg, axis);
        auto [dx] = rg::grad(rg::sum(y * x) + rg::sum(z * y.detach()), {xg});
        out.push_back(y);
        out.push_back(z);
        out.push_back(dx);
    }
    return out;
}

}  // namespace

TEST_CASE("axis reductions and softmax give the same bits on 1 and 2 threads, and a float64 reference's values") {
    for (rg::Dtype dtype : {rg::float32, rg::float64}) {
        CAPTURE(std::string(rg::dtype_name(dtype)));
        rg::manual_seed(61);
        const auto x = rg::randn({48, 40, 36}, {.dtype = dtype});  // 69120 elements: above every threshold
        rg::TensorList one, two;
        {
            Threads t(1);
            one = parallel_kernels(x);
        }
        {
            Threads t(2);
            two = parallel_kernels(x);
        }
        const rg::TensorList reference = parallel_kernels(x.to(rg::float64));
        REQUIRE(one.size() == two.size());
        for (std::size_t i = 0; i < one.size(); ++i) {
            CHECK_MESSAGE(rg::allclose(one[i], two[i], 0.0, 0.0), "result " << i);
            CHECK_MESSAGE(rg::allclose(two[i].to(rg::float64), reference[i], 1e-4, 1e-4), "result " << i);
        }
    }
}
