#pragma once
// `retrograd lm`: a character language model trained on a plain-text corpus
// (Debian's fortunes by default), and text sampled from it (docs/cli.md).
#include <CLI/CLI.hpp>

#include <string>

namespace cli {

// The options as typed; numbers stay text until checked.
struct LmArgs {
    std::string model = "gru", corpus, out = "runs/char-lm", checkpoint, prompt;
    std::string epochs = "2", batch = "32", lr = "0.003", seed = "0", context = "64", dim, hidden, layers, heads,
                limit = "0", threads, temperature = "0.8", length = "200", clip_norm = "0";
    bool resume = false, sample = false;
};

// Adds the lm command and its options to `app`; they are written into `args`.
CLI::App* add_lm_command(CLI::App& app, LmArgs& args);

// Trains, or samples with --sample. Throws cli::UsageError (exit 2) for a
// mistake in the options or the input files, rg::Error for a failure.
int run_lm(const LmArgs& args);

}  // namespace cli
