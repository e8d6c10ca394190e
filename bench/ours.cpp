// The workloads in retrograd.
#include "ours_training.hpp"
#include "suite.hpp"

#include <retrograd/retrograd.hpp>

#include <cmath>
#include <map>
#include <memory>

namespace bench {
namespace {

using ours::Batch;
using ours::batches_as_tensors;
using ours::train_steps;

struct Attention {
    rg::Tensor x, wq, wk, wv, wo;
    Attention() {
        const auto b = static_cast<std::int64_t>(attention_batch), t = static_cast<std::int64_t>(attention_seq),
                   w = static_cast<std::int64_t>(attention_width);
        x = rg::randn({b, t, w}, {.requires_grad = true});
        auto weight = [&] {
            auto p = rg::randn({w, w});
            p.mul_(1.0 / std::sqrt(static_cast<double>(w)));
            return p.requires_grad_();
        };
        wq = weight(), wk = weight(), wv = weight(), wo = weight();
    }
    std::vector<rg::Tensor*> leaves() { return {&x, &wq, &wk, &wv, &wo}; }

    // The block's forward to its loss; `after(name)` runs after each op (the
    // allocation count), a no-op when timed.
    template <class After> rg::Tensor loss(After&& after) const {
        const auto b = static_cast<std::int64_t>(attention_batch), t = static_cast<std::int64_t>(attention_seq),
                   w = static_cast<std::int64_t>(attention_width), h = static_cast<std::int64_t>(attention_heads),
                   d = static_cast<std::int64_t>(attention_head_width);
        auto heads = [&](const rg::Tensor& projected) { return projected.view({b, t, h, d}).transpose(1, 2); };
        auto q = x.matmul(wq);
        after("q = x Wq");
        auto k = x.matmul(wk);
        after("k = x Wk");
        auto v = x.matmul(wv);
        after("v = x Wv");
        q = heads(q), k = heads(k), v = heads(v);
        after("view + transpose to heads (q, k, v)");
        auto kt = k.transpose(-2, -1);
        after("kᵀ");
        auto scores = q.matmul(kt);
        after("q kᵀ");
        scores = scores / std::sqrt(static_cast<double>(d));
        after("/ sqrt(d)");
        auto weights = scores.softmax(-1);
        after("softmax");
        auto context = weights.matmul(v);
        after("weights v");
        auto merged = context.transpose(1, 2);
        after("transpose back");
        merged = merged.reshape({b, t, w});
        after("reshape to (batch, seq, width)");
        auto out = merged.matmul(wo);
        after("output projection");
        auto loss = out.square().mean();
        after("mean of squares");
        return loss;
    }
};

}  // namespace

const Batches& fashion_batches(std::size_t batch) {
    static std::map<std::size_t, Batches> loaded;
    auto found = loaded.find(batch);
    if (found != loaded.end()) return found->second;
    constexpr std::size_t count = 16;
    Batches b{batch, count, {}, {}};
    {
        auto train = rg::data::load_fashion_mnist(true);
        auto images = rg::data::normalize_fashion_mnist(train.images);
        const float* pixels = images.value<float>().data();
        const std::int64_t* labels = train.labels.value<std::int64_t>().data();
        b.images.assign(pixels, pixels + count * batch * 784);
        b.labels.assign(labels, labels + count * batch);
    }
    return loaded.emplace(batch, std::move(b)).first->second;
}

void ours_tape(benchmark::State& state) {
    auto x = rg::randn({4}, {.requires_grad = true});
    for (auto _ : state) {
        rg::Tensor y = x;
        for (int i = 0; i < tape_steps; ++i) y = rg::tanh(y * 0.5 + 0.1);
        rg::sum(y).backward();
        benchmark::DoNotOptimize(x.grad().value().data());
        x.zero_grad();
    }
}

void ours_mlp_step(benchmark::State& state) {
    auto model = rg::nn::models::fashion_mlp();
    rg::optim::Adam adam(model->parameters(), {.lr = 1e-3});
    train_steps(state, *model, adam, batches_as_tensors(fashion_batches(mlp_batch), {1, 28, 28}));
}

void ours_cnn_step(benchmark::State& state) {
    auto model = rg::nn::models::fashion_cnn();
    rg::optim::SGD sgd(model->parameters(), {.lr = 0.01, .momentum = 0.9});
    train_steps(state, *model, sgd, batches_as_tensors(fashion_batches(cnn_batch), {1, 28, 28}));
}

void ours_cnn_bn_step(benchmark::State& state) {
    auto model = rg::nn::models::fashion_cnn_bn();
    rg::optim::Adam adam(model->parameters(), {.lr = 1e-3});
    train_steps(state, *model, adam, batches_as_tensors(fashion_batches(cnn_bn_batch), {1, 28, 28}));
}

void ours_matmul(benchmark::State& state) {
    auto a = rg::randn({std::size_t(state.range(0)), std::size_t(state.range(1))});
    auto b = rg::randn({std::size_t(state.range(1)), std::size_t(state.range(2))});
    for (auto _ : state) benchmark::DoNotOptimize(rg::matmul(a, b).value().data());
}

void ours_elementwise(benchmark::State& state) {
    auto x = rg::randn({elementwise_rows, elementwise_cols});
    auto scale = rg::randn({elementwise_cols});
    auto shift = rg::randn({elementwise_cols});
    for (auto _ : state) benchmark::DoNotOptimize((x * scale + shift).value().data());
}

void ours_elementwise_fused(benchmark::State& state) {
    auto x = rg::randn({elementwise_rows, elementwise_cols});
    auto scale = rg::randn({elementwise_cols});
    auto shift = rg::randn({elementwise_cols});
    for (auto _ : state) benchmark::DoNotOptimize(rg::addcmul(shift, x, scale).value().data());
}

void ours_mlp_hvp(benchmark::State& state) {
    auto model = rg::nn::models::fashion_mlp();
    auto params = model->parameters();
    rg::TensorList directions;
    for (const auto& p : params) directions.push_back(rg::randn_like(p));
    const auto batches = batches_as_tensors(fashion_batches(mlp_batch), {1, 28, 28});
    for (auto _ : state) {
        auto loss = rg::nn::cross_entropy((*model)(batches[0].images), batches[0].labels);
        auto grads = rg::grad(loss, params, {.create_graph = true});
        rg::Tensor along = rg::sum(grads[0] * directions[0]);
        for (std::size_t i = 1; i < grads.size(); ++i) along = along + rg::sum(grads[i] * directions[i]);
        auto hv = rg::grad(along, params, {});
        benchmark::DoNotOptimize(hv[0].value().data());
    }
}

void ours_attention(benchmark::State& state) {
    Attention block;
    for (auto _ : state) {
        block.loss([](const char*) {}).backward();
        benchmark::DoNotOptimize(block.wq.grad().data_ptr());
        for (auto* leaf : block.leaves()) leaf->zero_grad();
    }
}

std::vector<OpAllocations> ours_attention_allocations() {
    Attention block;
    for (int warm = 0; warm < 2; ++warm) {
        block.loss([](const char*) {}).backward();
        for (auto* leaf : block.leaves()) leaf->zero_grad();
    }
    std::vector<OpAllocations> out;
    auto allocations = [] {
        const auto s = rg::cache_stats();
        return s.hits + s.misses;
    };
    std::size_t before = allocations();
    auto loss = block.loss([&](const char* op) {
        const std::size_t now = allocations();
        out.push_back({op, now - before});
        before = now;
    });
    benchmark::DoNotOptimize(loss.data_ptr());
    return out;
}

namespace {
// The product backend's one-off start (oneDNN: its code and JIT kernels, 4.4
// MiB on first use) belongs to the process image, not to a step: 2x2 products
// in each transposition load it before the baseline, as on LibTorch's side.
void start_products() {
    const auto m = rg::ones({2, 2});
    for (bool ta : {false, true})
        for (bool tb : {false, true}) benchmark::DoNotOptimize(rg::gemm(m, m, ta, tb).data_ptr());
}

template <class Model, class Optimizer>
MemoryReport memory_over_steps(Model& model, Optimizer& optimizer, std::size_t batch, int steps) {
    const auto batches = batches_as_tensors(synthetic_batches(batch), {1, 28, 28});
    start_products();
    MemoryReport report;
    report.baseline = resident_mib();
    reset_peak_resident();
    for (int step = 1; step <= steps; ++step) {
        const Batch& b = batches[static_cast<std::size_t>(step) % batches.size()];
        auto loss = rg::nn::cross_entropy((*model)(b.images), b.labels);
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
        if (step == 100) report.at_step_100 = resident_mib();
    }
    report.at_last_step = resident_mib();
    report.peak = peak_resident_mib();
    return report;
}
}  // namespace

MemoryReport ours_mlp_memory() {
    auto model = rg::nn::models::fashion_mlp();
    rg::optim::Adam optimizer(model->parameters(), {.lr = 1e-3});
    return memory_over_steps(model, optimizer, mlp_batch, memory_steps);
}

MemoryReport ours_cnn_memory() {
    auto model = rg::nn::models::fashion_cnn();
    rg::optim::SGD optimizer(model->parameters(), {.lr = 0.01, .momentum = 0.9});
    return memory_over_steps(model, optimizer, cnn_batch, cnn_memory_steps);
}

}  // namespace bench
