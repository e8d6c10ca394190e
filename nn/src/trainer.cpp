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
#include <unistd.h>

namespace rg::nn {
namespace {

using Clock = std::chrono::steady_clock;
constexpr double nan = std::numeric_limits<double>::quiet_NaN();

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// Correct predictions in a batch, or -1 when the targets are not class indices.
long correct_in(const Tensor& output, const Tensor& target) {
    if (target.dtype() != Dtype::int64 || output.dim() != 2) return -1;
    NoGrad off;
    return static_cast<long>(sum(eq(argmax(output, 1), target)).item());
}

std::string duration_str(double s) {
    const long t = static_cast<long>(s + 0.5);
    return t >= 3600 ? fmt::format("{}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60) : fmt::format("{}:{:02}", t / 60, t % 60);
}

std::string percent(double x) { return std::isnan(x) ? "-" : fmt::format("{:.2f}%", 100 * x); }

void write_csv(const std::string& path, const std::vector<EpochRecord>& epochs) {
    const std::string temp = path + ".tmp";
    {
        std::ofstream out(temp);
        if (!out) fail("train: cannot write metrics to '{}'", path);
        out << "epoch,train_loss,train_accuracy,val_loss,val_accuracy,seconds\n";
        for (const auto& e : epochs)
            out << fmt::format("{},{:.6f},{:.6f},{:.6f},{:.6f},{:.3f}\n", e.epoch, e.train_loss, e.train_accuracy,
                               e.val_loss, e.val_accuracy, e.seconds);
    }
    std::filesystem::rename(temp, path);
}

std::vector<EpochRecord> read_csv(const std::string& path) {
    std::vector<EpochRecord> out;
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
        EpochRecord e;
        if (std::sscanf(line.c_str(), "%zu,%lf,%lf,%lf,%lf,%lf", &e.epoch, &e.train_loss, &e.train_accuracy,
                        &e.val_loss, &e.val_accuracy, &e.seconds) == 6)
            out.push_back(e);
    }
    return out;
}

void write_text(const std::string& path, const std::string& text) {
    const std::string temp = path + ".tmp";
    {
        std::ofstream out(temp);
        if (!out) fail("train: cannot write '{}'", path);
        out << text;
    }
    std::filesystem::rename(temp, path);
}

}  // namespace

History train(Module& model, optim::Optimizer& optimizer, const LossFn& loss, data::DataLoader& train_data,
              data::DataLoader* validation, TrainOptions options) {
    if (!loss) fail("train: no loss function given");
    if (options.epochs == 0) fail("train: epochs must be positive");
    std::ostream& out = options.out ? *options.out : std::cout;
    Progress progress = options.progress;
    if (progress == Progress::automatic)
        progress = (&out == &std::cout && ::isatty(STDOUT_FILENO)) ? Progress::bar : Progress::lines;
    const ParallelHooks& parallel = options.parallel;
    const bool lead = parallel.rank == 0;  // the one rank that prints and writes files
    if (!lead) progress = Progress::none;
    namespace fs = std::filesystem;
    const fs::path dir = options.checkpoint_dir;
    if (!dir.empty()) fs::create_directories(dir);

    History history;
    std::size_t first = 1;
    double best = -std::numeric_limits<double>::infinity();
    if (parallel.sum) {  // every rank resumes, or none does
        std::vector<double> found{options.resume && !dir.empty() && fs::exists(dir / "last.safetensors") ? 1.0 : 0.0};
        parallel.sum(found);
        if (found[0] != 0 && found[0] != static_cast<double>(parallel.world_size))
            fail("train: only {} of {} ranks found {}; to resume, every rank must see the checkpoint directory "
                 "(a shared filesystem)", found[0], parallel.world_size, (dir / "last.safetensors").string());
    }
    if (options.resume && !dir.empty() && fs::exists(dir / "last.safetensors")) {
        load(model, (dir / "last.safetensors").string());
        if (fs::exists(dir / "last.optimizer.safetensors")) load(optimizer, (dir / "last.optimizer.safetensors").string());
        const auto meta = load_metadata((dir / "last.safetensors").string());
        first = std::stoul(meta.count("epoch") ? meta.at("epoch") : "0") + 1;
        if (meta.count("best")) best = std::stod(meta.at("best"));
        if (!options.metrics_csv.empty() && fs::exists(options.metrics_csv)) history.epochs = read_csv(options.metrics_csv);
        while (!history.epochs.empty() && history.epochs.back().epoch >= first) history.epochs.pop_back();
        if (options.scheduler)
            for (std::size_t e = 1; e < first; ++e) options.scheduler->step();
        if (progress != Progress::none) out << fmt::format("resuming after epoch {}\n", first - 1);
    }
    std::size_t since_best = 0;
    for (std::size_t epoch = first; epoch <= options.epochs; ++epoch) {
        const auto start = Clock::now();
        model.train();
        train_data.reset(epoch);
        double loss_sum = 0;
        long correct = 0;
        std::size_t seen = 0, step = 0;
        const std::size_t steps = train_data.batches();
        auto last_draw = Clock::now();
        data::Batch batch;
        while (train_data.next(batch)) {
            if (parallel.before_forward) parallel.before_forward();
            Tensor output = model(batch.inputs);
            Tensor l = loss(output, batch.targets);
            if (l.numel() != 1) fail("train: the loss has shape {}, expected one value", shape_str(l.shape()));
            const double value = l.item();
            if (!std::isfinite(value))
                fail("train: the loss became {} at epoch {}, step {}; lower the learning rate or check the data",
                     value, epoch, step + 1);
            optimizer.zero_grad();
            l.backward();
            if (parallel.synchronize) parallel.synchronize();
            optimizer.step();
            const std::size_t n = batch.inputs.shape()[0];
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
                                   correct < 0 ? "-" : percent(static_cast<double>(correct) / static_cast<double>(seen)),
                                   static_cast<double>(seen) / elapsed,
                                   duration_str(elapsed / static_cast<double>(step) * static_cast<double>(steps - step)))
                    << std::flush;
            }
        }
        if (seen == 0) fail("train: the training data has no batch (empty data set, or drop_last with too few samples)");
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
        record.seconds = seconds_since(start);
        history.epochs.push_back(record);
        if (options.scheduler) options.scheduler->step();

        // The best epoch: highest validation accuracy, else lowest validation or training loss.
        const double score = !std::isnan(record.val_accuracy) ? record.val_accuracy
                             : !std::isnan(record.val_loss)   ? -record.val_loss
                                                              : -record.train_loss;
        const bool improved = score > best;
        if (improved) {
            best = score;
            history.best_epoch = epoch;
            since_best = 0;
        } else {
            ++since_best;
        }
        if (lead && !dir.empty()) {
            const std::map<std::string, std::string> meta{
                {"format", "retrograd"}, {"model", options.model_name}, {"epoch", std::to_string(epoch)},
                {"best", fmt::format("{:.17g}", best)}};
            TensorMap tensors;
            for (auto& [name, t] : model.named_parameters()) tensors[name] = t;
            for (auto& [name, t] : model.named_buffers()) tensors[name] = t;
            if (improved) save_tensors(tensors, (dir / "best.safetensors").string(), meta);
            save_tensors(tensors, (dir / "last.safetensors").string(), meta);
            save(optimizer, (dir / "last.optimizer.safetensors").string());
        }
        if (lead && !options.metrics_csv.empty()) write_csv(options.metrics_csv, history.epochs);
        if (lead && !options.chart_svg.empty()) write_text(options.chart_svg, chart_svg(history.epochs));
        if (progress != Progress::none) {
            if (progress == Progress::bar) out << "\r\033[K";
            out << fmt::format("epoch {}/{}  train loss {:.4f} acc {}", epoch, options.epochs, record.train_loss,
                               percent(record.train_accuracy));
            if (validation)
                out << fmt::format("  val loss {:.4f} acc {}", record.val_loss, percent(record.val_accuracy));
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
    auto label = [&](std::size_t i) { return i < names.size() ? fmt::format("{} {}", i, names[i]) : std::to_string(i); };
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
        os << fmt::format("   {}\n", total ? percent(static_cast<double>(e.confusion[i][i]) / static_cast<double>(total)) : "-");
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
        auto px = [&](double epoch) { return left + (right - left) * (epoch - firstx) / std::max<double>(1.0, static_cast<double>(last - firstx)); };
        auto py = [&](double v) { return bottom - (bottom - top) * (v - lo) / (hi - lo); };
        svg << fmt::format("<text x=\"{}\" y=\"18\" font-weight=\"bold\">{}</text>\n", left, title);
        svg << fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"black\"/>\n", left, top, bottom);
        svg << fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"black\"/>\n", left, bottom, right);
        for (int t = 0; t <= 4; ++t) {
            const double v = lo + (hi - lo) * t / 4, y = py(v);
            svg << fmt::format("<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>\n", left, y, right, y);
            svg << fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", left - 4, y + 4,
                               as_percent ? fmt::format("{:.1f}%", 100 * v) : fmt::format("{:.3g}", v));
        }
        for (const auto& e : epochs)
            svg << fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", px(static_cast<double>(e.epoch)),
                               bottom + 16, e.epoch);
        svg << fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">epoch</text>\n", (left + right) / 2, bottom + 34);
        auto curve = [&](auto value_of, const char* color, const char* dash) {
            std::string points;
            for (const auto& e : epochs)
                if (std::isfinite(value_of(e)))
                    points += fmt::format("{:.1f},{:.1f} ", px(static_cast<double>(e.epoch)), py(value_of(e)));
            if (!points.empty())
                svg << fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" stroke-dasharray=\"{}\" points=\"{}\"/>\n",
                                   color, dash, points);
        };
        curve(train_of, "#1f77b4", "none");
        curve(val_of, "#d62728", "6,4");
        const double legend = as_percent ? bottom - 34 : top + 12;
        svg << fmt::format("<text x=\"{}\" y=\"{}\" fill=\"#1f77b4\">train</text>", right - 90, legend)
            << fmt::format("<text x=\"{}\" y=\"{}\" fill=\"#d62728\">validation</text>\n", right - 90, legend + 16);
    };
    panel(0, "loss", [](const EpochRecord& e) { return e.train_loss; }, [](const EpochRecord& e) { return e.val_loss; }, false);
    panel(440, "accuracy", [](const EpochRecord& e) { return e.train_accuracy; },
          [](const EpochRecord& e) { return e.val_accuracy; }, true);
    svg << "</svg>\n";
    return svg.str();
}

}  // namespace rg::nn
