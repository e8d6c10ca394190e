// A user-defined op with its own VJP, plugged into the tape and gradchecked:
// the "swish" activation x·σ(x), with the hand-derived derivative
// σ(x) + x·σ(x)(1 - σ(x)).
#include <retrograd/retrograd.hpp>

#include <iostream>

rg::Tensor swish(const rg::Tensor& x) {
    return rg::custom_op(
        "swish", {x}, [](const rg::TensorList& in) { return in[0] * rg::sigmoid(in[0]); },
        [](const rg::TensorList& in, const rg::Tensor& g) {
            auto s = rg::sigmoid(in[0]);
            return rg::TensorList{g * (s + in[0] * s * (1.0 - s))};  // written with ops: differentiable again
        });
}

int main() try {
    auto x = rg::tensor({-2.0, -0.5, 0.0, 1.5}, {.dtype = rg::float64, .requires_grad = true});
    auto y = swish(x);
    std::cout << "swish(x) = " << y << "\n" << rg::tape_table(rg::sum(y));
    auto f = [](const rg::TensorList& v) { return swish(v[0]); };
    auto first = rg::gradcheck(f, {x});
    auto second = rg::gradgradcheck(f, {x});
    std::cout << first.report << "\n" << second.report << "\n";
    return first && second ? 0 : 1;
} catch (const std::exception& e) {
    std::cerr << "custom_op: " << e.what() << "\n";
    return 1;
}
