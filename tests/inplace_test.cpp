// In-place ops, version counters and saved tensors: what is written, what is
// recorded, and what backward refuses.
#include <thread>

#include "helpers.hpp"

using rg::Tensor;
using rg::tensor;
using rg::TensorList;
using test::check_gradients;
using test::check_values;
using test::rand64;

TEST_CASE("in-place ops write the values and bump the storage version") {
    Tensor x = tensor({1.0, 2.0, 3.0});
    const auto v0 = x.version();
    x.add_(1.0);
    x.mul_(tensor({2.0, 2.0, 2.0}));
    x -= 1.0;
    x /= 2.0;
    x += tensor({1.0, 1.0, 1.0});
    check_values(x, tensor({2.5, 3.5, 4.5}));
    CHECK(x.version() == v0 + 5);
    x.clamp_(3.0, 4.0);
    check_values(x, tensor({3.0, 3.5, 4.0}));
    x.masked_fill_(rg::gt(x, 3.2), 0.0);
    check_values(x, tensor({3.0, 0.0, 0.0}));
    x.copy_(tensor({7.0}));  // broadcast
    check_values(x, tensor({7.0, 7.0, 7.0}));
    x.zero_();
    check_values(x, rg::zeros({3}));
    Tensor view = x.slice(0, 1, 3);
    view.fill_(1.0);
    CHECK(view.version() == x.version());  // one counter per storage
    check_values(x, tensor({0.0, 1.0, 1.0}));
}

TEST_CASE("an in-place op on a leaf that requires grad is refused outside NoGrad") {
    Tensor w = tensor({1.0, 2.0}, {.requires_grad = true});
    CHECK_THROWS_WITH_AS(w.add_(1.0),
                         "add_: in-place write to a leaf of shape (2,) that requires grad; update parameters inside "
                         "rg::NoGrad, or use the out-of-place op (x = x + y)",
                         rg::Error);
    {
        rg::NoGrad off;
        w -= tensor({0.5, 0.5});
    }
    check_values(w, tensor({0.5, 1.5}));
    CHECK(w.is_leaf());
}

TEST_CASE("backward through a saved tensor modified in place is an error naming the op and both versions") {
    Tensor x = tensor({1.0, 2.0}, {.requires_grad = true});
    Tensor h = x * 2.0;
    Tensor y = rg::exp(h);  // saves its output
    y.add_(1.0);
    CHECK_THROWS_WITH_AS(rg::sum(y).backward(),
                         "backward: a tensor of shape (2,) saved by 'exp' was modified by an in-place operation "
                         "after it was saved (version 0 when saved, now 1); compute the in-place change on a "
                         "clone(), or after backward",
                         rg::Error);

    Tensor a = tensor({1.0, 2.0}, {.requires_grad = true});
    Tensor b = tensor({3.0, 4.0});
    Tensor p = a * b;  // saves b for a's gradient
    b.mul_(2.0);
    CHECK_THROWS_WITH_AS(rg::sum(p).backward(), doctest::Contains("saved by 'mul' was modified by an in-place"),
                         rg::Error);
}

TEST_CASE("an in-place op on an intermediate is recorded: history rebased, gradients exact") {
    Tensor x = rand64({3});
    auto f = [](const TensorList& v) {
        Tensor h = v[0] * 3.0;
        h.mul_(v[0]);  // h = 3x²
        h.add_(v[0], 2.0);  // h = 3x² + 2x
        h.clamp_(-100.0, 100.0);
        return h;
    };
    check_gradients(f, {x});
    Tensor h = f({x});
    rg::sum(h).backward();
    check_values(x.grad(), x.detach() * 6.0 + 2.0, 1e-12);
    CHECK(h.grad_fn()->op() == "clamp");
}

TEST_CASE("loss += term accumulates a differentiable sum, as in PyTorch") {
    Tensor w = tensor({1.0, -2.0}, {.dtype = rg::float64, .requires_grad = true});
    Tensor loss = rg::zeros({}, {.dtype = rg::float64});
    for (int i = 1; i <= 3; ++i) loss += (w * static_cast<double>(i)).sum();
    CHECK(loss.requires_grad());
    loss.backward();
    check_values(w.grad(), tensor({6.0, 6.0}, {.dtype = rg::float64}));
    check_gradients(
        [](const TensorList& v) {
            Tensor acc = rg::zeros({2}, {.dtype = rg::float64});
            acc += v[0].square();
            acc *= v[0];
            acc.fill_(0.0);
            acc += v[0].exp();
            return acc;
        },
        {rand64({2})});
}

TEST_CASE("in-place on a view while recording is refused, and a stale view is caught") {
    Tensor x = tensor({1.0, 2.0, 3.0}, {.requires_grad = true});
    Tensor h = x * 1.0;
    CHECK_THROWS_WITH_AS(h.slice(0, 0, 2).mul_(2.0),
                         "mul_: in-place write to a view of shape (2,) while recording cannot be recorded (its "
                         "base's history would change); use the out-of-place op, or clone() the view first",
                         rg::Error);
    Tensor v = h.view({3, 1});
    h.mul_(3.0);
    CHECK_THROWS_WITH_AS(v * 2.0,
                         "mul_scalar: an input of shape (3, 1) is a view (made by 'view') whose base was modified in "
                         "place after the view was made (version 0 then, 1 now), so its gradient would be wrong; "
                         "take the view after the in-place op",
                         rg::Error);
    Tensor plain = rg::zeros({3});
    plain.slice(0, 1, 3).add_(1.0);  // nothing requires grad: allowed
    check_values(plain, tensor({0.0, 1.0, 1.0}));
}

TEST_CASE("ops that use their saved output keep double backward exact") {
    Tensor x = rand64({2, 3});
    check_gradients([](const TensorList& v) { return rg::exp(v[0]); }, {x});
    check_gradients([](const TensorList& v) { return rg::tanh(v[0]); }, {x});
    check_gradients([](const TensorList& v) { return rg::sigmoid(v[0]); }, {x});
    check_gradients([](const TensorList& v) { return rg::relu(v[0]); }, {x});
    check_gradients([](const TensorList& v) { return rg::softmax(v[0], 1); }, {x});
    check_gradients([](const TensorList& v) { return rg::log_softmax(v[0], 0); }, {x});
    check_gradients([](const TensorList& v) { return rg::sqrt(v[0] * v[0] + 1.0); }, {x});
}

TEST_CASE("a discarded forward frees its saved values") {
    rg::set_cache_limit(0);  // freed blocks go straight back, so live_bytes tells
    const auto before = rg::cache_stats().live_bytes;
    {
        Tensor x = rg::randn({256, 256}, {.requires_grad = true});  // 256 KiB: a cached-size block
        Tensor y = rg::tanh(rg::exp(x * 0.01));
        Tensor z = rg::softmax(y, 1);
        CHECK(rg::cache_stats().live_bytes > before);
    }
    CHECK(rg::cache_stats().live_bytes == before);
    rg::set_cache_limit(std::size_t{1} << 30);
}

TEST_CASE("the caching allocator reuses freed blocks and can be emptied") {
    rg::empty_cache();
    const auto start = rg::cache_stats();
    { Tensor a = rg::zeros({100000}); }
    { Tensor b = rg::zeros({100000}); }
    const auto after = rg::cache_stats();
    CHECK(after.hits >= start.hits + 1);
    CHECK(after.cached_bytes >= 400000);
    rg::empty_cache();
    CHECK(rg::cache_stats().cached_bytes == 0);
}

TEST_CASE("impossible sizes are rg::Errors, before anything is allocated") {
    CHECK_THROWS_WITH_AS(rg::zeros({1ull << 32, 1ull << 32}),
                         "zeros: shape (4294967296, 4294967296) has too many elements for memory (more than 2^62 "
                         "bytes of float32)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::zeros({1ull << 40}), doctest::Contains("zeros: cannot allocate 4398046511104 bytes"),
                         rg::Error);
    CHECK_THROWS_AS(rg::linspace(0, 1, 1ll << 62), rg::Error);
    CHECK_THROWS_WITH_AS(rg::arange(0, 1e30), doctest::Contains("arange: start 0, stop 1e+30"), rg::Error);
    CHECK_THROWS_WITH_AS(rg::zeros({0}).reshape({1ll << 32, 1ll << 32}),
                         "reshape: cannot reshape (0,) (0 elements) into (4294967296, 4294967296) "
                         "(18446744073709551616 elements)",
                         rg::Error);
}

TEST_CASE("softmax and log_softmax of an empty axis give an empty result") {
    CHECK(rg::softmax(rg::zeros({2, 0}), 1).shape() == rg::Shape{2, 0});
    CHECK(rg::log_softmax(rg::zeros({2, 0}), 1).shape() == rg::Shape{2, 0});
    CHECK(rg::softmax(rg::zeros({0, 3}), 1).shape() == rg::Shape{0, 3});
}

TEST_CASE("pow(b, e) has gradient 0 for b at b = 0, e = 0, as LibTorch") {
    Tensor b = tensor({0.0, 2.0}, {.dtype = rg::float64, .requires_grad = true});
    Tensor e = tensor({0.0, 3.0}, {.dtype = rg::float64, .requires_grad = true});
    rg::sum(rg::pow(b, e)).backward();
    check_values(b.grad(), tensor({0.0, 12.0}, {.dtype = rg::float64}));
}

TEST_CASE("a leaf shared by two threads gets both threads' gradients") {
    Tensor w = rg::ones({64}, {.dtype = rg::float64, .requires_grad = true});
    auto work = [&] {
        for (int i = 0; i < 200; ++i) rg::sum(w * 2.0).backward();
    };
    std::thread a(work), b(work);
    a.join();
    b.join();
    check_values(w.grad(), rg::full({64}, 800.0, {.dtype = rg::float64}));
}
