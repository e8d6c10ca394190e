// Views: results that share their input's storage, their strides, the
// copies they avoid, and gradients through them (first and second order).
#include "helpers.hpp"

using rg::Tensor;
using rg::tensor;
using rg::TensorList;
using test::check_gradients;
using test::check_values;
using test::rand64;

namespace {
Tensor grid() { return rg::arange(0, 12, 1, {.dtype = rg::float64}).reshape({3, 4}); }
}  // namespace

TEST_CASE("view ops share storage and describe it with strides") {
    Tensor x = grid();
    CHECK(x.strides() == rg::Strides{4, 1});
    CHECK(x.is_contiguous());

    Tensor t = x.t();
    CHECK(t.shares_storage(x));
    CHECK(t.shape() == rg::Shape{4, 3});
    CHECK(t.strides() == rg::Strides{1, 4});
    CHECK_FALSE(t.is_contiguous());
    CHECK(t.value<double>()(1, 2) == 9.0);

    Tensor row = x.select(0, 1);
    CHECK(row.shares_storage(x));
    CHECK(row.storage_offset() == 4);
    check_values(row, tensor({4.0, 5.0, 6.0, 7.0}, {.dtype = rg::float64}));

    Tensor cols = x.slice(1, 1, 4, 2);
    CHECK(cols.strides() == rg::Strides{4, 2});
    check_values(cols, tensor({{1.0, 3.0}, {5.0, 7.0}, {9.0, 11.0}}, {.dtype = rg::float64}));

    Tensor wide = tensor({1.0, 2.0, 3.0}).unsqueeze(0).expand({4, -1});
    CHECK(wide.strides() == rg::Strides{0, 1});
    CHECK(wide.shape() == rg::Shape{4, 3});

    Tensor d = grid().slice(1, 0, 3).diagonal();
    check_values(d, tensor({0.0, 5.0, 10.0}, {.dtype = rg::float64}));
    check_values(grid().diagonal(1), tensor({1.0, 6.0, 11.0}, {.dtype = rg::float64}));
    check_values(grid().diagonal(-1), tensor({4.0, 9.0}, {.dtype = rg::float64}));

    CHECK(x.narrow(1, 1, 2).shape() == rg::Shape{3, 2});
    CHECK(x.flatten().shares_storage(x));
    CHECK(x.unsqueeze(1).squeeze(1).shares_storage(x));
    CHECK(x.permute({1, 0}).shares_storage(x));
    CHECK(x.detach().shares_storage(x));
}

TEST_CASE("writing through a view writes the base") {
    Tensor x = rg::zeros({2, 3});
    x.select(0, 1).fill_(5.0);
    x.t().select(0, 0).add_(1.0);
    check_values(x, tensor({{1.0, 0.0, 0.0}, {6.0, 5.0, 5.0}}));
    x.value<float>()(0, 2) = 7;  // the xtensor adaptor writes the storage too
    CHECK(x.to_vector()[2] == 7.0);
    auto v = x.t().value<float>();
    CHECK(v(2, 0) == 7.0f);
}

TEST_CASE("reshape is a view when the strides allow it, a copy otherwise; view refuses to copy") {
    Tensor x = grid();
    CHECK(x.reshape({2, 6}).shares_storage(x));
    CHECK(x.reshape({-1}).shares_storage(x));
    Tensor t = x.t();
    Tensor copied = t.reshape({12});
    CHECK_FALSE(copied.shares_storage(x));
    check_values(copied,
                 tensor({0.0, 4.0, 8.0, 1.0, 5.0, 9.0, 2.0, 6.0, 10.0, 3.0, 7.0, 11.0}, {.dtype = rg::float64}));
    CHECK(t.reshape({4, 3, 1}).shares_storage(x));  // adding a size-1 axis needs no copy
    CHECK_THROWS_WITH_AS(t.view({12}),
                         "view: cannot view (4, 3) with strides (1, 4) as (12,) without copying: axis 0 (stride 1) "
                         "does not continue where axis 1 (size 3, stride 4) ends, and no axis of the new shape "
                         "starts between them; use reshape(), which copies when it must (or contiguous() first)",
                         rg::Error);
    // The message names the pair of axes the new shape spans, not the first gap.
    const Tensor swapped = rg::zeros({2, 3, 4}).permute({1, 0, 2});  // strides (4, 12, 1)
    CHECK(swapped.view({3, 2, 2, 2}).shares_storage(swapped));
    CHECK_THROWS_WITH_AS(swapped.view({6, 4}),
                         "view: cannot view (3, 2, 4) with strides (4, 12, 1) as (6, 4) without copying: axis 0 "
                         "(stride 4) does not continue where axis 1 (size 2, stride 12) ends, and no axis of the new "
                         "shape starts between them; use reshape(), which copies when it must (or contiguous() "
                         "first)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(swapped.view({3, 8}), doctest::Contains("axis 1 (stride 12) does not continue where axis 2"),
                         rg::Error);
    Tensor c = t.contiguous();
    CHECK(c.is_contiguous());
    CHECK_FALSE(c.shares_storage(x));
    CHECK(x.contiguous().same(x));
}

TEST_CASE("shape arguments take braced lists of any integers, with -1 inferred") {
    long n = 2, m = 3;
    std::size_t k = 4;
    CHECK(rg::zeros({n, m}).shape() == rg::Shape{2, 3});
    CHECK(rg::ones({k, 2}).shape() == rg::Shape{4, 2});
    CHECK(rg::randn({2, 3}).reshape({-1, 2}).shape() == rg::Shape{3, 2});
    CHECK(rg::reshape(rg::zeros({6}), {2, 3}).shape() == rg::Shape{2, 3});
    rg::Tensor x = rg::zeros({n * 4, m});
    CHECK(rg::zeros({x.size(0), 10}).shape() == rg::Shape{8, 10});
    CHECK(x.size(-1) == 3);
    CHECK_THROWS_WITH_AS(rg::zeros({2, -3}), "zeros: negative size -3 in shape (2, -3)", rg::Error);
    CHECK_THROWS_WITH_AS(x.reshape({-1, -1}), "reshape: only one size may be -1, got two in (-1, -1)", rg::Error);
    CHECK_THROWS_WITH_AS(x.reshape({5, -1}),
                         "reshape: cannot infer the -1 size of (5, -1): 24 elements do not divide into blocks of 5",
                         rg::Error);
    CHECK_THROWS_WITH_AS(x.reshape({5, 5}), "reshape: cannot reshape (8, 3) (24 elements) into (5, 5) (25 elements)",
                         rg::Error);
}

TEST_CASE("method forms match the free functions") {
    Tensor x = rand64({3, 4}, false);
    Tensor w = rand64({4, 2}, false);
    check_values(x.sum(), rg::sum(x));
    check_values(x.sum(1, true), rg::sum(x, {1}, true));
    check_values(x.mean(0), rg::mean(x, {0}));
    check_values(x.matmul(w), rg::matmul(x, w));
    check_values(x.exp().log(), x, 1e-12);
    check_values(x.relu(), rg::relu(x));
    check_values(x.pow(2), x * x);
    check_values(x.t().t(), x);
    check_values(x.transpose(0, 1), rg::transpose(x));
    CHECK(x.to(rg::float32).dtype() == rg::float32);
    CHECK(rg::tensor({2.5}).item<float>() == 2.5f);
    CHECK(rg::full({1}, 3.0, {.dtype = rg::int64}).item<std::int64_t>() == 3);
    CHECK(x.numel() == 12);
    CHECK_THROWS_WITH_AS(rg::zeros({2, 2, 2}).t(),
                         "t: expects a tensor of rank 2 or less, got shape (2, 2, 2); use transpose(a, b)", rg::Error);
}

TEST_CASE("gradients flow through every view, at first and second order, from non-contiguous inputs") {
    Tensor a = rand64({3, 4});
    check_gradients([](const TensorList& v) { return v[0].t() * v[0].t(); }, {a});
    check_gradients([](const TensorList& v) { return v[0].t().reshape({-1}).pow(3.0); }, {a});
    check_gradients([](const TensorList& v) { return v[0].slice(1, 1, 4, 2).square(); }, {a});
    check_gradients([](const TensorList& v) { return v[0].select(1, 2).exp(); }, {a});
    check_gradients([](const TensorList& v) { return v[0].narrow(0, 1, 2).tanh(); }, {a});
    check_gradients([](const TensorList& v) { return v[0].diagonal(1).pow(3.0); }, {a});
    check_gradients([](const TensorList& v) { return v[0].permute({1, 0}).unsqueeze(0).sigmoid(); }, {a});
    check_gradients([](const TensorList& v) { return v[0].unsqueeze(1).expand({3, 2, 4}).pow(2.0); }, {a});
    check_gradients([](const TensorList& v) { return v[0].view({2, 6}).t().matmul(v[0].view({2, 6})); }, {a});
    check_gradients([](const TensorList& v) { return v[0].t().contiguous() * v[0].t(); }, {a});
}

TEST_CASE("a binary op reads transposed and expanded operands in place, with the right values") {
    Tensor a = rand64({3, 4}, false), b = rand64({4, 3}, false);
    Tensor sum_t = a + b.t();
    Tensor expected = a + b.t().contiguous();
    check_values(sum_t, expected);
    check_values(a.t() * rg::tensor({1.0, 2.0, 3.0}, {.dtype = rg::float64}),
                 a.t().contiguous() * rg::tensor({1.0, 2.0, 3.0}, {.dtype = rg::float64}));
}

TEST_CASE("a unary op reads a transposed, sliced or expanded input in place, with the right values") {
    Tensor a = rand64({3, 4}, false);
    check_values(rg::exp(a.t()), rg::exp(a.t().contiguous()));
    check_values(rg::tanh(a.narrow(1, 1, 2)), rg::tanh(a.narrow(1, 1, 2).contiguous()));
    check_values(a.select(0, 1).expand({2, 4}) * 2.0, a.select(0, 1).expand({2, 4}).contiguous() * 2.0);
    CHECK(rg::exp(a.t()).is_contiguous());
}

TEST_CASE("results of every size are written whole: small ones share a block with their header") {
    // Storages up to 960 bytes sit in the block of their header, in four
    // sizes; a result of each size on either side of each limit is checked.
    for (std::size_t n :
         std::vector<std::size_t>{0, 1, 4, 15, 16, 17, 47, 48, 49, 111, 112, 113, 119, 120, 121, 239, 240, 241, 1000}) {
        CAPTURE(n);
        for (rg::Dtype dtype : {rg::float32, rg::float64}) {
            Tensor x = rg::arange(0, static_cast<double>(n), 1, {.dtype = dtype});
            Tensor y = x * 2.0 + 1.0;
            REQUIRE(y.numel() == n);
            CHECK(reinterpret_cast<std::uintptr_t>(y.data_ptr()) % 16 == 0);
            for (std::size_t i = 0; i < n; ++i)
                CHECK(y.select(0, static_cast<std::int64_t>(i)).item<double>() == 2.0 * static_cast<double>(i) + 1.0);
        }
    }
}

TEST_CASE("view errors name the op, the shape and what was expected") {
    Tensor x = rg::zeros({2, 3});
    CHECK_THROWS_WITH_AS(x.narrow(1, 2, 2), "narrow: start 2 and length 2 do not fit axis 1 of size 3 in (2, 3)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(x.diagonal(0, 1, 1), "diagonal: the two axes must differ, got 1 and 1", rg::Error);
    CHECK_THROWS_WITH_AS(x.expand({4, 3}),
                         "broadcast_to: cannot broadcast (2, 3) with (4, 3): sizes 2 and 4 differ at axis -2",
                         rg::Error);
    CHECK_THROWS_WITH_AS(x.select(0, 2), "select: index 2 out of range for axis 0 of size 2", rg::Error);
}

TEST_CASE("matmul reads transposed and batch-sliced operands in place, with the right values and gradients") {
    Tensor q = rand64({2, 3, 4, 5}, false), k = rand64({2, 3, 6, 5}, false);
    const Tensor scores = rg::matmul(q, k.transpose(-2, -1));  // (2, 3, 4, 6), k read transposed
    check_values(scores, rg::matmul(q, k.transpose(-2, -1).contiguous()), 1e-12);
    const Tensor heads = rand64({2, 4, 3, 5}, false).transpose(1, 2);  // (2, 3, 4, 5), batch axes strided
    check_values(rg::matmul(heads, k.transpose(-2, -1)),
                 rg::matmul(heads.contiguous(), k.transpose(-2, -1).contiguous()), 1e-12);
    check_gradients([](const TensorList& v) { return rg::matmul(v[0].transpose(1, 2), v[1].transpose(-2, -1)); },
                    {rand64({2, 4, 3, 5}), rand64({2, 3, 6, 5})});
}

TEST_CASE("value<T>() assigns whole arrays through a view with the view's strides") {
    Tensor q = rg::zeros({2, 3}, {.dtype = rg::float64});
    Tensor qt = q.t();  // (3, 2), column-major in q's storage
    auto& v = qt.value<double>();  // lives as long as qt
    v = xt::xarray<double>{{1, 2}, {3, 4}, {5, 6}};
    check_values(q, tensor({{1.0, 3.0, 5.0}, {2.0, 4.0, 6.0}}, {.dtype = rg::float64}));
    CHECK(v(2, 1) == 6.0);
    Tensor g = rg::zeros({2, 4}, {.dtype = rg::float64});
    g.slice(1, 0, 4, 2).value<double>() += xt::xarray<double>{{1, 2}, {3, 4}};  // a view with gaps
    check_values(g, tensor({{1.0, 0.0, 2.0, 0.0}, {3.0, 0.0, 4.0, 0.0}}, {.dtype = rg::float64}));
    CHECK(g.select(0, 1).value<double>().data() == g.data_ptr<double>() + 4);  // data() is the first element
}

TEST_CASE("permute and every axis list take braced lists of any integers, negative axes included") {
    const Tensor x = rg::arange(24.0, {.dtype = rg::float64}).reshape({2, 3, 4});
    const std::size_t a = 2, b = 0, c = 1;
    const std::int64_t la = 2, lb = 0, lc = 1;
    const Tensor by_int = x.permute({2, 0, 1});
    check_values(x.permute({a, b, c}), by_int);
    check_values(x.permute({la, lb, lc}), by_int);
    check_values(rg::permute(x, {-1, -3, -2}), by_int);
    check_values(x.permute(std::vector<std::size_t>{2, 0, 1}), by_int);
    check_values(x.permute(std::vector<std::int64_t>{2, 0, 1}), by_int);
    CHECK(by_int.shape() == rg::Shape{4, 2, 3});
    check_values(rg::sum(x, {a, b}), rg::sum(x, {2, 0}));
    check_values(x.sum(std::vector<std::int64_t>{-1}), x.sum(2));
    check_values(rg::mean(x, {lb, -1}, true), rg::mean(x, {0, 2}, true));
    CHECK_THROWS_WITH_AS(x.permute({std::size_t{1} << 40, 0, 1}), doctest::Contains("permute"), rg::Error);
    CHECK_THROWS_WITH_AS(x.permute({0, 0, 1}), "permute: axis 0 appears twice", rg::Error);
}
