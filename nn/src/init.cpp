// Initialisers: each draws a fresh tensor and copies it into place.
#include <retrograd/ops.hpp>
#include <retrograd/autograd.hpp>
#include <retrograd/nn/init.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <vector>

namespace rg::nn::init {
namespace {
void assign(Tensor& t, const Tensor& values) {
    NoGrad off;
    t.copy_(values);
}
// The initialisers below compute their values on the host in double, as
// std::vectors read with to_vector() and written with from_vector(): they run
// once per weight and record nothing, so they need no kernel.
void assign(Tensor& t, const std::vector<double>& values) { assign(t, from_vector(values, t.shape(), {float64})); }
void require_floating(const Tensor& t, const char* name) {
    if (!t.is_floating()) fail("init::{}: expected a float32 or float64 tensor, got {}", name, dtype_name(t.dtype()));
}
double fan(const Tensor& t, FanMode mode) {
    auto [in, out] = fans(t);
    return static_cast<double>(mode == FanMode::fan_in ? in : out);
}

// The Q of A = QR by Householder reflections, with the signs of its columns
// those of R's diagonal (as torch's orthogonal_), which makes R's diagonal
// positive and Q unique, so Q is distributed uniformly when A is Gaussian.
// A is rows × cols column-major with rows >= cols; Q is too.
std::vector<double> orthonormal_factor(std::vector<double> a, std::size_t rows, std::size_t cols) {
    std::vector<double> reflectors(rows * cols, 0.0);
    std::vector<double> diagonal_sign(cols, 1.0);
    for (std::size_t k = 0; k < cols; ++k) {
        const std::size_t column = k * rows;
        double norm2 = 0;
        for (std::size_t i = k; i < rows; ++i) norm2 += a[column + i] * a[column + i];
        if (norm2 == 0) continue;  // nothing to reflect: the identity, R_kk = 0
        // The reflection sends the column to (alpha, 0, ...); alpha's sign is
        // the opposite of the column's head, so that v = x - alpha e cancels nothing.
        const double alpha = a[column + k] >= 0 ? -std::sqrt(norm2) : std::sqrt(norm2);
        diagonal_sign[k] = alpha >= 0 ? 1.0 : -1.0;
        double v_norm2 = 0;
        for (std::size_t i = k; i < rows; ++i) {
            reflectors[column + i] = a[column + i] - (i == k ? alpha : 0.0);
            v_norm2 += reflectors[column + i] * reflectors[column + i];
        }
        const double scale = 1.0 / std::sqrt(v_norm2);
        for (std::size_t i = k; i < rows; ++i) reflectors[column + i] *= scale;
        for (std::size_t j = k; j < cols; ++j) {
            double dot = 0;
            for (std::size_t i = k; i < rows; ++i) dot += reflectors[column + i] * a[j * rows + i];
            for (std::size_t i = k; i < rows; ++i) a[j * rows + i] -= 2 * dot * reflectors[column + i];
        }
    }
    // Q = H_0 ... H_{cols-1} applied to the first cols columns of the identity;
    // H_k leaves the columns before k alone.
    std::vector<double> q(rows * cols, 0.0);
    for (std::size_t j = 0; j < cols; ++j) q[j * rows + j] = 1.0;
    for (std::size_t k = cols; k-- > 0;) {
        const std::size_t column = k * rows;
        for (std::size_t j = k; j < cols; ++j) {
            double dot = 0;
            for (std::size_t i = k; i < rows; ++i) dot += reflectors[column + i] * q[j * rows + i];
            for (std::size_t i = k; i < rows; ++i) q[j * rows + i] -= 2 * dot * reflectors[column + i];
        }
    }
    for (std::size_t j = 0; j < cols; ++j)
        for (std::size_t i = 0; i < rows; ++i) q[j * rows + i] *= diagonal_sign[j];
    return q;
}

// erf⁻¹(y) for y in [-1, 1]: Giles' single-precision approximation ("Approximating
// the erfinv function", 2010), then two Newton steps on erf to reach double precision.
double erfinv(double y) {
    if (y <= -1) return -std::numeric_limits<double>::infinity();
    if (y >= 1) return std::numeric_limits<double>::infinity();
    double w = -std::log((1.0 - y) * (1.0 + y));
    double p = 0;
    if (w < 5.0) {
        w -= 2.5;
        for (double c : {2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
                         -0.00417768164, 0.246640727, 1.50140941})
            p = p * w + c;
    } else {
        w = std::sqrt(w) - 3.0;
        for (double c : {-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
                         0.00943887047, 1.00167406, 2.83297682})
            p = p * w + c;
    }
    double x = p * y;
    const double two_over_sqrt_pi = 2.0 * std::numbers::inv_sqrtpi;
    for (int step = 0; step < 2; ++step) x -= (std::erf(x) - y) / (two_over_sqrt_pi * std::exp(-x * x));
    return x;
}
double normal_cdf(double x) { return 0.5 * (1.0 + std::erf(x / std::numbers::sqrt2)); }
}  // namespace

std::pair<std::size_t, std::size_t> fans(const Tensor& weight) {
    if (weight.dim() < 2) fail("init: fans need a weight of rank 2 or more, got shape {}", shape_str(weight.shape()));
    std::size_t receptive = 1;
    for (std::size_t i = 2; i < weight.dim(); ++i) receptive *= weight.shape()[i];
    return {weight.shape()[1] * receptive, weight.shape()[0] * receptive};
}

double gain(const std::string& nonlinearity, double slope) {
    if (nonlinearity == "linear" || nonlinearity == "sigmoid" || nonlinearity == "identity") return 1.0;
    if (nonlinearity == "tanh") return 5.0 / 3.0;
    if (nonlinearity == "relu") return std::sqrt(2.0);
    if (nonlinearity == "leaky_relu") return std::sqrt(2.0 / (1.0 + slope * slope));
    fail("init::gain: unknown nonlinearity '{}' (expected linear, sigmoid, tanh, relu or leaky_relu)", nonlinearity);
}

void zeros_(Tensor& t) { constant_(t, 0.0); }
void constant_(Tensor& t, double value) { assign(t, full(t.shape(), value, {t.dtype()})); }
void uniform_(Tensor& t, double low, double high) { assign(t, uniform(t.shape(), low, high, {t.dtype()})); }
void normal_(Tensor& t, double mean, double std) {
    if (std < 0) fail("init::normal_: std {} must not be negative", std);
    assign(t, randn(t.shape(), {t.dtype()}) * std + mean);
}
void xavier_uniform_(Tensor& t, double g) {
    auto [in, out] = fans(t);
    const double bound = g * std::sqrt(6.0 / static_cast<double>(in + out));
    uniform_(t, -bound, bound);
}
void xavier_normal_(Tensor& t, double g) {
    auto [in, out] = fans(t);
    normal_(t, 0.0, g * std::sqrt(2.0 / static_cast<double>(in + out)));
}
void kaiming_uniform_(Tensor& t, double slope, FanMode mode, const std::string& nonlinearity) {
    const double bound = gain(nonlinearity, slope) * std::sqrt(3.0 / fan(t, mode));
    uniform_(t, -bound, bound);
}
void kaiming_normal_(Tensor& t, double slope, FanMode mode, const std::string& nonlinearity) {
    normal_(t, 0.0, gain(nonlinearity, slope) / std::sqrt(fan(t, mode)));
}
void course_uniform_(Tensor& t) { uniform_(t, -0.5, 0.5); }
void ones_(Tensor& t) { constant_(t, 1.0); }

void eye_(Tensor& t) {
    if (t.dim() != 2) fail("init::eye_: expected a tensor of rank 2, got shape {}", shape_str(t.shape()));
    const std::size_t rows = t.shape()[0];
    const std::size_t cols = t.shape()[1];
    std::vector<double> values(rows * cols, 0.0);
    for (std::size_t i = 0; i < std::min(rows, cols); ++i) values[i * cols + i] = 1.0;
    assign(t, values);
}

void dirac_(Tensor& t, std::size_t groups) {
    if (t.dim() < 3 || t.dim() > 5)
        fail("init::dirac_: expected a convolution weight of rank 3, 4 or 5, got shape {}", shape_str(t.shape()));
    const Shape& shape = t.shape();
    if (groups == 0 || shape[0] % groups != 0)
        fail("init::dirac_: groups {} must be positive and divide the first size of shape {}", groups,
             shape_str(shape));
    const std::size_t out_per_group = shape[0] / groups;
    // Row-major strides, and the offset of the kernel's centre (size // 2 on each spatial axis).
    std::vector<std::size_t> strides(t.dim(), 1);
    for (std::size_t axis = t.dim() - 1; axis-- > 0;) strides[axis] = strides[axis + 1] * shape[axis + 1];
    std::size_t centre = 0;
    for (std::size_t axis = 2; axis < t.dim(); ++axis) centre += shape[axis] / 2 * strides[axis];
    std::vector<double> values(t.numel(), 0.0);
    for (std::size_t g = 0; g < groups; ++g)
        for (std::size_t d = 0; d < std::min(out_per_group, shape[1]); ++d)
            values[(g * out_per_group + d) * strides[0] + d * strides[1] + centre] = 1.0;
    assign(t, values);
}

void orthogonal_(Tensor& t, double g) {
    if (t.dim() < 2) fail("init::orthogonal_: expected a tensor of rank 2 or more, got shape {}", shape_str(t.shape()));
    require_floating(t, "orthogonal_");
    if (t.numel() == 0) return;
    const std::size_t rows = t.shape()[0];
    const std::size_t cols = t.numel() / rows;
    // torch factors the matrix when it is tall and its transpose when it is
    // wide. The row-major normal matrix read column-major is that transpose.
    const std::vector<double> normal = randn(Shape{rows, cols}, {float64}).to_vector();
    std::vector<double> values(rows * cols);
    if (rows < cols) {
        const std::vector<double> q = orthonormal_factor(normal, cols, rows);  // cols × rows: Wᵀ
        for (std::size_t i = 0; i < rows * cols; ++i) values[i] = g * q[i];
    } else {
        std::vector<double> tall(rows * cols);
        for (std::size_t i = 0; i < rows; ++i)
            for (std::size_t j = 0; j < cols; ++j) tall[j * rows + i] = normal[i * cols + j];
        const std::vector<double> q = orthonormal_factor(std::move(tall), rows, cols);
        for (std::size_t i = 0; i < rows; ++i)
            for (std::size_t j = 0; j < cols; ++j) values[i * cols + j] = g * q[j * rows + i];
    }
    assign(t, values);
}

void trunc_normal_(Tensor& t, double mean, double std, double a, double b) {
    require_floating(t, "trunc_normal_");
    if (!(std >= 0)) fail("init::trunc_normal_: std {} must not be negative", std);
    if (!(a <= b)) fail("init::trunc_normal_: the bounds [{}, {}] must satisfy a <= b", a, b);
    std::vector<double> values = rand(t.shape(), {float64}).to_vector();
    // u uniform in [2 cdf(a) - 1, 2 cdf(b) - 1) is erf(z / √2) for z the standardised
    // value, so mean + std √2 erf⁻¹(u) is normal truncated to [a, b]; the clamp
    // catches the rounding at the bounds (and std = 0 makes every value the
    // mean clamped).
    const double low = 2 * normal_cdf((a - mean) / std) - 1;
    const double high = 2 * normal_cdf((b - mean) / std) - 1;
    for (double& v : values) {
        const double z = std > 0 ? std * std::numbers::sqrt2 * erfinv(low + (high - low) * v) : 0.0;
        v = std::clamp(mean + z, a, b);
    }
    assign(t, values);
}

void sparse_(Tensor& t, double sparsity, double std) {
    if (t.dim() != 2) fail("init::sparse_: expected a tensor of rank 2, got shape {}", shape_str(t.shape()));
    require_floating(t, "sparse_");
    if (!(sparsity >= 0 && sparsity <= 1)) fail("init::sparse_: sparsity {} must be in [0, 1]", sparsity);
    if (!(std >= 0)) fail("init::sparse_: std {} must not be negative", std);
    const std::size_t rows = t.shape()[0];
    const std::size_t cols = t.shape()[1];
    const auto zeros_per_column = static_cast<std::size_t>(std::ceil(sparsity * static_cast<double>(rows)));
    std::vector<double> values = (randn(t.shape(), {float64}) * std).to_vector();
    std::vector<std::size_t> order(rows);
    for (std::size_t col = 0; col < cols; ++col) {
        // The first zeros_per_column rows of a random permutation (a partial
        // Fisher-Yates shuffle), as torch's randperm(rows)[:num_zeros].
        for (std::size_t i = 0; i < rows; ++i) order[i] = i;
        for (std::size_t i = 0; i < zeros_per_column; ++i) {
            std::swap(order[i], order[i + random_u64() % (rows - i)]);
            values[order[i] * cols + col] = 0.0;
        }
    }
    assign(t, values);
}

}  // namespace rg::nn::init
