// *Réseaux de neurones en pratique*, part XV: the worked convolution exercise, every printed
// number, with the notes' bias slip (see the first test case's comment).
#include "../helpers.hpp"

using rg::Tensor;
using test::check_values;

// Part XV: a 3x3 input with two channels, two 2x2 filters, one
// output channel. The notes work in HWC; here the same numbers are in NCHW.
namespace {
struct Exercise {
    Tensor x, w, b, y;
};
Exercise course_exercise(double bias) {
    auto x = rg::tensor({{{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}, {{1.5, 2.5, 3.5}, {4.5, 5.5, 6.5}, {7.5, 8.5, 9.5}}}},
                        {.dtype = rg::float64, .requires_grad = true});
    auto w = rg::tensor({{{{1, 2}, {3, 4}}, {{1.5, 2.5}, {3.5, 4.5}}}}, {.dtype = rg::float64, .requires_grad = true});
    auto b = rg::tensor({bias}, {.dtype = rg::float64, .requires_grad = true});
    auto y = rg::conv2d(x, w, b);
    return {x, w, b, y};
}
}  // namespace

TEST_CASE("course exercise (Réseaux de neurones en pratique, XV): with bias 4 every printed number is reproduced") {
    // The notes add their bias once per input channel, so its printed output is
    // what a correct convolution gives with bias 4 = 2 x 2 channels.
    auto e = course_exercise(4.0);
    check_values(e.y, rg::tensor({{{{90, 112}, {156, 178}}}}, {.dtype = rg::float64}));
    auto target = rg::tensor({{{{90, 112}, {156, 177}}}}, {.dtype = rg::float64});
    e.y.retain_grad();
    auto loss = rg::mean(rg::square(e.y - target));
    CHECK(loss.item() == doctest::Approx(0.25));
    loss.backward();
    check_values(e.y.grad(), rg::tensor({{{{0, 0}, {0, 0.5}}}}, {.dtype = rg::float64}));
    check_values(e.w.grad(),
                 rg::tensor({{{{2.5, 3}, {4, 4.5}}, {{2.75, 3.25}, {4.25, 4.75}}}}, {.dtype = rg::float64}));
    check_values(e.b.grad(), rg::tensor({0.5}, {.dtype = rg::float64}));
    check_values(e.x.grad(),
                 rg::tensor({{{{0, 0, 0}, {0, 0.5, 1}, {0, 1.5, 2}}, {{0, 0, 0}, {0, 0.75, 1.25}, {0, 1.75, 2.25}}}},
                            {.dtype = rg::float64}));
}

TEST_CASE("the exercise's HWC layout converts to NCHW and back") {
    // The notes write the input as 3x3 pixels of 2 channels: x[h][w][c].
    auto hwc =
        rg::tensor({{{1, 1.5}, {2, 2.5}, {3, 3.5}}, {{4, 4.5}, {5, 5.5}, {6, 6.5}}, {{7, 7.5}, {8, 8.5}, {9, 9.5}}},
                   {.dtype = rg::float64});
    auto nchw = rg::data::hwc_to_nchw(hwc);
    check_values(nchw, course_exercise(0.0).x.detach());
    check_values(rg::data::nchw_to_hwc(nchw), rg::unsqueeze(hwc, 0));
    CHECK_THROWS_WITH_AS(rg::data::hwc_to_nchw(rg::zeros({2, 2})), doctest::Contains("expected (H, W, C)"), rg::Error);
}

TEST_CASE(
    "course exercise (Réseaux de neurones en pratique, XV): with bias 2 the correct output is [[88,110],[154,176]]") {
    auto e = course_exercise(2.0);
    check_values(e.y, rg::tensor({{{{88, 110}, {154, 176}}}}, {.dtype = rg::float64}));
    auto target = rg::tensor({{{{90, 112}, {156, 177}}}}, {.dtype = rg::float64});
    auto loss = rg::mean(rg::square(e.y - target));
    CHECK(loss.item() == doctest::Approx((4.0 + 4.0 + 4.0 + 1.0) / 4.0));
    loss.backward();
    // dE/dY = 2 (Y - Y*) / 4 = [[-1, -1], [-1, -0.5]]; the bias gradient is its sum,
    // not the notes' depth-scaled value.
    check_values(e.b.grad(), rg::tensor({-3.5}, {.dtype = rg::float64}));
    check_values(e.w.grad(), rg::tensor({{{{-1 - 2 - 4 - 2.5, -2 - 3 - 5 - 3}, {-4 - 5 - 7 - 4, -5 - 6 - 8 - 4.5}},
                                          {{-1.5 - 2.5 - 4.5 - 2.75, -2.5 - 3.5 - 5.5 - 3.25},
                                           {-4.5 - 5.5 - 7.5 - 4.25, -5.5 - 6.5 - 8.5 - 4.75}}}},
                                        {.dtype = rg::float64}));
}
