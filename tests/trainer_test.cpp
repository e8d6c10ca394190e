// The training loop on a small synthetic problem: it learns, writes its
// metrics, chart and checkpoints, stops early, and resumes.
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <unistd.h>

#include "helpers.hpp"

namespace fs = std::filesystem;
using namespace rg::nn;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        std::random_device rd;
        path = fs::temp_directory_path() / ("retrograd-train-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
};

// Two Gaussian blobs per class, four classes, in 2-D.
rg::data::TensorDataset blobs(std::size_t n, std::uint64_t seed) {
    rg::manual_seed(seed);
    auto labels = rg::randint(0, 4, {n});
    auto centers = rg::tensor({{2.0, 0.0}, {0.0, 2.0}, {-2.0, 0.0}, {0.0, -2.0}});
    auto x = rg::index_select(centers, 0, labels) + rg::randn({n, 2}) * 0.5;
    return {x, labels};
}

LossFn ce = [](const rg::Tensor& out, const rg::Tensor& y) { return cross_entropy(out, y); };

}  // namespace

TEST_CASE("train learns, reports, checkpoints and charts") {
    TempDir dir;
    rg::data::DataLoader train_data(blobs(400, 1), {.batch_size = 32, .shuffle = true});
    rg::data::DataLoader val_data(blobs(200, 2), {.batch_size = 100});
    rg::manual_seed(3);
    Sequential model{Linear(2, 16), ReLU(), Linear(16, 4)};
    rg::optim::Adam opt(model.parameters(), {.lr = 0.01});
    std::ostringstream log;
    auto history = train(model, opt, ce, train_data, &val_data,
                         {.epochs = 5,
                          .checkpoint_dir = dir.path.string(),
                          .metrics_csv = (dir.path / "metrics.csv").string(),
                          .chart_svg = (dir.path / "chart.svg").string(),
                          .model_name = "blobs",
                          .out = &log});
    REQUIRE(history.epochs.size() == 5);
    CHECK(history.epochs.back().val_accuracy > 0.95);
    CHECK(log.str().find("epoch 5/5  train loss") != std::string::npos);  // plain lines when not a terminal
    CHECK(fs::exists(dir.path / "best.safetensors"));
    CHECK(fs::exists(dir.path / "last.optimizer.safetensors"));
    CHECK(load_metadata((dir.path / "best.safetensors").string()).at("model") == "blobs");
    std::ifstream csv(dir.path / "metrics.csv");
    std::string header;
    std::getline(csv, header);
    CHECK(header == "epoch,train_loss,train_accuracy,val_loss,val_accuracy,seconds");
    std::ifstream svg(dir.path / "chart.svg");
    std::string text((std::istreambuf_iterator<char>(svg)), {});
    CHECK(text.rfind("<svg", 0) == 0);
    CHECK(text.find("<polyline") != std::string::npos);
    CHECK(text.find("validation") != std::string::npos);
    auto eval = evaluate(model, ce, val_data, 4);
    CHECK(eval.accuracy == doctest::Approx(history.epochs.back().val_accuracy));
    std::size_t total = 0;
    for (auto& row : eval.confusion)
        for (auto c : row) total += c;
    CHECK(total == 200);
    CHECK(confusion_report(eval, {"east", "north", "west", "south"}).find("0 east") != std::string::npos);
}

TEST_CASE("train is deterministic for a seed, and resuming equals an uninterrupted run") {
    auto run = [](std::size_t epochs, const std::string& dir, bool resume) {
        rg::data::DataLoader data(blobs(200, 4), {.batch_size = 20, .shuffle = true, .seed = 9});
        rg::manual_seed(5);
        Sequential model{Linear(2, 8), Tanh(), Linear(8, 4)};
        rg::optim::SGD opt(model.parameters(), {.lr = 0.1, .momentum = 0.9});
        std::ostringstream log;
        train(model, opt, ce, data, nullptr,
              {.epochs = epochs, .checkpoint_dir = dir, .resume = resume, .progress = Progress::none, .out = &log});
        return model.parameters()[0].to_vector();
    };
    TempDir a, b;
    const auto straight = run(4, a.path.string(), false);
    CHECK(run(4, (a.path / "again").string(), false) == straight);
    run(2, b.path.string(), false);
    // Resuming loads the model, the optimizer state and the epoch, and the
    // loader's order depends only on (seed, epoch): the weights are identical.
    CHECK(run(4, b.path.string(), true) == straight);
}

TEST_CASE("early stopping and loss explosions") {
    rg::data::DataLoader data(blobs(100, 6), {.batch_size = 50});
    rg::data::DataLoader val(blobs(100, 7), {.batch_size = 50});
    rg::manual_seed(1);
    Sequential model{Linear(2, 4)};
    rg::optim::SGD frozen(model.parameters(), {.lr = 0.0});  // nothing improves after epoch 1
    std::ostringstream log;
    auto h = train(model, frozen, ce, data, &val, {.epochs = 20, .patience = 3, .out = &log});
    CHECK(h.stopped_early);
    CHECK(h.epochs.size() == 4);
    CHECK(log.str().find("early stop: no improvement for 3 epochs") != std::string::npos);
    rg::optim::SGD wild(model.parameters(), {.lr = 1e300});  // overflows float32
    CHECK_THROWS_WITH_AS(train(model, wild, ce, data, nullptr, {.epochs = 5, .out = &log}),
                         doctest::Contains("lower the learning rate"), rg::Error);
}
