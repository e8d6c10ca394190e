// The training loop on a small synthetic problem: it learns, writes its
// metrics, chart and checkpoints, stops early, and resumes.
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <unistd.h>

#include "file_limits.hpp"
#include "helpers.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using namespace rg::nn;

namespace {

using test::TempDir;

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
    CHECK_FALSE(fs::exists(dir.path / "last.optimizer.safetensors"));  // the optimizer lives in the checkpoint
    CHECK(load_metadata((dir.path / "best.safetensors").string()).at("model") == "blobs");
    CHECK(load_metadata((dir.path / "best.safetensors").string()).at("epoch") == std::to_string(history.best_epoch));
    const auto checkpoint = read_checkpoint((dir.path / "last.safetensors").string());
    CHECK(checkpoint.state.epoch == 5);
    CHECK(checkpoint.state.epochs == 5);
    CHECK(checkpoint.state.step == 5 * 13);  // 400 samples in batches of 32
    CHECK(checkpoint.state.best_epoch == history.best_epoch);
    CHECK(checkpoint.state.optimizer_type == "rg::optim::Adam");
    REQUIRE(checkpoint.state.history.size() == 5);
    CHECK(checkpoint.state.history[4].val_accuracy == history.epochs[4].val_accuracy);  // full precision
    CHECK(checkpoint.model.at("0.weight").to_vector() == model.parameters()[0].to_vector());
    CHECK(checkpoint.optimizer.count("state.0.0.exp_avg") == 1);
    CHECK(describe_saved_file((dir.path / "last.safetensors").string()) ==
          "a training checkpoint of a blobs model at epoch 5");
    CHECK(describe_saved_file((dir.path / "best.safetensors").string()) ==
          fmt::format("the weights of a blobs model (epoch {})", history.best_epoch));
    std::ifstream csv(dir.path / "metrics.csv");
    std::string header;
    std::getline(csv, header);
    CHECK(header ==
          "epoch,train_loss,train_accuracy,val_loss,val_accuracy,seconds,grad_norm_mean,grad_norm_max,clipped_steps");
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
    CHECK_THROWS_WITH_AS(train(model, frozen, ce, data, nullptr, {.epochs = 1, .resume = true, .out = &log}),
                         "train: resume needs a checkpoint_dir to resume from", rg::Error);
    rg::optim::SGD wild(model.parameters(), {.lr = 1e300});  // overflows float32
    CHECK_THROWS_WITH_AS(train(model, wild, ce, data, nullptr, {.epochs = 5, .out = &log}),
                         doctest::Contains("lower the learning rate"), rg::Error);
}

namespace {

// A small run on the blobs: 200 samples in batches of 20 (10 steps per epoch).
struct BlobRun {
    std::string dir;
    std::size_t epochs = 3, batch = 20, patience = 0;
    bool resume = false, validate = true, sgd = false;
    std::string model_name = "blobs";
    std::map<std::string, std::string> settings{{"lr", "0.05"}};
    std::string log{};
    History history{};
    std::vector<double> weights{};

    BlobRun& run() {
        rg::data::DataLoader data(blobs(200, 4), {.batch_size = batch, .shuffle = true, .seed = 9});
        rg::data::DataLoader val(blobs(100, 8), {.batch_size = 50});
        rg::manual_seed(5);
        Sequential model{Linear(2, 8), Tanh(), Dropout(0.2), Linear(8, 4)};
        std::unique_ptr<rg::optim::Optimizer> opt;
        if (sgd)
            opt = std::make_unique<rg::optim::SGD>(model.parameters(),
                                                   rg::optim::SGDOptions{.lr = 0.05, .momentum = 0.9});
        else
            opt = std::make_unique<rg::optim::Adam>(model.parameters(), rg::optim::AdamOptions{.lr = 0.05});
        std::ostringstream out;
        history = train(model, *opt, ce, data, validate ? &val : nullptr,
                        {.epochs = epochs,
                         .patience = patience,
                         .checkpoint_dir = dir,
                         .resume = resume,
                         .metrics_csv = dir + "/metrics.csv",
                         .chart_svg = dir + "/chart.svg",
                         .model_name = model_name,
                         .settings = settings,
                         .seed_each_epoch = 11,
                         .progress = Progress::lines,
                         .out = &out});
        log = out.str();
        weights = model.parameters()[0].to_vector();
        return *this;
    }
};

std::string read_text(const fs::path& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), {}};
}

}  // namespace

TEST_CASE("a resumed run with dropout equals an uninterrupted one (seed_each_epoch)") {
    TempDir a, b;
    const auto straight = BlobRun{.dir = a.path.string(), .epochs = 4}.run();
    BlobRun{.dir = b.path.string(), .epochs = 2}.run();
    const auto resumed = BlobRun{.dir = b.path.string(), .epochs = 4, .resume = true}.run();
    CHECK(resumed.weights == straight.weights);
    CHECK(resumed.log.find("resuming after epoch 2 of 2, now to epoch 4 (epochs changed from 2 to 4)") !=
          std::string::npos);
    CHECK(resumed.history.resumed_after == 2);
    CHECK(resumed.history.epochs.size() == 4);
    CHECK(resumed.history.best_epoch == straight.history.best_epoch);
    // The history comes from the checkpoint, so metrics.csv is whole again.
    const std::string csv = read_text(b.path / "metrics.csv");
    CHECK(std::count(csv.begin(), csv.end(), '\n') == 5);
    CHECK(csv.find("\n4,") != std::string::npos);
    CHECK(read_checkpoint((b.path / "last.safetensors").string()).state.step == 40);
}

TEST_CASE("resume: finished runs, fewer epochs, early stops and empty directories say what happens") {
    TempDir dir;
    const std::string d = dir.path.string();
    auto fresh = BlobRun{.dir = d, .epochs = 3, .resume = true}.run();
    CHECK(fresh.log.rfind(fmt::format("resume: no checkpoint in {} yet; starting a new run\n", d), 0) == 0);
    CHECK(fresh.history.resumed_after == 0);

    auto again = BlobRun{.dir = d, .epochs = 3, .resume = true}.run();
    CHECK(again.log == fmt::format("resume: the run in {} has finished 3 epochs and 3 were asked for; nothing to train "
                                   "(ask for more epochs to continue)\n",
                                   d));
    CHECK(again.history.best_epoch == fresh.history.best_epoch);  // not 0: it comes from the checkpoint
    CHECK(again.history.epochs.size() == 3);
    CHECK(again.weights == fresh.weights);

    auto fewer = BlobRun{.dir = d, .epochs = 2, .resume = true}.run();
    CHECK(fewer.log.find("has finished 3 epochs and 2 were asked for; nothing to train") != std::string::npos);

    auto restart = BlobRun{.dir = d, .epochs = 1}.run();
    CHECK(restart.log.rfind(fmt::format("starting a new run in {}: its checkpoint will be replaced", d), 0) == 0);
    CHECK(read_checkpoint(d + "/last.safetensors").state.epoch == 1);
}

TEST_CASE("resume after an early stop continues only when the patience allows it") {
    TempDir dir;
    const std::string d = dir.path.string();
    // Without validation the score is the training loss; with lr 0 it never improves after epoch 1.
    auto frozen = [&](std::size_t epochs, std::size_t patience, bool resume) {
        rg::data::DataLoader data(blobs(100, 6), {.batch_size = 50});
        rg::manual_seed(1);
        Sequential model{Linear(2, 4)};
        rg::optim::SGD opt(model.parameters(), {.lr = 0.0});
        std::ostringstream log;
        auto h = train(model, opt, ce, data, nullptr,
                       {.epochs = epochs,
                        .patience = patience,
                        .checkpoint_dir = d,
                        .resume = resume,
                        .progress = Progress::lines,
                        .out = &log});
        return std::make_pair(h, log.str());
    };
    auto first = frozen(10, 2, false);
    CHECK(first.first.stopped_early);
    CHECK(first.first.epochs.size() == 3);
    auto second = frozen(10, 2, true);
    CHECK(second.second == fmt::format("resume: the run in {} stopped early at epoch 3 (no improvement since epoch 1, "
                                       "patience 2); nothing to train (raise the patience to continue)\n",
                                       d));
    CHECK(second.first.stopped_early);
    auto third = frozen(10, 4, true);
    CHECK(third.first.epochs.size() == 5);
    CHECK(third.second.find("resuming after epoch 3 of 10") != std::string::npos);
}

TEST_CASE("resume refuses another model, optimizer, settings or data, naming the difference") {
    TempDir dir;
    const std::string d = dir.path.string(), last = d + "/last.safetensors";
    BlobRun{.dir = d, .epochs = 2}.run();
    BlobRun other_model{.dir = d, .epochs = 4, .resume = true, .model_name = "other"};
    CHECK_THROWS_WITH_AS(other_model.run(),
                         fmt::format("cannot resume '{}': it holds a blobs model and this run asks for other; use the "
                                     "same model, or another output directory for a new run",
                                     last)
                             .c_str(),
                         rg::Error);
    BlobRun other_settings{.dir = d, .epochs = 4, .resume = true, .settings = {{"lr", "0.1"}, {"batch", "20"}}};
    CHECK_THROWS_WITH_AS(other_settings.run(),
                         fmt::format("cannot resume '{}' with other settings (batch is (not set) there, 20 here; lr is "
                                     "0.05 there, 0.1 "
                                     "here): they change the data or the model; use the checkpoint's settings, or "
                                     "another output "
                                     "directory for a new run",
                                     last)
                             .c_str(),
                         rg::Error);
    BlobRun other_optimizer{.dir = d, .epochs = 4, .resume = true, .sgd = true};
    CHECK_THROWS_WITH_AS(other_optimizer.run(),
                         fmt::format("cannot resume '{}': its optimizer state is for rg::optim::Adam, this run uses "
                                     "rg::optim::SGD",
                                     last)
                             .c_str(),
                         rg::Error);
    BlobRun other_batch{.dir = d, .epochs = 4, .batch = 25, .resume = true};
    CHECK_THROWS_WITH_AS(other_batch.run(),
                         fmt::format("cannot resume '{}': it took 20 steps in 2 epochs, but the training data now "
                                     "gives 8 batches per epoch; the data set or the batch size changed",
                                     last)
                             .c_str(),
                         rg::Error);
    // Nothing was changed by the refusals.
    CHECK(read_checkpoint(last).state.epoch == 2);
    // An optimizer that counts more steps than the run took does not belong to it.
    auto tensors = load_tensors(last);
    tensors.at("optimizer.step.0.0") = rg::from_indices({99}, rg::Shape{});
    save_tensors(tensors, last, load_metadata(last));
    BlobRun tampered{.dir = d, .epochs = 4, .resume = true};
    CHECK_THROWS_WITH_AS(tampered.run(),
                         fmt::format("cannot resume '{}': the optimizer counts 99 steps for 'step.0.0' but the run "
                                     "took 20; the states do not belong together",
                                     last)
                             .c_str(),
                         rg::Error);
}

TEST_CASE("resume rewrites a best.safetensors that lags behind the checkpoint, and removes stale temporaries") {
    TempDir dir;
    const std::string d = dir.path.string();
    BlobRun{.dir = d, .epochs = 3}.run();
    const auto c = read_checkpoint(d + "/last.safetensors");
    const TensorMap best = c.best.empty() ? c.model : c.best;
    // As if killed between the checkpoint and best.safetensors: best holds an older epoch.
    save_tensors(c.model, d + "/best.safetensors", {{"format", "retrograd"}, {"model", "blobs"}, {"epoch", "99"}});
    // A save killed mid-way (a process that no longer exists) and one still running (our parent).
    const auto stale = dir.path / "last.safetensors.tmp-999999999-1f";
    const auto live = dir.path / fmt::format("last.safetensors.tmp-{}-2e", ::getppid());
    const auto unrelated = dir.path / "notes.tmp-999999999-1f";  // not a file train writes
    std::ofstream(stale) << "partial";
    std::ofstream(live) << "partial";
    std::ofstream(unrelated) << "mine";
    auto resumed = BlobRun{.dir = d, .epochs = 3, .resume = true}.run();
    CHECK(resumed.log.find("removed 1 temporary file left by an interrupted save\n") != std::string::npos);
    CHECK(resumed.log.find(fmt::format("rewrote {}/best.safetensors from the checkpoint (best epoch {})", d,
                                       c.state.best_epoch)) != std::string::npos);
    CHECK_FALSE(fs::exists(stale));
    CHECK(fs::exists(live));
    CHECK(fs::exists(unrelated));
    const auto rewritten = load_tensors(d + "/best.safetensors");
    CHECK(load_metadata(d + "/best.safetensors").at("epoch") == std::to_string(c.state.best_epoch));
    for (const auto& [name, t] : best) CHECK(rewritten.at(name).to_vector() == t.to_vector());
}

TEST_CASE("read_checkpoint says what a file is when it is not a checkpoint, and checks the state") {
    TempDir dir;
    const std::string d = dir.path.string();
    rg::manual_seed(0);
    Sequential model{Linear(2, 3)};
    rg::optim::Adam opt(model.parameters());
    save(model, d + "/weights.safetensors");
    save(opt, d + "/opt.safetensors");
    CHECK_THROWS_WITH_AS(read_checkpoint(d + "/weights.safetensors"),
                         fmt::format("'{}/weights.safetensors' is not a training checkpoint: it holds the weights of a "
                                     "model",
                                     d)
                             .c_str(),
                         rg::Error);
    CHECK_THROWS_WITH_AS(read_checkpoint(d + "/opt.safetensors"),
                         fmt::format("'{}/opt.safetensors' is not a training checkpoint: it holds an optimizer's state "
                                     "(moments and step counts), not a model",
                                     d)
                             .c_str(),
                         rg::Error);
    // The layout of older versions: weights with an epoch beside a separate optimizer file.
    save_tensors(module_tensors(model), d + "/old.safetensors",
                 {{"format", "retrograd"}, {"model", "mlp"}, {"epoch", "3"}});
    CHECK_THROWS_WITH_AS(read_checkpoint(d + "/old.safetensors"),
                         doctest::Contains("holds only a model's weights, written by an older retrograd"), rg::Error);

    TrainingState state{.epoch = 2, .epochs = 4, .step = 6, .best_epoch = 2, .best_score = 0.5, .model_name = "m"};
    state.history.resize(2);
    state.history[0].epoch = 1;
    state.history[1].epoch = 2;
    save_checkpoint(d + "/good.safetensors", model, opt, state);
    CHECK(read_checkpoint(d + "/good.safetensors").state.step == 6);
    state.best_epoch = 1;
    CHECK_THROWS_WITH_AS(save_checkpoint(d + "/bad.safetensors", model, opt, state),
                         doctest::Contains("the best epoch (1) is not the last (2) but no best weights were given"),
                         rg::Error);
    // Metadata edited by hand is checked field by field.
    auto tensors = load_tensors(d + "/good.safetensors");
    auto meta = load_metadata(d + "/good.safetensors");
    meta["best_epoch"] = "3";
    save_tensors(tensors, d + "/edited.safetensors", meta);
    CHECK_THROWS_WITH_AS(read_checkpoint(d + "/edited.safetensors"),
                         fmt::format("checkpoint '{}/edited.safetensors': epoch 2 and best epoch 3 are inconsistent "
                                     "(expected 1 <= best epoch <= epoch)",
                                     d)
                             .c_str(),
                         rg::Error);
    meta["best_epoch"] = "-1";
    save_tensors(tensors, d + "/edited.safetensors", meta);
    CHECK_THROWS_WITH_AS(read_checkpoint(d + "/edited.safetensors"),
                         doctest::Contains("metadata 'best_epoch' is '-1', expected a non-negative integer"),
                         rg::Error);
    meta["best_epoch"] = "2";
    meta["history"] = "epoch,train_loss,train_accuracy,val_loss,val_accuracy,seconds\n1,0,0,0,0,0\n";
    save_tensors(tensors, d + "/edited.safetensors", meta);
    CHECK_THROWS_WITH_AS(read_checkpoint(d + "/edited.safetensors"),
                         doctest::Contains("the history has 1 epochs but the checkpoint is at epoch 2"), rg::Error);
    // Loading weights checks everything before writing anything.
    Sequential other{Linear(2, 4)};
    CHECK_THROWS_WITH_AS(load_weights(other, read_checkpoint(d + "/good.safetensors").model, "here"),
                         "here: tensor '0.weight' has shape (3, 2) there but (4, 2) in the module (Linear(2, 4) at "
                         "'0')",
                         rg::Error);
}

TEST_CASE("save_text replaces a file only after a checked write") {
    TempDir dir;
    const auto path = dir.path / "chart.svg";
    save_text(path.string(), "old");
    CHECK(read_text(path) == "old");
    const auto missing = dir.path / "missing" / "x.csv";
    const std::string no_temp = fmt::format("cannot write '{}': cannot create its temporary file '{}.tmp-{}-",
                                            missing.string(), missing.string(), ::getpid());
    CHECK_THROWS_WITH_AS(save_text(missing.string(), "new"), doctest::Contains(no_temp.c_str()), rg::Error);
    // The training loop passes the error on: a chart that cannot be written stops it.
    rg::data::DataLoader data(blobs(40, 1), {.batch_size = 20});
    Sequential model{Linear(2, 4)};
    rg::optim::SGD opt(model.parameters(), {.lr = 0.1});
    std::ostringstream log;
    const std::string no_chart = fmt::format("cannot write '{}'", missing.string());
    CHECK_THROWS_WITH_AS(train(model, opt, ce, data, nullptr,
                               {.epochs = 1, .chart_svg = missing.string(), .out = &log}),
                         doctest::Contains(no_chart.c_str()), rg::Error);
    CHECK_THROWS_WITH_AS(train(model, opt, ce, data, nullptr,
                               {.epochs = 1, .checkpoint_dir = "/proc/none", .out = &log}),
                         doctest::Contains("train: checkpoint_dir: cannot create the directory '/proc/none': "),
                         rg::Error);
    // A write that fails half-way (a file size limit, as a full disk would): the old file stays.
    const std::string message =
        test::error_with_file_size_limit(100, [&] { save_text(path.string(), std::string(1000, 'x')); });
    CHECK(message == fmt::format("cannot write '{}': File too large", path.string()));
    CHECK(read_text(path) == "old");
    std::size_t files = 0;
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir.path)) ++files;
    CHECK(files == 1);  // no temporary file left
    // The rename fails (a directory is in the way): the old directory stays, the temporary goes.
    const auto blocked = dir.path / "blocked.csv";
    fs::create_directories(blocked / "inside");
    CHECK_THROWS_WITH_AS(save_text(blocked.string(), "new"),
                         fmt::format("cannot move the new file over '{}': Is a directory", blocked.string()).c_str(),
                         rg::Error);
    files = 0;
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir.path)) ++files;
    CHECK(files == 2);
}

namespace {

// The parameters of `model` after training it one epoch on `data` in batches
// of `batch`, `accumulate` batches per optimizer step.
std::vector<std::vector<double>> trained_with(std::size_t batch, std::size_t accumulate, std::size_t* steps = nullptr,
                                              double* lr_after = nullptr) {
    rg::manual_seed(11);
    Sequential model{Linear(2, 8), Tanh(), Linear(8, 4)};
    model.to(rg::float64);
    auto data = blobs(10, 4);
    data = rg::data::TensorDataset(data.inputs().to(rg::float64), data.targets());
    rg::data::DataLoader loader(data, {.batch_size = batch});
    rg::optim::Adam opt(model.parameters(), {.lr = 0.1});
    rg::optim::StepLR per_step(opt, 1, 0.5);
    std::ostringstream log;
    auto history = train(model, opt, ce, loader, nullptr,
                         {.epochs = 1, .step_scheduler = &per_step, .accumulate = accumulate, .out = &log});
    if (steps) *steps = history.epochs.size();
    if (lr_after) *lr_after = opt.lr();
    std::vector<std::vector<double>> out;
    for (const auto& p : model.parameters()) out.push_back(p.to_vector());
    return out;
}

void check_close(const std::vector<std::vector<double>>& a, const std::vector<std::vector<double>>& b) {
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        REQUIRE(a[i].size() == b[i].size());
        for (std::size_t k = 0; k < a[i].size(); ++k) CHECK(a[i][k] == doctest::Approx(b[i][k]).epsilon(1e-9));
    }
}

}  // namespace

TEST_CASE("train's gradient accumulation makes each step the step of the larger batch") {
    double lr_big = 0, lr_accumulated = 0;
    // 10 samples: batches of 8 then 2, against four batches of 2 then one (the last group is partial).
    const auto big = trained_with(8, 1, nullptr, &lr_big);
    check_close(trained_with(2, 4, nullptr, &lr_accumulated), big);
    CHECK(lr_accumulated == lr_big);  // two optimizer steps each: the per-step schedule halved the rate twice
    CHECK(lr_big == doctest::Approx(0.1 * 0.25));
    // Batches of 3, 3, 3, 1 in groups of two: steps on 6 and 4 samples, of unequal batches.
    check_close(trained_with(3, 2), trained_with(6, 1));
    // Not the same as a step per batch.
    CHECK(trained_with(2, 1)[0] != trained_with(8, 1)[0]);

    Sequential model{Linear(2, 4)};
    rg::optim::SGD opt(model.parameters(), {.lr = 0.1});
    rg::data::DataLoader loader(blobs(8, 1), {.batch_size = 2});
    CHECK_THROWS_WITH_AS(train(model, opt, ce, loader, nullptr, {.epochs = 1, .accumulate = 0}),
                         "train: accumulate must be at least 1 (batches per optimizer step), got 0", rg::Error);
}

TEST_CASE("train records the gradient norm before clipping and the steps it clipped") {
    auto run = [](double clip, rg::nn::History& history, std::string& log_text, const std::string& csv) {
        rg::manual_seed(5);
        Sequential model{Linear(2, 4)};
        rg::optim::SGD opt(model.parameters(), {.lr = 0.1});
        rg::data::DataLoader loader(blobs(8, 1), {.batch_size = 4});
        std::ostringstream log;
        history = train(model, opt, ce, loader, nullptr,
                        {.epochs = 1, .metrics_csv = csv, .clip_grad_norm = clip, .out = &log});
        log_text = log.str();
    };
    // The norm of the first step's gradient, computed apart.
    rg::manual_seed(5);
    Sequential reference{Linear(2, 4)};
    rg::data::DataLoader first(blobs(8, 1), {.batch_size = 4});
    rg::data::Batch batch;
    REQUIRE(first.next(batch));
    ce(reference(batch.inputs), batch.targets).backward();
    double squares = 0;
    for (const auto& p : reference.parameters())
        for (double g : p.grad().to_vector()) squares += g * g;
    const double first_norm = std::sqrt(squares);

    TempDir dir;
    const std::string csv = (dir.path / "metrics.csv").string();
    rg::nn::History unclipped, clipped;
    std::string log_unclipped, log_clipped;
    run(0, unclipped, log_unclipped, csv);
    const EpochRecord& u = unclipped.epochs.at(0);
    CHECK(u.clipped_steps == 0);
    CHECK(u.grad_norm_max >= first_norm * (1 - 1e-6));
    CHECK(u.grad_norm_mean <= u.grad_norm_max);
    CHECK(log_unclipped.find(fmt::format("grad norm {:.3g} (max {:.3g})", u.grad_norm_mean, u.grad_norm_max)) !=
          std::string::npos);
    CHECK(log_unclipped.find("clipped") == std::string::npos);

    run(1e-3, clipped, log_clipped, csv);
    const EpochRecord& c = clipped.epochs.at(0);
    CHECK(c.clipped_steps == 2);  // both steps' norms are far above 1e-3
    CHECK(c.grad_norm_max > 1e-3);  // the norm before clipping
    CHECK(log_clipped.find(", clipped 2/2 steps") != std::string::npos);
    std::ifstream in(csv);
    std::string header, row;
    std::getline(in, header);
    std::getline(in, row);
    CHECK(header ==
          "epoch,train_loss,train_accuracy,val_loss,val_accuracy,seconds,grad_norm_mean,grad_norm_max,clipped_steps");
    CHECK(row.substr(row.rfind(',')) == ",2");
    CHECK(parse_history_csv(history_csv(clipped.epochs, 17), "test").at(0).grad_norm_max == c.grad_norm_max);
    // A history of six columns (before these existed) still reads, the gradient figures unknown.
    const auto old =
        parse_history_csv("epoch,train_loss,train_accuracy,val_loss,val_accuracy,seconds\n1,1,0,1,0,2\n", "old");
    CHECK(std::isnan(old.at(0).grad_norm_mean));

    Sequential model{Linear(2, 4)};
    rg::optim::SGD opt(model.parameters(), {.lr = 0.1});
    rg::data::DataLoader loader(blobs(8, 1), {.batch_size = 2});
    CHECK_THROWS_WITH_AS(train(model, opt, ce, loader, nullptr, {.epochs = 1, .clip_grad_norm = -1}),
                         "train: clip_grad_norm must be a finite number >= 0 (0: no clipping), got -1", rg::Error);
}

namespace {

// An embedding-like input layer and an output layer tied to its weight: y = W tanh(W x + b).
struct Tied : Module {
    std::shared_ptr<Linear> in, out;
    Tied() {
        in = register_module("in", std::make_shared<Linear>(3, 3));
        out = register_module("out", std::make_shared<Linear>(3, 3, false));
        out->weight = out->replace_parameter("weight", in->weight);
    }
    rg::Tensor forward(const rg::Tensor& x) override { return (*out)(rg::tanh((*in)(x))); }
};

// The same function with the weight registered once.
struct Once : Module {
    rg::Tensor w, b;
    explicit Once(const Tied& tied) {
        w = register_parameter("w", tied.in->weight.detach().clone());
        b = register_parameter("b", tied.in->bias.detach().clone());
    }
    rg::Tensor forward(const rg::Tensor& x) override {
        const rg::Tensor wt = rg::transpose(w);
        return rg::matmul(rg::tanh(rg::matmul(x, wt) + b), wt);
    }
};

template <class Opt, class Options> void check_tied_step(Options options) {
    rg::manual_seed(2);
    Tied tied;
    Once once(tied);
    REQUIRE(tied.parameters().size() == 2);  // in.weight (= out.weight), in.bias
    auto x = rg::randn({4, 3});
    auto y = rg::from_indices({0, 1, 2, 0});
    Opt a(tied.parameters(), options), b(once.parameters(), options);
    for (int step = 0; step < 3; ++step) {
        a.zero_grad();
        b.zero_grad();
        ce(tied(x), y).backward();
        ce(once(x), y).backward();
        a.step();
        b.step();
    }
    CHECK(tied.out->weight.same(tied.in->weight));
    const auto got = tied.in->weight.to_vector(), want = once.w.to_vector();
    for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-5));
}

}  // namespace

TEST_CASE("a tied weight is one parameter: listed once, updated once by every optimizer, saved once") {
    Tied tied;
    const auto named = tied.named_parameters();
    REQUIRE(named.size() == 2);
    CHECK(named[0].first == "in.weight");
    CHECK(named[1].first == "in.bias");
    CHECK(tied.parameter_count() == 12);
    check_tied_step<rg::optim::SGD>(rg::optim::SGDOptions{.lr = 0.1, .momentum = 0.9});
    check_tied_step<rg::optim::Adam>(rg::optim::AdamOptions{.lr = 0.1});
    check_tied_step<rg::optim::AdamW>(rg::optim::AdamOptions{.lr = 0.1, .weight_decay = 0.01});
    check_tied_step<rg::optim::RMSprop>(rg::optim::RMSpropOptions{.lr = 0.01});
    check_tied_step<rg::optim::Adagrad>(rg::optim::AdagradOptions{.lr = 0.1});
    check_tied_step<rg::optim::NAdam>(rg::optim::NAdamOptions{.lr = 0.1});
    check_tied_step<rg::optim::RAdam>(rg::optim::RAdamOptions{.lr = 0.1});
    check_tied_step<rg::optim::Adamax>(rg::optim::AdamaxOptions{.lr = 0.1});
    check_tied_step<rg::optim::Adadelta>(rg::optim::AdadeltaOptions{.lr = 1.0});
    check_tied_step<rg::optim::Rprop>(rg::optim::RpropOptions{.lr = 0.01});
    check_tied_step<rg::optim::ASGD>(rg::optim::ASGDOptions{.lr = 0.1, .t0 = 1});

    // Saved once, restored into both layers.
    TempDir dir;
    const std::string path = (dir.path / "tied.safetensors").string();
    save(tied, path);
    const auto file = load_tensors(path);
    CHECK(file.size() == 2);
    CHECK(file.count("out.weight") == 0);
    Tied other;
    load(other, path);
    CHECK(other.in->weight.to_vector() == tied.in->weight.to_vector());
    CHECK(other.out->weight.same(other.in->weight));
    // A training checkpoint too.
    rg::optim::Adam opt(tied.parameters(), {.lr = 0.1});
    TrainingState state;
    state.epoch = state.best_epoch = state.step = 1;
    state.epochs = 1;
    state.history.resize(1);
    state.history[0].epoch = 1;
    save_checkpoint((dir.path / "last.safetensors").string(), tied, opt, state, {});
    const auto c = read_checkpoint((dir.path / "last.safetensors").string());
    CHECK(c.model.size() == 2);
    Tied restored;
    load_weights(restored, c.model, "checkpoint");
    CHECK(restored.out->weight.to_vector() == tied.in->weight.to_vector());

    Linear lin(3, 2);
    CHECK_THROWS_WITH_AS(lin.replace_parameter("weight", rg::zeros({3, 3})),
                         "replace_parameter: Linear(3, 2)'s 'weight' is (2, 3) float32, the new one (3, 3) float32; a "
                         "tied parameter keeps its shape and dtype",
                         rg::Error);
    CHECK_THROWS_WITH_AS(lin.replace_parameter("wieght", rg::zeros({2, 3})),
                         "replace_parameter: Linear(3, 2) has no parameter 'wieght' of its own (it has: weight, bias)",
                         rg::Error);
}

TEST_CASE("a training checkpoint given to load() or cut short says what it is") {
    TempDir dir;
    Sequential model{Linear(2, 4)};
    rg::optim::Adam opt(model.parameters(), {.lr = 0.1});
    TrainingState state;
    state.epoch = state.best_epoch = state.step = state.epochs = 1;
    state.history.resize(1);
    state.history[0].epoch = 1;
    const std::string path = (dir.path / "last.safetensors").string();
    save_checkpoint(path, model, opt, state, {});
    CHECK_THROWS_WITH_AS(load(model, path),
                         ("load '" + path +
                          "': this is a training checkpoint (model, optimizer and progress, its tensors named model.*, "
                          "optimizer.*), not a module's weights; read it with rg::nn::read_checkpoint(path) and load "
                          "its .model with rg::nn::load_weights(module, checkpoint.model, path), or load "
                          "best.safetensors")
                             .c_str(),
                         rg::Error);
    std::string bytes;
    {
        std::ifstream in(path, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() - 8);
    CHECK_THROWS_WITH_AS(read_checkpoint(path),
                         doctest::Contains("the file is truncated or corrupt: its header describes"), rg::Error);
}
