// Training checkpoints as one safetensors file, and atomic text files (atomic_file.hpp).
#include <retrograd/autograd.hpp>
#include <retrograd/nn/checkpoint.hpp>

#include "atomic_file.hpp"
#include "tensor_owner.hpp"

#include <cmath>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <cxxabi.h>
#include <memory>
#include <sstream>
#include <typeinfo>

namespace rg::nn {
namespace {

constexpr const char* checkpoint_version = "1";
constexpr const char* model_prefix = "model.";
constexpr const char* optimizer_prefix = "optimizer.";
constexpr const char* best_prefix = "best.";
constexpr const char* setting_prefix = "setting.";

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

std::string meta_or(const std::map<std::string, std::string>& meta, const std::string& key,
                    const std::string& fallback = "") {
    const auto it = meta.find(key);
    return it == meta.end() ? fallback : it->second;
}

std::size_t parse_count(const std::map<std::string, std::string>& meta, const std::string& key,
                        const std::string& path) {
    const auto it = meta.find(key);
    if (it == meta.end())
        fail("checkpoint '{}': the metadata has no '{}'; the file is damaged or not a checkpoint", path, key);
    std::size_t value = 0;
    const char* first = it->second.data();
    const char* last = first + it->second.size();
    const auto [end, error] = std::from_chars(first, last, value);
    if (error != std::errc() || end != last || it->second.empty())
        fail("checkpoint '{}': metadata '{}' is '{}', expected a non-negative integer", path, key, it->second);
    return value;
}

}  // namespace

std::string optimizer_type(const optim::Optimizer& optimizer) {
    const char* mangled = typeid(optimizer).name();
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> name(abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
    return status == 0 && name ? std::string(name.get()) : std::string(mangled);
}

TensorMap module_tensors(const Module& module) {
    TensorMap tensors;
    for (auto& [name, t] : module.named_parameters()) tensors[name] = t;
    for (auto& [name, t] : module.named_buffers()) tensors[name] = t;
    return tensors;
}

namespace {
constexpr const char* history_columns = "epoch,train_loss,train_accuracy,val_loss,val_accuracy,seconds";
constexpr const char* gradient_columns = ",grad_norm_mean,grad_norm_max,clipped_steps";
}  // namespace

std::string history_csv(const std::vector<EpochRecord>& epochs, int digits) {
    std::string text = std::string(history_columns) + gradient_columns + "\n";
    for (const auto& e : epochs) {
        if (digits <= 6)
            text += fmt::format("{},{:.6f},{:.6f},{:.6f},{:.6f},{:.3f},{:.6g},{:.6g},{}\n", e.epoch, e.train_loss,
                                e.train_accuracy, e.val_loss, e.val_accuracy, e.seconds, e.grad_norm_mean,
                                e.grad_norm_max, e.clipped_steps);
        else
            text += fmt::format("{},{:.17g},{:.17g},{:.17g},{:.17g},{:.17g},{:.17g},{:.17g},{}\n", e.epoch,
                                e.train_loss, e.train_accuracy, e.val_loss, e.val_accuracy, e.seconds, e.grad_norm_mean,
                                e.grad_norm_max, e.clipped_steps);
    }
    return text;
}

std::vector<EpochRecord> parse_history_csv(const std::string& text, const std::string& source) {
    std::vector<EpochRecord> out;
    std::istringstream in(text);
    std::string line;
    std::getline(in, line);
    // Checkpoints written before the gradient columns existed have six columns.
    const bool gradients = line == std::string(history_columns) + gradient_columns;
    if (!gradients && line != history_columns)
        fail("{}: the history does not start with the CSV header epoch,train_loss,...", source);
    std::size_t number = 1;
    while (std::getline(in, line)) {
        ++number;
        EpochRecord e;
        char rest = 0;
        const int read = gradients
                             ? std::sscanf(line.c_str(), "%zu,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%zu%c", &e.epoch,
                                           &e.train_loss, &e.train_accuracy, &e.val_loss, &e.val_accuracy, &e.seconds,
                                           &e.grad_norm_mean, &e.grad_norm_max, &e.clipped_steps, &rest)
                             : std::sscanf(line.c_str(), "%zu,%lf,%lf,%lf,%lf,%lf%c", &e.epoch, &e.train_loss,
                                           &e.train_accuracy, &e.val_loss, &e.val_accuracy, &e.seconds, &rest);
        if (read != (gradients ? 9 : 6))
            fail("{}: history line {} is '{}', expected {} comma-separated numbers", source, number, line,
                 gradients ? "nine" : "six");
        if (e.epoch != out.size() + 1)
            fail("{}: history line {} is epoch {}, expected epoch {}", source, number, e.epoch, out.size() + 1);
        out.push_back(e);
    }
    return out;
}

void save_checkpoint(const std::string& path, const Module& model, const optim::Optimizer& optimizer,
                     const TrainingState& state, const TensorMap& best_weights) {
    if (state.history.size() != state.epoch)
        fail("save_checkpoint '{}': the history has {} epochs but the state says {}", path, state.history.size(),
             state.epoch);
    TensorMap tensors;
    for (auto& [name, t] : module_tensors(model)) tensors[model_prefix + name] = t;
    for (auto& [key, t] : optimizer.state_dict()) tensors[optimizer_prefix + key] = t;
    if (state.best_epoch != state.epoch) {
        if (best_weights.empty() && state.best_epoch != 0)
            fail("save_checkpoint '{}': the best epoch ({}) is not the last ({}) but no best weights were given", path,
                 state.best_epoch, state.epoch);
        for (auto& [name, t] : best_weights) tensors[best_prefix + name] = t;
    }
    std::map<std::string, std::string> meta{{"format", checkpoint_format},
                                            {"version", checkpoint_version},
                                            {"model", state.model_name},
                                            {"optimizer", state.optimizer_type},
                                            {"epoch", std::to_string(state.epoch)},
                                            {"epochs", std::to_string(state.epochs)},
                                            {"step", std::to_string(state.step)},
                                            {"best_epoch", std::to_string(state.best_epoch)},
                                            {"best_score", fmt::format("{:.17g}", state.best_score)},
                                            {"history", history_csv(state.history, 17)}};
    for (const auto& [key, value] : state.settings) meta[setting_prefix + key] = value;
    save_tensors(tensors, path, meta);
}

Checkpoint read_checkpoint(const std::string& path) {
    const auto meta = load_metadata(path);
    const std::string format = meta_or(meta, "format");
    if (format != checkpoint_format) {
        const std::string what = describe_saved_file(path);
        if (format == "retrograd" && meta.count("epoch"))
            fail("checkpoint '{}' holds only a model's weights, written by an older retrograd whose optimizer state "
                 "lived in a separate file that could go out of step; it cannot be resumed safely: start a new run "
                 "(another output directory)",
                 path);
        fail("'{}' is not a training checkpoint: it holds {}", path,
             what.empty() ? "no 'format' in its metadata (not written by retrograd train)" : what);
    }
    if (meta_or(meta, "version") != checkpoint_version)
        fail("checkpoint '{}' has version '{}'; this retrograd reads version {}", path, meta_or(meta, "version"),
             checkpoint_version);
    Checkpoint c;
    TrainingState& s = c.state;
    s.epoch = parse_count(meta, "epoch", path);
    s.epochs = parse_count(meta, "epochs", path);
    s.step = parse_count(meta, "step", path);
    s.best_epoch = parse_count(meta, "best_epoch", path);
    s.model_name = meta_or(meta, "model");
    s.optimizer_type = meta_or(meta, "optimizer");
    const std::string score = meta_or(meta, "best_score");
    char* end = nullptr;
    s.best_score = std::strtod(score.c_str(), &end);
    if (score.empty() || *end != '\0' || std::isnan(s.best_score))
        fail("checkpoint '{}': metadata 'best_score' is '{}', expected a number", path, score);
    if (s.epoch == 0 || s.best_epoch == 0 || s.best_epoch > s.epoch)
        fail("checkpoint '{}': epoch {} and best epoch {} are inconsistent (expected 1 <= best epoch <= epoch)", path,
             s.epoch, s.best_epoch);
    if (s.step < s.epoch) fail("checkpoint '{}': {} optimizer steps cannot make {} epochs", path, s.step, s.epoch);
    s.history = parse_history_csv(meta_or(meta, "history"), fmt::format("checkpoint '{}'", path));
    if (s.history.size() != s.epoch)
        fail("checkpoint '{}': the history has {} epochs but the checkpoint is at epoch {}", path, s.history.size(),
             s.epoch);
    for (const auto& [key, value] : meta)
        if (starts_with(key, setting_prefix)) s.settings[key.substr(std::strlen(setting_prefix))] = value;

    for (auto& [name, t] : load_tensors(path)) {
        if (starts_with(name, model_prefix)) {
            c.model[name.substr(std::strlen(model_prefix))] = t;
        } else if (starts_with(name, optimizer_prefix)) {
            c.optimizer[name.substr(std::strlen(optimizer_prefix))] = t;
        } else if (starts_with(name, best_prefix)) {
            c.best[name.substr(std::strlen(best_prefix))] = t;
        } else {
            fail("checkpoint '{}': unexpected tensor '{}' (expected model.*, optimizer.* or best.*)", path, name);
        }
    }
    if (c.model.empty()) fail("checkpoint '{}' has no model.* tensors", path);
    const bool need_best = s.best_epoch != s.epoch;
    if (need_best && c.best.empty())
        fail("checkpoint '{}': the best epoch ({}) is not the last ({}) but the file has no best.* weights", path,
             s.best_epoch, s.epoch);
    if (!c.best.empty()) {
        if (!need_best) fail("checkpoint '{}': best.* weights present although the best epoch is the last", path);
        for (const auto& [name, t] : c.model) {
            const auto it = c.best.find(name);
            if (it == c.best.end() || it->second.shape() != t.shape() || it->second.dtype() != t.dtype())
                fail("checkpoint '{}': the best weights do not match the model at '{}'", path, name);
        }
        if (c.best.size() != c.model.size())
            fail("checkpoint '{}': the best weights have {} tensors, the model {}", path, c.best.size(),
                 c.model.size());
    }
    return c;
}

std::string describe_saved_file(const std::string& path) {
    const auto meta = load_metadata(path);
    const std::string format = meta_or(meta, "format"), model = meta_or(meta, "model"), epoch = meta_or(meta, "epoch");
    const std::string of_model = model.empty() ? "a model" : fmt::format("a {} model", model);
    if (format == checkpoint_format)
        return fmt::format("a training checkpoint of {} at epoch {}", of_model, epoch.empty() ? "?" : epoch);
    if (format == "retrograd-optimizer") return "an optimizer's state (moments and step counts), not a model";
    if (format == "retrograd")
        return epoch.empty() ? fmt::format("the weights of {}", of_model)
                             : fmt::format("the weights of {} (epoch {})", of_model, epoch);
    return "";
}

void load_weights(Module& module, const TensorMap& file, const std::string& source) {
    NamedTensors targets = module.named_parameters();
    for (auto& b : module.named_buffers()) targets.push_back(b);
    // Everything is checked before anything is written: a mismatch never half-loads.
    for (const auto& [name, t] : targets) {
        const auto it = file.find(name);
        if (it == file.end() && !module.buffer_required_in_files(name)) continue;
        if (it == file.end())
            fail("{}: there is no tensor '{}' ({} expects {} {})", source, name, detail::owner_of(module, name),
                 shape_str(t.shape()), dtype_name(t.dtype()));
        if (it->second.shape() != t.shape())
            fail("{}: tensor '{}' has shape {} there but {} in the module ({})", source, name,
                 shape_str(it->second.shape()), shape_str(t.shape()), detail::owner_of(module, name));
        if (it->second.is_floating() != t.is_floating())
            fail("{}: tensor '{}' is {} there but {} in the module ({})", source, name, dtype_name(it->second.dtype()),
                 dtype_name(t.dtype()), detail::owner_of(module, name));
    }
    for (const auto& [name, t] : file) {
        bool known = false;
        for (const auto& target : targets) known = known || target.first == name;
        if (!known)
            fail("{}: tensor '{}' is not in the module ({})", source, name,
                 detail::owner_and_its_tensors(module, name));
    }
    NoGrad off;
    for (auto& [name, t] : targets)
        if (const auto it = file.find(name); it != file.end()) t.copy_(it->second);
}

namespace {

// save_text's errors name the target (the temporary file only when it cannot be created).
std::string text_wording(detail::AtomicStep step, const std::string& path, const std::string& temporary) {
    switch (step) {
        case detail::AtomicStep::create:
            return fmt::format("cannot write '{}': cannot create its temporary file '{}'", path, temporary);
        case detail::AtomicStep::write: return fmt::format("cannot write '{}'", path);
        case detail::AtomicStep::flush: return fmt::format("cannot flush '{}'", path);
        case detail::AtomicStep::close: return fmt::format("cannot close '{}'", path);
        case detail::AtomicStep::rename: break;
    }
    return fmt::format("cannot move the new file over '{}'", path);
}

}  // namespace

void save_text(const std::string& path, const std::string& text) {
    detail::AtomicFile file(path, text_wording);
    file.write(text.data(), text.size());
    file.commit();
}

std::size_t remove_stale_temporaries(const std::vector<std::string>& files) {
    std::size_t removed = 0;
    for (const std::string& file : files) removed += detail::remove_stale_temporaries_of(file);
    return removed;
}

}  // namespace rg::nn
