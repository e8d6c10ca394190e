#pragma once
/// @file
/// A training loop for any Module, loss and optimizer: progress on the
/// terminal (a bar when stdout is a terminal, one line per epoch otherwise),
/// validation, early stopping, a checkpoint that is one consistent unit
/// (checkpoint.hpp) with resuming, the best epoch's weights, metrics as CSV
/// and an SVG chart of the curves.
#include <retrograd/data/loader.hpp>
#include <retrograd/nn/checkpoint.hpp>
#include <retrograd/nn/module.hpp>
#include <retrograd/nn/optim.hpp>

#include <functional>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rg::nn {

/// A loss for train() and evaluate(): (output, target) -> a scalar tensor.
using LossFn = std::function<Tensor(const Tensor& output, const Tensor& target)>;

/// How train() reports progress.
enum class Progress {
    automatic,  ///< a bar when the output is a terminal, lines otherwise
    bar,  ///< a progress bar redrawn in place
    lines,  ///< one line per epoch
    none,  ///< nothing
};

/// Data-parallel training: rg::dist::DataParallel::trainer_hooks() fills this,
/// so that the trainer itself knows nothing of MPI. Every rank runs train() on
/// its shard of the data; only rank 0 prints and writes files.
struct ParallelHooks {
    std::size_t rank = 0;  ///< this process's rank
    std::size_t world_size = 1;  ///< the number of processes
    std::function<void()> before_forward;  ///< e.g. broadcast BatchNorm buffers from rank 0
    std::function<void()> synchronize;  ///< after backward, before optimizer.step(): gradients averaged
    /// Before each backward when gradients are accumulated: false, the backward's
    /// gradients stay on this rank; true (a group's last batch), they are
    /// averaged, the sums of the whole group with them (DDP's no_sync()).
    std::function<void(bool)> sync_backward;
    std::function<void(std::vector<double>&)> sum;  ///< in place, over every rank (metrics all ranks agree on)
};

/// What train() does besides training.
struct TrainOptions {
    std::size_t epochs = 10;  ///< train until this epoch (a resumed run continues to it)
    std::size_t patience = 0;  ///< stop after this many epochs without a better validation accuracy (0: never)
    /// Where last.safetensors (the training checkpoint: model, optimizer, state;
    /// see checkpoint.hpp) and best.safetensors (the best epoch's weights) go ("" : none).
    std::string checkpoint_dir{};
    /// Continue from checkpoint_dir/last.safetensors; without one, a new run
    /// starts and says so. The checkpoint must have the same model_name, optimizer
    /// type and settings, and the data the same number of batches per epoch.
    bool resume = false;
    /// epoch,train_loss,train_accuracy,val_loss,val_accuracy,seconds,grad_norm_mean,grad_norm_max,clipped_steps
    /// ("" : none)
    std::string metrics_csv{};
    std::string chart_svg{};  ///< loss and accuracy curves ("" : none)
    std::string model_name{};  ///< stored in checkpoints' metadata (the CLI rebuilds the model from it)
    /// What must not change when a run is resumed (hyperparameters, data...),
    /// stored in the checkpoint; a resume with other values is refused, naming them.
    std::map<std::string, std::string> settings{};
    /// When set, rg::manual_seed is called with a value made of this seed and the
    /// epoch before every epoch, so the random draws of an epoch (dropout...) are
    /// the same in a resumed run as in an uninterrupted one. Stored with the
    /// settings (as "seed_each_epoch").
    std::optional<std::uint64_t> seed_each_epoch{};
    optim::LRScheduler* scheduler = nullptr;  ///< stepped after every epoch (none when null)
    /// Stepped after every optimizer step (warm-up, OneCycleLR...: schedules
    /// counted in steps), so once per `accumulate` batches (none when null).
    optim::LRScheduler* step_scheduler = nullptr;
    /// Gradient accumulation: the gradients of this many batches are summed
    /// before each optimizer step, each batch's loss weighted by its share of the
    /// group's samples, so that a step is the step of one batch `accumulate`
    /// times larger (the epoch's last group, when fewer batches are left, is
    /// that smaller batch). 1: a step per batch. Stored with the settings when above 1.
    std::size_t accumulate = 1;
    /// Before each optimizer step, gradients whose total 2-norm exceeds this are
    /// scaled down to it (as rg::optim::clip_grad_norm_); 0: no clipping. The norm
    /// before clipping is measured either way: its mean and maximum over the
    /// epoch and the steps clipped go to the EpochRecord, the metrics and the
    /// progress line. Stored with the settings when above 0.
    double clip_grad_norm = 0;
    Progress progress = Progress::automatic;  ///< how progress is shown
    std::ostream* out = nullptr;  ///< where progress goes (std::cout when null)
    ParallelHooks parallel;  ///< single process by default
};

/// What train() returns.
struct History {
    std::vector<EpochRecord> epochs;  ///< including those before a resume, read from the checkpoint
    std::size_t best_epoch = 0;  ///< the epoch of the best validation accuracy; 0: no epoch ran
    std::size_t resumed_after = 0;  ///< the checkpoint's epoch when resumed, else 0
    bool stopped_early = false;  ///< patience ran out before `epochs`
};

/// Creates `dir` when it does not exist and checks that a file can be
/// written in it (by creating and removing one), so that a run can be refused
/// before it loads data or trains when its outputs could not be saved.
/// @param dir the directory
/// @param what what to call it in the message, e.g. "--out" or "checkpoint_dir"
/// @throws rg::Error naming the directory and the system's reason
void check_writable_dir(const std::string& dir, const std::string& what);

/// Checks that a run described by `saved` can be resumed with this model name
/// and these settings.
/// @param saved the checkpoint's state
/// @param model_name this run's model name
/// @param settings this run's settings
/// @param path the checkpoint, named in the message
/// @throws rg::Error naming each difference ("batch is 128 there, 64 here")
void check_resumable(const TrainingState& saved, const std::string& model_name,
                     const std::map<std::string, std::string>& settings, const std::string& path);

/// Trains `model`: epochs of forward, loss, backward and optimizer step over
/// `train_data`, then validation, checkpoints, metrics and chart as `options`
/// says. Accuracy is argmax(output, 1) == target for int64 targets, NaN otherwise.
/// @param model the model, put in training mode (eval mode for validation)
/// @param optimizer the optimizer over the model's parameters
/// @param loss (output, target) -> a scalar
/// @param train_data the training batches
/// @param validation the validation batches, or null for none
/// @param options epochs, checkpoints, resuming, progress...
/// @return the history of every epoch
/// @throws rg::Error when the loss is empty, epochs or accumulate is 0, clip_grad_norm is negative or not
///         finite, the data has no batch,
///         the loss is not one value or becomes NaN or infinite, or a checkpoint
///         cannot be written, or resumed (naming why)
History train(Module& model, optim::Optimizer& optimizer, const LossFn& loss, rg::data::DataLoader& train_data,
              rg::data::DataLoader* validation, TrainOptions options);

/// What evaluate() measured.
struct Evaluation {
    double loss = 0;  ///< mean loss over the samples
    double accuracy = 0;  ///< fraction of samples whose argmax is their class
    std::vector<std::vector<std::size_t>> confusion;  ///< counts, [true class][predicted class]
    std::size_t samples = 0;  ///< how many the means are over
};
/// Runs the model in eval mode without recording, over every batch of `data`.
/// @param model the model
/// @param loss (output, target) -> a scalar
/// @param data the batches; targets are int64 class indices
/// @param classes the number of classes (the confusion matrix's size)
/// @throws rg::Error when `data` is empty
Evaluation evaluate(Module& model, const LossFn& loss, rg::data::DataLoader& data, std::size_t classes);
/// The confusion matrix and per-class accuracy as a text table.
/// @param evaluation what evaluate() returned
/// @param class_names one name per class
std::string confusion_report(const Evaluation& evaluation, const std::vector<std::string>& class_names);

/// An SVG picture (two panels: loss, accuracy; train and validation curves).
/// @param epochs the history, as train() records it
std::string chart_svg(const std::vector<EpochRecord>& epochs);

}  // namespace rg::nn
