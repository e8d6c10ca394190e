// Second order: the Hessian of a small function, and Newton's method using it.
// f(x, y) = (1 - x)² + 10 (y - x²)²  (Rosenbrock's valley, minimum at (1, 1)).
#include <retrograd/retrograd.hpp>

#include <iostream>

int main() try {
    auto f = [](const rg::TensorList& v) {
        auto x = rg::select(v[0], 0, 0), y = rg::select(v[0], 0, 1);
        return rg::square(1.0 - x) + rg::square(y - x * x) * 10.0;
    };
    auto p = rg::tensor({-1.0, 1.5}, {.dtype = rg::float64});
    std::cout << "Hessian at (-1, 1.5):\n" << rg::hessian(f, p) << "\n";
    for (int step = 1; step <= 8; ++step) {
        auto g = rg::vjp(f, {p}, rg::tensor(1.0, {.dtype = rg::float64})).grads[0];
        auto h = rg::hessian(f, p);
        // Newton: solve H d = g for the 2x2 Hessian.
        const auto hv = h.to_vector();
        const auto gv = g.to_vector();
        const double det = hv[0] * hv[3] - hv[1] * hv[2];
        const double dx = (hv[3] * gv[0] - hv[1] * gv[1]) / det, dy = (hv[0] * gv[1] - hv[2] * gv[0]) / det;
        p = p - rg::tensor({dx, dy}, {.dtype = rg::float64});
        std::cout << fmt::format("step {}: (x, y) = ({:.6f}, {:.6f}), f = {:.3e}\n", step, p.to_vector()[0],
                                 p.to_vector()[1], f({p}).item());
    }
    const auto v = p.to_vector();
    return std::abs(v[0] - 1) < 1e-6 && std::abs(v[1] - 1) < 1e-6 ? 0 : 1;
} catch (const std::exception& e) {
    std::cerr << "higher_order: " << e.what() << "\n";
    return 1;
}
