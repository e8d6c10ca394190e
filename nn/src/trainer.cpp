// The training loop.
#include <retrograd/autograd.hpp>
#include <retrograd/nn/serialize.hpp>
#include <retrograd/nn/trainer.hpp>
#include <retrograd/ops.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace rg::nn {
namespace {

using Clock = std::chrono::steady_clock;
constexpr double nan = std::numeric_limits<double>::quiet_NaN();

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Correct predictions in a batch, or -1 when the targets are not class indices.
long correct_in(const Tensor& output, const Tensor& target) {
    if (target.dtype() != Dtype::int64 || output.dim() != 2) return -1;
    NoGrad off;
    return static_cast<long>(sum(eq(argmax(output, 1), target)).item());
}

std::string duration_str(double s) {
    const long t = std::lround(s);
    return t >= 3600 ? fmt::format("{}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60)
                     : fmt::format("{}:{:02}", t / 60, t % 60);
}

std::string percent(double x) { return std::isnan(x) ? "-" : fmt::format("{:.2f}%", 100 * x); }

void write_outputs(const TrainOptions& options, const std::vector<EpochRecord>& epochs) {
    if (!options.metrics_csv.empty()) save_text(options.metrics_csv, history_csv(epochs));
    if (!options.chart_svg.empty()) save_text(options.chart_svg, chart_svg(epochs));
}

TensorMap cloned(const TensorMap& tensors) {
    NoGrad off;
    TensorMap out;
    for (const auto& [name, t] : tensors) out[name] = t.detach().clone();
    return out;
}

void save_best(const std::filesystem::path& path, const TensorMap& weights, const std::string& model_name,
               std::size_t epoch, double score) {
    save_tensors(weights, path.string(),
                 {{"format", "retrograd"},
                  {"model", model_name},
                  {"epoch", std::to_string(epoch)},
                  {"best", fmt::format("{:.17g}", score)}});
}

// Whether best.safetensors says it holds this epoch, score and model (false when
// it is missing or unreadable).
bool best_file_matches(const std::filesystem::path& path, std::size_t epoch, double score,
                       const std::string& model_name) {
    if (!std::filesystem::exists(path)) return false;
    try {
        const auto meta = load_metadata(path.string());
        auto is = [&](const char* key, const std::string& value) { return meta.count(key) && meta.at(key) == value; };
        return is("epoch", std::to_string(epoch)) && is("best", fmt::format("{:.17g}", score)) &&
               is("model", model_name);
    } catch (const Error&) {
        return false;
    }
}

// The total 2-norm of the gradients (those that exist), in float64.
double gradient_norm(const TensorList& params) {
    NoGrad off;
    double total = 0;
    for (const Tensor& p : params) {
        const Tensor g = p.grad();
        if (g.defined()) total += sum(square(g.to(Dtype::float64))).item();
    }
    return std::sqrt(total);
}

// Multiplies every gradient by `factor`, in place.
void scale_gradients(const TensorList& params, double factor) {
    NoGrad off;
    for (const Tensor& p : params) {
        Tensor g = p.grad();
        if (g.defined()) g.copy_(g * factor);
    }
}

std::uint64_t epoch_seed(std::uint64_t seed, std::size_t epoch) {
    // splitmix64 of (seed, epoch): nearby seeds and epochs give unrelated streams.
    std::uint64_t z = seed + 0x9e3779b97f4a7c15ull * (epoch + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

}  // namespace

void check_writable_dir(const std::string& dir, const std::string& what) {
    namespace fs = std::filesystem;
    std::error_code error;
    fs::create_directories(dir, error);
    if (error) fail("{}: cannot create the directory '{}': {}", what, dir, error.message());
    const std::string probe = (fs::path(dir) / fmt::format(".retrograd-write-test-{}", ::getpid())).string();
    const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) fail("{}: cannot write in the directory '{}': {}", what, dir, std::strerror(errno));
    ::close(fd);
    ::unlink(probe.c_str());
}

void check_resumable(const TrainingState& saved, const std::string& model_name,
                     const std::map<std::string, std::string>& settings, const std::string& path) {
    if (!saved.model_name.empty() && !model_name.empty() && saved.model_name != model_name)
        fail("cannot resume '{}': it holds a {} model and this run asks for {}; use the same model, or another "
             "output directory for a new run",
             path, saved.model_name, model_name);
    std::vector<std::string> differences;
    auto value_in = [](const std::map<std::string, std::string>& m, const std::string& key) {
        const auto it = m.find(key);
        return it == m.end() ? std::string("(not set)") : it->second;
    };
    std::map<std::string, std::string> keys = saved.settings;
    keys.insert(settings.begin(), settings.end());
    for (const auto& [key, unused] : keys) {
        const std::string there = value_in(saved.settings, key), here = value_in(settings, key);
        if (there != here) differences.push_back(fmt::format("{} is {} there, {} here", key, there, here));
    }
    if (!differences.empty())
        fail("cannot resume '{}' with other settings ({}): they change the data or the model; use the checkpoint's "
             "settings, or another output directory for a new run",
             path, fmt::join(differences, "; "));
}

History train(Module& model, optim::Optimizer& optimizer, const LossFn& loss, data::DataLoader& train_data,
              data::DataLoader* validation, TrainOptions options) {
    if (!loss) fail("train: no loss function given");
    if (options.epochs == 0) fail("train: epochs must be positive");
    if (options.accumulate == 0) fail("train: accumulate must be at least 1 (batches per optimizer step), got 0");
    if (!(options.clip_grad_norm >= 0) || std::isinf(options.clip_grad_norm))
        fail("train: clip_grad_norm must be a finite number >= 0 (0: no clipping), got {}", options.clip_grad_norm);
    std::ostream& out = options.out ? *options.out : std::cout;
    Progress progress = options.progress;
    if (progress == Progress::automatic)
        progress = (&out == &std::cout && ::isatty(STDOUT_FILENO)) ? Progress::bar : Progress::lines;
    const ParallelHooks& parallel = options.parallel;
    const bool lead = parallel.rank == 0;  // the one rank that prints and writes files
    if (!lead) progress = Progress::none;
    const bool talk = progress != Progress::none;
    namespace fs = std::filesystem;
    const fs::path dir = options.checkpoint_dir;
    const fs::path last_path = dir / "last.safetensors", best_path = dir / "best.safetensors";
    if (options.resume && dir.empty()) fail("train: resume needs a checkpoint_dir to resume from");
    if (!dir.empty() && lead) check_writable_dir(dir.string(), "train: checkpoint_dir");
    std::vector<std::string> outputs{options.metrics_csv, options.chart_svg};
    if (!dir.empty()) outputs.insert(outputs.end(), {last_path.string(), best_path.string()});
    if (const std::size_t removed = lead ? remove_stale_temporaries(outputs) : 0; removed > 0 && talk)
        out << fmt::format("removed {} temporary file{} left by an interrupted save\n", removed,
                           removed == 1 ? "" : "s");

    History history;
    TrainingState state;
    state.epochs = options.epochs;
    state.model_name = options.model_name;
    state.optimizer_type = optimizer_type(optimizer);
    state.settings = options.settings;
    if (options.seed_each_epoch) state.settings["seed_each_epoch"] = std::to_string(*options.seed_each_epoch);
    // Both change the updates; stored only when set, so that runs from before they existed still resume.
    if (options.accumulate > 1) state.settings["accumulate"] = std::to_string(options.accumulate);
    if (options.clip_grad_norm > 0) state.settings["clip_grad_norm"] = fmt::format("{}", options.clip_grad_norm);
    TensorMap best_weights;  // the best epoch's, kept while later epochs do not beat it
    const std::size_t batches = train_data.batches();
    const std::size_t accumulate = options.accumulate;
    const std::size_t steps_per_epoch = (batches + accumulate - 1) / accumulate;  // optimizer steps
    const TensorList params = model.parameters();  // tied weights once
    if (parallel.sum) {  // every rank resumes, or none does
        std::vector<double> found{options.resume && !dir.empty() && fs::exists(last_path) ? 1.0 : 0.0};
        parallel.sum(found);
        if (found[0] != 0 && found[0] != static_cast<double>(parallel.world_size))
            fail("train: only {} of {} ranks found {}; to resume, every rank must see the checkpoint directory "
                 "(a shared filesystem)",
                 found[0], parallel.world_size, last_path.string());
    }
    if (options.resume && !dir.empty() && !fs::exists(last_path)) {
        if (talk) out << fmt::format("resume: no checkpoint in {} yet; starting a new run\n", dir.string());
    } else if (options.resume && !dir.empty()) {
        const std::string path = last_path.string();
        Checkpoint c = read_checkpoint(path);
        check_resumable(c.state, options.model_name, state.settings, path);
        if (!c.state.optimizer_type.empty() && c.state.optimizer_type != state.optimizer_type)
            fail("cannot resume '{}': its optimizer state is for {}, this run uses {}", path, c.state.optimizer_type,
                 state.optimizer_type);
        if (c.state.step != c.state.epoch * steps_per_epoch)
            fail("cannot resume '{}': it took {} steps in {} epochs, but the training data now gives {} {} per "
                 "epoch{}; the data set or the batch size changed",
                 path, c.state.step, c.state.epoch, accumulate > 1 ? steps_per_epoch : batches,
                 accumulate > 1 ? "steps" : "batches",
                 accumulate > 1 ? fmt::format(" ({} batches, {} per step)", batches, accumulate) : "");
        // All or nothing: the optimizer's state and the weights are each checked before
        // they are written, and the optimizer goes back to its state if the weights do not fit.
        const optim::StateDict previous = optimizer.state_dict();
        try {
            optimizer.load_state_dict(optim::StateDict(c.optimizer.begin(), c.optimizer.end()));
        } catch (const Error& e) {
            fail("cannot resume '{}': its optimizer state does not fit this optimizer: {}", path, e.what());
        }
        try {
            for (const auto& [key, t] : optimizer.state_dict())
                if (key.rfind("step.", 0) == 0 && t.item() > static_cast<double>(c.state.step))
                    fail("cannot resume '{}': the optimizer counts {} steps for '{}' but the run took {}; the states "
                         "do not belong together",
                         path, t.item(), key, c.state.step);
            load_weights(model, c.model, fmt::format("checkpoint '{}'", path));
        } catch (...) {
            optimizer.load_state_dict(previous);
            throw;
        }
        best_weights = c.best.empty() ? cloned(module_tensors(model)) : c.best;
        const std::size_t asked = options.epochs;
        state.epoch = c.state.epoch;
        state.step = c.state.step;
        state.best_epoch = c.state.best_epoch;
        state.best_score = c.state.best_score;
        state.history = c.state.history;
        history.epochs = state.history;
        history.best_epoch = state.best_epoch;
        history.resumed_after = state.epoch;
        // best.safetensors may lag behind (a kill between the two writes), be missing or come from another run.
        if (lead && !best_file_matches(best_path, state.best_epoch, state.best_score, options.model_name)) {
            save_best(best_path, best_weights, options.model_name, state.best_epoch, state.best_score);
            if (talk)
                out << fmt::format("rewrote {} from the checkpoint (best epoch {})\n", best_path.string(),
                                   state.best_epoch);
        }
        if (lead) write_outputs(options, history.epochs);
        if (options.scheduler)
            for (std::size_t e = 0; e < state.epoch; ++e) options.scheduler->step();
        if (options.step_scheduler)
            for (std::size_t k = 0; k < state.step; ++k) options.step_scheduler->step();
        const std::size_t since_best = state.epoch - state.best_epoch;
        if (asked <= state.epoch) {
            if (talk)
                out << fmt::format("resume: the run in {} has finished {} epochs and {} {} asked for; nothing to train "
                                   "(ask for more epochs to continue)\n",
                                   dir.string(), state.epoch, asked, asked == 1 ? "was" : "were");
            return history;
        }
        if (options.patience > 0 && since_best >= options.patience) {
            history.stopped_early = true;
            if (talk)
                out << fmt::format("resume: the run in {} stopped early at epoch {} (no improvement since epoch {}, "
                                   "patience {}); nothing to train (raise the patience to continue)\n",
                                   dir.string(), state.epoch, state.best_epoch, options.patience);
            return history;
        }
        if (talk) {
            out << fmt::format("resuming after epoch {} of {}", state.epoch, c.state.epochs);
            if (asked != c.state.epochs)
                out << fmt::format(", now to epoch {} (epochs changed from {} to {})", asked, c.state.epochs, asked);
            out << "\n";
        }
    } else if (!dir.empty() && fs::exists(last_path) && talk) {
        out << fmt::
                format("starting a new run in {}: its checkpoint will be replaced (resume to continue it instead)\n",
                       dir.string());
    }
    std::size_t since_best = state.epoch - state.best_epoch;
    for (std::size_t epoch = state.epoch + 1; epoch <= options.epochs; ++epoch) {
        const auto start = Clock::now();
        if (options.seed_each_epoch) manual_seed(epoch_seed(*options.seed_each_epoch, epoch));
        model.train();
        train_data.reset(epoch);
        double loss_sum = 0;
        long correct = 0;
        std::size_t seen = 0, step = 0;
        const std::size_t steps = batches;
        auto last_draw = Clock::now();
        // Gradient accumulation: each batch's loss is weighted by n / (unit * accumulate), unit being the
        // epoch's first (full) batch size; a group of other size is corrected before the step, so that every
        // step is the step of one batch made of the group's samples.
        std::size_t in_group = 0, group_samples = 0, unit = 0, optimizer_steps = 0, clipped = 0;
        double norm_sum = 0, norm_max = 0;
        auto optimizer_step = [&] {
            if (parallel.synchronize) parallel.synchronize();
            if (accumulate > 1 && group_samples != unit * accumulate)
                scale_gradients(params, static_cast<double>(unit * accumulate) / static_cast<double>(group_samples));
            const double norm = gradient_norm(params);
            norm_sum += norm;
            norm_max = std::max(norm_max, norm);
            if (options.clip_grad_norm > 0) {
                const double factor = options.clip_grad_norm / (norm + 1e-6);  // as clip_grad_norm_
                if (factor < 1) {
                    scale_gradients(params, factor);
                    ++clipped;
                }
            }
            optimizer.step();
            if (options.step_scheduler) options.step_scheduler->step();
            ++optimizer_steps;
            in_group = group_samples = 0;
        };
        data::Batch batch;
        while (train_data.next(batch)) {
            if (parallel.before_forward) parallel.before_forward();
            Tensor output = model(batch.inputs);
            Tensor l = loss(output, batch.targets);
            if (l.numel() != 1) fail("train: the loss has shape {}, expected one value", shape_str(l.shape()));
            const double value = l.item();
            if (!std::isfinite(value))
                fail("train: the loss became {} at epoch {}, step {}; lower the learning rate or check the data", value,
                     epoch, step + 1);
            const std::size_t n = batch.inputs.shape()[0];
            if (unit == 0) unit = n;
            if (in_group == 0) optimizer.zero_grad();
            ++in_group;
            group_samples += n;
            const bool closes_group = in_group == accumulate || step + 1 == steps;
            // Data-parallel: the ranks average only the gradients of a group's last batch (DDP's no_sync()).
            if (accumulate > 1 && parallel.sync_backward) parallel.sync_backward(closes_group);
            if (accumulate == 1)
                l.backward();
            else
                (l * (static_cast<double>(n) / static_cast<double>(unit * accumulate))).backward();
            if (closes_group) optimizer_step();
            loss_sum += value * static_cast<double>(n);
            const long c = correct_in(output, batch.targets);
            correct = c < 0 || correct < 0 ? -1 : correct + c;
            seen += n;
            ++step;
            if (progress == Progress::bar && (seconds_since(last_draw) > 0.1 || step == steps)) {
                last_draw = Clock::now();
                const double elapsed = seconds_since(start);
                const std::size_t width = 24, filled = width * step / std::max<std::size_t>(steps, 1);
                out << fmt::format("\r\033[Kepoch {}/{} [{}{}] {}/{}  loss {:.4f}  acc {}  {:.0f} samples/s  ETA {}",
                                   epoch, options.epochs, std::string(filled, '#'), std::string(width - filled, '.'),
                                   step, steps, loss_sum / static_cast<double>(seen),
                                   correct < 0 ? "-"
                                               : percent(static_cast<double>(correct) / static_cast<double>(seen)),
                                   static_cast<double>(seen) / elapsed,
                                   duration_str(elapsed / static_cast<double>(step) *
                                                static_cast<double>(steps - step)))
                    << std::flush;
            }
        }
        if (in_group > 0) optimizer_step();  // the loader gave more batches than it announced
        if (seen == 0)
            fail("train: the training data has no batch (empty data set, or drop_last with too few samples)");
        if (parallel.sum) {  // the whole epoch, over every rank's shard
            std::vector<double> totals{loss_sum, static_cast<double>(correct), static_cast<double>(seen)};
            parallel.sum(totals);
            loss_sum = totals[0];
            correct = totals[1] < 0 ? -1 : static_cast<long>(totals[1]);
            seen = static_cast<std::size_t>(totals[2]);
        }
        EpochRecord record;
        record.epoch = epoch;
        record.train_loss = loss_sum / static_cast<double>(seen);
        record.train_accuracy = correct < 0 ? nan : static_cast<double>(correct) / static_cast<double>(seen);
        record.val_loss = record.val_accuracy = nan;
        if (validation) {
            Evaluation v = evaluate(model, loss, *validation, 0);
            if (parallel.sum) {  // each rank evaluated its shard
                const auto n = static_cast<double>(v.samples);
                std::vector<double> totals{v.loss * n, v.accuracy * n, n};
                parallel.sum(totals);
                v.loss = totals[0] / totals[2];
                v.accuracy = totals[1] / totals[2];
            }
            record.val_loss = v.loss;
            record.val_accuracy = v.accuracy;
        }
        record.grad_norm_mean = optimizer_steps ? norm_sum / static_cast<double>(optimizer_steps) : nan;
        record.grad_norm_max = optimizer_steps ? norm_max : nan;
        record.clipped_steps = clipped;
        record.seconds = seconds_since(start);
        history.epochs.push_back(record);
        if (options.scheduler) options.scheduler->step();

        // The best epoch: highest validation accuracy, else lowest validation or training loss.
        const double score = !std::isnan(record.val_accuracy) ? record.val_accuracy
                             : !std::isnan(record.val_loss)   ? -record.val_loss
                                                              : -record.train_loss;
        const bool improved = score > state.best_score;
        state.epoch = epoch;
        state.step += optimizer_steps;
        state.history = history.epochs;
        if (improved) {
            state.best_score = score;
            state.best_epoch = history.best_epoch = epoch;
            since_best = 0;
            // Kept for the checkpoints of later epochs that do not beat it.
            if (!dir.empty()) best_weights = cloned(module_tensors(model));
        } else {
            ++since_best;
        }
        if (lead && !dir.empty()) {
            // The checkpoint first: it alone decides what a resume sees. best.safetensors
            // follows; a resume rewrites it when a kill came in between.
            save_checkpoint(last_path.string(), model, optimizer, state, best_weights);
            if (improved) save_best(best_path, module_tensors(model), options.model_name, epoch, score);
        }
        if (lead) write_outputs(options, history.epochs);
        if (progress != Progress::none) {
            if (progress == Progress::bar) out << "\r\033[K";
            out << fmt::format("epoch {}/{}  train loss {:.4f} acc {}", epoch, options.epochs, record.train_loss,
                               percent(record.train_accuracy));
            if (validation)
                out << fmt::format("  val loss {:.4f} acc {}", record.val_loss, percent(record.val_accuracy));
            out << fmt::format("  grad norm {:.3g} (max {:.3g})", record.grad_norm_mean, record.grad_norm_max);
            if (options.clip_grad_norm > 0)
                out << fmt::format(", clipped {}/{} steps", record.clipped_steps, optimizer_steps);
            out << fmt::format("  {:.1f}s{}\n", record.seconds, improved ? "  *" : "") << std::flush;
        }
        if (options.patience > 0 && since_best >= options.patience && epoch < options.epochs) {
            history.stopped_early = true;
            if (progress != Progress::none)
                out << fmt::format("early stop: no improvement for {} epochs (best: epoch {})\n", options.patience,
                                   history.best_epoch);
            break;
        }
    }
    return history;
}

Evaluation evaluate(Module& model, const LossFn& loss, data::DataLoader& data, std::size_t classes) {
    NoGrad off;
    const bool was_training = model.is_training();
    model.eval();
    Evaluation result;
    if (classes > 0) result.confusion.assign(classes, std::vector<std::size_t>(classes, 0));
    double loss_sum = 0;
    long correct = 0;
    std::size_t seen = 0;
    data.reset();
    data::Batch batch;
    while (data.next(batch)) {
        Tensor output = model(batch.inputs);
        const std::size_t n = batch.inputs.shape()[0];
        loss_sum += loss(output, batch.targets).item() * static_cast<double>(n);
        const long c = correct_in(output, batch.targets);
        correct = c < 0 || correct < 0 ? -1 : correct + c;
        seen += n;
        if (classes > 0 && c >= 0) {
            const auto predicted = argmax(output, 1).to_vector();
            const auto truth = batch.targets.to_vector();
            for (std::size_t i = 0; i < n; ++i) {
                const auto t = static_cast<std::size_t>(truth[i]), p = static_cast<std::size_t>(predicted[i]);
                if (t < classes && p < classes) ++result.confusion[t][p];
            }
        }
    }
    model.train(was_training);
    if (seen == 0) fail("evaluate: the data set is empty");
    result.loss = loss_sum / static_cast<double>(seen);
    result.samples = seen;
    result.accuracy = correct < 0 ? nan : static_cast<double>(correct) / static_cast<double>(seen);
    return result;
}

std::string confusion_report(const Evaluation& e, const std::vector<std::string>& names) {
    const std::size_t k = e.confusion.size();
    auto label = [&](std::size_t i) {
        return i < names.size() ? fmt::format("{} {}", i, names[i]) : std::to_string(i);
    };
    std::size_t width = 11;
    for (std::size_t i = 0; i < k; ++i) width = std::max(width, label(i).size());
    std::ostringstream os;
    os << fmt::format("{:<{}}", "true \\ pred", width);
    for (std::size_t j = 0; j < k; ++j) os << fmt::format(" {:>5}", j);
    os << "   accuracy\n";
    for (std::size_t i = 0; i < k; ++i) {
        os << fmt::format("{:<{}}", label(i), width);
        std::size_t total = 0;
        for (std::size_t j = 0; j < k; ++j) {
            os << fmt::format(" {:>5}", e.confusion[i][j]);
            total += e.confusion[i][j];
        }
        os << fmt::format("   {}\n",
                          total ? percent(static_cast<double>(e.confusion[i][i]) / static_cast<double>(total)) : "-");
    }
    return os.str();
}

std::string chart_svg(const std::vector<EpochRecord>& epochs) {
    // Two panels, 420x300 each: axes, a few ticks, train (solid) and validation (dashed).
    std::ostringstream svg;
    svg << R"(<svg xmlns="http://www.w3.org/2000/svg" width="880" height="320" font-family="Helvetica, Arial, sans-serif" font-size="12">)"
        << "\n<rect width=\"880\" height=\"320\" fill=\"white\"/>\n";
    // Loss falls and accuracy rises: the legend sits where the curves are not.
    auto panel = [&](double x0, const char* title, auto train_of, auto val_of, bool as_percent) {
        const double left = x0 + 55, right = x0 + 420, top = 30, bottom = 270;
        double lo = std::numeric_limits<double>::infinity(), hi = -lo;
        for (const auto& e : epochs)
            for (double v : {train_of(e), val_of(e)})
                if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
        if (!std::isfinite(lo)) lo = 0, hi = 1;
        if (hi - lo < 1e-9) lo -= 0.5, hi += 0.5;
        const double pad = (hi - lo) * 0.05;
        lo -= pad;
        hi += pad;
        const std::size_t last = epochs.empty() ? 1 : std::max<std::size_t>(epochs.back().epoch, 2);
        const std::size_t firstx = epochs.empty() ? 1 : epochs.front().epoch;
        auto px = [&](double epoch) {
            return left + (right - left) * (epoch - static_cast<double>(firstx)) /
                              std::max<double>(1.0, static_cast<double>(last - firstx));
        };
        auto py = [&](double v) { return bottom - (bottom - top) * (v - lo) / (hi - lo); };
        svg << fmt::format("<text x=\"{}\" y=\"18\" font-weight=\"bold\">{}</text>\n", left, title);
        svg << fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"black\"/>\n", left, top, bottom);
        svg << fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"black\"/>\n", left, bottom,
                           right);
        for (int t = 0; t <= 4; ++t) {
            const double v = lo + (hi - lo) * t / 4, y = py(v);
            svg << fmt::format("<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>\n", left, y,
                               right, y);
            svg << fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", left - 4, y + 4,
                               as_percent ? fmt::format("{:.1f}%", 100 * v) : fmt::format("{:.3g}", v));
        }
        for (const auto& e : epochs)
            svg << fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                               px(static_cast<double>(e.epoch)), bottom + 16, e.epoch);
        svg << fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">epoch</text>\n", (left + right) / 2,
                           bottom + 34);
        auto curve = [&](auto value_of, const char* color, const char* dash) {
            std::string points;
            for (const auto& e : epochs)
                if (std::isfinite(value_of(e)))
                    points += fmt::format("{:.1f},{:.1f} ", px(static_cast<double>(e.epoch)), py(value_of(e)));
            if (!points.empty())
                svg << fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" stroke-dasharray=\"{}\" "
                                   "points=\"{}\"/>\n",
                                   color, dash, points);
        };
        curve(train_of, "#1f77b4", "none");
        curve(val_of, "#d62728", "6,4");
        const double legend = as_percent ? bottom - 34 : top + 12;
        svg << fmt::format("<text x=\"{}\" y=\"{}\" fill=\"#1f77b4\">train</text>", right - 90, legend)
            << fmt::format("<text x=\"{}\" y=\"{}\" fill=\"#d62728\">validation</text>\n", right - 90, legend + 16);
    };
    panel(
        0, "loss", [](const EpochRecord& e) { return e.train_loss; }, [](const EpochRecord& e) { return e.val_loss; },
        false);
    panel(
        440, "accuracy", [](const EpochRecord& e) { return e.train_accuracy; },
        [](const EpochRecord& e) { return e.val_accuracy; }, true);
    svg << "</svg>\n";
    return svg.str();
}

}  // namespace rg::nn
