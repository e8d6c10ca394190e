// The workloads in retrograd.
#include "suite.hpp"

#include <retrograd/retrograd.hpp>

#include <xtensor/xadapt.hpp>

#include <map>
#include <memory>

namespace bench {
namespace {

rg::Tensor float_tensor(const float* data, const rg::Shape& shape) {
    std::size_t count = 1;
    for (auto d : shape) count *= d;
    xt::xarray<float> values = xt::adapt(data, count, xt::no_ownership(), shape);
    return rg::Tensor(std::move(values));
}

struct Batch {
    rg::Tensor images, labels;
};
std::vector<Batch> batches_as_tensors(const Batches& b) {
    const std::size_t batch = b.batch;
    std::vector<Batch> out;
    for (std::size_t i = 0; i < b.count; ++i) {
        out.push_back({float_tensor(b.images_of(i), {batch, 1, 28, 28}),
                       rg::from_indices(std::vector<std::int64_t>(b.labels_of(i), b.labels_of(i) + batch))});
    }
    return out;
}

void train_steps(benchmark::State& state, rg::nn::Module& model, rg::optim::Optimizer& optimizer,
                 const std::vector<Batch>& batches) {
    std::size_t i = 0;
    for (auto _ : state) {
        const Batch& b = batches[i++ % batches.size()];
        auto loss = rg::nn::cross_entropy(model(b.images), b.labels);
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
    }
}

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
    train_steps(state, *model, adam, batches_as_tensors(fashion_batches(mlp_batch)));
}

void ours_cnn_step(benchmark::State& state) {
    auto model = rg::nn::models::fashion_cnn();
    rg::optim::SGD sgd(model->parameters(), {.lr = 0.01, .momentum = 0.9});
    train_steps(state, *model, sgd, batches_as_tensors(fashion_batches(cnn_batch)));
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
    const auto batches = batches_as_tensors(fashion_batches(mlp_batch));
    for (auto _ : state) {
        auto loss = rg::nn::cross_entropy((*model)(batches[0].images), batches[0].labels);
        auto grads = rg::grad(loss, params, {.create_graph = true});
        rg::Tensor along = rg::sum(grads[0] * directions[0]);
        for (std::size_t i = 1; i < grads.size(); ++i) along = along + rg::sum(grads[i] * directions[i]);
        auto hv = rg::grad(along, params, {});
        benchmark::DoNotOptimize(hv[0].value().data());
    }
}

MemoryReport ours_mlp_memory() {
    auto model = rg::nn::models::fashion_mlp();
    rg::optim::Adam adam(model->parameters(), {.lr = 1e-3});
    const auto batches = batches_as_tensors(synthetic_batches(mlp_batch));
    MemoryReport report;
    report.baseline = resident_mib();
    reset_peak_resident();
    for (int step = 1; step <= memory_steps; ++step) {
        const Batch& b = batches[step % batches.size()];
        auto loss = rg::nn::cross_entropy((*model)(b.images), b.labels);
        adam.zero_grad();
        loss.backward();
        adam.step();
        if (step == 100) report.at_step_100 = resident_mib();
    }
    report.at_last_step = resident_mib();
    report.peak = peak_resident_mib();
    return report;
}

}  // namespace bench
