// Times a training step of the CLI's models (Adam; default: the MLP
// 784-256-128-10, global batch 128) on every rank: each rank takes
// batch / world_size samples. Prints rank
// 0's median step time and the time its reducer spent waiting for the sums
// (one process: the plain step, without DataParallel).
// Not a test (timings vary with the machine); docs/distributed.md quotes it.
//   mpirun -np 2 ./build/tests/dist_step_timing [mlp|cnn] [steps] [global batch]
#include <retrograd/dist/dist.hpp>
#include <retrograd/retrograd.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>

int main(int argc, char** argv) {
    rg::dist::Environment env(argc, argv);
    return rg::dist::run_or_abort([&] {
        const std::string name = argc > 1 ? argv[1] : "mlp";
        const int steps = argc > 2 ? std::max(1, std::atoi(argv[2])) : 300, warmup = 20;
        const auto world = static_cast<std::size_t>(env.world_size());
        const std::size_t batch =
            std::max<std::size_t>(1, (argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 128) / world);
        auto model = rg::nn::models::by_name(name);
        std::unique_ptr<rg::dist::DataParallel> dp;
        if (world > 1) dp = std::make_unique<rg::dist::DataParallel>(model);
        rg::nn::Module& net = dp ? static_cast<rg::nn::Module&>(*dp) : *model;
        rg::optim::Adam adam(model->parameters(), {.lr = 1e-3});
        rg::manual_seed(static_cast<std::uint64_t>(env.rank()));
        const rg::Tensor x = rg::randn({batch, 1, 28, 28});
        const rg::Tensor y = rg::randint(0, 10, {batch});
        std::vector<double> times;
        for (int step = 0; step < warmup + steps; ++step) {
            if (step == warmup && dp) dp->reset_stats();
            const auto start = std::chrono::steady_clock::now();
            adam.zero_grad();
            rg::nn::cross_entropy(net(x), y).backward();
            if (dp) dp->synchronize();
            adam.step();
            if (step >= warmup)
                times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        }
        std::sort(times.begin(), times.end());
        // The sum of one gradient's worth of floats alone, every rank ready (no waiting for a slower one).
        std::vector<double> alone;
        if (dp) {
            rg::Tensor flat = rg::zeros({model->parameter_count()});
            for (int k = 0; k < 100; ++k) {
                rg::dist::barrier();
                const auto start = std::chrono::steady_clock::now();
                rg::dist::all_reduce(flat);
                alone.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
            }
            std::sort(alone.begin(), alone.end());
        }
        const auto stats = dp ? dp->stats() : rg::dist::ReducerStats{};
        if (env.rank() == 0 || std::getenv("RG_TIMING_ALL_RANKS"))
            std::cout << fmt::
                    format("rank {}: {}, {} process(es), batch {} each: step {:.3f} ms (median of {}), reducer waiting "
                           "{:.3f} ms and copying {:.3f} ms per step; one all_reduce of {} floats alone: "
                           "{:.3f} ms (median)\n",
                           env.rank(), name, world, batch, 1e3 * times[times.size() / 2], times.size(),
                           1e3 * stats.wait_seconds / steps, 1e3 * stats.copy_seconds / steps, model->parameter_count(),
                           alone.empty() ? 0.0 : 1e3 * alone[alone.size() / 2]);
        return 0;
    });
}
