// The retrograd command-line tool: train and evaluate the Fashion-MNIST
// models, and draw the graph of one training step.
//
//   retrograd train [--model mlp|cnn|cnn-bn|lstm|gru|vit] [--epochs N] [--batch N] [--lr X] [--optimizer NAME]
//                   [--schedule NAME] [--seed N] [--data DIR] [--out DIR] [--val-fraction F]
//                   [--patience N] [--limit N] [--test-limit N] [--threads N] [--accumulate N] [--clip-norm X]
//                   [--resume] [--distributed] [--bf16]
//   retrograd eval --checkpoint FILE [--data DIR]
//   retrograd graph --model NAME [--format dot|svg] [--output FILE] [--explain]
//   retrograd lm [--model gru|lstm|transformer] [--corpus PATH] ... | lm --sample --checkpoint FILE (lm_command.cpp)
//
// Options are read as text by CLI11 and checked here (cli_args.hpp), every one
// before any data is loaded, so that a mistake costs no time and gets a
// message saying what was expected. Exit codes: 0 success, 1 failure, 2 a
// mistake in the command line.
#include "cli_args.hpp"
#include "lm_command.hpp"

#include <CLI/CLI.hpp>
#include <retrograd/retrograd.hpp>
#if RETROGRAD_HAVE_MPI
#include <retrograd/dist/dist.hpp>
#endif

#include <chrono>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using rg::nn::models::by_name;

const std::vector<std::string>& model_names = rg::nn::models::names();
const std::vector<std::string> optimizer_names{"sgd", "adam", "adamw", "rmsprop", "adagrad"};
const std::vector<std::string> schedule_names{"cosine", "step", "none"};

std::vector<std::string> class_names() {
    return {rg::data::fashion_mnist_classes.begin(), rg::data::fashion_mnist_classes.end()};
}

std::optional<std::string> data_dir(const std::string& dir) { return dir.empty() ? std::nullopt : std::optional(dir); }

rg::Tensor cross_entropy(const rg::Tensor& logits, const rg::Tensor& labels) {
    return rg::nn::cross_entropy(logits, labels);
}

// ---- train -----------------------------------------------------------------------

// The options as typed; numbers stay text until checked().
struct TrainArgs {
    std::string model = "mlp", data, out = "runs/fashion-mnist";
    // Not given: the model's default (models::training_defaults).
    std::optional<std::string> optimizer, schedule, epochs, batch, lr;
    std::string seed = "0", val_fraction = "0.1", patience = "0", limit = "0", test_limit = "0", threads,
                accumulate = "1", clip_norm = "0";
    bool resume = false;
    bool distributed = false;  // data-parallel over the processes of mpirun (docs/distributed.md)
    bool bf16 = false;  // the steps under rg::Autocast (bfloat16 products)
};

// The options once checked.
struct TrainSettings {
    std::string model, optimizer, schedule, data, out;
    std::size_t epochs = 0, batch = 0, patience = 0, limit = 0, test_limit = 0, accumulate = 1;
    int threads = 0;  // 0: rg's default (every core, or OMP_NUM_THREADS)
    double lr = 0, val_fraction = 0, clip_norm = 0;
    std::uint64_t seed = 0;
    bool resume = false;
    bool distributed = false;
    bool bf16 = false;

    // What a resumed run must share with the checkpoint: everything that
    // changes the data, the model or the updates. Epochs, patience, the test
    // subset and the data's path may change. The data itself is compared by
    // its fingerprint, added once it is loaded.
    std::map<std::string, std::string> fixed() const {
        std::map<std::string, std::string> settings{{"optimizer", optimizer},
                                                    {"lr", fmt::format("{}", lr)},
                                                    {"batch", std::to_string(batch)},
                                                    {"schedule", schedule},
                                                    {"seed", std::to_string(seed)},
                                                    {"val-fraction", fmt::format("{}", val_fraction)},
                                                    {"limit", std::to_string(limit)}};
        // As rg::nn::train stores them: only when set.
        if (accumulate > 1) settings["accumulate"] = std::to_string(accumulate);
        if (clip_norm > 0) settings["clip_grad_norm"] = fmt::format("{}", clip_norm);
        if (bf16) settings["bf16"] = "1";  // a resumed run keeps its products' precision
        return settings;
    }
};

void add_train_options(CLI::App& cmd, TrainArgs& a) {
    cmd.add_option("--model", a.model, "mlp, cnn, cnn-bn, lstm, gru or vit (docs/cli.md)")->capture_default_str();
    // The next five default to the model's own (docs/cli.md's table of models).
    cmd.add_option("--epochs", a.epochs,
                   "train until this epoch (a resumed run may raise it; default: 5 for mlp and cnn, 10 for the "
                   "others)");
    cmd.add_option("--batch", a.batch, "batch size (default: 128)");
    cmd.add_option("--lr", a.lr, "learning rate (> 0; default: 0.002 for lstm and gru, 0.001 otherwise)");
    cmd.add_option("--optimizer", a.optimizer,
                   "sgd (momentum 0.9), adam, adamw, rmsprop or adagrad (default: adamw for vit, adam otherwise)");
    cmd.add_option("--schedule", a.schedule,
                   "learning-rate schedule over the epochs: cosine, step (x0.1 every third) or none (default: cosine)");
    cmd.add_option("--seed", a.seed, "random seed (initialisation, shuffling, split)")->capture_default_str();
    cmd.add_option("--data", a.data,
                   "directory of the IDX files (default: $RETROGRAD_DATA or /usr/share/datasets/fashion-mnist)");
    cmd.add_option("--out", a.out, "where last.safetensors, best.safetensors, metrics.csv and chart.svg go")
        ->capture_default_str();
    cmd.add_option("--val-fraction", a.val_fraction,
                   "share of the training images held out for validation (0.01 to 0.5)")
        ->capture_default_str();
    cmd.add_option("--patience", a.patience, "early stopping after this many epochs without improvement (0: off)")
        ->capture_default_str();
    cmd.add_option("--limit", a.limit, "use only the first N training images (0: all)")->capture_default_str();
    cmd.add_option("--test-limit", a.test_limit, "use only the first N test images (0: all)")->capture_default_str();
    cmd.add_option("--threads", a.threads,
                   "threads to compute on (default: every core available, or OMP_NUM_THREADS when set)");
    cmd.add_option("--accumulate", a.accumulate,
                   "sum the gradients of N batches before each optimizer step (a batch N times larger)")
        ->capture_default_str();
    cmd.add_option("--clip-norm", a.clip_norm,
                   "clip the gradients' total 2-norm to X before each step (0: off; the norm is reported either way)")
        ->capture_default_str();
    cmd.add_flag("--resume", a.resume,
                 "continue the run in OUT from its last.safetensors (a new run when there is none)");
    cmd.add_flag("--distributed", a.distributed,
                 "data-parallel over the processes of mpirun (mpirun -np N retrograd train --distributed): "
                 "each trains on its shard with batch/N, gradients averaged (docs/distributed.md)");
    cmd.add_flag("--bf16", a.bf16,
                 "products (Linear, Conv2d) in bfloat16 with float32 accumulation, under rg::Autocast; the rest in "
                 "float32");
    // As argparse: an option given twice takes its last value.
    for (CLI::Option* o : cmd.get_options()) o->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
}

TrainSettings checked(const TrainArgs& a) {
    constexpr std::uint64_t images = 1'000'000'000;  // far above any data set this tool reads
    TrainSettings s;
    s.model = cli::choice("--model", a.model, model_names);
    const auto defaults = rg::nn::models::training_defaults(s.model);
    s.optimizer = a.optimizer ? cli::choice("--optimizer", *a.optimizer, optimizer_names) : defaults.optimizer;
    s.schedule = a.schedule ? cli::choice("--schedule", *a.schedule, schedule_names) : defaults.schedule;
    s.epochs = a.epochs ? cli::integer("--epochs", *a.epochs, 1, 1'000'000) : defaults.epochs;
    s.batch = a.batch ? cli::integer("--batch", *a.batch, 1, images) : defaults.batch;
    s.lr = a.lr ? cli::real("--lr", *a.lr, {.above = 0}) : defaults.lr;
    s.seed = cli::integer("--seed", a.seed, 0, UINT64_MAX);
    s.val_fraction = cli::real("--val-fraction", a.val_fraction, {.at_least = 0.01, .at_most = 0.5});
    s.patience = cli::integer("--patience", a.patience, 0, 1'000'000);
    s.limit = cli::integer("--limit", a.limit, 0, images);
    s.test_limit = cli::integer("--test-limit", a.test_limit, 0, images);
    s.accumulate = cli::integer("--accumulate", a.accumulate, 1, 1'000'000);
    s.clip_norm = cli::real("--clip-norm", a.clip_norm, {.at_least = 0});
    if (!a.threads.empty()) s.threads = static_cast<int>(cli::integer("--threads", a.threads, 1, 1024));
    if (a.out.empty()) cli::usage_error("--out must name a directory (got '')");
    s.data = a.data;
    s.out = a.out;
    s.resume = a.resume;
    s.distributed = a.distributed;
    s.bf16 = a.bf16;
    return s;
}

std::unique_ptr<rg::optim::Optimizer> make_optimizer(const std::string& name, const rg::TensorList& params, double lr) {
    if (name == "sgd")
        return std::make_unique<rg::optim::SGD>(params, rg::optim::SGDOptions{.lr = lr, .momentum = 0.9});
    if (name == "adam") return std::make_unique<rg::optim::Adam>(params, rg::optim::AdamOptions{.lr = lr});
    if (name == "adamw")
        return std::make_unique<rg::optim::AdamW>(params, rg::optim::AdamOptions{.lr = lr, .weight_decay = 0.01});
    if (name == "rmsprop") return std::make_unique<rg::optim::RMSprop>(params, rg::optim::RMSpropOptions{.lr = lr});
    if (name == "adagrad") return std::make_unique<rg::optim::Adagrad>(params, rg::optim::AdagradOptions{.lr = lr});
    rg::fail("unknown optimizer '{}'", name);
}

std::unique_ptr<rg::optim::LRScheduler> make_schedule(const std::string& name, rg::optim::Optimizer& optimizer,
                                                      std::size_t epochs) {
    if (name == "cosine") return std::make_unique<rg::optim::CosineAnnealingLR>(optimizer, epochs);
    if (name == "step")
        return std::make_unique<rg::optim::StepLR>(optimizer, std::max<std::size_t>(1, epochs / 3), 0.1);
    return nullptr;
}

// The images stay bytes in memory (one copy, only the first `limit` read); batches are normalised as they are drawn.
std::shared_ptr<const rg::data::FashionMNIST> fashion_mnist(bool train, const std::string& dir, std::size_t limit) {
    return std::make_shared<const rg::data::FashionMNIST>(train, rg::data::FashionMNISTOptions{.dir = data_dir(dir),
                                                                                               .limit = limit});
}

// The training images' count and a checksum of their labels: a resumed run
// must see the same data, wherever it is read from.
std::string fingerprint(const rg::data::FashionMNIST& set) {
    std::uint64_t hash = 1469598103934665603ull;  // FNV-1a over the labels
    for (double label : set.labels().to_vector()) hash = (hash ^ static_cast<std::uint64_t>(label)) * 1099511628211ull;
    return fmt::format("{} images, labels {:016x}", set.size(), hash);
}

// A problem with a file the user named (a checkpoint to resume or evaluate) is a mistake in the command: exit code 2.
template <class F> auto as_usage_error(F&& f) {
    try {
        return f();
    } catch (const rg::Error& e) {
        throw cli::UsageError(e.what());
    }
}

// Refuses, before any data is loaded, a run whose outputs could not be written, and a resume that cannot work.
void check_early(const TrainSettings& s) {
    as_usage_error([&] { rg::nn::check_writable_dir(s.out, "--out"); });
    const fs::path last = fs::path(s.out) / "last.safetensors";
    if (!s.resume || !fs::exists(last)) return;
    as_usage_error([&] {
        const auto saved = rg::nn::read_checkpoint(last.string());
        auto settings = s.fixed();
        for (const char* later : {"data", "seed_each_epoch"})  // checked by rg::nn::train once the data is loaded
            if (saved.state.settings.count(later)) settings[later] = saved.state.settings.at(later);
        rg::nn::check_resumable(saved.state, s.model, settings, last.string());
    });
}

int train_here(const TrainSettings& s);

// Data-parallel over the processes of mpirun with --distributed, else here.
int train(const TrainSettings& s) {
#if RETROGRAD_HAVE_MPI
    if (s.distributed) {
        rg::dist::Environment env;  // every rank stops if one fails
        return rg::dist::run_or_abort([&] { return train_here(s); });
    }
#else
    if (s.distributed)
        rg::fail("--distributed: this retrograd was built without MPI; install libopenmpi-dev and openmpi-bin "
                 "(bash .ci/install-deps), then rebuild");
#endif
    return train_here(s);
}

int train_here(const TrainSettings& s) {
    // This process's share of a data-parallel run (rank 0 of 1 otherwise); only rank 0 prints and writes.
    std::size_t rank = 0, world = 1;
#if RETROGRAD_HAVE_MPI
    if (s.distributed)
        rank = static_cast<std::size_t>(rg::dist::rank()), world = static_cast<std::size_t>(rg::dist::world_size());
#endif
    if (s.batch % world != 0)
        rg::fail("--batch {} cannot be shared by {} processes; use a multiple of {}", s.batch, world, world);
    if (rank != 0) std::cout.rdbuf(nullptr);
    check_early(s);
    rg::manual_seed(s.seed);
    if (s.threads > 0) rg::set_num_threads(s.threads);
    std::cout << fmt::format("retrograd train: {} on Fashion-MNIST, {} epochs, batch {}{}, {} lr {} ({} schedule), "
                             "seed {}, {} thread{}\n",
                             s.model, s.epochs, s.batch,
                             s.accumulate > 1 ? fmt::format(" x {} accumulated", s.accumulate) : "", s.optimizer, s.lr,
                             s.schedule, s.seed, rg::get_num_threads(), rg::get_num_threads() == 1 ? "" : "s");
    const auto reading = std::chrono::steady_clock::now();
    const auto training = fashion_mnist(true, s.data, s.limit);
    const std::string data_fingerprint = fingerprint(*training);
    auto [train_part, val_part] = rg::data::train_val_split(training, s.val_fraction, s.seed);
    rg::data::DataLoader train_loader(std::make_shared<rg::data::Subset>(train_part), {.batch_size = s.batch / world,
                                                                                       .shuffle = true,
                                                                                       .seed = s.seed,
                                                                                       .rank = rank,
                                                                                       .world_size = world});
    rg::data::DataLoader val_loader(std::make_shared<rg::data::Subset>(val_part),
                                    {.batch_size = 1000, .rank = rank, .world_size = world});
    rg::data::DataLoader test_loader(fashion_mnist(false, s.data, s.test_limit), {.batch_size = 1000});
    const std::chrono::duration<double> read_time = std::chrono::steady_clock::now() - reading;
    std::cout << fmt::format("data: {} training, {} validation, {} test images from {} (read in {:.2f} s)\n",
                             train_part.size(), val_part.size(), test_loader.samples(), training->dir(),
                             read_time.count());

    auto model = by_name(s.model);
    std::cout << rg::nn::summary(*model, {1, 1, 28, 28});
    rg::nn::ParallelHooks parallel;
#if RETROGRAD_HAVE_MPI
    std::unique_ptr<rg::dist::DataParallel> data_parallel;
    if (s.distributed) {
        data_parallel = std::make_unique<rg::dist::DataParallel>(model);
        parallel = data_parallel->trainer_hooks();
        std::cout << fmt::format("distributed: {} processes, batch {} each\n", world, s.batch / world);
    }
#endif
    auto optimizer = make_optimizer(s.optimizer, model->parameters(), s.lr);
    auto scheduler = make_schedule(s.schedule, *optimizer, s.epochs);
    auto settings = s.fixed();
    settings["data"] = data_fingerprint;
    const fs::path out = s.out;
    std::optional<rg::Autocast> autocast;
    if (s.bf16) {
        autocast.emplace();
        std::cout << fmt::format("bf16: products in bfloat16 (rg::Autocast), {}\n", rg::autocast_kernel_description());
    }
    auto history = rg::nn::train(*model, *optimizer, cross_entropy, train_loader, &val_loader,
                                 {.epochs = s.epochs,
                                  .patience = s.patience,
                                  .checkpoint_dir = out.string(),
                                  .resume = s.resume,
                                  .metrics_csv = (out / "metrics.csv").string(),
                                  .chart_svg = (out / "chart.svg").string(),
                                  .model_name = s.model,
                                  .settings = settings,
                                  .seed_each_epoch = s.seed,
                                  .scheduler = scheduler.get(),
                                  .accumulate = s.accumulate,
                                  .clip_grad_norm = s.clip_norm,
                                  .parallel = parallel});
#if RETROGRAD_HAVE_MPI
    if (data_parallel) {
        const auto stats = data_parallel->stats();
        const double steps = static_cast<double>(std::max<std::size_t>(stats.iterations, 1));
        std::cout << fmt::format("all-reduce on rank 0: {:.3f} ms waiting and {:.3f} ms copying per step ({} steps)\n",
                                 1e3 * stats.wait_seconds / steps, 1e3 * stats.copy_seconds / steps, stats.iterations);
    }
#endif
    if (rank != 0) return 0;  // rank 0 tests the model
    // Test with the best epoch's weights.
    const std::string best = (out / "best.safetensors").string();
    const auto meta = rg::nn::load_metadata(best);
    if (!meta.count("epoch") || meta.at("epoch") != std::to_string(history.best_epoch))
        rg::fail("'{}' holds epoch {}, but the best epoch is {}; it was changed while training ran", best,
                 meta.count("epoch") ? meta.at("epoch") : "?", history.best_epoch);
    rg::nn::load(*model, best);
    auto result = rg::nn::evaluate(*model, cross_entropy, test_loader, 10);
    std::cout << "\n" << rg::nn::confusion_report(result, class_names());
    std::cout << fmt::format("\nbest epoch {}: test accuracy {:.2f}% (loss {:.4f}) on {} images\n", history.best_epoch,
                             100 * result.accuracy, result.loss, test_loader.samples());
    std::cout << fmt::format("wrote {}, {}, {} and {}\n", (out / "last.safetensors").string(), best,
                             (out / "metrics.csv").string(), (out / "chart.svg").string());
    return 0;
}

// ---- eval ------------------------------------------------------------------------

// Loads `tensors` into the model the file's metadata names; when they are another model's, says so.
void load_named_model(rg::nn::Module& model, const std::string& model_name, const rg::nn::TensorMap& tensors,
                      const std::string& path) {
    try {
        rg::nn::load_weights(model, tensors, fmt::format("'{}'", path));
    } catch (const rg::Error& e) {
        auto fits = [&](const std::string& other) {
            try {
                rg::nn::load_weights(*by_name(other), tensors, path);
                return true;
            } catch (const rg::Error&) {
                return false;
            }
        };
        for (const std::string& other : model_names)
            if (other != model_name && fits(other))
                cli::usage_error("'{}' says it holds a {} model (its metadata), but its tensors are those of a {} "
                                 "model; the file was changed after retrograd wrote it",
                                 path, model_name, other);
        cli::usage_error("'{}' says it holds a {} model (its metadata), but its tensors do not fit one: {}", path,
                         model_name, e.what());
    }
}

int evaluate(const std::string& path, const std::string& data) {
    if (!fs::is_regular_file(path)) cli::usage_error("--checkpoint: '{}' is not a file", path);
    const auto meta = as_usage_error([&] { return rg::nn::load_metadata(path); });
    const std::string format = meta.count("format") ? meta.at("format") : "";
    std::shared_ptr<rg::nn::Module> model;
    std::string model_name, what;
    if (format == rg::nn::checkpoint_format) {
        const auto c = as_usage_error([&] { return rg::nn::read_checkpoint(path); });
        model_name = c.state.model_name;
        model = as_usage_error([&] { return by_name(model_name); });
        load_named_model(*model, model_name, c.model, path);
        what = fmt::format("epoch {} of {}, the checkpoint's last; best.safetensors holds the best, epoch {}",
                           c.state.epoch, c.state.epochs, c.state.best_epoch);
    } else if (format == "retrograd-optimizer") {
        cli::usage_error("'{}' holds an optimizer's state (moments and step counts), not a model; evaluate "
                         "best.safetensors "
                         "or last.safetensors of the same run",
                         path);
    } else {
        const auto it = meta.find("model");
        if (it == meta.end() || it->second.empty())
            cli::usage_error("'{}' does not say which model it holds (no 'model' in its metadata); it was not written "
                             "by "
                             "retrograd train",
                             path);
        model_name = it->second;
        model = as_usage_error([&] { return by_name(model_name); });
        load_named_model(*model, model_name, as_usage_error([&] { return rg::nn::load_tensors(path); }), path);
        what = meta.count("epoch") ? fmt::format("epoch {}", meta.at("epoch")) : "weights";
    }
    rg::data::DataLoader loader(fashion_mnist(false, data, 0), {.batch_size = 1000});
    auto result = rg::nn::evaluate(*model, cross_entropy, loader, 10);
    std::cout << rg::nn::confusion_report(result, class_names());
    std::cout << fmt::format("\n{} ({}, {}): test accuracy {:.2f}% (loss {:.4f}) on {} images\n", path, model_name,
                             what, 100 * result.accuracy, result.loss, loader.samples());
    return 0;
}

// ---- graph -----------------------------------------------------------------------

// The directory of `program` on PATH, or "" when it is not there.
std::string on_path(const std::string& program) {
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "";
    std::size_t start = 0;
    while (start <= dirs.size()) {
        const std::size_t end = std::min(dirs.find(':', start), dirs.size());
        const std::string dir = dirs.substr(start, end - start);
        const fs::path candidate = fs::path(dir.empty() ? "." : dir) / program;
        if (::access(candidate.c_str(), X_OK) == 0 && fs::is_regular_file(candidate)) return candidate.string();
        start = end + 1;
    }
    return "";
}

// Runs Graphviz's dot on `dot_text`, writing SVG to `svg_path`; dot's own
// complaints become the error.
void render_svg(const std::string& dot_text, const fs::path& svg_path) {
    const std::string dot = on_path("dot");
    if (dot.empty())
        rg::fail("--format svg needs Graphviz's dot program, which is not on PATH; install it "
                 "(Debian: sudo apt-get install graphviz) or use --format dot");
    const fs::path base = fs::temp_directory_path() / fmt::format("retrograd-graph-{}", ::getpid());
    const std::string input = base.string() + ".dot", errors = base.string() + ".err";
    {
        std::ofstream file(input);
        file << dot_text;
        if (!file.flush()) rg::fail("cannot write the temporary file '{}'", input);
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, errors.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::string format = "-Tsvg", output = "-o" + svg_path.string();
    std::vector<char*> argv{const_cast<char*>(dot.c_str()), format.data(), output.data(),
                            const_cast<char*>(input.c_str()), nullptr};
    pid_t pid = 0;
    const int spawned = ::posix_spawn(&pid, dot.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    int status = -1;
    if (spawned == 0)
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
    std::ifstream err_file(errors);
    std::string complaint((std::istreambuf_iterator<char>(err_file)), {});
    std::error_code ignored;
    fs::remove(input, ignored);
    fs::remove(errors, ignored);
    if (spawned != 0) rg::fail("cannot run '{}': {}", dot, std::strerror(spawned));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        while (!complaint.empty() && (complaint.back() == '\n' || complaint.back() == '\r')) complaint.pop_back();
        rg::fail("'{}' failed{}{}", dot, complaint.empty() ? "" : ": ", complaint);
    }
}

int graph(const std::string& model_name, const std::string& format, const std::string& output) {
    cli::choice("--model", model_name, model_names);
    cli::choice("--format", format, {"dot", "svg"});
    rg::manual_seed(0);
    auto model = by_name(model_name);
    for (auto& [name, p] : model->named_parameters()) p.set_name(name);
    auto x = rg::randn({2, 1, 28, 28}).set_name("images");
    auto loss = cross_entropy((*model)(x), rg::from_indices({3, 7}));
    const std::string dot = rg::to_dot(loss);
    if (format == "dot") {
        if (output.empty()) {
            std::cout << dot;
        } else {
            rg::nn::save_text(output, dot);
            std::cerr << fmt::format("wrote {}\n", output);
        }
        return 0;
    }
    if (!output.empty()) {
        render_svg(dot, output);
        std::cerr << fmt::format("wrote {}\n", output);
        return 0;
    }
    const fs::path temp = fs::temp_directory_path() / fmt::format("retrograd-graph-{}.svg", ::getpid());
    render_svg(dot, temp);
    std::ifstream svg(temp);
    std::cout << std::string((std::istreambuf_iterator<char>(svg)), {});
    std::error_code ignored;
    fs::remove(temp, ignored);
    return 0;
}

// The backward pass of the same step, node by node: text, or an HTML page with the graph for a .html output.
int explain_graph(const std::string& model_name, const std::string& output) {
    rg::manual_seed(0);
    auto model = by_name(model_name);
    auto x = rg::randn({2, 1, 28, 28});
    auto y = rg::from_indices({3, 7});
    rg::Tensor loss;
    {
        rg::ExplainMode layers_as_steps;  // each layer and the loss is one step, its ops folded under it
        loss = cross_entropy((*model)(x), y);
    }
    const auto explanation = rg::explain(loss, *model, {.names = {{"X", x}, {"Y", y}}, .deltas = true});
    if (output.empty()) {
        std::cout << explanation;
        return 0;
    }
    std::ofstream out(output);
    if (!out) rg::fail("cannot write '{}'", output);
    if (fs::path(output).extension() == ".html")
        out << rg::explain_html(explanation);
    else
        out << explanation;
    std::cerr << fmt::format("wrote {}\n", output);
    return 0;
}

// ---- the command line ------------------------------------------------------------

// For an argument CLI11 did not expect: "unknown option --epoch; did you mean
// --epochs?", or the same for a command.
std::string unexpected(CLI::App& app, CLI::App* command, int argc, char** argv) {
    std::vector<std::string> known;
    if (command) {
        for (const CLI::Option* o : command->get_options())
            for (const auto& name : o->get_lnames()) known.push_back("--" + name);
        for (int i = 2; i < argc; ++i) {
            std::string arg = argv[i];
            if (arg.rfind("--", 0) != 0) continue;
            arg = arg.substr(0, arg.find('='));
            if (std::find(known.begin(), known.end(), arg) != known.end()) continue;
            const std::string near = cli::nearest(arg, known);
            return near.empty() ? fmt::format("unknown option {} (see retrograd {} --help)", arg, command->get_name())
                                : fmt::format("unknown option {}; did you mean {}?", arg, near);
        }
        return "";
    }
    for (const CLI::App* sub : app.get_subcommands({})) known.push_back(sub->get_name());
    if (argc < 2 || argv[1][0] == '-') return "";
    const std::string near = cli::nearest(argv[1], known);
    return fmt::format("unknown command '{}'{}", argv[1],
                       near.empty() ? " (expected train, eval, graph or lm)" : fmt::format("; did you mean {}?", near));
}

}  // namespace

int main(int argc, char** argv) try {
    CLI::App app{"retrograd: train and inspect neural networks on Fashion-MNIST"};
    app.require_subcommand(1);

    TrainArgs train_args;
    auto* train_cmd = app.add_subcommand("train", "train a model on Fashion-MNIST and report its test accuracy");
    add_train_options(*train_cmd, train_args);

    std::string checkpoint, eval_data;
    auto* eval_cmd = app.add_subcommand("eval", "test accuracy and confusion matrix of a checkpoint");
    eval_cmd->add_option("--checkpoint", checkpoint, "best.safetensors or last.safetensors written by train")
        ->required();
    eval_cmd->add_option("--data", eval_data, "directory of the IDX files");

    std::string graph_model = "mlp", graph_format = "dot", graph_output;
    auto* graph_cmd = app.add_subcommand("graph", "the computational graph of one training step (Graphviz)");
    graph_cmd->add_option("--model", graph_model, "mlp, cnn, cnn-bn, lstm, gru or vit")->capture_default_str();
    graph_cmd->add_option("--format", graph_format, "dot (text) or svg (needs Graphviz's dot)")->capture_default_str();
    graph_cmd->add_option("--output", graph_output, "file to write (default: standard output)");
    bool graph_explain = false;
    graph_cmd
        ->add_flag("--explain", graph_explain,
                   "explain the backward pass node by node (an HTML page with the graph when --output ends in .html)");

    cli::LmArgs lm_args;
    auto* lm_cmd = cli::add_lm_command(app, lm_args);

    CLI::App* command = nullptr;
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        for (CLI::App* sub : {train_cmd, eval_cmd, graph_cmd, lm_cmd})
            if (argc > 1 && sub->get_name() == argv[1]) command = sub;
        const std::string where = command ? "retrograd " + command->get_name() : "retrograd";
        std::string message = unexpected(app, command, argc, argv);
        if (message.empty()) message = fmt::format("{} (see {} --help)", e.what(), where);
        std::cerr << where << ": " << message << "\n";
        return 2;
    }
    for (CLI::App* sub : {train_cmd, eval_cmd, graph_cmd, lm_cmd})
        if (*sub) command = sub;
    const std::string name = command ? "retrograd " + command->get_name() : "retrograd";
    try {
        if (*train_cmd) return train(checked(train_args));
        if (*eval_cmd) return evaluate(checkpoint, eval_data);
        if (*lm_cmd) return cli::run_lm(lm_args);
        if (*graph_cmd)
            return graph_explain ? explain_graph(graph_model, graph_output)
                                 : graph(graph_model, graph_format, graph_output);
    } catch (const cli::UsageError& e) {
        std::cerr << name << ": " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << name << ": " << e.what() << "\n";
        return 1;
    }
    return 0;
} catch (const std::exception& e) {  // setting up the options, or reporting a parse error, failed
    std::cerr << "retrograd: " << e.what() << "\n";
    return 1;
} catch (...) {
    std::cerr << "retrograd: an exception that is not a std::exception\n";
    return 1;
}
