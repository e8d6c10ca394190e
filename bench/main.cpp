// The side-by-side suite's driver. Every workload has an ours, a LibTorch
// and often a bound side; each side of each workload is timed in a process
// of its own (this program again, with --only NAME), the sides alternated
// workload by workload so they share the machine's noise, R times; the
// medians make the table, which --report FILE also writes into the
// generated part of docs/performance.md. Memory is measured in child
// processes too, one per side.
//
//   retrograd_bench [--threads N|all] [--repetitions R] [--report FILE] [--skip-memory] [--losses]
//                   [--conv-kernel automatic|own|onednn]
//                   [Google Benchmark flags, e.g. --benchmark_filter=MLP]
//
// --benchmark_filter selects the sides to time (a regular expression over
// names such as "CNN step/libtorch") and the workloads whose memory runs run;
// the other Google Benchmark flags are passed to every timed process.
//
// On several threads (--threads N, N > 1) each side also runs on one thread
// next to each of its N-thread runs, and a second table gives each side's
// speed-up from 1 to N threads, the median of the ratios
// of consecutive runs (a shared machine's multi-thread times drift more
// than its one-thread times, so runs made minutes apart do not compare).
//
// --conv-kernel forces retrograd's float32 convolutions onto im2col + GEMM
// (own) or oneDNN (docs/performance.md compares them). --losses prints
// LibTorch's first training losses instead (to compare runs under different
// OpenBLAS settings). The first line says which kernels each side runs:
// OpenBLAS's core (one OpenBLAS serves both sides; the line names the library
// LibTorch's sgemm_ resolves to) and oneDNN's instruction set.
#include "suite.hpp"

#include <retrograd/detail/conv_kernel.hpp>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <dlfcn.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

struct Options {
    int threads = 1;
    int repetitions = 5;
    std::optional<std::string> report;
    bool skip_memory = false;  // for profiling one workload
    bool losses = false;
    rg::detail::ConvKernel conv_kernel = rg::detail::ConvKernel::automatic;
    std::optional<std::string> memory_child;  // "ours" or "torch": run the memory workload and print it
    std::optional<std::string> only;  // a child process: time this one benchmark and print its seconds
    bool wall_time = false;  // a child on one thread timed in wall time, as its N-thread pair is
    std::vector<char*> benchmark_args;
};

Options parse(int argc, char** argv) {
    Options o;
    o.benchmark_args.push_back(argv[0]);
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
            return argv[++i];
        };
        if (a == "--threads") {
            auto v = value();
            o.threads = v == "all" ? static_cast<int>(std::thread::hardware_concurrency()) : std::stoi(v);
            if (o.threads < 1) throw std::runtime_error("--threads must be at least 1 or 'all'");
        } else if (a == "--repetitions") {
            o.repetitions = std::stoi(value());
            if (o.repetitions < 1) throw std::runtime_error("--repetitions must be at least 1");
        } else if (a == "--report") {
            o.report = value();
        } else if (a == "--skip-memory") {
            o.skip_memory = true;
        } else if (a == "--losses") {
            o.losses = true;
        } else if (a == "--conv-kernel") {
            const std::string v = value();
            if (v == "own")
                o.conv_kernel = rg::detail::ConvKernel::own;
            else if (v == "onednn")
                o.conv_kernel = rg::detail::ConvKernel::onednn;
            else if (v != "automatic")
                throw std::runtime_error("--conv-kernel takes automatic, own or onednn, not " + v);
        } else if (a == "--memory") {
            o.memory_child = value();
        } else if (a == "--only") {
            o.only = value();
        } else if (a == "--wall-time") {
            o.wall_time = true;
        } else {
            o.benchmark_args.push_back(argv[i]);
        }
    }
    return o;
}

// OpenBLAS and OpenMP read their thread counts when the libraries load, before
// main; if the environment does not say `threads`, set it and start again.
void pin_threads_or_reexec(int threads, char** argv) {
    const std::string wanted = std::to_string(threads);
    bool ok = true;
    for (const char* name : {"OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"}) {
        const char* current = std::getenv(name);
        if (!current || wanted != current) {
            setenv(name, wanted.c_str(), 1);
            ok = false;
        }
    }
    if (!ok) {
        execv("/proc/self/exe", argv);
        throw std::runtime_error("could not re-execute with the thread settings");
    }
    bench::blas_set_threads(threads);
    bench::torch_set_threads(threads);
}

std::string self_path() {
    std::array<char, 4096> buffer{};
    auto n = readlink("/proc/self/exe", buffer.data(), buffer.size() - 1);
    if (n <= 0) throw std::runtime_error("cannot find this executable's path");
    return std::string(buffer.data(), static_cast<std::size_t>(n));
}

std::string command_output(const std::string& command) {
    std::string out;
    if (FILE* pipe = popen(command.c_str(), "r")) {
        std::array<char, 256> buffer{};
        while (fgets(buffer.data(), buffer.size(), pipe)) out += buffer.data();
        pclose(pipe);
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
}

std::string cpu_model() {
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line;
    while (std::getline(cpuinfo, line))
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    return "unknown CPU";
}

// Where the process's BLAS symbol `name` comes from.
std::string library_of(const char* name) {
    Dl_info info{};
    void* symbol = dlsym(RTLD_DEFAULT, name);
    if (!symbol || !dladdr(symbol, &info) || !info.dli_fname) return "unresolved";
    return info.dli_fname;
}

std::string environment(const char* name) {
    const char* value = std::getenv(name);
    return value ? fmt::format("{}={}", name, value) : fmt::format("{} unset", name);
}

// Which kernels each side runs: the run's conditions, printed and reported.
std::string kernels_line() {
    return fmt::format("OpenBLAS core {} ({}, {}): retrograd's float64 products, and LibTorch's BLAS calls "
                       "(sgemm_ from {}). oneDNN instruction set {}: retrograd's float32 products and "
                       "convolutions.\n",
                       bench::blas_core(), environment("OPENBLAS_CORETYPE"), environment("OPENBLAS_L2_SIZE"),
                       library_of("sgemm_"), dnnl_cpu_isa2str(dnnl_get_effective_cpu_isa()));
}

int print_losses() {
    for (bool cnn : {false, true}) {
        fmt::print("LibTorch {} losses:", cnn ? "CNN" : "MLP");
        for (double l : bench::torch_losses(cnn, 20)) fmt::print(" {:.9g}", l);
        fmt::print("\n");
    }
    return 0;
}

// ---- collecting the medians ---------------------------------------------------

class SecondsCollector : public benchmark::ConsoleReporter {
public:
    // "workload/side" -> process CPU seconds per iteration (the median, over
    // repetitions). CPU time, not wall time: on a shared machine the wall clock
    // also counts the time other processes hold the core, which differs from
    // run to run and side to side.
    std::map<std::string, double> seconds;
    bool wall_time = false;  // several threads: wall time instead (register_one)

    void ReportRuns(const std::vector<Run>& runs) override {
        ConsoleReporter::ReportRuns(runs);
        for (const auto& run : runs) {
            if (run.error_occurred) continue;
            const bool single = run.run_type == Run::RT_Iteration && run.repetitions <= 1;
            if (!single && run.aggregate_name != "median") continue;
            auto name = run.run_name;
            name.time_type.clear();  // "/process_time"
            seconds[name.str()] = (wall_time ? run.GetAdjustedRealTime() : run.GetAdjustedCPUTime()) /
                                  benchmark::GetTimeUnitMultiplier(run.time_unit);
        }
    }
};

struct Workload {
    std::string name;
    std::function<void(benchmark::State&)> ours, torch, bound;
    std::vector<std::int64_t> args;
};

std::vector<Workload> workloads() {
    using namespace bench;
    return {
        {"tape overhead", ours_tape, torch_tape, nullptr, {}},
        {"MLP step", ours_mlp_step, torch_mlp_step, blas_mlp_gemms, {}},
        {"CNN step", ours_cnn_step, torch_cnn_step, blas_cnn_gemms, {}},
        {"CNN-BN step", ours_cnn_bn_step, torch_cnn_bn_step, nullptr, {}},
        {"attention block", ours_attention, torch_attention, blas_attention_gemms, {}},
        {"matmul 128x784x256", ours_matmul, torch_matmul, blas_matmul, {128, 784, 256}},
        {"matmul 1024^3", ours_matmul, torch_matmul, blas_matmul, {1024, 1024, 1024}},
        {"elementwise x*a+b", ours_elementwise, torch_elementwise, memory_copy, {}},
        {"elementwise addcmul", ours_elementwise_fused, torch_elementwise_fused, memory_copy, {}},
        {"MLP Hessian-vector product", ours_mlp_hvp, torch_mlp_hvp, nullptr, {}},
        {"LSTM step", ours_lstm_step, torch_lstm_step, nullptr, {}},
        {"encoder layer step", ours_encoder_step, torch_encoder_step, nullptr, {}},
        {"encoder stack step", ours_encoder_stack_step, torch_encoder_stack_step, nullptr, {}},
        {"encoder stack step, checkpointed", ours_encoder_stack_checkpointed, nullptr, nullptr, {}},
        {"LSTM classifier step", ours_lstm_classifier_step, torch_lstm_classifier_step, nullptr, {}},
        {"ViT step", ours_vit_step, torch_vit_step, nullptr, {}},
    };
}

// One side of one workload, named as Google Benchmark names it
// ("matmul 1024^3/ours/1024/1024/1024").
struct Entry {
    std::string workload, side, name;
    std::function<void(benchmark::State&)> run;
    std::vector<std::int64_t> args;
};

std::vector<Entry> entries(const std::vector<Workload>& list) {
    std::vector<Entry> out;
    for (const auto& w : list) {
        for (const auto& [side, fn] : {std::pair{"ours", w.ours}, {"libtorch", w.torch}, {"bound", w.bound}}) {
            if (!fn) continue;
            std::string name = w.name + "/" + side;
            for (auto a : w.args) name += "/" + std::to_string(a);
            out.push_back({w.name, side, name, fn, w.args});
        }
    }
    return out;
}

// On one thread the suite compares process CPU time (the fair figure on a
// shared machine); on several, wall time: CPU time would count every
// thread's share and hide the speed-up the threads are for.
void register_one(const Entry& e, bool wall_time) {
    auto* b = benchmark::RegisterBenchmark((e.workload + "/" + e.side).c_str(), e.run);
    if (!e.args.empty()) b->Args(e.args);
    b->Unit(benchmark::kMicrosecond);
    b->MeasureProcessCPUTime();  // every thread of the process, not only the caller's
    if (wall_time) b->UseRealTime();
}

// ---- memory, in child processes ---------------------------------------------

// `which` is "ours-mlp", "torch-mlp", "ours-cnn" or "torch-cnn".
bench::MemoryReport memory_of(const std::string& which) {
    const auto out = command_output("'" + self_path() + "' --memory " + which);
    bench::MemoryReport r;
    std::istringstream in(out);
    if (!(in >> r.baseline >> r.at_step_100 >> r.at_last_step >> r.peak))
        throw std::runtime_error("memory run for " + which + " printed '" + out + "'");
    return r;
}

// Sequence workloads: "seq:ours:NAME" or "seq:torch:NAME" prints the peak
// resident memory above the baseline of `sequence_memory_steps` steps.
constexpr int sequence_memory_steps = 3;

double sequence_peak_of(const std::string& side, const std::string& name) {
    const std::string which = fmt::format("seq:{}:{}", side, name);
    const auto out = command_output(fmt::format("'{}' --memory {}", self_path(), which));
    double peak = 0;
    std::istringstream in(out);
    if (!(in >> peak)) throw std::runtime_error("memory run for " + which + " printed '" + out + "'");
    return peak;
}

int memory_child(const std::string& which) {
    if (which.rfind("seq:", 0) == 0) {
        const auto colon = which.find(':', 4);
        const std::string side = which.substr(4, colon - 4),
                          name = colon == std::string::npos ? "" : which.substr(colon + 1);
        const double peak = side == "ours" ? bench::ours_sequence_peak(name, sequence_memory_steps)
                                           : bench::torch_sequence_peak(name, sequence_memory_steps);
        fmt::print("{:.2f}\n", peak);
        return 0;
    }
    const std::map<std::string, bench::MemoryReport (*)()> runs = {{"ours-mlp", bench::ours_mlp_memory},
                                                                   {"torch-mlp", bench::torch_mlp_memory},
                                                                   {"ours-cnn", bench::ours_cnn_memory},
                                                                   {"torch-cnn", bench::torch_cnn_memory}};
    auto run = runs.find(which);
    if (run == runs.end()) throw std::runtime_error("--memory takes ours-mlp, torch-mlp, ours-cnn or torch-cnn");
    auto r = run->second();
    fmt::print("{:.2f} {:.2f} {:.2f} {:.2f}\n", r.baseline, r.at_step_100, r.at_last_step, r.peak);
    return 0;
}

struct Memory {
    bench::MemoryReport ours_mlp, torch_mlp, ours_cnn, torch_cnn;
    // Peak above baseline (MiB) of the sequence workloads: lstm, encoder,
    // encoder-stack on both sides; encoder-stack-checkpointed ours only.
    std::map<std::string, double> ours_sequence, torch_sequence;
};

constexpr std::string_view filter_flag = "--benchmark_filter=";

// --benchmark_filter's regular expression among Google Benchmark's flags, if given.
std::optional<std::regex> benchmark_filter(const std::vector<char*>& args) {
    std::optional<std::regex> filter;
    for (const char* a : args)
        if (const std::string_view arg = a; arg.starts_with(filter_flag))
            filter.emplace(std::string(arg.substr(filter_flag.size())));
    return filter;
}

// The memory runs of the workloads --benchmark_filter selects (all without one).
Memory measure_memory(const std::vector<char*>& args) {
    const std::optional<std::regex> filter = benchmark_filter(args);
    auto selected = [&](const std::string& workload) {
        return !filter || std::regex_search(workload + "/ours", *filter);
    };
    Memory memory;
    if (selected("MLP step")) memory.ours_mlp = memory_of("ours-mlp"), memory.torch_mlp = memory_of("torch-mlp");
    if (selected("CNN step")) memory.ours_cnn = memory_of("ours-cnn"), memory.torch_cnn = memory_of("torch-cnn");
    for (auto [workload, name] : {std::pair{"LSTM step", "lstm"}, std::pair{"encoder layer step", "encoder"},
                                  std::pair{"encoder stack step", "encoder-stack"}}) {
        if (!selected(workload)) continue;
        memory.ours_sequence[name] = sequence_peak_of("ours", name);
        memory.torch_sequence[name] = sequence_peak_of("torch", name);
    }
    if (selected("encoder stack step"))
        memory.ours_sequence["encoder-stack-checkpointed"] = sequence_peak_of("ours", "encoder-stack-checkpointed");
    return memory;
}

// ---- the table ----------------------------------------------------------------

std::string ms(double s) { return s < 1e-3 ? fmt::format("{:.1f} µs", s * 1e6) : fmt::format("{:.2f} ms", s * 1e3); }
std::string verdict(bool met) { return met ? "met" : "**missed**"; }

// The sequence models' rows: time against LibTorch (target ≤ 0.7), peak
// memory against LibTorch's (≤ 1), and the checkpointed encoder stack against
// the plain one (memory down by ≥ 40% for ≤ 35% more time).
std::string sequence_rows(const std::map<std::string, double>& t, const Memory& memory) {
    auto get = [&](const std::string& key) {
        auto it = t.find(key);
        return it == t.end() ? 0.0 : it->second;
    };
    std::string out;
    auto time_row = [&](const std::string& name, const std::string& label) {
        const double ours = get(name + "/ours"), torch = get(name + "/libtorch");
        if (ours == 0 || torch == 0) return;
        out += fmt::format("| {} | {} | {} | {:.2f} | | | | ≤ 0.7: {} |\n", label, ms(ours), ms(torch), ours / torch,
                           verdict(ours / torch <= 0.7));
    };
    time_row("LSTM step", "LSTM(28, 128) fwd+bwd, batch 64, 28 steps");
    time_row("encoder layer step", "TransformerEncoderLayer fwd+bwd (64×32×128, 4 heads, ff 512, dropout 0.1)");
    time_row("LSTM classifier step", "LSTM classifier step (Fashion-MNIST rows, batch 64, Adam)");
    time_row("ViT step",
             "ViT step (the vit model: 16 patches of width 64, 4 pre-norm GELU layers, dropout 0.1, batch 64, Adam)");
    {
        const double ours = get("encoder stack step/ours"), torch = get("encoder stack step/libtorch");
        if (ours > 0 && torch > 0)
            out += fmt::format("| TransformerEncoder, {} layers, fwd+bwd | {} | {} | {:.2f} | | | | |\n",
                               bench::encoder_layers, ms(ours), ms(torch), ours / torch);
    }
    auto memory_row = [&](const std::string& name, const std::string& label) {
        auto o = memory.ours_sequence.find(name), l = memory.torch_sequence.find(name);
        if (o == memory.ours_sequence.end() || l == memory.torch_sequence.end()) return;
        out += fmt::format("| {}: peak above baseline | {:.1f} MiB | {:.1f} MiB | {:.2f} | | | | ≤ LibTorch: {} |\n",
                           label, o->second, l->second, o->second / l->second, verdict(o->second <= l->second));
    };
    memory_row("lstm", "memory, LSTM step");
    memory_row("encoder", "memory, TransformerEncoderLayer step");
    memory_row("encoder-stack", "memory, TransformerEncoder step");
    {
        const double plain = get("encoder stack step/ours"),
                     checkpointed = get("encoder stack step, checkpointed/ours");
        if (plain > 0 && checkpointed > 0)
            out += fmt::format("| rg::checkpoint around {} of {} layers: time, with / without | {} | {} (without) | "
                               "{:.2f} | | | | ≤ 1.35: {} |\n",
                               bench::encoder_layers - 1, bench::encoder_layers, ms(checkpointed), ms(plain),
                               checkpointed / plain, verdict(checkpointed / plain <= 1.35));
        auto c = memory.ours_sequence.find("encoder-stack-checkpointed"),
             p = memory.ours_sequence.find("encoder-stack");
        if (c != memory.ours_sequence.end() && p != memory.ours_sequence.end())
            out += fmt::
                format("| rg::checkpoint around {} of {} layers: peak memory, with / without | {:.1f} MiB | {:.1f} MiB "
                       "(without) | {:.2f} | | | | ≤ 0.6: {} |\n",
                       bench::encoder_layers - 1, bench::encoder_layers, c->second, p->second, c->second / p->second,
                       verdict(c->second <= 0.6 * p->second));
    }
    return out;
}

std::string table(const std::map<std::string, double>& t, const Memory& memory) {
    const bench::MemoryReport& ours_mem = memory.ours_mlp;
    const bench::MemoryReport& torch_mem = memory.torch_mlp;
    auto get = [&](const std::string& key) {
        auto it = t.find(key);
        return it == t.end() ? 0.0 : it->second;
    };
    const double gemm_rate = 2.0 * 1024 * 1024 * 1024 / get("matmul 1024^3/bound/1024/1024/1024");
    std::string out;
    out +=
        "| workload | ours | LibTorch | ours / LibTorch | bound | ours vs bound | GFLOP/s (of BLAS rate) | target |\n";
    out += "|---|---|---|---|---|---|---|---|\n";

    {
        const double ours = get("tape overhead/ours") / (3 * bench::tape_steps);
        const double torch = get("tape overhead/libtorch") / (3 * bench::tape_steps);
        if (ours > 0 && torch > 0)
            out +=
                fmt::format("| tape overhead (per op, fwd+bwd) | {:.0f} ns | {:.0f} ns | {:.3f} | | | | ≤ 0.05: {} |\n",
                            ours * 1e9, torch * 1e9, ours / torch, verdict(ours / torch <= 0.05));
    }
    auto step_row = [&](const std::string& name, const std::string& label, double flops, double target) {
        const double ours = get(name + "/ours"), torch = get(name + "/libtorch"), bound = get(name + "/bound");
        if (ours == 0 || torch == 0 || bound == 0) return;  // filtered out
        out += fmt::format("| {} | {} | {} | {:.2f} | {} (GEMMs) | {:.2f}× | {:.1f} ({:.0f}%) | ≤ {}: {} |\n", label,
                           ms(ours), ms(torch), ours / torch, ms(bound), ours / bound, flops / ours / 1e9,
                           100 * flops / ours / gemm_rate, target, verdict(ours / torch <= target));
    };
    step_row("MLP step", "MLP step", bench::mlp_step_flops(), 0.6);
    step_row("CNN step", "CNN step", bench::cnn_step_flops(), 0.8);
    {
        const double ours = get("CNN-BN step/ours"), torch = get("CNN-BN step/libtorch");
        if (ours > 0 && torch > 0)
            out += fmt::format("| CNN-BN step (`--model cnn-bn`: BatchNorm2d, dropout, Adam, batch 128) | {} | {} | "
                               "{:.2f} | | | | |\n",
                               ms(ours), ms(torch), ours / torch);
    }
    step_row("attention block", "attention block fwd+bwd (32×64×128, 4 heads)", bench::attention_flops(), 0.8);
    for (auto [name, key, n, k, m] : {std::tuple{"matmul 128x784x256", "matmul 128x784x256", 128, 784, 256},
                                      std::tuple{"matmul 1024^3", "matmul 1024^3", 1024, 1024, 1024}}) {
        const std::string suffix = fmt::format("/{}/{}/{}", n, k, m);
        const double ours = get(std::string(key) + "/ours" + suffix),
                     torch = get(std::string(key) + "/libtorch" + suffix),
                     bound = get(std::string(key) + "/bound" + suffix);
        const double flops = 2.0 * n * k * m;
        if (ours == 0 || torch == 0 || bound == 0) continue;
        out += fmt::
            format("| {} | {} | {} | {:.2f} | {} (sgemm) | {:.0f}% of BLAS | {:.1f} ({:.0f}%) | ≥ 90% of BLAS: {} |\n",
                   name, ms(ours), ms(torch), ours / torch, ms(bound), 100 * bound / ours, flops / ours / 1e9,
                   100 * flops / ours / gemm_rate, verdict(bound / ours >= 0.9));
    }
    auto elementwise_row = [&](const std::string& name, const std::string& label) {
        const double ours = get(name + "/ours"), torch = get(name + "/libtorch"), copy = get(name + "/bound");
        const double bytes = 2.0 * bench::elementwise_rows * bench::elementwise_cols * sizeof(float);
        if (ours > 0 && torch > 0 && copy > 0)
            out += fmt::format("| {} | {} ({:.1f} GB/s) | {} ({:.1f} GB/s) | {:.2f} | {} (copy, {:.1f} GB/s) | {:.0f}% "
                               "of copy | | ≥ 70% of copy: {} |\n",
                               label, ms(ours), bytes / ours / 1e9, ms(torch), bytes / torch / 1e9, ours / torch,
                               ms(copy), bytes / copy / 1e9, 100 * copy / ours, verdict(copy / ours >= 0.7));
    };
    elementwise_row("elementwise x*a+b", "elementwise x*a+b, 4M floats (two ops)");
    elementwise_row("elementwise addcmul", "the same fused: addcmul(b, x, a)");
    {
        const double ours = get("MLP Hessian-vector product/ours"), torch = get("MLP Hessian-vector product/libtorch");
        if (ours > 0 && torch > 0)
            out += fmt::format("| MLP Hessian-vector product | {} | {} | {:.2f} | | | | |\n", ms(ours), ms(torch),
                               ours / torch);
    }
    if (ours_mem.peak > 0 && torch_mem.peak > 0) {
        const double ours_work = ours_mem.peak - ours_mem.baseline, torch_work = torch_mem.peak - torch_mem.baseline;
        const double growth = ours_mem.at_last_step - ours_mem.at_step_100;
        out += fmt::format("| memory, {} MLP steps: peak above baseline | {:.1f} MiB | {:.1f} MiB | {:.2f} | | | | ≤ "
                           "LibTorch: {} |\n",
                           bench::memory_steps, ours_work, torch_work, ours_work / torch_work,
                           verdict(ours_work <= torch_work));
        out += fmt::
            format("| memory: growth from step 100 to {} | {:+.1f} MiB | {:+.1f} MiB | | | | | flat (≤ 1 MiB): {} |\n",
                   bench::memory_steps, growth, torch_mem.at_last_step - torch_mem.at_step_100,
                   verdict(std::abs(growth) <= 1.0));
    }
    if (memory.ours_cnn.peak > 0 && memory.torch_cnn.peak > 0) {
        const double ours_work = memory.ours_cnn.peak - memory.ours_cnn.baseline,
                     torch_work = memory.torch_cnn.peak - memory.torch_cnn.baseline;
        out += fmt::format("| memory, {} CNN steps: peak above baseline | {:.1f} MiB | {:.1f} MiB | {:.2f} | | | | ≤ "
                           "LibTorch: {} |\n",
                           bench::cnn_memory_steps, ours_work, torch_work, ours_work / torch_work,
                           verdict(ours_work <= torch_work));
    }
    out += sequence_rows(t, memory);
    if (std::isfinite(gemm_rate))
        out += fmt::format("\nGEMM rate in this run (oneDNN sgemm 1024³, the bound of every row): {:.1f} GFLOP/s. "
                           "FLOPs per step (GEMMs only): MLP {:.1f} M, CNN {:.1f} M, attention {:.1f} M.\n",
                           gemm_rate / 1e9, bench::mlp_step_flops() / 1e6, bench::cnn_step_flops() / 1e6,
                           bench::attention_flops() / 1e6);
    if (ours_mem.peak > 0 && torch_mem.peak > 0)
        out += fmt::
            format("Memory, absolute peak resident: MLP ours {:.0f} MiB, LibTorch {:.0f} MiB; CNN ours {:.0f} MiB, "
                   "LibTorch {:.0f} MiB (baselines {:.0f}, {:.0f}, {:.0f} and {:.0f} MiB: the same process image with "
                   "both libraries loaded, the model, 16 random batches).\n",
                   ours_mem.peak, torch_mem.peak, memory.ours_cnn.peak, memory.torch_cnn.peak, ours_mem.baseline,
                   torch_mem.baseline, memory.ours_cnn.baseline, memory.torch_cnn.baseline);
    return out;
}

// Which ops of the attention forward allocate a buffer, on each side.
std::string attention_allocations() {
    const auto ours = bench::ours_attention_allocations(), torch = bench::torch_attention_allocations();
    std::string out = "\nAttention forward, buffers of 64 KiB or more allocated by each op "
                      "(ours: rg::cache_stats() hits + misses; LibTorch: a counting CPU allocator):\n\n"
                      "| op | ours | LibTorch |\n|---|---|---|\n";
    std::size_t ours_total = 0, torch_total = 0;
    for (std::size_t i = 0; i < ours.size() && i < torch.size(); ++i) {
        out += fmt::format("| {} | {} | {} |\n", ours[i].op, ours[i].buffers, torch[i].buffers);
        ours_total += ours[i].buffers;
        torch_total += torch[i].buffers;
    }
    out += fmt::format("| total | {} | {} |\n", ours_total, torch_total);
    return out;
}

// ---- timing, each side of each workload in its own process ------------------
//
// A library's speed can depend on what ran before it in the process, not
// only on its code: LibTorch allocates its CPU tensors with glibc's malloc,
// whose thresholds for handing freed memory back to the system rise after
// large blocks are freed. In a plain LibTorch program (2026-12-06, this
// suite's CNN step on one thread) the step took 35 ms, and 31 ms when the
// program had first freed one 20 MB buffer: fewer page faults per step. In
// one process, each side's allocations would set the other's thresholds. So
// each side of each workload runs in a fresh process of its own, with the
// data loading its workload does; the sides alternate, workload by workload,
// so they still share the machine's noise.

constexpr const char* seconds_marker = "@seconds ";

// The --conv-kernel value that selects `kernel`.
const char* conv_kernel_flag(rg::detail::ConvKernel kernel) {
    switch (kernel) {
        case rg::detail::ConvKernel::own: return "own";
        case rg::detail::ConvKernel::onednn: return "onednn";
        case rg::detail::ConvKernel::automatic: break;
    }
    return "automatic";
}

// A child process (--only NAME): one run of that benchmark, its seconds printed.
int time_one(const Options& o) {
    const auto list = entries(workloads());
    const auto it = std::find_if(list.begin(), list.end(), [&](const Entry& e) { return e.name == *o.only; });
    if (it == list.end()) throw std::runtime_error("--only names no benchmark: " + *o.only);
    auto args = o.benchmark_args;
    int count = static_cast<int>(args.size());
    benchmark::Initialize(&count, args.data());
    const bool wall_time = o.threads > 1 || o.wall_time;
    register_one(*it, wall_time);
    SecondsCollector collector;
    collector.wall_time = wall_time;
    benchmark::RunSpecifiedBenchmarks(&collector);
    const auto seconds = collector.seconds.find(it->name);
    if (seconds == collector.seconds.end()) throw std::runtime_error(it->name + " reported no time");
    fmt::print("{}{:.9g}\n", seconds_marker, seconds->second);
    return 0;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// What the children measured: each benchmark's seconds by name, one per
// repetition, on o.threads threads; with several, also on one thread (wall
// time), each run next to its N-thread run.
struct Samples {
    std::map<std::string, std::vector<double>> threads, one_thread;
};

// The median of each benchmark's seconds, by name.
std::map<std::string, double> medians_of(const std::map<std::string, std::vector<double>>& samples) {
    std::map<std::string, double> medians;
    for (const auto& [name, v] : samples) medians[name] = median(v);
    return medians;
}

// Every selected benchmark, `repetitions` times, each run a child process.
// On several threads, each side also runs on one thread right after (or before: the order alternates) its run on N, so
// that each speed-up is the ratio of two consecutive runs, under the same noise: a shared machine's multi-thread times
// drift more than its one-thread times.
Samples time_in_children(const Options& o) {
    const std::optional<std::regex> filter = benchmark_filter(o.benchmark_args);
    std::string passed;  // Google Benchmark's other flags, for the children
    for (std::size_t i = 1; i < o.benchmark_args.size(); ++i)
        if (!std::string_view(o.benchmark_args[i]).starts_with(filter_flag))
            passed += fmt::format(" '{}'", o.benchmark_args[i]);
    std::vector<Entry> selected;
    for (auto& e : entries(workloads()))
        if (!filter || std::regex_search(e.name, *filter)) selected.push_back(std::move(e));
    Samples samples;
    const auto run = [&](int r, const Entry& e, int threads) {
        const bool paired = threads != o.threads;
        const std::string out =
            command_output(fmt::format("'{}' --threads {} --conv-kernel {}{} --only '{}'{}", self_path(), threads,
                                       conv_kernel_flag(o.conv_kernel), paired ? " --wall-time" : "", e.name, passed));
        const auto at = out.rfind(seconds_marker);
        if (at == std::string::npos) throw std::runtime_error("the run of " + e.name + " printed no time:\n" + out);
        const double seconds = std::stod(out.substr(at + std::string(seconds_marker).size()));
        (paired ? samples.one_thread : samples.threads)[e.name].push_back(seconds);
        fmt::print("run {}/{}: {}{} {}\n", r + 1, o.repetitions, e.name, paired ? " (1 thread)" : "", ms(seconds));
        std::fflush(stdout);
    };
    for (int r = 0; r < o.repetitions; ++r) {
        for (std::size_t first = 0; first < selected.size();) {
            std::size_t end = first;
            while (end < selected.size() && selected[end].workload == selected[first].workload) ++end;
            std::vector<const Entry*> sides;
            for (std::size_t i = first; i < end; ++i) sides.push_back(&selected[i]);
            if (r % 2) std::reverse(sides.begin(), sides.end());  // neither side always first
            for (const Entry* e : sides) {
                const bool paired = o.threads > 1;
                if (paired && r % 2) run(r, *e, 1);
                run(r, *e, o.threads);
                if (paired && r % 2 == 0) run(r, *e, 1);
            }
            first = end;
        }
    }
    return samples;
}

// The speed-up table of a run on several threads: each side's median wall
// times on 1 and N threads and the median of its per-repetition ratios.
std::string speedup_table(const Samples& samples, int threads) {
    const std::set<std::string> targeted = {"CNN step/ours", "matmul 1024^3/ours/1024/1024/1024",
                                            "elementwise x*a+b/ours"};
    std::string out = fmt::
        format("\nSpeed-up from 1 to {0} threads: each side also ran on one thread, next to each of its runs on {0} "
               "(the "
               "order alternating), both in wall time; the speed-up is the median of the repetitions' ratios. The GEMM "
               "bounds (oneDNN's sgemm, split over the threads) show what the machine gave in the same minutes; the "
               "elementwise rows' bound, a memcpy, runs on one thread either way.\n\n"
               "| workload/side | 1 thread | {0} threads | speed-up | each repetition | target "
               "|\n|---|---|---|---|---|---|\n",
               threads);
    for (const auto& [name, one] : samples.one_thread) {
        const auto many = samples.threads.find(name);
        if (many == samples.threads.end() || many->second.size() != one.size()) continue;
        std::vector<double> ratios;
        for (std::size_t i = 0; i < one.size(); ++i) ratios.push_back(one[i] / many->second[i]);
        const double speedup = median(ratios);
        const std::string target =
            threads == 2 && targeted.count(name) ? fmt::format("≥ 1.7×: {}", verdict(speedup >= 1.7)) : "";
        std::string each;
        for (double ratio : ratios) each += fmt::format("{}{:.2f}", each.empty() ? "" : ", ", ratio);
        out += fmt::format("| {} | {} | {} | {:.2f}× | {} | {} |\n", name, ms(median(one)), ms(median(many->second)),
                           speedup, each, target);
    }
    return out;
}

// Replaces what lies between the two markers of the report page.
void write_report(const std::string& path, const std::string& generated) {
    const std::string begin = "<!-- bench:begin -->", end = "<!-- bench:end -->";
    std::string page;
    {
        std::ifstream in(path);
        std::stringstream s;
        s << in.rdbuf();
        page = s.str();
    }
    const auto b = page.find(begin), e = page.find(end);
    if (b == std::string::npos || e == std::string::npos || e < b)
        throw std::runtime_error(path + " lacks the " + begin + " / " + end + " markers");
    page = page.substr(0, b + begin.size()) + "\n" + generated + page.substr(e);
    const std::string temporary = path + ".tmp";
    std::ofstream(temporary) << page;
    if (std::rename(temporary.c_str(), path.c_str()) != 0) throw std::runtime_error("cannot write " + path);
}

}  // namespace

int main(int argc, char** argv) try {
    Options options = parse(argc, argv);
    pin_threads_or_reexec(options.threads, argv);
    if (options.memory_child) return memory_child(*options.memory_child);
    rg::detail::force_conv_kernel(options.conv_kernel);
    if (options.only) return time_one(options);
    fmt::print("{}", kernels_line());
    if (options.losses) return print_losses();

    Memory memory;
    if (!options.skip_memory) memory = measure_memory(options.benchmark_args);
    const Samples samples = time_in_children(options);
    const auto seconds = medians_of(samples.threads);

    const std::string header =
        fmt::format("Measured {:%Y-%m-%d} at commit {} on {} ({} thread{}), medians of {} repetitions, each side "
                    "of each workload in a process of its own, the sides alternated ({}).\n\n",
                    fmt::localtime(std::time(nullptr)), command_output("git describe --always --dirty 2>/dev/null"),
                    cpu_model(), options.threads, options.threads == 1 ? "" : "s", options.repetitions,
                    options.threads == 1 ? "process CPU time" : "wall time");
    std::string result = header + kernels_line() + "\n" + table(seconds, memory) + attention_allocations();
    if (options.threads > 1) result += speedup_table(samples, options.threads);
    fmt::print("\n{}", result);
    if (options.report) {
        write_report(*options.report, result);
        fmt::print("\nwrote {}\n", *options.report);
    }
    return 0;
} catch (const std::exception& e) {
    fmt::print(stderr, "retrograd_bench: {}\n", e.what());
    return 1;
}
