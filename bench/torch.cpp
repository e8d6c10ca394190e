// The same workloads in LibTorch (PyTorch's C++ frontend), written as a
// LibTorch user would: nn modules, torch::optim, autograd.
#include "suite.hpp"
#include "torch_training.hpp"

#include <c10/core/CPUAllocator.h>
#include <torch/torch.h>

#include <cmath>

namespace bench {
namespace {

using libtorch::Batch;
using libtorch::batches_as_tensors;
using libtorch::train_steps;

torch::nn::Sequential fashion_mlp() {
    return torch::nn::Sequential(torch::nn::Flatten(), torch::nn::Linear(784, 256), torch::nn::ReLU(),
                                 torch::nn::Linear(256, 128), torch::nn::ReLU(), torch::nn::Linear(128, 10));
}
torch::nn::Sequential fashion_cnn() {
    using namespace torch::nn;
    return Sequential(Conv2d(Conv2dOptions(1, 32, 3)), ReLU(), MaxPool2d(MaxPool2dOptions(2)),
                      Conv2d(Conv2dOptions(32, 64, 3)), ReLU(), MaxPool2d(MaxPool2dOptions(2)), Flatten(),
                      Linear(1600, 128), ReLU(), Linear(128, 10));
}

torch::nn::Sequential fashion_cnn_bn() {
    using namespace torch::nn;
    auto same = [](std::int64_t in, std::int64_t out) {
        return Conv2d(Conv2dOptions(in, out, 3).padding(1).bias(false));
    };
    return Sequential(same(1, 32), BatchNorm2d(32), ReLU(), MaxPool2d(MaxPool2dOptions(2)), same(32, 64),
                      BatchNorm2d(64), ReLU(), MaxPool2d(MaxPool2dOptions(2)), Flatten(), Dropout(0.25),
                      Linear(64 * 7 * 7, 128), ReLU(), Dropout(0.25), Linear(128, 10));
}

struct Attention {
    torch::Tensor x, wq, wk, wv, wo;
    Attention() {
        const auto b = static_cast<std::int64_t>(attention_batch), t = static_cast<std::int64_t>(attention_seq),
                   w = static_cast<std::int64_t>(attention_width);
        x = torch::randn({b, t, w}, torch::requires_grad());
        auto weight = [&] { return (torch::randn({w, w}) / std::sqrt(static_cast<double>(w))).requires_grad_(); };
        wq = weight(), wk = weight(), wv = weight(), wo = weight();
    }
    std::vector<torch::Tensor*> leaves() { return {&x, &wq, &wk, &wv, &wo}; }

    template <class After> torch::Tensor loss(After&& after) const {
        const auto b = static_cast<std::int64_t>(attention_batch), t = static_cast<std::int64_t>(attention_seq),
                   w = static_cast<std::int64_t>(attention_width), h = static_cast<std::int64_t>(attention_heads),
                   d = static_cast<std::int64_t>(attention_head_width);
        auto heads = [&](const torch::Tensor& projected) { return projected.view({b, t, h, d}).transpose(1, 2); };
        auto q = torch::matmul(x, wq);
        after("q = x Wq");
        auto k = torch::matmul(x, wk);
        after("k = x Wk");
        auto v = torch::matmul(x, wv);
        after("v = x Wv");
        q = heads(q), k = heads(k), v = heads(v);
        after("view + transpose to heads (q, k, v)");
        auto kt = k.transpose(-2, -1);
        after("kᵀ");
        auto scores = torch::matmul(q, kt);
        after("q kᵀ");
        scores = scores / std::sqrt(static_cast<double>(d));
        after("/ sqrt(d)");
        auto weights = torch::softmax(scores, -1);
        after("softmax");
        auto context = torch::matmul(weights, v);
        after("weights v");
        auto merged = context.transpose(1, 2);
        after("transpose back");
        merged = merged.reshape({b, t, w});
        after("reshape to (batch, seq, width)");
        auto out = torch::matmul(merged, wo);
        after("output projection");
        auto loss = out.square().mean();
        after("mean of squares");
        return loss;
    }
};

// Counts the CPU buffers of 64 KiB and more LibTorch allocates while installed.
struct CountingAllocator final : c10::Allocator {
    c10::Allocator* inner = nullptr;
    mutable std::size_t buffers = 0;
    c10::DataPtr allocate(std::size_t n) const override {
        if (n >= (std::size_t{64} << 10)) ++buffers;
        return inner->allocate(n);
    }
    c10::DeleterFnPtr raw_deleter() const override { return inner->raw_deleter(); }
};

}  // namespace

void torch_set_threads(int threads) {
    torch::set_num_threads(threads);
    torch::set_num_interop_threads(threads);
}

void torch_tape(benchmark::State& state) {
    auto x = torch::randn({4}, torch::requires_grad());
    for (auto _ : state) {
        torch::Tensor y = x;
        for (int i = 0; i < tape_steps; ++i) y = torch::tanh(y * 0.5 + 0.1);
        y.sum().backward();
        benchmark::DoNotOptimize(x.grad().data_ptr());
        x.mutable_grad().zero_();
    }
}

void torch_mlp_step(benchmark::State& state) {
    auto model = fashion_mlp();
    torch::optim::Adam adam(model->parameters(), torch::optim::AdamOptions(1e-3));
    train_steps(state, model, adam, batches_as_tensors(fashion_batches(mlp_batch), {1, 28, 28}));
}

void torch_cnn_step(benchmark::State& state) {
    auto model = fashion_cnn();
    torch::optim::SGD sgd(model->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
    train_steps(state, model, sgd, batches_as_tensors(fashion_batches(cnn_batch), {1, 28, 28}));
}

void torch_cnn_bn_step(benchmark::State& state) {
    auto model = fashion_cnn_bn();
    torch::optim::Adam adam(model->parameters(), torch::optim::AdamOptions(1e-3));
    train_steps(state, model, adam, batches_as_tensors(fashion_batches(cnn_bn_batch), {1, 28, 28}));
}

std::vector<double> torch_losses(bool cnn, int steps) {
    torch::manual_seed(0);
    auto model = cnn ? fashion_cnn() : fashion_mlp();
    torch::optim::SGD sgd(model->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
    const auto batches = batches_as_tensors(fashion_batches(cnn ? cnn_batch : mlp_batch), {1, 28, 28});
    std::vector<double> losses;
    for (int i = 0; i < steps; ++i) {
        const Batch& b = batches[static_cast<std::size_t>(i) % batches.size()];
        auto loss = torch::nn::functional::cross_entropy(model->forward(b.images), b.labels);
        sgd.zero_grad();
        loss.backward();
        sgd.step();
        losses.push_back(loss.item<double>());
    }
    return losses;
}

void torch_matmul(benchmark::State& state) {
    auto a = torch::randn({state.range(0), state.range(1)});
    auto b = torch::randn({state.range(1), state.range(2)});
    for (auto _ : state) benchmark::DoNotOptimize(torch::matmul(a, b).data_ptr());
}

void torch_elementwise(benchmark::State& state) {
    const auto rows = static_cast<std::int64_t>(elementwise_rows), cols = static_cast<std::int64_t>(elementwise_cols);
    auto x = torch::randn({rows, cols});
    auto scale = torch::randn({cols});
    auto shift = torch::randn({cols});
    for (auto _ : state) benchmark::DoNotOptimize((x * scale + shift).data_ptr());
}

void torch_elementwise_fused(benchmark::State& state) {
    const auto rows = static_cast<std::int64_t>(elementwise_rows), cols = static_cast<std::int64_t>(elementwise_cols);
    auto x = torch::randn({rows, cols});
    auto scale = torch::randn({cols});
    auto shift = torch::randn({cols});
    for (auto _ : state) benchmark::DoNotOptimize(torch::addcmul(shift, x, scale).data_ptr());
}

void torch_mlp_hvp(benchmark::State& state) {
    auto model = fashion_mlp();
    auto params = model->parameters();
    std::vector<torch::Tensor> directions;
    for (const auto& p : params) directions.push_back(torch::randn_like(p));
    const auto batches = batches_as_tensors(fashion_batches(mlp_batch), {1, 28, 28});
    for (auto _ : state) {
        auto loss = torch::nn::functional::cross_entropy(model->forward(batches[0].images), batches[0].labels);
        auto grads = torch::autograd::grad({loss}, params, {}, true, true);
        torch::Tensor along = (grads[0] * directions[0]).sum();
        for (std::size_t i = 1; i < grads.size(); ++i) along = along + (grads[i] * directions[i]).sum();
        auto hv = torch::autograd::grad({along}, params);
        benchmark::DoNotOptimize(hv[0].data_ptr());
    }
}

void torch_attention(benchmark::State& state) {
    Attention block;
    for (auto _ : state) {
        block.loss([](const char*) {}).backward();
        benchmark::DoNotOptimize(block.wq.grad().data_ptr());
        for (auto* leaf : block.leaves()) leaf->mutable_grad().reset();  // set_to_none, as ours
    }
}

std::vector<OpAllocations> torch_attention_allocations() {
    Attention block;
    for (int warm = 0; warm < 2; ++warm) {
        block.loss([](const char*) {}).backward();
        for (auto* leaf : block.leaves()) leaf->mutable_grad().reset();
    }
    static CountingAllocator counting;  // LibTorch keeps the pointer
    counting.inner = c10::GetCPUAllocator();
    c10::SetCPUAllocator(&counting, /*priority=*/100);
    std::vector<OpAllocations> out;
    std::size_t before = counting.buffers;
    auto loss = block.loss([&](const char* op) {
        out.push_back({op, counting.buffers - before});
        before = counting.buffers;
    });
    c10::SetCPUAllocator(counting.inner, /*priority=*/101);
    benchmark::DoNotOptimize(loss.data_ptr());
    return out;
}

namespace {
// The BLAS's one-off start loaded before the baseline, as on our side.
void start_products() {
    const auto m = torch::ones({2, 2});
    for (bool ta : {false, true})
        for (bool tb : {false, true})
            benchmark::DoNotOptimize(torch::matmul(ta ? m.t() : m, tb ? m.t() : m).data_ptr());
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
        auto loss = torch::nn::functional::cross_entropy(model->forward(b.images), b.labels);
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

MemoryReport torch_mlp_memory() {
    auto model = fashion_mlp();
    torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-3));
    return memory_over_steps(model, optimizer, mlp_batch, memory_steps);
}

MemoryReport torch_cnn_memory() {
    auto model = fashion_cnn();
    torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
    return memory_over_steps(model, optimizer, cnn_batch, cnn_memory_steps);
}

}  // namespace bench
