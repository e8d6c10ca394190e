// In-place ops, version counters and saved tensors: what is written, what is
// recorded, and what backward refuses.
#include <map>
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
                         "rg::NoGrad, or use the out-of-place form x = x + y",
                         rg::Error);
    CHECK_THROWS_WITH_AS(w.zero_(), doctest::Contains("use the out-of-place form x = rg::zeros_like(x)"), rg::Error);
    CHECK_THROWS_WITH_AS(w.clamp_(0.0, 1.0), doctest::Contains("use the out-of-place form x = x.clamp(low, high)"),
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

TEST_CASE("relu_ writes into the tensor's own storage and has relu's gradient, at both orders") {
    const Tensor x = tensor({{-1.5, -0.5, 0.4}, {1.2, 2.0, -0.7}}, {.dtype = rg::float64});
    {
        Tensor leaf = x.clone().requires_grad_();
        Tensor h = leaf * 2.0;
        const void* storage = h.data_ptr();
        const auto version = h.version();
        Tensor& same = h.relu_();
        CHECK(&same == &h);
        CHECK(h.data_ptr() == storage);  // no temporary
        CHECK(h.version() == version + 1);
        CHECK(h.grad_fn()->op() == "relu");
        check_values(h, rg::relu(x * 2.0), 0.0);
        rg::sum(h * h).backward();
        check_values(leaf.grad(), rg::relu(x * 2.0) * 4.0, 1e-12);  // d/dx relu(2x)^2 = 2 relu(2x) * 2
    }
    // Contiguous (written in place), a transposed view (rebases its base) and
    // a strided view of a leaf's product (the base's history continues).
    const Tensor input = x.clone().requires_grad_();
    check_gradients(
        [](const TensorList& v) {
            Tensor h = v[0] * v[0] - 0.5;
            h.relu_();
            return h * v[0];
        },
        {input});
    check_gradients(
        [](const TensorList& v) {
            Tensor h = v[0] * 3.0;
            h.t().relu_();
            return h * v[0];
        },
        {input});
    check_gradients(
        [](const TensorList& v) {
            Tensor h = v[0] + 0.25;
            h.slice(1, 0, 3, 2).relu_();
            return h.exp();
        },
        {input});
}

TEST_CASE("relu_ on float32, bfloat16, under NoGrad, and over a saved tensor") {
    const Tensor x = rg::randn({4, 5});
    Tensor f32 = x.clone();
    f32.relu_();
    check_values(f32, rg::relu(x), 0.0);
    Tensor b16 = x.to(rg::bfloat16);
    b16.relu_();
    CHECK(b16.dtype() == rg::bfloat16);
    check_values(b16.to(rg::float32), rg::relu(x.to(rg::bfloat16)).to(rg::float32), 0.0);
    // Not recorded under NoGrad, but still a write: what saved the old values refuses backward.
    Tensor leaf = x.clone().requires_grad_();
    Tensor y = rg::exp(leaf * 1.0);  // saves its output y
    {
        rg::NoGrad off;
        y.relu_();
    }
    CHECK(y.grad_fn()->op() == "exp");
    CHECK_THROWS_WITH_AS(rg::sum(y).backward(),
                         "backward: a tensor of shape (4, 5) saved by 'exp' was modified by an in-place operation "
                         "after it was saved (version 0 when saved, now 1); compute the in-place change on a "
                         "clone(), or after backward",
                         rg::Error);
    Tensor w = rg::ones({2}).requires_grad_();
    CHECK_THROWS_WITH_AS(w.relu_(),
                         "relu_: in-place write to a leaf of shape (2,) that requires grad; update parameters inside "
                         "rg::NoGrad, or use the out-of-place form x = rg::relu(x)",
                         rg::Error);
    Tensor ints = rg::arange(0.0, 3.0, 1.0, {.dtype = rg::int64});
    CHECK_THROWS_WITH_AS(ints.relu_(), doctest::Contains("relu"), rg::Error);
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

namespace {
// An Elman recurrence h_t = tanh(x_t W + h_{t-1} U) over T steps, its outputs
// written into the slices of a zero tensor (or stacked, with `stack`), then a
// loss that weighs every step differently.
Tensor recurrence(const TensorList& v, bool stack) {
    const Tensor& x = v[0];  // (T, B, I)
    const Tensor& w = v[1];  // (I, H)
    const Tensor& u = v[2];  // (H, H)
    const auto steps = x.size(0), batch = x.size(1), hidden = w.size(1);
    Tensor h = rg::zeros({batch, hidden}, {.dtype = x.dtype()});
    Tensor out = rg::zeros({steps, batch, hidden}, {.dtype = x.dtype()});
    TensorList all;
    for (std::int64_t t = 0; t < steps; ++t) {
        h = rg::tanh(rg::matmul(x.select(0, t), w) + rg::matmul(h, u));
        if (stack) {
            all.push_back(h);
        } else {
            out.select(0, t).copy_(h);
        }
    }
    if (stack) out = rg::stack(all);
    const Tensor weights = rg::arange(1.0, static_cast<double>(steps) + 1.0, 1.0, {.dtype = x.dtype()});
    return out * weights.reshape({-1, 1, 1});
}
}  // namespace

TEST_CASE("step outputs written into slices of a tensor: gradients as with stack, at both orders") {
    rg::manual_seed(11);
    const TensorList inputs{rand64({4, 2, 3}), rand64({3, 2}) * 0.5, rand64({2, 2}) * 0.5};
    TensorList leaves;
    for (const Tensor& t : inputs) leaves.push_back(t.detach().requires_grad_());
    check_gradients([](const TensorList& v) { return recurrence(v, false); }, leaves);

    // The same gradients as the program written without in-place writes.
    Tensor sliced = recurrence(leaves, false);
    CHECK(sliced.grad_fn()->op() == "mul");
    const TensorList by_slices = rg::grad(rg::sum(sliced * sliced), leaves, {});
    const TensorList by_stack = rg::grad(rg::sum(rg::square(recurrence(leaves, true))), leaves, {});
    for (std::size_t i = 0; i < leaves.size(); ++i) check_values(by_slices[i], by_stack[i], 1e-12);
    // Second order too: a Hessian-vector product of both programs.
    const Tensor direction = rg::randn({3, 2}, {.dtype = rg::float64});
    auto hvp = [&](bool stack) {
        const TensorList g =
            rg::grad(rg::sum(rg::square(recurrence(leaves, stack))), TensorList{leaves[1]}, {.create_graph = true});
        return rg::grad(rg::sum(g[0] * direction), TensorList{leaves[1]}, {})[0];
    };
    check_values(hvp(false), hvp(true), 1e-12);
}

TEST_CASE("an in-place write into a view rebases its base: the base's earlier history keeps its gradient") {
    rg::manual_seed(12);
    // x.narrow(...).mul_(2) on a non-leaf with history, compared with cat.
    auto in_place = [](const TensorList& v) {
        Tensor h = rg::sin(v[0]);  // (4, 3); sin saves its input, not its output
        h.narrow(0, 1, 2).mul_(2.0);
        h.narrow(1, 0, 1).mul_(v[1]);  // a column times a tensor that requires grad: reads its old values
        return h * h;
    };
    auto without = [](const TensorList& v) {
        Tensor h = rg::sin(v[0]);
        h = rg::concat({h.narrow(0, 0, 1), h.narrow(0, 1, 2) * 2.0, h.narrow(0, 3, 1)}, 0);
        h = rg::concat({h.narrow(1, 0, 1) * v[1], h.narrow(1, 1, 2)}, 1);
        return h * h;
    };
    const TensorList inputs{rand64({4, 3}), rand64({4, 1})};
    check_gradients(in_place, inputs);
    check_values(in_place(inputs), without(inputs), 1e-12);
    const TensorList a = rg::grad(rg::sum(in_place(inputs)), inputs, {});
    const TensorList b = rg::grad(rg::sum(without(inputs)), inputs, {});
    for (std::size_t i = 0; i < a.size(); ++i) check_values(a[i], b[i], 1e-12);

    // Views of views, a stepped slice of a transpose, written twice.
    check_gradients(
        [](const TensorList& v) {
            Tensor h = v[0] * 1.0;  // (3, 4)
            Tensor col = h.t().slice(0, 0, 4, 2).select(1, 1);  // h[1, 0::2]
            col.add_(v[1]);
            col.mul_(v[1]);
            h.select(0, 2).zero_();
            return h.sin();
        },
        {rand64({3, 4}), rand64({2})});
    // A write whose source is another view of the same base.
    check_gradients(
        [](const TensorList& v) {
            Tensor h = v[0].square();
            h.select(0, 0).copy_(h.select(0, 2));
            h.select(1, 1).fill_(3.0);
            return h;
        },
        {rand64({3, 3})});
}

TEST_CASE("views taken before an in-place write see the new values, and gradients follow them") {
    Tensor x = tensor({1.0, 2.0, 3.0}, {.dtype = rg::float64, .requires_grad = true});
    Tensor h = x * 1.0;
    Tensor v = h.view({3, 1});
    Tensor first = h.select(0, 0);
    h.mul_(3.0);
    CHECK(v.grad_fn()->op() == "as_strided");  // remade from h's new history
    rg::sum(v * 2.0 + first).backward();  // 2 Σ 3x + 3 (3 x0): 3 rows of v meet `first`
    check_values(x.grad(), tensor({15.0, 6.0, 6.0}, {.dtype = rg::float64}), 1e-12);
    // A view of a tensor that needed no gradient until written through another view.
    Tensor y = tensor({1.0, 2.0}, {.dtype = rg::float64, .requires_grad = true});
    Tensor out = rg::zeros({2, 2}, {.dtype = rg::float64});
    Tensor row1 = out.select(0, 1);
    CHECK_FALSE(row1.requires_grad());
    out.select(0, 0).copy_(y);
    CHECK(out.grad_fn()->op() == "copy_slices");
    CHECK(row1.requires_grad());
    row1.copy_(y * y);
    rg::sum(out).backward();
    check_values(y.grad(), tensor({3.0, 5.0}, {.dtype = rg::float64}), 1e-12);
    Tensor plain = rg::zeros({3});
    plain.slice(0, 1, 3).add_(1.0);  // nothing requires grad: not recorded
    check_values(plain, tensor({0.0, 1.0, 1.0}));
    CHECK_FALSE(plain.requires_grad());
}

TEST_CASE("in-place writes into views: what stays refused, with messages naming what works") {
    Tensor w = tensor({1.0, 2.0, 3.0}, {.requires_grad = true});
    CHECK_THROWS_WITH_AS(w.slice(0, 0, 2).mul_(2.0),
                         "mul_: in-place write to a view of shape (2,) of a leaf of shape (3,) that requires grad "
                         "(PyTorch: a view of a leaf Variable that requires grad is being used in an in-place "
                         "operation); update the leaf inside rg::NoGrad, write into a view of a copy (y = "
                         "leaf.clone()), or use the out-of-place form x = x * y",
                         rg::Error);
    {
        rg::NoGrad off;
        w.slice(0, 0, 2).mul_(2.0);  // an update, not recorded
    }
    check_values(w, tensor({2.0, 4.0, 3.0}));
    Tensor h = w * 1.0;
    Tensor made_without_grad;
    {
        rg::NoGrad off;
        made_without_grad = h.select(0, 1);
    }
    CHECK_THROWS_WITH_AS(made_without_grad.add_(1.0),
                         "add_: in-place write, while recording, to a view of shape () that was made under "
                         "rg::NoGrad: whether the write belongs to the graph is ambiguous; make the view and the "
                         "write both inside rg::NoGrad (not recorded) or both outside it (recorded), or use the "
                         "out-of-place form x = x + y",
                         rg::Error);
    // A saved tensor written through a view afterwards is still caught.
    Tensor s = h.sin();  // saves h
    h.narrow(0, 0, 1).mul_(2.0);
    CHECK_THROWS_WITH_AS(rg::sum(s).backward(), doctest::Contains("saved by 'sin' was modified by an in-place"),
                         rg::Error);
}

TEST_CASE("a write into a tensor whose elements share memory is an error, for every in-place op") {
    const Tensor row = rg::zeros({1, 4});
    const std::string tail = " refers to a single memory location; write into a copy (x = x.clone()) or use the "
                             "out-of-place form ";
    const std::string head = ": unsupported operation: more than one element of the written-to tensor (shape (3, "
                             "4), strides (0, 1))";
    const std::vector<std::pair<std::string, std::function<void(Tensor&)>>> writes =
        {{"add_", [](Tensor& t) { t.add_(1.0); }},
         {"sub_", [](Tensor& t) { t.sub_(rg::ones({4})); }},
         {"mul_", [](Tensor& t) { t.mul_(2.0); }},
         {"div_", [](Tensor& t) { t /= 2.0; }},
         {"clamp_", [](Tensor& t) { t.clamp_(0.0, 1.0); }},
         {"relu_", [](Tensor& t) { t.relu_(); }},
         {"fill_", [](Tensor& t) { t.fill_(1.0); }},
         {"zero_", [](Tensor& t) { t.zero_(); }},
         {"copy_",
          [](Tensor& t) {
              t.copy_(rg::ones({3, 4}));
          }},
         {"masked_fill_", [](Tensor& t) { t.masked_fill_(rg::ones({4}), 1.0); }}};
    const std::map<std::string, std::string> forms = {{"add_", "x = x + y"},
                                                      {"sub_", "x = x - y"},
                                                      {"mul_", "x = x * y"},
                                                      {"div_", "x = x / y"},
                                                      {"clamp_", "x = x.clamp(low, high)"},
                                                      {"relu_", "x = rg::relu(x)"},
                                                      {"fill_", "x = rg::full_like(x, value)"},
                                                      {"zero_", "x = rg::zeros_like(x)"},
                                                      {"copy_", "x = rg::broadcast_to(src, x.shape()).clone()"},
                                                      {"masked_fill_",
                                                       "x = rg::where(mask, rg::full_like(x, value), x)"}};
    for (const auto& write : writes) {
        CAPTURE(write.first);
        Tensor spread = row.expand({3, 4});
        CHECK_THROWS_WITH_AS(write.second(spread), (write.first + head + tail + forms.at(write.first)).c_str(),
                             rg::Error);
        rg::NoGrad off;  // refused under NoGrad too
        CHECK_THROWS_AS(write.second(spread), rg::Error);
    }
    check_values(row, rg::zeros({1, 4}));
    // Strided writes whose elements do not meet are allowed.
    Tensor columns = rg::zeros({3, 4}).slice(1, 0, 4, 2).t();
    columns.add_(1.0);
    Tensor diag = rg::zeros({3, 3}).diagonal();  // stride 4: no two elements meet
    diag.add_(1.0);
    check_values(diag, rg::ones({3}));
}

TEST_CASE("a discarded forward that wrote into views of a tensor frees everything it recorded") {
    rg::set_cache_limit(0);
    const auto before = rg::cache_stats().live_bytes;
    {
        Tensor w = rg::randn({128, 128}, {.requires_grad = true});
        Tensor out = rg::zeros({4, 128, 128});
        for (std::int64_t t = 1; t < 4; ++t) {
            const Tensor previous = out.select(0, t - 1);  // saved by matmul: a view of out
            out.select(0, t).copy_(rg::tanh(rg::matmul(previous, w) + 1.0));
        }
        CHECK(rg::cache_stats().live_bytes > before);
    }
    CHECK(rg::cache_stats().live_bytes == before);
    rg::set_cache_limit(std::size_t{1} << 30);
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

TEST_CASE("increment_version marks a write through data_ptr, so a saved tensor is refused") {
    Tensor x = tensor({1.0, 2.0}, {.dtype = rg::float64, .requires_grad = true});
    Tensor w = tensor({3.0, 4.0}, {.dtype = rg::float64});
    Tensor y = rg::sum(x * w);  // mul saves w
    const auto before = w.version();
    w.data_ptr<double>()[0] = 5.0;
    rg::increment_version(w);
    CHECK(w.version() == before + 1);
    CHECK(w.detach().version() == before + 1);  // one counter per storage
    CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("saved by 'mul' was modified by an in-place operation"),
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::increment_version(Tensor{}),
                         "increment_version: got an undefined tensor (default-constructed rg::Tensor)", rg::Error);
}

TEST_CASE("a view whose base's values were replaced (set_values_) keeps its own values and history") {
    Tensor p = tensor({{1.0, 2.0}, {3.0, 4.0}}, {.dtype = rg::float64, .requires_grad = true});
    Tensor v = p.t();
    {
        rg::NoGrad off;
        p.set_values_(rg::zeros({3}, {.dtype = rg::float64}));
    }
    const Tensor twice = v * 2.0;  // v still reads the old storage, with the history it had
    check_values(twice, tensor({{2.0, 6.0}, {4.0, 8.0}}, {.dtype = rg::float64}));
    CHECK(twice.requires_grad());
    CHECK(v.grad_fn()->op() == "permute");
}
