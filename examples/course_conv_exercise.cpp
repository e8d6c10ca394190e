// *Réseaux de neurones en pratique*, part XV: the worked convolution exercise, every quantity
// printed. The seed adds its bias once per input channel, so its printed
// output [[90, 112], [156, 178]] is a correct convolution with bias 4; with
// the bias 2 it states, the output is [[88, 110], [154, 176]].
// Usage: course_conv_exercise [bias]
#include <retrograd/retrograd.hpp>

#include <iostream>
#include <string>

int main(int argc, char** argv) try {
    const double bias = argc > 1 ? std::stod(argv[1]) : 4.0;
    const rg::TensorOptions f64{.dtype = rg::float64, .requires_grad = true};
    // The exercise's input is HWC: 3x3 pixels with 2 channels.
    auto hwc =
        rg::tensor({{{1, 1.5}, {2, 2.5}, {3, 3.5}}, {{4, 4.5}, {5, 5.5}, {6, 6.5}}, {{7, 7.5}, {8, 8.5}, {9, 9.5}}},
                   {.dtype = rg::float64});
    auto x = rg::data::hwc_to_nchw(hwc).detach().requires_grad_();
    auto w = rg::tensor({{{{1, 2}, {3, 4}}, {{1.5, 2.5}, {3.5, 4.5}}}}, f64);
    auto b = rg::tensor({bias}, f64);
    auto y = rg::conv2d(x, w, b);
    y.retain_grad();
    auto target = rg::tensor({{{{90, 112}, {156, 177}}}}, {.dtype = rg::float64});
    auto e = rg::mean(rg::square(y - target));
    e.backward();
    std::cout << fmt::format("bias {}\nY = {}\nE = MSE(Y, {}) = {}\n", bias, rg::select(rg::select(y, 0, 0), 0, 0),
                             rg::select(rg::select(target, 0, 0), 0, 0), e.item());
    std::cout << fmt::format("dE/dY = {}\n", rg::select(rg::select(y.grad(), 0, 0), 0, 0));
    for (int c = 0; c < 2; ++c)
        std::cout << fmt::format("dE/dW channel {} = {}\n", c, rg::select(rg::select(w.grad(), 0, 0), 0, c));
    std::cout << fmt::format("dE/dB = {}\n", b.grad());
    for (int c = 0; c < 2; ++c)
        std::cout << fmt::format("dE/dX channel {} = {}\n", c, rg::select(rg::select(x.grad(), 0, 0), 0, c));
    return 0;
} catch (const std::exception& e) {
    std::cerr << "course_conv_exercise: " << e.what() << "\n";
    return 1;
}
