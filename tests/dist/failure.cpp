// A training job in which something goes wrong on one rank; tests/CMakeLists.txt
// checks that every rank stops, within a bound, with a message naming the rank.
//   failure throw   rank 1 throws an rg::Error at its third step
//   failure exit    rank 1 exits with status 3 at its third step (a crash)
//   failure stuck   rank 1 stops calling collectives; rank 0 times out
//   failure world   the program needs 3 processes
#include <retrograd/dist/dist.hpp>
#include <retrograd/retrograd.hpp>

#include <cstdlib>
#include <string>
#include <thread>

int main(int argc, char** argv) {
    const std::string mode = argc > 1 ? argv[1] : "throw";
    return rg::dist::run_or_abort([&] {
        rg::dist::Environment env(argc, argv,
                                  {.timeout = std::chrono::seconds(mode == "stuck" ? 3 : 60),
                                   .required_world_size = mode == "world" ? 3 : 0});
        return rg::dist::run_or_abort([&] {
            rg::manual_seed(0);
            auto model =
                std::make_shared<rg::nn::Sequential>(rg::nn::Linear(4, 8), rg::nn::ReLU(), rg::nn::Linear(8, 2));
            rg::dist::DataParallel dp(model);
            rg::optim::SGD sgd(model->parameters(), {.lr = 0.1});
            for (int step = 1; step <= 50; ++step) {
                if (env.rank() == 1 && step == 3) {
                    if (mode == "throw") rg::fail("injected failure at step {}", step);
                    if (mode == "exit") std::_Exit(3);
                    if (mode == "stuck") std::this_thread::sleep_for(std::chrono::seconds(30));
                }
                const rg::Tensor x = rg::randn({8, 4});
                sgd.zero_grad();
                rg::nn::cross_entropy(dp(x), rg::randint(0, 2, {8})).backward();
                dp.synchronize();
                sgd.step();
            }
            return 0;
        });
    });
}
