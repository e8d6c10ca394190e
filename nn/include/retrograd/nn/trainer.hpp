#pragma once
// A training loop for any Module, loss and optimizer: progress on the
// terminal (a bar when stdout is a terminal, one line per epoch otherwise),
// validation, early stopping, best and last checkpoints (safetensors, atomic)
// with resuming, metrics as CSV and an SVG chart of the curves.
#include <retrograd/data/loader.hpp>
#include <retrograd/nn/module.hpp>
#include <retrograd/nn/optim.hpp>

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

namespace rg::nn {

using LossFn = std::function<Tensor(const Tensor& output, const Tensor& target)>;

enum class Progress { automatic, bar, lines, none };

// Data-parallel training: rg::dist::DataParallel::trainer_hooks() fills this,
// so that the trainer itself knows nothing of MPI. Every rank runs train() on
// its shard of the data; only rank 0 prints and writes files.
struct ParallelHooks {
    std::size_t rank = 0, world_size = 1;
    std::function<void()> before_forward;  // e.g. broadcast BatchNorm buffers from rank 0
    std::function<void()> synchronize;     // after backward, before optimizer.step(): gradients averaged
    std::function<void(std::vector<double>&)> sum;  // in place, over every rank (metrics all ranks agree on)
};

struct TrainOptions {
    std::size_t epochs = 10;
    std::size_t patience = 0;        // stop after this many epochs without a better validation accuracy (0: never)
    std::string checkpoint_dir;      // best.safetensors, last.safetensors, last.optimizer.safetensors ("" : none)
    bool resume = false;             // continue from checkpoint_dir/last.* when they exist
    std::string metrics_csv;         // epoch,train_loss,train_accuracy,val_loss,val_accuracy,seconds ("" : none)
    std::string chart_svg;           // loss and accuracy curves ("" : none)
    std::string model_name;          // stored in checkpoints' metadata (the CLI rebuilds the model from it)
    optim::LRScheduler* scheduler = nullptr;  // stepped after every epoch
    Progress progress = Progress::automatic;
    std::ostream* out = nullptr;     // std::cout when null
    ParallelHooks parallel;          // single process by default
};

struct EpochRecord {
    std::size_t epoch = 0;
    double train_loss = 0, train_accuracy = 0;
    double val_loss = 0, val_accuracy = 0;  // NaN without validation data
    double seconds = 0;
};

struct History {
    std::vector<EpochRecord> epochs;  // including those of a resumed run, read from metrics_csv
    std::size_t best_epoch = 0;
    bool stopped_early = false;
};

// Accuracy is argmax(output, 1) == target for int64 targets, NaN otherwise.
History train(Module& model, optim::Optimizer& optimizer, const LossFn& loss, data::DataLoader& train_data,
              data::DataLoader* validation, TrainOptions options);

struct Evaluation {
    double loss = 0, accuracy = 0;
    std::vector<std::vector<std::size_t>> confusion;  // [true class][predicted class]
    std::size_t samples = 0;  // how many the means are over
};
// Runs the model in eval mode without recording.
Evaluation evaluate(Module& model, const LossFn& loss, data::DataLoader& data, std::size_t classes);
// The confusion matrix and per-class accuracy as a text table.
std::string confusion_report(const Evaluation& evaluation, const std::vector<std::string>& class_names);

// An SVG picture (two panels: loss, accuracy; train and validation curves).
std::string chart_svg(const std::vector<EpochRecord>& epochs);

}  // namespace rg::nn
