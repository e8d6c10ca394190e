// Recording through the registry's one path, record(def, output, inputs,
// Saves, vjp): saves for any number of inputs, tensors saved besides the
// inputs, and custom ops, whose saved inputs are checked against in-place
// writes like a built-in op's.
#include <retrograd/registry.hpp>

#include "helpers.hpp"

using rg::OpContext;
using rg::SavedInputs;
using rg::Saves;
using rg::Tensor;
using rg::TensorList;
using test::check_values;
using test::rand64;

namespace {

// The values of f(), computed without recording (what a forward hands to record()).
template <class F> Tensor unrecorded(F f) {
    rg::NoGrad off;
    return f();
}

// An op that is not registered (so the generated tests do not see it):
// f(a, b, c, d, e, f) = a + b + c + d + e * f, whose VJP reads only e and f.
const rg::OpDef six_def{.name = "six_inputs", .signature = "six_inputs(a, b, c, d, e, f)"};

Tensor six_inputs(const TensorList& in, Saves saves) {
    Tensor out = unrecorded([&] { return in[0] + in[1] + in[2] + in[3] + in[4] * in[5]; });
    return rg::record(six_def, out, in, std::move(saves), [](const OpContext& c, const Tensor& g) {
        const Tensor e = c.input(4), f = c.input(5);
        return TensorList{g, g, g, g, g * f, g * e, Tensor{}};  // one more than the inputs: caught by the engine
    });
}

// The same op with a VJP of the right length (the one above checks the engine's count).
Tensor six(const TensorList& in, Saves saves) {
    Tensor out = unrecorded([&] { return in[0] + in[1] + in[2] + in[3] + in[4] * in[5]; });
    return rg::record(six_def, out, in, std::move(saves), [](const OpContext& c, const Tensor& g) {
        const Tensor e = c.input(4), f = c.input(5);
        return rg::GradList{g, g, g, g, g * f, g * e};
    });
}

// The public headers offer one way to record: with Saves and a VJP taking an
// OpContext. A VJP of the gradient alone (the older lambda path) is refused.
template <class F>
concept records = requires(const rg::OpDef& def, const Tensor& t, F vjp) {
    rg::record(def, t, {t}, {}, vjp);
};
template <class F>
concept records_without_saves = requires(const rg::OpDef& def, const Tensor& t, F vjp) {
    rg::record(def, t, {t}, vjp);
};
using ContextVjp = rg::GradList (*)(const OpContext&, const Tensor&);
using GradientOnlyVjp = rg::GradList (*)(const Tensor&);
static_assert(records<ContextVjp>);
static_assert(!records<GradientOnlyVjp>);
static_assert(!records_without_saves<GradientOnlyVjp>);
static_assert(!records_without_saves<ContextVjp>);

TensorList six_leaves() {
    TensorList in;
    for (int i = 0; i < 6; ++i) in.push_back(rand64({3}));
    return in;
}

}  // namespace

TEST_CASE("Saves: an op with six inputs saves its fifth and sixth, and its VJP reads them") {
    const TensorList in = six_leaves();
    for (const Saves& saves : {Saves{.inputs = {false, false, false, false, true, true}},
                               Saves{.inputs = SavedInputs::only({4, 5})}, Saves{.inputs = SavedInputs::all()}}) {
        for (Tensor t : in) t.zero_grad();
        rg::sum(six(in, saves)).backward();
        for (int i = 0; i < 4; ++i) check_values(in[i].grad(), rg::ones({3}, {.dtype = rg::float64}));
        check_values(in[4].grad(), in[5].detach());
        check_values(in[5].grad(), in[4].detach());
    }
    test::check_gradients([](const TensorList&
                                 v) { return six(v, {.inputs = {false, false, false, false, true, true}}); },
                          in);
}

TEST_CASE("Saves: reading an input that was not saved names the op and says what to add") {
    const TensorList in = six_leaves();
    Tensor y = six(in, {.inputs = {false, false, false, false, true}});
    CHECK_THROWS_WITH_AS(rg::sum(y).backward(),
                         "six_inputs: the VJP reads input 5, which the op did not save; add it to the op's Saves",
                         rg::Error);
    Tensor z = six_inputs(in, {.inputs = SavedInputs::all()});
    CHECK_THROWS_WITH_AS(rg::sum(z).backward(), "backward: the VJP of 'six_inputs' returned 7 gradients for 6 inputs",
                         rg::Error);
}

TEST_CASE("Saves: a saved sixth input modified in place is refused at backward, naming the op") {
    TensorList in = six_leaves();
    in[5] = in[5] * 1.0;  // not a leaf, so it can be written in place
    Tensor y = six(in, {.inputs = SavedInputs::only({4, 5})});
    in[5].add_(1.0);
    CHECK_THROWS_WITH_AS(rg::sum(y).backward(),
                         "backward: a tensor of shape (3,) saved by 'six_inputs' was modified by an in-place "
                         "operation after it was saved (version 0 when saved, now 1); compute the in-place change "
                         "on a clone(), or after backward",
                         rg::Error);
}

TEST_CASE("SavedInputs: positions past 64 and every input") {
    SavedInputs some = SavedInputs::only({0, 63, 64, 200});
    for (std::size_t i : std::initializer_list<std::size_t>{0, 63, 64, 200}) CHECK(some[i]);
    for (std::size_t i : std::initializer_list<std::size_t>{1, 62, 65, 199, 201, 1000}) CHECK_FALSE(some[i]);
    CHECK(some.any());
    CHECK_FALSE(SavedInputs{}.any());
    CHECK_FALSE(SavedInputs({false, false}).any());
    CHECK(SavedInputs::all()[12345]);

    // An op over 70 inputs whose VJP reads only the last one.
    TensorList in;
    for (int i = 0; i < 70; ++i) in.push_back(rand64({2}));
    const rg::OpDef many_def{.name = "many_inputs"};
    Tensor out = unrecorded([&] { return in[69] * in[69]; });
    out = rg::record(many_def, out, in, {.inputs = SavedInputs::only({69})}, [](const OpContext& c, const Tensor& g) {
        TensorList grads(c.inputs());
        grads[69] = g * c.input(69) * 2.0;
        return grads;
    });
    rg::sum(out).backward();
    check_values(in[69].grad(), in[69].detach() * 2.0);
    CHECK_FALSE(in[0].grad().defined());
}

TEST_CASE("Saves::tensors: a tensor that is not an input is saved, version-checked and read with saved(k)") {
    const rg::OpDef scale_def{.name = "scale_by"};
    Tensor x = rand64({3});
    Tensor s = rg::tensor({1.0, 2.0, 3.0}, {.dtype = rg::float64});
    auto scale_by = [&](const Tensor& factors) {
        Tensor out = unrecorded([&] { return x * factors; });
        return rg::record(scale_def, out, {x}, {.tensors = {factors}},
                          [](const OpContext& c, const Tensor& g) { return rg::GradList{g * c.saved(0)}; });
    };
    rg::sum(scale_by(s)).backward();
    check_values(x.grad(), s);

    Tensor y = scale_by(s);
    s.mul_(2.0);
    CHECK_THROWS_WITH_AS(rg::sum(y).backward(),
                         "backward: a tensor of shape (3,) saved by 'scale_by' was modified by an in-place operation "
                         "after it was saved (version 0 when saved, now 1); compute the in-place change on a "
                         "clone(), or after backward",
                         rg::Error);

    Tensor z = rg::record(scale_def, unrecorded([&] { return x * 1.0; }), {x}, {},
                          [](const OpContext& c, const Tensor& g) { return rg::GradList{g * c.saved(0)}; });
    CHECK_THROWS_WITH_AS(rg::sum(z).backward(),
                         "scale_by: the VJP reads saved tensor 0, but the op saved 0; add it to the op's "
                         "Saves::tensors",
                         rg::Error);
}

TEST_CASE("an index saved by index_select or gather and modified in place is refused at backward") {
    Tensor x = rand64({2, 3});
    Tensor index = rg::from_indices({2, 0});
    Tensor y = rg::index_select(x, 1, index);
    index.copy_(rg::from_indices({1, 0}));
    CHECK_THROWS_WITH_AS(rg::sum(y).backward(),
                         "backward: a tensor of shape (2,) saved by 'index_select' was modified by an in-place "
                         "operation after it was saved (version 0 when saved, now 1); compute the in-place change "
                         "on a clone(), or after backward",
                         rg::Error);
    Tensor where = rg::from_indices({0, 2, 1, 1}, {2, 2});
    Tensor z = rg::gather(x, 1, where);
    where.zero_();
    CHECK_THROWS_WITH_AS(rg::sum(z).backward(), doctest::Contains("saved by 'gather' was modified by an in-place"),
                         rg::Error);
}

TEST_CASE("a custom op's input modified in place before backward is an rg::Error naming the custom op") {
    auto cube = [](const Tensor& x) {
        return rg::custom_op(
            "cube", {x}, [](const TensorList& in) { return in[0] * in[0] * in[0]; },
            [](const TensorList& in, const Tensor& g) { return TensorList{g * in[0] * in[0] * 3.0}; });
    };
    Tensor x = rg::tensor({1.0, 2.0}, {.dtype = rg::float64, .requires_grad = true});
    Tensor h = x * 2.0;
    Tensor y = cube(h);
    h.add_(1.0);
    CHECK_THROWS_WITH_AS(rg::sum(y).backward(),
                         "backward: a tensor of shape (2,) saved by 'cube' was modified by an in-place operation "
                         "after it was saved (version 0 when saved, now 1); compute the in-place change on a "
                         "clone(), or after backward",
                         rg::Error);

    // An input that needs no gradient is saved and checked too: the VJP reads it.
    Tensor w = rg::tensor({3.0, 4.0}, {.dtype = rg::float64});
    Tensor p = rg::custom_op(
        "times", {x, w}, [](const TensorList& in) { return in[0] * in[1]; },
        [](const TensorList& in, const Tensor& g) {
            return TensorList{g * in[1], Tensor{}};
        });
    w.mul_(2.0);
    CHECK_THROWS_WITH_AS(rg::sum(p).backward(), doctest::Contains("saved by 'times' was modified by an in-place"),
                         rg::Error);

    // Untouched, the same op's gradient is exact.
    Tensor q = rg::custom_op(
        "times", {x, w}, [](const TensorList& in) { return in[0] * in[1]; },
        [](const TensorList& in, const Tensor& g) {
            return TensorList{g * in[1], Tensor{}};
        });
    rg::sum(q).backward();
    check_values(x.grad(), w);
}
