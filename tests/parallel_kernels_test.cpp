// Every parallel kernel at 1 and 2 threads: the values agree to the bit (the
// split never changes the order in which an output's terms are combined) and
// match a float64 reference. Part of the `threads` suite, so that .ci/run's
// ThreadSanitizer build runs the kernels' parallel loops too.
#include "helpers.hpp"

#include <retrograd/detail/parallel_thresholds.hpp>

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

// x's shape: 96 x 40 x 36 elements, above every kernel's threshold, so
// that two threads split every loop below.
const rg::Shape operand = test::shape_reaching<rg::detail::parallel_threshold, 96, 40, 36>();

// For float32 and float64 x of shape `operand`, drawn after
// manual_seed(seed): kernels(x) on 1 and on 2 threads agree bit for bit, and
// with kernels(x in float64) to 1e-4.
void check_threads_agree(rg::TensorList (*kernels)(const rg::Tensor&), std::uint64_t seed) {
    for (rg::Dtype dtype : {rg::float32, rg::float64}) {
        CAPTURE(std::string(rg::dtype_name(dtype)));
        rg::manual_seed(seed);
        const auto x = rg::randn(operand, {.dtype = dtype});
        const auto [one, two] = test::on_one_and_two_threads([&] { return kernels(x); });
        const rg::TensorList reference = kernels(x.to(rg::float64));
        REQUIRE(one.size() == two.size());
        for (std::size_t i = 0; i < one.size(); ++i) {
            CHECK_MESSAGE(rg::allclose(one[i], two[i], 0.0, 0.0), "result " << i);
            CHECK_MESSAGE(rg::allclose(two[i].to(rg::float64), reference[i], 1e-4, 1e-4), "result " << i);
        }
    }
}

}  // namespace

TEST_CASE("axis reductions and softmax give the same bits on 1 and 2 threads, and a float64 reference's values") {
    check_threads_agree(parallel_kernels, 61);
}

namespace {

// n indices into an axis of `size`, each repeated: (3 i) mod size.
rg::Tensor repeated_indices(std::int64_t n, std::int64_t size) {
    std::vector<std::int64_t> values;
    for (std::int64_t i = 0; i < n; ++i) values.push_back(3 * i % size);
    return rg::from_indices(values);
}

// The elementwise, scan, index and copy kernels on x (large enough for their
// parallel loops), through strided and broadcast operands.
rg::TensorList moved_kernels(const rg::Tensor& x) {
    const rg::Tensor t = x.transpose(0, 1);  // strided: the for_each_row paths
    const rg::Tensor row = rg::narrow(x, 0, 0, 1);  // broadcast along axis 0
    rg::TensorList out{rg::exp(t),
                       t * row.transpose(0, 1),
                       x + rg::narrow(x, 1, 0, 1),
                       rg::where(rg::gt(t, 0.0), t, row.transpose(0, 1)),
                       t.contiguous(),
                       rg::flip(x, {0, 2}),
                       rg::tril(x, 1),
                       rg::triu(t, -2),
                       rg::cumsum(x, 1),
                       rg::cumprod(x * 0.5 + 1.0, 2),
                       rg::prod(x * 0.1 + 1.0, 0),
                       rg::index_select(x, 1, repeated_indices(40, 40)),
                       rg::index_add(x, rg::Shape{operand[0], 12, operand[2]}, 1, repeated_indices(40, 12))};
    out.push_back(rg::addcmul(t, t, row.transpose(0, 1), 0.5));
    // Each operand of a broadcast product read in place: a view with a zero stride.
    out.push_back(rg::mul(rg::expand(rg::narrow(x, 2, 0, 1), operand), t.transpose(0, 1)));
    return out;
}

}  // namespace

TEST_CASE("elementwise, scan, index and copy kernels give the same bits on 1 and 2 threads, and float64's values") {
    check_threads_agree(moved_kernels, 62);
}

namespace {

// Three steps of `Opt` on a parameter of 400 x 400 elements (above the update
// kernels' threshold), from one start; the parameter's final values.
template <class Opt, class Options> rg::Tensor three_steps(const rg::Tensor& start, Options options, int threads) {
    Threads t(threads);
    rg::Tensor p = start.clone().requires_grad_();
    Opt opt({p}, options);
    for (int step = 0; step < 3; ++step) {
        opt.zero_grad();
        rg::sum(p * p * rg::sin(start)).backward();
        opt.step();
    }
    return p.detach();
}

template <class Opt, class Options> void check_update(const char* name, Options options) {
    CAPTURE(std::string(name));
    for (rg::Dtype dtype : {rg::float32, rg::float64}) {
        CAPTURE(std::string(rg::dtype_name(dtype)));
        rg::manual_seed(63);
        const auto start =
            rg::randn(test::shape_reaching<rg::detail::parallel_threshold, 400, 400>(), {.dtype = dtype});
        const rg::Tensor one = three_steps<Opt>(start, options, 1);
        const rg::Tensor two = three_steps<Opt>(start, options, 2);
        CHECK(rg::allclose(one, two, 0.0, 0.0));
        CHECK_FALSE(rg::allclose(one, start, 0.0, 0.0));  // the steps moved it
    }
}

}  // namespace

namespace {

// batch_norm in training on x read as (96, 40, 36): 40 channels of 96 x 36
// values (its statistics split by channel, its passes by rows), and the
// three gradients.
rg::TensorList batch_norm_kernels(const rg::Tensor& x) {
    auto xg = x.detach().requires_grad_();
    const auto w = rg::linspace(0.5, 1.5, 40, {.dtype = x.dtype(), .requires_grad = true});
    const auto b = rg::linspace(-1.0, 1.0, 40, {.dtype = x.dtype(), .requires_grad = true});
    auto y = rg::batch_norm(xg, {}, {}, w, b, true);
    auto [dx, dw, db] = rg::grad(rg::sum(y * x), {xg, w, b});
    return {y, dx, dw, db};
}

}  // namespace

TEST_CASE("batch_norm and its gradients give the same bits on 1 and 2 threads, and float64's values") {
    check_threads_agree(batch_norm_kernels, 62);
}

TEST_CASE("every optimizer's update gives the same bits on 1 and 2 threads") {
    using namespace rg::optim;
    check_update<SGD>("SGD", SGDOptions{.lr = 0.01, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true});
    check_update<Adam>("Adam", AdamOptions{.lr = 0.01, .weight_decay = 0.01});
    check_update<Adam>("Adam amsgrad", AdamOptions{.lr = 0.01, .weight_decay = 0.01, .amsgrad = true});
    check_update<AdamW>("AdamW amsgrad", AdamOptions{.lr = 0.01, .weight_decay = 0.01, .amsgrad = true});
    check_update<RMSprop>("RMSprop",
                          RMSpropOptions{.lr = 0.01, .weight_decay = 0.01, .momentum = 0.9, .centered = true});
    check_update<Adagrad>("Adagrad", AdagradOptions{.lr = 0.01, .lr_decay = 0.1, .weight_decay = 0.01});
    check_update<NAdam>("NAdam", NAdamOptions{.lr = 0.01, .weight_decay = 0.01});
    check_update<RAdam>("RAdam", RAdamOptions{.lr = 0.01, .weight_decay = 0.01});
    check_update<Adamax>("Adamax", AdamaxOptions{.lr = 0.01, .weight_decay = 0.01});
}
