// What the hardware allows: the GEMMs of each workload called directly on
// preallocated buffers, through the float32 product retrograd uses (oneDNN's
// sgemm), and a plain copy for the bandwidth-bound expression.
#include "suite.hpp"

#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <unistd.h>

namespace bench {
namespace {

struct Gemm {
    bool trans_a, trans_b;
    int m, n, k;  // C (m x n) = op(A) (m x k) . op(B) (k x n)
    double flops() const { return 2.0 * m * n * k; }
};

// The GEMMs of a forward and backward through Linear(in, out) on `batch`
// rows, with the weight stored (out, in) as both frameworks store it.
void add_linear(std::vector<Gemm>& gemms, int batch, int in, int out, bool input_grad) {
    gemms.push_back({false, true, batch, out, in});  // Y = X W^T
    gemms.push_back({true, false, out, in, batch});  // dW = dY^T X
    if (input_grad) gemms.push_back({false, false, batch, in, out});  // dX = dY W
}
// Conv2d as one im2col GEMM over the whole batch (columns = batch * oh * ow).
void add_conv(std::vector<Gemm>& gemms, int batch, int in_channels, int out_channels, int kernel, int out_size,
              bool input_grad) {
    const int rows = in_channels * kernel * kernel, columns = batch * out_size * out_size;
    gemms.push_back({false, false, out_channels, columns, rows});  // out = W cols
    gemms.push_back({false, true, out_channels, rows, columns});  // dW = dout cols^T
    if (input_grad) gemms.push_back({true, false, rows, columns, out_channels});  // dcols = W^T dout
}

std::vector<Gemm> mlp_gemms() {
    std::vector<Gemm> g;
    const int b = static_cast<int>(mlp_batch);
    add_linear(g, b, 784, 256, false);
    add_linear(g, b, 256, 128, true);
    add_linear(g, b, 128, 10, true);
    return g;
}
std::vector<Gemm> cnn_gemms() {
    std::vector<Gemm> g;
    const int b = static_cast<int>(cnn_batch);
    add_conv(g, b, 1, 32, 3, 26, false);
    add_conv(g, b, 32, 64, 3, 11, true);
    add_linear(g, b, 1600, 128, true);
    add_linear(g, b, 128, 10, true);
    return g;
}

// Four projections of (batch * seq) rows, input gradients included (x needs
// one), and per batch and head the two products of attention and their four
// gradient products.
std::vector<Gemm> attention_gemms() {
    std::vector<Gemm> g;
    const int rows = static_cast<int>(attention_batch * attention_seq), w = static_cast<int>(attention_width);
    for (int i = 0; i < 4; ++i) add_linear(g, rows, w, w, true);
    const int t = static_cast<int>(attention_seq), d = static_cast<int>(attention_head_width);
    for (std::size_t i = 0; i < attention_batch * attention_heads; ++i) {
        g.push_back({false, true, t, t, d});  // S = Q K^T
        g.push_back({false, false, t, d, t});  // C = P V
        g.push_back({false, true, t, t, d});  // dP = dC V^T
        g.push_back({true, false, t, d, t});  // dV = P^T dC
        g.push_back({false, false, t, d, t});  // dQ = dS K
        g.push_back({true, false, t, d, t});  // dK = dS^T Q
    }
    return g;
}

double total_flops(const std::vector<Gemm>& gemms) {
    double f = 0;
    for (const auto& g : gemms) f += g.flops();
    return f;
}

void run_gemms(benchmark::State& state, const std::vector<Gemm>& gemms) {
    std::size_t largest = 0;
    for (const auto& g : gemms)
        largest = std::max({largest, std::size_t(g.m) * g.k, std::size_t(g.k) * g.n, std::size_t(g.m) * g.n});
    std::vector<float> a(largest, 0.5f), b(largest, 0.25f), c(largest);
    for (auto _ : state) {
        for (const auto& g : gemms) {
            const int lda = g.trans_a ? g.m : g.k, ldb = g.trans_b ? g.k : g.n;
            dnnl_sgemm(g.trans_a ? 'T' : 'N', g.trans_b ? 'T' : 'N', g.m, g.n, g.k, 1.0f, a.data(), lda, b.data(), ldb,
                       0.0f, c.data(), g.n);
        }
        benchmark::DoNotOptimize(c.data());
    }
}

}  // namespace

const Batches& synthetic_batches(std::size_t batch) {
    static std::map<std::size_t, Batches> made;
    auto found = made.find(batch);
    if (found != made.end()) return found->second;
    constexpr std::size_t count = 16;
    Batches b{batch, count, std::vector<float>(count * batch * 784), std::vector<std::int64_t>(count * batch)};
    std::mt19937 generator(7);
    std::normal_distribution<float> pixel;
    std::uniform_int_distribution<std::int64_t> label(0, 9);
    for (auto& v : b.images) v = pixel(generator);
    for (auto& l : b.labels) l = label(generator);
    return made.emplace(batch, std::move(b)).first->second;
}

double mlp_step_flops() { return total_flops(mlp_gemms()); }
double cnn_step_flops() { return total_flops(cnn_gemms()); }
double attention_flops() { return total_flops(attention_gemms()); }

void blas_set_threads(int threads) { openblas_set_num_threads(threads); }
std::string blas_core() { return openblas_get_corename(); }

void blas_mlp_gemms(benchmark::State& state) { run_gemms(state, mlp_gemms()); }
void blas_cnn_gemms(benchmark::State& state) { run_gemms(state, cnn_gemms()); }
void blas_attention_gemms(benchmark::State& state) { run_gemms(state, attention_gemms()); }

void blas_matmul(benchmark::State& state) {
    const int n = static_cast<int>(state.range(0)), k = static_cast<int>(state.range(1)),
              m = static_cast<int>(state.range(2));
    run_gemms(state, {{false, false, n, m, k}});
}

void memory_copy(benchmark::State& state) {
    const std::size_t count = elementwise_rows * elementwise_cols;
    std::vector<float> from(count, 1.0f), to(count, 0.0f);
    for (auto _ : state) {
        std::memcpy(to.data(), from.data(), count * sizeof(float));
        benchmark::DoNotOptimize(to.data());
        benchmark::ClobberMemory();
    }
}

// Linux's /proc/self/status: VmRSS now, VmHWM the high-water mark.
namespace {
double status_field_mib(const std::string& field) {
    std::ifstream status("/proc/self/status");
    std::string key;
    while (status >> key) {
        if (key == field + ":") {
            double kib = 0;
            status >> kib;
            return kib / 1024.0;
        }
        status.ignore(1 << 20, '\n');
    }
    return 0;
}
}  // namespace

double resident_mib() { return status_field_mib("VmRSS"); }
double peak_resident_mib() { return status_field_mib("VmHWM"); }
void reset_peak_resident() { std::ofstream("/proc/self/clear_refs") << "5"; }

}  // namespace bench
