// *Les Réseaux de Neurones* (Pappens, Poidatz, Petit), §3: matrix-form forward and backward
// propagation, checked layer by layer on a 3-layer network with the
// intermediate gradients retained. Notation of the notes (§2): A_ℓ and Z_ℓ are row
// vectors, W_ℓ (n_ℓ x n_{ℓ+1}) joins layer ℓ to ℓ+1, δ^ℓ = ∇_Z^ℓ C.
#include "../helpers.hpp"

using rg::Tensor;
using test::check_values;

namespace {
rg::TensorOptions f64(bool g = false) { return {.dtype = rg::float64, .requires_grad = g}; }
Tensor sigma_prime(const Tensor& z) {
    auto s = rg::sigmoid(z.detach());
    return s * (1.0 - s);
}

// Layers 1 (3 inputs) -> 2 (4 neurons) -> 3 (2 outputs), sigmoid, C = ½ ‖A_3 - y‖².
struct Net {
    Tensor a1, w1, b2, z2, a2, w2, b3, z3, a3, y, c;
    Net() {
        rg::manual_seed(100);
        a1 = rg::randn({1, 3}, f64());
        w1 = rg::randn({3, 4}, f64(true));
        b2 = rg::randn({1, 4}, f64(true));
        w2 = rg::randn({4, 2}, f64(true));
        b3 = rg::randn({1, 2}, f64(true));
        y = rg::tensor({{0.0, 1.0}}, {.dtype = rg::float64});
        z2 = rg::matmul(a1, w1) + b2;  // (2)
        a2 = rg::sigmoid(z2);  // (3)
        z3 = rg::matmul(a2, w2) + b3;
        a3 = rg::sigmoid(z3);
        for (Tensor* t : {&z2, &a2, &z3, &a3}) t->retain_grad();
        c = rg::sum(rg::square(a3 - y)) * 0.5;
        c.backward();
    }
};
}  // namespace

TEST_CASE("Les Réseaux de Neurones eq. (1)-(3): z_i = Σ_k w_ki a_k + b_i, Z = A·W + B, A = σ(Z)") {
    Net n;
    const auto& a = n.a1.value<double>();
    const auto& w = n.w1.value<double>();
    for (std::size_t i = 0; i < 4; ++i) {
        double z = n.b2.value<double>()(0, i);
        for (std::size_t k = 0; k < 3; ++k) z += w(k, i) * a(0, k);
        CHECK(n.z2.value<double>()(0, i) == doctest::Approx(z).epsilon(1e-14));
        CHECK(n.a2.value<double>()(0, i) == doctest::Approx(1 / (1 + std::exp(-z))).epsilon(1e-14));
    }
}

TEST_CASE("Les Réseaux de Neurones eq. (4): δ^ℓ = ∇_a^ℓ C ⊙ σ'(Z_ℓ), at the output and hidden layers") {
    Net n;
    check_values(n.z3.grad(), n.a3.grad() * sigma_prime(n.z3), 1e-14);
    check_values(n.z2.grad(), n.a2.grad() * sigma_prime(n.z2), 1e-14);
    check_values(n.a3.grad(), n.a3.detach() - n.y, 1e-14);  // ∇_a C for C = ½‖A - y‖²
}

TEST_CASE("Les Réseaux de Neurones eq. (5): ∇_a^ℓ C = δ^{ℓ+1} · W_ℓᵀ") {
    Net n;
    check_values(n.a2.grad(), rg::matmul(n.z3.grad(), rg::transpose(n.w2.detach())), 1e-14);
}

TEST_CASE("Les Réseaux de Neurones eq. (6): the δ recursion δ^ℓ = (δ^{ℓ+1} · W_ℓᵀ) ⊙ σ'(Z_ℓ)") {
    Net n;
    check_values(n.z2.grad(), rg::matmul(n.z3.grad(), rg::transpose(n.w2.detach())) * sigma_prime(n.z2), 1e-14);
}

TEST_CASE("Les Réseaux de Neurones eq. (7): ∇_W^ℓ C = (rows of δ^{ℓ+1}) ⊙ A_ℓᵀ = A_ℓᵀ · δ^{ℓ+1}") {
    Net n;
    // The notes' form: δ^{ℓ+1} repeated on every row, times A_ℓᵀ broadcast along the rows.
    check_values(n.w2.grad(), rg::broadcast_to(n.z3.grad(), {4, 2}) * rg::transpose(n.a2.detach()), 1e-14);
    check_values(n.w1.grad(), rg::matmul(rg::transpose(n.a1), n.z2.grad()), 1e-14);
}

TEST_CASE("Les Réseaux de Neurones eq. (8): ∇_b^ℓ C = δ^ℓ") {
    Net n;
    check_values(n.b3.grad(), n.z3.grad(), 1e-14);
    check_values(n.b2.grad(), n.z2.grad(), 1e-14);
}

TEST_CASE("Les Réseaux de Neurones §4: one gradient-descent step lowers the cost") {
    Net n;
    const double before = n.c.item();
    {
        rg::NoGrad off;
        for (Tensor* p : {&n.w1, &n.b2, &n.w2, &n.b3}) p->copy_(*p - p->grad() * 0.1);
    }
    auto a3 = rg::sigmoid(rg::matmul(rg::sigmoid(rg::matmul(n.a1, n.w1) + n.b2), n.w2) + n.b3);
    CHECK(rg::sum(rg::square(a3 - n.y)).item() * 0.5 < before);
}
