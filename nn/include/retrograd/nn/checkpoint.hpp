#pragma once
/// @file
/// Training checkpoints: one safetensors file holds everything a resumed run
/// needs, so a kill at any moment leaves either the previous checkpoint or the
/// new one, never a model from one step beside an optimizer from another.
///
/// | entry | what it holds |
/// | --- | --- |
/// | `model.NAME` | the model's parameters and buffers |
/// | `optimizer.KEY` | the optimizer's state_dict (moments, step counts) |
/// | `best.NAME` | the best epoch's weights, when that epoch is not the last |
/// | `__metadata__` | format "retrograd-checkpoint", version, model, optimizer type, epoch, epochs, step, best_epoch,
/// best_score, the run's settings (`setting.KEY`) and the history as CSV |
///
/// The file is written with save_tensors (temporary file, fsync, rename).
#include <retrograd/nn/module.hpp>
#include <retrograd/nn/optim.hpp>
#include <retrograd/nn/serialize.hpp>

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rg::nn {

/// One epoch's numbers, as the training loop records them.
struct EpochRecord {
    std::size_t epoch = 0;  ///< from 1
    double train_loss = 0;  ///< mean training loss over the epoch
    double train_accuracy = 0;  ///< training accuracy (NaN for targets that are not classes)
    double val_loss = 0;  ///< validation loss; NaN without validation data
    double val_accuracy = 0;  ///< validation accuracy; NaN without validation data
    double seconds = 0;  ///< the epoch's wall-clock time
    /// The mean, over the epoch's optimizer steps, of the gradients' total
    /// 2-norm before clipping (NaN when not recorded, as in older checkpoints).
    double grad_norm_mean = std::numeric_limits<double>::quiet_NaN();
    double grad_norm_max = std::numeric_limits<double>::quiet_NaN();  ///< its maximum over the epoch
    std::size_t clipped_steps = 0;  ///< the optimizer steps whose gradients were clipped
};

/// The `format` a checkpoint's metadata holds.
inline constexpr const char* checkpoint_format = "retrograd-checkpoint";

/// Where a run stands, as a checkpoint records it.
struct TrainingState {
    std::size_t epoch = 0;  ///< epochs finished
    std::size_t epochs = 0;  ///< epochs the run was asked for
    std::size_t step = 0;  ///< optimizer steps taken
    std::size_t best_epoch = 0;  ///< the best validation epoch; 0: none yet
    double best_score = -std::numeric_limits<double>::infinity();  ///< its validation accuracy
    std::string model_name{};  ///< as TrainOptions::model_name
    std::string optimizer_type{};  ///< e.g. "rg::optim::Adam"
    std::map<std::string, std::string> settings{};  ///< what must not change on resume (TrainOptions::settings)
    std::vector<EpochRecord> history{};  ///< every finished epoch
};

/// A checkpoint as read_checkpoint() returns it.
struct Checkpoint {
    TrainingState state;  ///< the run's counters, settings and history
    TensorMap model{};  ///< the model's tensors, names without the "model." prefix
    TensorMap optimizer{};  ///< the optimizer's state_dict, names without the "optimizer." prefix
    TensorMap best{};  ///< the best epoch's weights; empty when best_epoch == epoch
};

/// The optimizer's dynamic type, demangled ("rg::optim::Adam").
/// @param optimizer any optimizer
std::string optimizer_type(const optim::Optimizer& optimizer);

/// Writes the checkpoint atomically.
/// @param path the file (replaced whole, or left as it was)
/// @param model the model, whose tensors are saved
/// @param optimizer the optimizer, whose state is saved
/// @param state the counters, settings and history
/// @param best_weights the best epoch's weights when state.best_epoch != state.epoch (ignored otherwise)
/// @throws rg::Error when the history does not match state.epoch, best weights
///         are missing, or the file cannot be written
void save_checkpoint(const std::string& path, const Module& model, const optim::Optimizer& optimizer,
                     const TrainingState& state, const TensorMap& best_weights = {});

/// Reads and validates a checkpoint (format, version, counters, history).
/// @param path the file
/// @throws rg::Error when the file is not a checkpoint, saying what it is instead
///         (model weights, an optimizer's state, a file from an older retrograd...),
///         or is damaged
Checkpoint read_checkpoint(const std::string& path);

/// What a safetensors file written by retrograd holds, in a few words
/// ("a training checkpoint of a mlp model at epoch 3", "the weights of a cnn
/// model (epoch 2)", "an optimizer's state"...); "" when it does not say.
/// @param path the file
std::string describe_saved_file(const std::string& path);

/// Copies named tensors into a module after checking that the names, shapes and
/// kinds (float / integer) match exactly.
/// @param module the module to fill
/// @param tensors the tensors by dotted name
/// @param source what to call them in errors (a file name)
/// @throws rg::Error naming the missing, extra or mismatched tensors
void load_weights(Module& module, const TensorMap& tensors, const std::string& source);

/// The module's parameters and buffers, by their dotted names (shared, not copied).
/// @param module the module
TensorMap module_tensors(const Module& module);

/// The history as CSV (epoch,train_loss,train_accuracy,val_loss,val_accuracy,seconds,grad_norm_mean,
/// grad_norm_max,clipped_steps).
/// @param epochs the history
/// @param digits significant digits of each number
std::string history_csv(const std::vector<EpochRecord>& epochs, int digits = 6);
/// The history back from history_csv()'s text.
/// @param text the CSV
/// @param source what to call it in errors
/// @throws rg::Error when the header or a line is not as history_csv() writes them
std::vector<EpochRecord> parse_history_csv(const std::string& text, const std::string& source);

/// Writes `text` to `path` atomically: a temporary file beside it, written,
/// flushed to disk and closed with every step checked, then renamed over
/// `path`. On failure the old file stays and the temporary file is removed.
/// @param path the file
/// @param text its new contents
/// @throws rg::Error naming the file and the system's reason
void save_text(const std::string& path, const std::string& text);

/// For each file, removes the `<file>.tmp-<pid>-<hex>` files beside it left by
/// saves (save_tensors, save_text) of processes that no longer run: a kill
/// during a save.
/// @param files the files whose leftovers to remove
/// @return how many were removed
std::size_t remove_stale_temporaries(const std::vector<std::string>& files);

}  // namespace rg::nn
