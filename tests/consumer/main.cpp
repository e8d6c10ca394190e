#include <retrograd/retrograd.hpp>

int main() {
    auto w = rg::tensor({1.0, 2.0}, {.requires_grad = true});
    rg::sum(w * w).backward();
    return w.grad().to_vector() == std::vector<double>{2.0, 4.0} ? 0 : 1;
}
