// rg::nn::train over DataParallel equals the single-process run with the same
// global batch: same losses, same weights; only rank 0 writes files; resume.
#include <doctest/doctest.h>
#include <retrograd/dist/dist.hpp>
#include <retrograd/retrograd.hpp>

#include <filesystem>
#include <unistd.h>

namespace {

namespace dist = rg::dist;
namespace nn = rg::nn;
namespace data = rg::data;
namespace fs = std::filesystem;

std::shared_ptr<nn::Sequential> model_for_test() {
    rg::manual_seed(42);
    auto model = std::make_shared<nn::Sequential>(nn::Linear(6, 8), nn::ReLU(), nn::Linear(8, 3));
    model->to(rg::Dtype::float64);
    return model;
}

data::TensorDataset synthetic(std::size_t n, std::uint64_t seed) {
    rg::manual_seed(seed);
    rg::Tensor x = rg::randn({n, 6}, {.dtype = rg::Dtype::float64});
    return {x, rg::argmax(rg::slice(x, 1, 0, 3), 1)};  // the class is the largest of the first three features
}

rg::Tensor loss_fn(const rg::Tensor& out, const rg::Tensor& y) { return nn::cross_entropy(out, y); }

struct Run {
    nn::History history;
    std::vector<std::vector<double>> weights;
};

// The run on one process with the global batch, or sharded over the ranks with batch / world_size each.
Run run(bool parallel, std::size_t epochs, const std::string& dir = "", bool resume = false,
        const std::string& metrics = "", std::size_t global_batch = 16, std::size_t accumulate = 1) {
    const auto r = static_cast<std::size_t>(dist::rank()), w = static_cast<std::size_t>(dist::world_size());
    auto model = model_for_test();
    std::unique_ptr<dist::DataParallel> dp;
    if (parallel) dp = std::make_unique<dist::DataParallel>(model, dist::DataParallelOptions{.bucket_bytes = 200});
    data::LoaderOptions train_options{.batch_size = global_batch, .shuffle = true, .seed = 3};
    data::LoaderOptions val_options{.batch_size = 20};
    if (parallel) {
        train_options.batch_size /= w;
        train_options.rank = val_options.rank = r;
        train_options.world_size = val_options.world_size = w;
    }
    data::DataLoader train(synthetic(64, 1), train_options), validation(synthetic(40, 2), val_options);
    rg::optim::SGD sgd(model->parameters(), {.lr = 0.1, .momentum = 0.9});
    nn::TrainOptions options{.epochs = epochs,
                             .checkpoint_dir = dir,
                             .resume = resume,
                             .metrics_csv = metrics,
                             .accumulate = accumulate,
                             .progress = nn::Progress::none};
    if (parallel) options.parallel = dp->trainer_hooks();
    Run result{nn::train(*model, sgd, loss_fn, train, &validation, options), {}};
    for (const auto& p : model->parameters()) result.weights.push_back(p.to_vector());
    return result;
}

double max_difference(const std::vector<std::vector<double>>& a, const std::vector<std::vector<double>>& b) {
    double worst = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        for (std::size_t k = 0; k < a[i].size(); ++k) worst = std::max(worst, std::abs(a[i][k] - b[i][k]));
    return worst;
}

std::string shared_temp_dir() {  // rank 0 names it, every rank uses it
    rg::Tensor id = rg::from_indices({static_cast<std::int64_t>(::getpid())});
    dist::broadcast(id, 0);
    return (fs::temp_directory_path() / fmt::format("retrograd-dist-test-{}", static_cast<long>(id.item()))).string();
}

}  // namespace

TEST_SUITE("training") {
    TEST_CASE("2 processes train as 1 with the same global batch: losses, validation and weights agree") {
        const Run single = run(false, 3), parallel = run(true, 3);
        REQUIRE(parallel.history.epochs.size() == 3);
        for (std::size_t e = 0; e < 3; ++e) {
            CAPTURE(e);
            CHECK(parallel.history.epochs[e].train_loss ==
                  doctest::Approx(single.history.epochs[e].train_loss).epsilon(1e-12));
            CHECK(parallel.history.epochs[e].train_accuracy == single.history.epochs[e].train_accuracy);
            CHECK(parallel.history.epochs[e].val_loss ==
                  doctest::Approx(single.history.epochs[e].val_loss).epsilon(1e-12));
            CHECK(parallel.history.epochs[e].val_accuracy == single.history.epochs[e].val_accuracy);
        }
        CHECK(single.history.epochs[2].train_loss < single.history.epochs[0].train_loss);  // it does learn
        CHECK(max_difference(parallel.weights, single.weights) < 1e-12);
    }

    TEST_CASE("accumulating 2 batches over 2 processes steps as one process with a batch twice as large") {
        // 64 samples: 4 steps of 32, against groups of two batches of 8 per rank.
        const Run big = run(false, 2, "", false, "", 32), accumulated = run(true, 2, "", false, "", 16, 2);
        CHECK(max_difference(accumulated.weights, big.weights) < 1e-12);
        CHECK(accumulated.history.epochs[1].train_loss ==
              doctest::Approx(run(false, 2, "", false, "", 16, 2).history.epochs[1].train_loss).epsilon(1e-12));
    }

    TEST_CASE("only rank 0 writes; a resumed run ends where an uninterrupted one does") {
        const std::string dir = shared_temp_dir();
        const std::string metrics = (fs::path(dir) / fmt::format("metrics-rank{}.csv", dist::rank())).string();
        run(true, 2, dir, false, metrics);
        dist::barrier();
        CHECK(fs::exists(fs::path(dir) / "last.safetensors"));
        CHECK(fs::exists(metrics) == (dist::rank() == 0));
        const Run resumed = run(true, 3, dir, true, metrics);
        const Run straight = run(false, 3);
        // Every rank reads the first two epochs back from the checkpoint.
        CHECK(resumed.history.epochs.size() == 3u);
        CHECK(max_difference(resumed.weights, straight.weights) < 1e-12);
        dist::barrier();
        if (dist::rank() == 0) fs::remove_all(dir);
    }
}
