// Batch normalisation in training, float32, NCHW: rg::batch_norm (forward, and
// forward + backward through autograd to x, weight and bias) against oneDNN's
// batch normalisation primitive on the same plain layout, forward and
// backward (docs/performance.md, "Batch normalisation"), on the activations
// of `--model cnn-bn` at its default batch of 128.
#include <benchmark/benchmark.h>
#include <oneapi/dnnl/dnnl.hpp>
#include <retrograd/retrograd.hpp>

#include <string>

namespace {

struct Shape4 {
    std::int64_t n, c, h, w;
};
const Shape4 batch_norm_cases[] = {{128, 32, 28, 28}, {128, 64, 14, 14}};

std::string label(const Shape4& s, const char* what) {
    return std::to_string(s.n) + "x" + std::to_string(s.c) + "x" + std::to_string(s.h) + "x" + std::to_string(s.w) +
           ", " + what;
}

// range(0): the case; range(1): 0 forward, 1 forward and backward.
void BM_BatchNormOurs(benchmark::State& state) {
    const Shape4& s = batch_norm_cases[state.range(0)];
    const rg::Shape shape{std::size_t(s.n), std::size_t(s.c), std::size_t(s.h), std::size_t(s.w)};
    const auto x = rg::randn(shape, {.requires_grad = true}), g = rg::randn(shape);
    const auto w = rg::ones({std::size_t(s.c)}, {.requires_grad = true});
    const auto b = rg::zeros({std::size_t(s.c)}, {.requires_grad = true});
    const bool backward = state.range(1) == 1;
    for (auto _ : state) {
        const auto y = rg::batch_norm(x, {}, {}, w, b, true);
        if (backward) benchmark::DoNotOptimize(rg::grad(rg::TensorList{y}, {x, w, b}, {g}));
        benchmark::DoNotOptimize(y.data_ptr<float>());
    }
    state.SetLabel(label(s, backward ? "forward + backward, rg::batch_norm" : "forward, rg::batch_norm"));
}

void BM_BatchNormOneDnn(benchmark::State& state) {
    using namespace dnnl;
    const Shape4& s = batch_norm_cases[state.range(0)];
    engine cpu(engine::kind::cpu, 0);
    stream queue(cpu);
    const auto data = memory::desc({s.n, s.c, s.h, s.w}, memory::data_type::f32, memory::format_tag::nchw);
    const auto flags = normalization_flags::use_scale | normalization_flags::use_shift;
    const batch_normalization_forward::primitive_desc
        forward_pd(batch_normalization_forward::desc(prop_kind::forward_training, data, 1e-5f, flags), cpu);
    const batch_normalization_backward::primitive_desc
        backward_pd(batch_normalization_backward::desc(prop_kind::backward, data, data, 1e-5f, flags), cpu, forward_pd);
    const auto x = rg::randn({std::size_t(s.n), std::size_t(s.c), std::size_t(s.h), std::size_t(s.w)});
    const auto g = rg::randn(x.shape());
    memory src(data, cpu, x.data_ptr<float>()), diff_dst(data, cpu, g.data_ptr<float>());
    memory dst(data, cpu), diff_src(data, cpu);
    memory mean(forward_pd.mean_desc(), cpu), variance(forward_pd.variance_desc(), cpu);
    const auto channel = memory::desc({s.c}, memory::data_type::f32, memory::format_tag::x);
    auto scale = rg::ones({std::size_t(s.c)}), shift = rg::zeros({std::size_t(s.c)});
    memory scale_mem(channel, cpu, scale.data_ptr<float>()), shift_mem(channel, cpu, shift.data_ptr<float>());
    memory diff_scale(channel, cpu), diff_shift(channel, cpu);
    const batch_normalization_forward forward(forward_pd);
    const batch_normalization_backward backward(backward_pd);
    const bool with_backward = state.range(1) == 1;
    for (auto _ : state) {
        forward.execute(queue, {{DNNL_ARG_SRC, src},
                                {DNNL_ARG_DST, dst},
                                {DNNL_ARG_MEAN, mean},
                                {DNNL_ARG_VARIANCE, variance},
                                {DNNL_ARG_SCALE, scale_mem},
                                {DNNL_ARG_SHIFT, shift_mem}});
        if (with_backward)
            backward.execute(queue, {{DNNL_ARG_SRC, src},
                                     {DNNL_ARG_DIFF_DST, diff_dst},
                                     {DNNL_ARG_MEAN, mean},
                                     {DNNL_ARG_VARIANCE, variance},
                                     {DNNL_ARG_SCALE, scale_mem},
                                     {DNNL_ARG_SHIFT, shift_mem},
                                     {DNNL_ARG_DIFF_SRC, diff_src},
                                     {DNNL_ARG_DIFF_SCALE, diff_scale},
                                     {DNNL_ARG_DIFF_SHIFT, diff_shift}});
        queue.wait();
    }
    state.SetLabel(label(s, with_backward ? "forward + backward, oneDNN " : "forward, oneDNN ") +
                   forward_pd.impl_info_str());
}

void batch_norm_arguments(benchmark::internal::Benchmark* b) {
    for (std::int64_t i = 0; i < static_cast<std::int64_t>(std::size(batch_norm_cases)); ++i)
        for (std::int64_t backward = 0; backward < 2; ++backward) b->Args({i, backward});
}

BENCHMARK(BM_BatchNormOurs)->Apply(batch_norm_arguments)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime();
BENCHMARK(BM_BatchNormOneDnn)->Apply(batch_norm_arguments)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime();

}  // namespace
