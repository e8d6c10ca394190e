// Training checkpoints as one safetensors file, and atomic text files.
#include <retrograd/autograd.hpp>
#include <retrograd/nn/checkpoint.hpp>

#include <cerrno>
#include <cmath>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <cxxabi.h>
#include <fcntl.h>
#include <filesystem>
#include <memory>
#include <random>
#include <sstream>
#include <typeinfo>
#include <unistd.h>

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

[[noreturn]] void system_error(const std::string& what, const std::string& path) {
    fail("{} '{}': {}", what, path, std::strerror(errno));
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

std::string history_csv(const std::vector<EpochRecord>& epochs, int digits) {
    std::string text = "epoch,train_loss,train_accuracy,val_loss,val_accuracy,seconds\n";
    for (const auto& e : epochs) {
        if (digits <= 6)
            text += fmt::format("{},{:.6f},{:.6f},{:.6f},{:.6f},{:.3f}\n", e.epoch, e.train_loss, e.train_accuracy,
                                e.val_loss, e.val_accuracy, e.seconds);
        else
            text += fmt::format("{},{:.17g},{:.17g},{:.17g},{:.17g},{:.17g}\n", e.epoch, e.train_loss, e.train_accuracy,
                                e.val_loss, e.val_accuracy, e.seconds);
    }
    return text;
}

std::vector<EpochRecord> parse_history_csv(const std::string& text, const std::string& source) {
    std::vector<EpochRecord> out;
    std::istringstream in(text);
    std::string line;
    std::getline(in, line);
    if (line != "epoch,train_loss,train_accuracy,val_loss,val_accuracy,seconds")
        fail("{}: the history does not start with the CSV header epoch,train_loss,...", source);
    std::size_t number = 1;
    while (std::getline(in, line)) {
        ++number;
        EpochRecord e;
        char rest = 0;
        if (std::sscanf(line.c_str(), "%zu,%lf,%lf,%lf,%lf,%lf%c", &e.epoch, &e.train_loss, &e.train_accuracy,
                        &e.val_loss, &e.val_accuracy, &e.seconds, &rest) != 6)
            fail("{}: history line {} is '{}', expected six comma-separated numbers", source, number, line);
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
        if (it == file.end())
            fail("{}: there is no tensor '{}' (the module expects {} {})", source, name, shape_str(t.shape()),
                 dtype_name(t.dtype()));
        if (it->second.shape() != t.shape())
            fail("{}: tensor '{}' has shape {} there but {} in the module", source, name, shape_str(it->second.shape()),
                 shape_str(t.shape()));
        if (it->second.is_floating() != t.is_floating())
            fail("{}: tensor '{}' is {} there but {} in the module", source, name, dtype_name(it->second.dtype()),
                 dtype_name(t.dtype()));
    }
    for (const auto& [name, t] : file) {
        bool known = false;
        for (const auto& target : targets) known = known || target.first == name;
        if (!known) fail("{}: tensor '{}' is not in the module", source, name);
    }
    NoGrad off;
    for (auto& [name, t] : targets) t.copy_(file.at(name));
}

void save_text(const std::string& path, const std::string& text) {
    std::random_device rd;
    const std::string temp = fmt::format("{}.tmp-{}-{:x}", path, ::getpid(), rd());
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) fail("cannot write '{}': cannot create its temporary file '{}': {}", path, temp, std::strerror(errno));
    auto give_up = [&](const char* what) {
        const int saved = errno;
        ::close(fd);
        ::unlink(temp.c_str());
        errno = saved;
        system_error(what, path);
    };
    const char* data = text.data();
    std::size_t left = text.size();
    while (left > 0) {
        const ssize_t n = ::write(fd, data, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) give_up("cannot write");
        data += n;
        left -= static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) give_up("cannot flush");
    if (::close(fd) != 0) {
        const int saved = errno;
        ::unlink(temp.c_str());
        errno = saved;
        system_error("cannot close", path);
    }
    if (::rename(temp.c_str(), path.c_str()) != 0) {
        const int saved = errno;
        ::unlink(temp.c_str());
        errno = saved;
        system_error("cannot move the new file over", path);
    }
}

std::size_t remove_stale_temporaries(const std::vector<std::string>& files) {
    namespace fs = std::filesystem;
    std::size_t removed = 0;
    for (const std::string& file : files) {
        if (file.empty()) continue;
        const fs::path path(file);
        const fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
        const std::string prefix = path.filename().string() + ".tmp-";
        std::error_code error;
        for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
            const std::string name = it->path().filename().string();
            if (name.rfind(prefix, 0) != 0) continue;
            // <file>.tmp-<pid>-<hex>: only those of processes that are gone (or of
            // this one, which is not saving while it cleans up).
            const char* first = name.c_str() + prefix.size();
            const char* last = name.c_str() + name.size();
            long pid = 0;
            const auto [end_pid, parse_error] = std::from_chars(first, last, pid);
            if (parse_error != std::errc() || end_pid == last || *end_pid != '-' || pid <= 0) continue;
            const bool alive = pid != ::getpid() && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
            if (alive) continue;
            std::error_code ignored;
            if (fs::remove(it->path(), ignored)) ++removed;
        }
    }
    return removed;
}

}  // namespace rg::nn
