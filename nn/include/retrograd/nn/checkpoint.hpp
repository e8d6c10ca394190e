#pragma once
// Training checkpoints: one safetensors file holds everything a resumed run
// needs, so a kill at any moment leaves either the previous checkpoint or the
// new one, never a model from one step beside an optimizer from another.
//
//   model.<name>      the model's parameters and buffers
//   optimizer.<key>   the optimizer's state_dict (moments, step counts)
//   best.<name>       the best epoch's weights, when that epoch is not the last
//   __metadata__      format "retrograd-checkpoint", version, model, optimizer
//                     type, epoch, epochs, step, best_epoch, best_score, the
//                     run's settings ("setting.<key>") and the history as CSV
//
// The file is written with save_tensors (temporary file, fsync, rename).
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

// One epoch's numbers, as the training loop records them.
struct EpochRecord {
    std::size_t epoch = 0;
    double train_loss = 0, train_accuracy = 0;
    double val_loss = 0, val_accuracy = 0;  // NaN without validation data
    double seconds = 0;
};

inline constexpr const char* checkpoint_format = "retrograd-checkpoint";

struct TrainingState {
    std::size_t epoch = 0;  // epochs finished
    std::size_t epochs = 0;  // epochs the run was asked for
    std::size_t step = 0;  // optimizer steps taken
    std::size_t best_epoch = 0;  // 0: none yet
    double best_score = -std::numeric_limits<double>::infinity();
    std::string model_name{};  // as TrainOptions::model_name
    std::string optimizer_type{};  // e.g. "rg::optim::Adam"
    std::map<std::string, std::string> settings{};  // what must not change on resume (TrainOptions::settings)
    std::vector<EpochRecord> history{};
};

struct Checkpoint {
    TrainingState state;
    TensorMap model{}, optimizer{}, best{};  // names without their prefixes; best is empty when best_epoch == epoch
};

// The optimizer's dynamic type, demangled ("rg::optim::Adam").
std::string optimizer_type(const optim::Optimizer& optimizer);

// Writes the checkpoint atomically. best_weights: the best epoch's weights
// when state.best_epoch != state.epoch (ignored otherwise).
void save_checkpoint(const std::string& path, const Module& model, const optim::Optimizer& optimizer,
                     const TrainingState& state, const TensorMap& best_weights = {});

// Reads and validates a checkpoint (format, version, counters, history). A file
// that is not one gets an error saying what it is instead (model weights, an
// optimizer's state, a file from an older retrograd...).
Checkpoint read_checkpoint(const std::string& path);

// What a safetensors file written by retrograd holds, in a few words
// ("a training checkpoint of a mlp model at epoch 3", "the weights of a cnn
// model (epoch 2)", "an optimizer's state"...); "" when it does not say.
std::string describe_saved_file(const std::string& path);

// Copies named tensors into a module after checking that the names, shapes and
// kinds (float / integer) match exactly; `source` names them in errors.
void load_weights(Module& module, const TensorMap& tensors, const std::string& source);

// The module's parameters and buffers, by their dotted names (shared, not copied).
TensorMap module_tensors(const Module& module);

// The history as CSV (epoch,train_loss,train_accuracy,val_loss,val_accuracy,seconds),
// with `digits` significant digits, and back (errors name `source`).
std::string history_csv(const std::vector<EpochRecord>& epochs, int digits = 6);
std::vector<EpochRecord> parse_history_csv(const std::string& text, const std::string& source);

// Writes `text` to `path` atomically: a temporary file beside it, written,
// flushed to disk and closed with every step checked, then renamed over
// `path`. On failure the old file stays, the temporary file is removed, and
// the error names the file and the system's reason.
void save_text(const std::string& path, const std::string& text);

// For each file, removes the `<file>.tmp-<pid>-<hex>` files beside it left by
// saves (save_tensors, save_text) of processes that no longer run: a kill
// during a save. Returns how many were removed.
std::size_t remove_stale_temporaries(const std::vector<std::string>& files);

}  // namespace rg::nn
