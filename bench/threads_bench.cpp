// Wall time of the parallel kernels on 1 and 2 threads by size, to place
// each kernel's threshold (kernels/threads.hpp) where two threads start to
// win, and float32 max pooling on retrograd's loops and oneDNN's. Wall
// time, not CPU time: the question is how long the caller waits. Then the
// CNN step's convolution passes and ReLU at 1 and 2 threads. Each
// configuration alternates with the others, medians of the repetitions.
//
//   threads_bench [repetitions] [cnn]   (cnn: the pooling and CNN tables only)
#include <retrograd/conv.hpp>
#include <retrograd/detail/conv_kernel.hpp>
#include <retrograd/detail/update_kernels.hpp>
#include <retrograd/retrograd.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace {

// The median wall time of f in microseconds, over `reps` runs of enough calls for a millisecond.
double median_us(const std::function<void()>& f, int reps) {
    using clock = std::chrono::steady_clock;
    f();
    int calls = 1;
    for (;;) {
        const auto t0 = clock::now();
        for (int i = 0; i < calls; ++i) f();
        if (std::chrono::duration<double>(clock::now() - t0).count() > 1e-3 || calls > 1 << 16) break;
        calls *= 2;
    }
    std::vector<double> times;
    for (int r = 0; r < reps; ++r) {
        const auto t0 = clock::now();
        for (int i = 0; i < calls; ++i) f();
        times.push_back(std::chrono::duration<double, std::micro>(clock::now() - t0).count() / calls);
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

struct Kernel {
    std::string name;
    std::function<std::function<void()>(std::size_t)> make;  // the call on a tensor of n elements
};

}  // namespace

int main(int argc, char** argv) {
    const int reps = argc > 1 ? std::stoi(argv[1]) : 15;
    rg::manual_seed(1);
    const std::vector<Kernel> kernels = {
        {"sum rows (n/64, 64) over 1",
         [](std::size_t n) {
             auto x = rg::randn({n / 64, 64});
             return [x] { rg::sum(x, {1}); };
         }},
        {"sum columns (64, n/64) over 0",
         [](std::size_t n) {
             auto x = rg::randn({64, n / 64});
             return [x] { rg::sum(x, {0}); };
         }},
        {"max (n/64, 64) over 1",
         [](std::size_t n) {
             auto x = rg::randn({n / 64, 64});
             return [x] { rg::max(x, {1}); };
         }},
        {"max all",
         [](std::size_t n) {
             auto x = rg::randn({n});
             return [x] { rg::max(x); };
         }},
        {"argmax (n/64, 64) over 1",
         [](std::size_t n) {
             auto x = rg::randn({n / 64, 64});
             return [x] { rg::argmax(x, 1); };
         }},
        {"softmax rows (n/128, 128)",
         [](std::size_t n) {
             auto x = rg::randn({n / 128, 128});
             return [x] { rg::softmax(x, -1); };
         }},
        {"add x + y",
         [](std::size_t n) {
             auto x = rg::randn({n}), y = rg::randn({n});
             return [x, y] { rg::add(x, y); };
         }},
        {"relu",
         [](std::size_t n) {
             auto x = rg::randn({n});
             return [x] { rg::relu(x); };
         }},
        {"relu fwd+bwd",
         [](std::size_t n) {
             auto x = rg::randn({n}).requires_grad_();
             auto g = rg::randn({n});
             return [x, g] { rg::relu(x).backward(g); };
         }},
        {"exp",
         [](std::size_t n) {
             auto x = rg::randn({n});
             return [x] { rg::exp(x); };
         }},
        {"max_pool2d 2x2, planes of 16x16",
         [](std::size_t n) {
             auto x = rg::randn({n / 256, 1, 16, 16});
             return [x] {
                 rg::NoGrad off;
                 rg::max_pool2d(x, {2, 2});
             };
         }},
        {"cumsum (n/64, 64) over 1",
         [](std::size_t n) {
             auto x = rg::randn({n / 64, 64});
             return [x] { rg::cumsum(x, 1); };
         }},
        {"SGD update (float32)",
         [](std::size_t n) {
             auto w = rg::randn({n}), dw = rg::randn({n});
             const rg::detail::SgdStep<float> step{0.01f, 0.0f, 0.0f, 1.0f, false, false};
             return [w, dw, step, n] {
                 rg::detail::sgd_update(w.data_ptr<float>(), dw.data_ptr<float>(), nullptr, n, step);
             };
         }},
        {"Adam update (float32)",
         [](std::size_t n) {
             auto w = rg::randn({n}), dw = rg::randn({n}), m = rg::zeros({n}), v = rg::zeros({n});
             const rg::detail::AdamStep<float> step{1e-3f, 1.0f, 0.9f, 0.999f, 1e-8f, 0.0f, 1.0f};
             return [w, dw, m, v, step, n] {
                 rg::detail::adam_update(w.data_ptr<float>(), dw.data_ptr<float>(), m.data_ptr<float>(),
                                         v.data_ptr<float>(), n, step);
             };
         }},
        {"softmax fwd+bwd (n/128, 128)",
         [](std::size_t n) {
             auto x = rg::randn({n / 128, 128}).requires_grad_();
             auto g = rg::randn({n / 128, 128});
             return [x, g] { rg::grad(rg::sum(rg::softmax(x, -1) * g), {x}); };
         }},
    };
    const std::vector<std::size_t> sizes = {4096, 8192, 16384, 32768, 65536, 131072, 262144, 1 << 20};
    const bool cnn_only = argc > 2 && std::string(argv[2]) == "cnn";
    if (!cnn_only)
        fmt::print("| kernel | elements | 1 thread (µs) | 2 threads (µs) | speed-up |\n|---|---|---|---|---|\n");
    for (const Kernel& k : cnn_only ? std::vector<Kernel>{} : kernels) {
        for (std::size_t n : sizes) {
            auto f = k.make(n);
            double t[2] = {1e300, 1e300};
            for (int round = 0; round < 3; ++round)
                for (int threads : {1, 2}) {
                    rg::set_num_threads(threads);
                    t[threads - 1] = std::min(t[threads - 1], median_us(f, reps));
                }
            fmt::print("| {} | {} | {:.1f} | {:.1f} | {:.2f} |\n", k.name, n, t[0], t[1], t[0] / t[1]);
        }
    }
    // Max pooling, 2x2: the CNN's two layers and a larger one, forward and backward.
    fmt::print("\n| max_pool2d 2x2 fwd+bwd | threads | window loops (µs) | oneDNN (µs) | oneDNN / loops |\n"
               "|---|---|---|---|---|\n");
    const std::vector<rg::Shape> shapes = {{64, 32, 26, 26}, {64, 64, 11, 11}, {8, 64, 56, 56}, {1, 16, 28, 28}};
    for (const rg::Shape& shape : shapes) {
        auto x = rg::randn(shape).requires_grad_();
        auto g = rg::randn({shape[0], shape[1], shape[2] / 2, shape[3] / 2});
        auto f = [x, g] { rg::grad(rg::sum(rg::max_pool2d(x, {2, 2}) * g), {x}); };
        for (int threads : {1, 2}) {
            rg::set_num_threads(threads);
            double t[2] = {1e300, 1e300};
            for (int round = 0; round < 3; ++round)
                for (int which : {0, 1}) {
                    rg::detail::force_conv_kernel(which == 0 ? rg::detail::ConvKernel::own
                                                             : rg::detail::ConvKernel::onednn);
                    t[which] = std::min(t[which], median_us(f, reps));
                }
            rg::detail::force_conv_kernel(rg::detail::ConvKernel::automatic);
            fmt::print("| {} | {} | {:.1f} | {:.1f} | {:.2f} |\n", rg::shape_str(shape), threads, t[0], t[1],
                       t[1] / t[0]);
        }
    }
    // The CNN step's convolutions (its two layers, the passes a training
    // step runs, each on the kernel the automatic choice gives it) and its
    // ReLU, forward and backward, at 1 and 2 threads.
    fmt::print("\n| CNN kernel | 1 thread (µs) | 2 threads (µs) | speed-up |\n|---|---|---|---|\n");
    struct Layer {
        std::string name;
        rg::Shape x, w;
    };
    const std::vector<Layer> layers = {{"conv1 1->32 3x3 28x28", {64, 1, 28, 28}, {32, 1, 3, 3}},
                                       {"conv2 32->64 3x3 13x13", {64, 32, 13, 13}, {64, 32, 3, 3}}};
    std::vector<std::pair<std::string, std::function<void()>>> calls;
    for (const Layer& l : layers) {
        auto x = rg::randn(l.x), w = rg::randn(l.w), b = rg::randn({l.w[0]});
        rg::Tensor g;
        {
            rg::NoGrad off;
            g = rg::randn(rg::conv2d(x, w, b).shape());
        }
        calls.emplace_back(l.name + " forward", [x, w, b] {
            rg::NoGrad off;
            rg::conv2d(x, w, b);
        });
        calls.emplace_back(l.name + " input grad", [g, w, x] { rg::conv2d_input_grad(g, w, x.shape(), {}); });
        calls.emplace_back(l.name + " weight grad", [g, x, w] { rg::conv2d_weight_grad(g, x, w.shape(), {}); });
    }
    {
        auto x = rg::randn({64, 32, 26, 26}).requires_grad_();
        auto g = rg::randn({64, 32, 26, 26});
        calls.emplace_back("relu 64x32x26x26 fwd+bwd", [x, g] { rg::grad(rg::sum(rg::relu(x) * g), {x}); });
    }
    for (const auto& [name, f] : calls) {
        double t[2] = {1e300, 1e300};
        for (int round = 0; round < 3; ++round)
            for (int threads : {1, 2}) {
                rg::set_num_threads(threads);
                t[threads - 1] = std::min(t[threads - 1], median_us(f, reps));
            }
        fmt::print("| {} | {:.1f} | {:.1f} | {:.2f} |\n", name, t[0], t[1], t[0] / t[1]);
    }
    return 0;
}
