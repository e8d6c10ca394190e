// The retrograd command-line tool: train and evaluate the Fashion-MNIST
// models, and draw the graph of one training step.
//
//   retrograd train [--model mlp|cnn] [--epochs N] [--batch N] [--lr X] [--optimizer NAME]
//                   [--seed N] [--data DIR] [--out DIR] [--val-fraction F] [--patience N]
//                   [--limit N] [--resume] [--distributed]
//   retrograd eval --checkpoint FILE [--data DIR]
//   retrograd graph --model mlp|cnn [--format dot|svg] [--output FILE]
#include <CLI/CLI.hpp>
#include <retrograd/retrograd.hpp>
#if RETROGRAD_HAVE_MPI
#include <retrograd/dist/dist.hpp>
#endif

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

namespace {

namespace fs = std::filesystem;
using rg::nn::models::by_name;

std::vector<std::string> class_names() {
    return {rg::data::fashion_mnist_classes.begin(), rg::data::fashion_mnist_classes.end()};
}

std::unique_ptr<rg::optim::Optimizer> make_optimizer(const std::string& name, const rg::TensorList& params, double lr) {
    if (name == "sgd") return std::make_unique<rg::optim::SGD>(params, rg::optim::SGDOptions{.lr = lr, .momentum = 0.9});
    if (name == "adam") return std::make_unique<rg::optim::Adam>(params, rg::optim::AdamOptions{.lr = lr});
    if (name == "adamw") return std::make_unique<rg::optim::AdamW>(params, rg::optim::AdamOptions{.lr = lr, .weight_decay = 0.01});
    if (name == "rmsprop") return std::make_unique<rg::optim::RMSprop>(params, rg::optim::RMSpropOptions{.lr = lr});
    if (name == "adagrad") return std::make_unique<rg::optim::Adagrad>(params, rg::optim::AdagradOptions{.lr = lr});
    rg::fail("unknown optimizer '{}'", name);
}

rg::data::TensorDataset prepared(const rg::data::ImageSet& set, std::size_t limit) {
    rg::Tensor images = rg::data::normalize_fashion_mnist(set.images);
    rg::Tensor labels = set.labels;
    if (limit > 0 && limit < images.shape()[0]) {
        images = rg::slice(images, 0, 0, static_cast<long>(limit));
        labels = rg::slice(labels, 0, 0, static_cast<long>(limit));
    }
    return {images, labels};
}

rg::Tensor cross_entropy(const rg::Tensor& logits, const rg::Tensor& labels) {
    return rg::nn::cross_entropy(logits, labels);
}

struct TrainArgs {
    std::string model = "mlp", optimizer = "adam", schedule = "cosine", data, out = "runs/fashion-mnist";
    std::size_t epochs = 5, batch = 128, patience = 0, limit = 0, test_limit = 0;
    double lr = 1e-3, val_fraction = 0.1;
    std::uint64_t seed = 0;
    bool resume = false;
    bool distributed = false;  // data-parallel over the processes of mpirun (docs/distributed.md)
};

int train_here(const TrainArgs& a);

int train(const TrainArgs& a) {
#if RETROGRAD_HAVE_MPI
    if (a.distributed) {
        rg::dist::Environment env;  // every rank stops if one fails
        return rg::dist::run_or_abort([&] { return train_here(a); });
    }
#else
    if (a.distributed)
        rg::fail("--distributed: this retrograd was built without MPI; install libopenmpi-dev and openmpi-bin "
                 "(bash .ci/install-deps), then rebuild");
#endif
    return train_here(a);
}

int train_here(const TrainArgs& a) {
    // This process's share of a data-parallel run (rank 0 of 1 otherwise); only rank 0 prints and writes.
    std::size_t rank = 0, world = 1;
#if RETROGRAD_HAVE_MPI
    if (a.distributed) rank = static_cast<std::size_t>(rg::dist::rank()), world = static_cast<std::size_t>(rg::dist::world_size());
#endif
    if (a.batch % world != 0)
        rg::fail("--batch {} cannot be shared by {} processes; use a multiple of {}", a.batch, world, world);
    if (rank != 0) std::cout.rdbuf(nullptr);
    rg::manual_seed(a.seed);
    fs::create_directories(a.out);
    std::cout << fmt::format("retrograd train: {} on Fashion-MNIST, {} epochs, batch {}, {} lr {} ({} schedule), seed {}\n",
                             a.model, a.epochs, a.batch, a.optimizer, a.lr, a.schedule, a.seed);
    const auto train_set = rg::data::load_fashion_mnist(true, a.data.empty() ? std::nullopt : std::optional(a.data));
    const auto test_set = rg::data::load_fashion_mnist(false, a.data.empty() ? std::nullopt : std::optional(a.data));
    auto [train_part, val_part] = rg::data::train_val_split(prepared(train_set, a.limit), a.val_fraction, a.seed);
    rg::data::DataLoader train_loader(train_part, {.batch_size = a.batch / world, .shuffle = true, .seed = a.seed,
                                                   .rank = rank, .world_size = world});
    rg::data::DataLoader val_loader(val_part, {.batch_size = 1000, .rank = rank, .world_size = world});
    rg::data::DataLoader test_loader(prepared(test_set, a.test_limit), {.batch_size = 1000});
    std::cout << fmt::format("data: {} training, {} validation, {} test images from {}\n", train_part.size(),
                             val_part.size(), test_loader.samples(), rg::data::fashion_mnist_dir(a.data.empty() ? std::nullopt : std::optional(a.data)));

    auto model = by_name(a.model);
    std::cout << rg::nn::summary(*model, {1, 1, 28, 28});
    rg::nn::ParallelHooks parallel;
#if RETROGRAD_HAVE_MPI
    std::unique_ptr<rg::dist::DataParallel> data_parallel;
    if (a.distributed) {
        data_parallel = std::make_unique<rg::dist::DataParallel>(model);
        parallel = data_parallel->trainer_hooks();
        std::cout << fmt::format("distributed: {} processes, batch {} each\n", world, a.batch / world);
    }
#endif
    auto optimizer = make_optimizer(a.optimizer, model->parameters(), a.lr);
    std::unique_ptr<rg::optim::LRScheduler> scheduler;
    if (a.schedule == "cosine") scheduler = std::make_unique<rg::optim::CosineAnnealingLR>(*optimizer, a.epochs);
    if (a.schedule == "step") scheduler = std::make_unique<rg::optim::StepLR>(*optimizer, std::max<std::size_t>(1, a.epochs / 3), 0.1);
    const fs::path out = a.out;
    auto history = rg::nn::train(*model, *optimizer, cross_entropy, train_loader, &val_loader,
                                 {.epochs = a.epochs,
                                  .patience = a.patience,
                                  .checkpoint_dir = out.string(),
                                  .resume = a.resume,
                                  .metrics_csv = (out / "metrics.csv").string(),
                                  .chart_svg = (out / "chart.svg").string(),
                                  .model_name = a.model,
                                  .scheduler = scheduler.get(),
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
    rg::nn::load(*model, (out / "best.safetensors").string());
    auto result = rg::nn::evaluate(*model, cross_entropy, test_loader, 10);
    std::cout << "\n" << rg::nn::confusion_report(result, class_names());
    std::cout << fmt::format("\nbest epoch {}: test accuracy {:.2f}% (loss {:.4f}) on {} images\n", history.best_epoch,
                             100 * result.accuracy, result.loss, test_loader.samples());
    std::cout << fmt::format("wrote {}, {} and {}\n", (out / "best.safetensors").string(),
                             (out / "metrics.csv").string(), (out / "chart.svg").string());
    return 0;
}

int evaluate(const std::string& checkpoint, const std::string& data) {
    const auto meta = rg::nn::load_metadata(checkpoint);
    const auto it = meta.find("model");
    if (it == meta.end() || it->second.empty())
        rg::fail("'{}' does not say which model it holds (no 'model' in its metadata); it was not written by retrograd train",
                 checkpoint);
    auto model = by_name(it->second);
    rg::nn::load(*model, checkpoint);
    const auto test_set = rg::data::load_fashion_mnist(false, data.empty() ? std::nullopt : std::optional(data));
    rg::data::DataLoader loader(prepared(test_set, 0), {.batch_size = 1000});
    auto result = rg::nn::evaluate(*model, cross_entropy, loader, 10);
    std::cout << rg::nn::confusion_report(result, class_names());
    std::cout << fmt::format("\n{} ({}): test accuracy {:.2f}% (loss {:.4f}) on {} images\n", checkpoint, it->second,
                             100 * result.accuracy, result.loss, loader.samples());
    return 0;
}

int graph(const std::string& model_name, const std::string& format, const std::string& output) {
    if (format != "dot" && format != "svg") rg::fail("unknown format '{}' (expected dot or svg)", format);
    rg::manual_seed(0);
    auto model = by_name(model_name);
    for (auto& [name, p] : model->named_parameters()) p.set_name(name);
    auto x = rg::randn({2, 1, 28, 28}).set_name("images");
    auto loss = cross_entropy((*model)(x), rg::from_indices({3, 7}));
    const std::string dot = rg::to_dot(loss);
    std::string text = dot;
    if (format == "svg") {
        const fs::path temp = fs::temp_directory_path() / fmt::format("retrograd-graph-{}.dot", ::getpid());
        std::ofstream(temp) << dot;
        const std::string command = fmt::format("dot -Tsvg '{}'", temp.string());
        FILE* pipe = ::popen(command.c_str(), "r");
        text.clear();
        if (pipe) {
            char buffer[4096];
            std::size_t n;
            while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) text.append(buffer, n);
        }
        const int status = pipe ? ::pclose(pipe) : -1;
        fs::remove(temp);
        if (status != 0 || text.empty())
            rg::fail("SVG needs Graphviz's `dot` program (Debian: sudo apt-get install graphviz); "
                     "use --format dot to get the graph as text");
    }
    if (output.empty()) {
        std::cout << text;
    } else {
        std::ofstream out(output);
        if (!out) rg::fail("cannot write '{}'", output);
        out << text;
        std::cerr << fmt::format("wrote {}\n", output);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"retrograd: train and inspect neural networks on Fashion-MNIST"};
    app.require_subcommand(1);

    TrainArgs t;
    auto* train_cmd = app.add_subcommand("train", "train a model on Fashion-MNIST and report its test accuracy");
    train_cmd->add_option("--model", t.model, "mlp or cnn")->check(CLI::IsMember({"mlp", "cnn"}))->capture_default_str();
    train_cmd->add_option("--epochs", t.epochs, "training epochs")->check(CLI::Range(1, 100000))->capture_default_str();
    train_cmd->add_option("--batch", t.batch, "batch size")->check(CLI::Range(1, 1000000))->capture_default_str();
    train_cmd->add_option("--lr", t.lr, "learning rate")->check(CLI::PositiveNumber)->capture_default_str();
    train_cmd->add_option("--optimizer", t.optimizer, "sgd (momentum 0.9), adam, adamw, rmsprop or adagrad")
        ->check(CLI::IsMember({"sgd", "adam", "adamw", "rmsprop", "adagrad"}))
        ->capture_default_str();
    train_cmd->add_option("--schedule", t.schedule, "learning-rate schedule over the epochs: cosine, step (x0.1 every third) or none")
        ->check(CLI::IsMember({"cosine", "step", "none"}))
        ->capture_default_str();
    train_cmd->add_option("--seed", t.seed, "random seed (initialisation, shuffling, split)")->capture_default_str();
    train_cmd->add_option("--data", t.data, "directory of the IDX files (default: $RETROGRAD_DATA or /usr/share/datasets/fashion-mnist)");
    train_cmd->add_option("--out", t.out, "where checkpoints, metrics.csv and chart.svg go")->capture_default_str();
    train_cmd->add_option("--val-fraction", t.val_fraction, "share of the training images held out for validation")
        ->check(CLI::Range(0.01, 0.5))
        ->capture_default_str();
    train_cmd->add_option("--patience", t.patience, "early stopping after this many epochs without improvement (0: off)")
        ->capture_default_str();
    train_cmd->add_option("--limit", t.limit, "use only the first N training images (0: all)")->capture_default_str();
    train_cmd->add_option("--test-limit", t.test_limit, "use only the first N test images (0: all)")->capture_default_str();
    train_cmd->add_flag("--resume", t.resume, "continue from OUT/last.safetensors");
    train_cmd->add_flag("--distributed", t.distributed,
                        "data-parallel over the processes of mpirun (mpirun -np N retrograd train --distributed): "
                        "each trains on its shard with batch/N, gradients averaged (docs/distributed.md)");

    std::string checkpoint, eval_data;
    auto* eval_cmd = app.add_subcommand("eval", "test accuracy and confusion matrix of a checkpoint");
    eval_cmd->add_option("--checkpoint", checkpoint, "a best.safetensors or last.safetensors written by train")
        ->required()
        ->check(CLI::ExistingFile);
    eval_cmd->add_option("--data", eval_data, "directory of the IDX files");

    std::string graph_model = "mlp", graph_format = "dot", graph_output;
    auto* graph_cmd = app.add_subcommand("graph", "the computational graph of one training step (Graphviz)");
    graph_cmd->add_option("--model", graph_model, "mlp or cnn")->check(CLI::IsMember({"mlp", "cnn"}))->capture_default_str();
    graph_cmd->add_option("--format", graph_format, "dot (text) or svg (needs Graphviz's dot)")
        ->check(CLI::IsMember({"dot", "svg"}))
        ->capture_default_str();
    graph_cmd->add_option("--output", graph_output, "file to write (default: standard output)");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    try {
        if (*train_cmd) return train(t);
        if (*eval_cmd) return evaluate(checkpoint, eval_data);
        if (*graph_cmd) return graph(graph_model, graph_format, graph_output);
    } catch (const std::exception& e) {
        std::cerr << "retrograd: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
