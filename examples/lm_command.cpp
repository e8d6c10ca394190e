// `retrograd lm`: trains a character language model on a text corpus (the
// last tenth held out, reported in bits per character every epoch) with the
// training loop's checkpoints and --resume, or samples text from a trained one.
#include "lm_command.hpp"

#include "cli_args.hpp"

#include <retrograd/retrograd.hpp>

#include <chrono>
#include <filesystem>
#include <iostream>

namespace cli {

namespace {

namespace fs = std::filesystem;

struct ModelDefaults {
    const char *dim, *hidden, *layers;
};

ModelDefaults defaults_of(const std::string& model) {
    if (model == "transformer") return {"64", "256", "2"};
    return {"64", "128", "1"};  // gru, lstm
}

rg::nn::CharModelSpec spec_of(const LmArgs& a) {
    rg::nn::CharModelSpec spec;
    spec.kind = choice("--model", a.model, {"gru", "lstm", "transformer"});
    const ModelDefaults d = defaults_of(spec.kind);
    spec.dim = integer("--dim", a.dim.empty() ? d.dim : a.dim, 1, 4096);
    spec.hidden = integer("--hidden", a.hidden.empty() ? d.hidden : a.hidden, 1, 16384);
    spec.layers = integer("--layers", a.layers.empty() ? d.layers : a.layers, 1, 64);
    spec.heads = integer("--heads", a.heads.empty() ? "4" : a.heads, 1, 256);
    spec.context = integer("--context", a.context, 1, 100'000);
    if (spec.kind == "transformer" && spec.dim % spec.heads != 0)
        usage_error("--heads {} must divide --dim {}", spec.heads, spec.dim);
    return spec;
}

// The corpus, or a usage error saying what is wrong with it.
rg::data::TextCorpus corpus_of(const std::string& path) {
    try {
        return rg::data::read_text_corpus(path);
    } catch (const rg::Error& e) {
        usage_error("--corpus: {}", e.what());
    }
}

int sample(const LmArgs& a) {
    if (a.checkpoint.empty()) usage_error("--sample needs --checkpoint FILE (best.safetensors or last.safetensors)");
    if (!fs::is_regular_file(a.checkpoint)) usage_error("--checkpoint: '{}' is not a file", a.checkpoint);
    rg::nn::SampleOptions options;
    options.temperature = real("--temperature", a.temperature, {.above = 0});
    options.seed = integer("--seed", a.seed, 0, UINT64_MAX);
    options.length = integer("--length", a.length, 0, 1'000'000);
    std::shared_ptr<rg::nn::CharLanguageModel> model;
    try {
        model = rg::nn::load_char_model(a.checkpoint);
    } catch (const rg::Error& e) {
        usage_error("--checkpoint: {}", e.what());
    }
    std::u32string prompt;
    try {
        prompt = rg::data::utf8_decode(a.prompt, "--prompt");
        model->vocabulary().encode(prompt);
    } catch (const rg::Error& e) {
        usage_error("--prompt: {}", e.what());
    }
    const std::u32string text = rg::nn::sample_text(*model, prompt, options);
    std::cout << a.prompt << rg::data::utf8_encode(text) << "\n";
    return 0;
}

int train(const LmArgs& a) {
    const rg::nn::CharModelSpec spec = spec_of(a);
    const std::size_t epochs = integer("--epochs", a.epochs, 1, 1'000'000);
    const std::size_t batch = integer("--batch", a.batch, 1, 1'000'000);
    const double lr = real("--lr", a.lr, {.above = 0});
    const std::uint64_t seed = integer("--seed", a.seed, 0, UINT64_MAX);
    const std::size_t limit = integer("--limit", a.limit, 0, UINT64_MAX);
    const double clip_norm = real("--clip-norm", a.clip_norm, {.at_least = 0});
    if (!a.threads.empty()) rg::set_num_threads(static_cast<int>(integer("--threads", a.threads, 1, 1024)));
    if (a.out.empty()) usage_error("--out must name a directory (got '')");
    const std::string corpus_path = a.corpus.empty() ? rg::data::default_fortunes_dir : a.corpus;

    rg::data::TextCorpus corpus = corpus_of(corpus_path);
    if (limit > 0 && limit < corpus.text.size()) corpus.text.resize(limit);
    const rg::data::Vocabulary vocabulary(corpus.text);
    const std::vector<std::int64_t> ids = vocabulary.encode(corpus.text);
    // The held-out part is the last tenth, whole: no window crosses into it.
    const std::size_t held_out = ids.size() / 10;
    const std::vector<std::int64_t> train_ids(ids.begin(), ids.end() - static_cast<long>(held_out));
    const std::vector<std::int64_t> val_ids(ids.end() - static_cast<long>(held_out), ids.end());
    if (held_out < spec.context + 1)
        usage_error("--context {} is longer than the corpus allows: its held-out last tenth has {} characters, and a "
                    "window needs {} (use a shorter --context or a longer corpus)",
                    spec.context, held_out, spec.context + 1);

    std::map<std::string, std::string> settings{{"corpus", fmt::format("{:016x}", corpus.fingerprint)},
                                                {"limit", std::to_string(limit)},
                                                {"batch", std::to_string(batch)},
                                                {"lr", fmt::format("{}", lr)},
                                                {"seed", std::to_string(seed)}};
    // As rg::nn::train stores it: only when set, so that a resume with another value is refused.
    if (clip_norm > 0) settings["clip_grad_norm"] = fmt::format("{}", clip_norm);
    const fs::path out = a.out;
    const fs::path last = out / "last.safetensors";
    // Refused before anything is written: a checkpoint of another model or run stays as it is.
    if (a.resume && fs::exists(last)) {
        try {
            const auto saved = rg::nn::read_checkpoint(last.string());
            auto expected = settings;
            if (saved.state.settings.count("seed_each_epoch"))
                expected["seed_each_epoch"] = saved.state.settings.at("seed_each_epoch");
            rg::nn::check_resumable(saved.state, spec.to_string(), expected, last.string());
        } catch (const rg::Error& e) {
            usage_error("--resume: {}", e.what());
        }
    }

    rg::manual_seed(seed);
    auto model = std::make_shared<rg::nn::CharLanguageModel>(spec, vocabulary);
    rg::data::DataLoader train_loader(rg::data::char_windows(train_ids, spec.context, "the training text"),
                                      {.batch_size = batch, .shuffle = true, .seed = seed});
    rg::data::DataLoader val_loader(rg::data::char_windows(val_ids, spec.context, "the held-out text"),
                                    {.batch_size = 256});
    std::cout << fmt::format("corpus: {} characters from {} file{} of {}, {} distinct; {} to train on, the last {} "
                             "held out\n",
                             corpus.text.size(), corpus.files.size(), corpus.files.size() == 1 ? "" : "s", corpus_path,
                             vocabulary.size(), train_ids.size(), held_out);
    std::cout << fmt::format("model: {} ({} parameters); loss and val loss in bits per character\n", spec.to_string(),
                             model->parameter_count());
    rg::optim::Adam optimizer(model->parameters(), {.lr = lr});
    const auto start = std::chrono::steady_clock::now();
    const auto history = rg::nn::train(*model, optimizer, rg::nn::bits_per_character, train_loader, &val_loader,
                                       {.epochs = epochs,
                                        .checkpoint_dir = out.string(),
                                        .resume = a.resume,
                                        .metrics_csv = (out / "metrics.csv").string(),
                                        .chart_svg = (out / "chart.svg").string(),
                                        .model_name = spec.to_string(),
                                        .settings = settings,
                                        .seed_each_epoch = seed,
                                        .clip_grad_norm = clip_norm});
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (history.best_epoch == 0) return 0;
    const auto& best = history.epochs[history.best_epoch - 1];
    double trained = 0;
    for (const auto& e : history.epochs) trained += e.seconds;
    std::cout << fmt::format("best epoch {}: {:.3f} bits per character on the held-out text ({:.0f} s of training "
                             "over {} epochs{})\n",
                             history.best_epoch, best.val_loss, trained, history.epochs.size(),
                             history.resumed_after > 0 ? fmt::format(", {:.0f} s in this run", seconds) : "");
    rg::nn::load(*model, (out / "best.safetensors").string());
    std::cout << "sample (temperature 0.8, seed 1):\n"
              << rg::data::utf8_encode(rg::nn::sample_text(*model, U"", {.length = 200, .temperature = 0.8, .seed = 1}))
              << "\n";
    std::cout << fmt::format("wrote {}, {} and {}\n", last.string(), (out / "best.safetensors").string(),
                             (out / "metrics.csv").string());
    return 0;
}

}  // namespace

CLI::App* add_lm_command(CLI::App& app, LmArgs& a) {
    auto* cmd = app.add_subcommand("lm", "train a character language model on a text corpus, or sample from one");
    cmd->add_option("--model", a.model, "gru, lstm or transformer")->capture_default_str();
    cmd->add_option("--corpus", a.corpus,
                    "a text file, or a directory of fortune files (default: /usr/share/games/fortunes, Debian's "
                    "fortunes package)");
    cmd->add_option("--epochs", a.epochs, "train until this epoch (a resumed run may raise it)")->capture_default_str();
    cmd->add_option("--batch", a.batch, "windows per batch")->capture_default_str();
    cmd->add_option("--lr", a.lr, "Adam's learning rate (> 0)")->capture_default_str();
    cmd->add_option("--seed", a.seed, "random seed (initialisation and order; with --sample, the draws)")
        ->capture_default_str();
    cmd->add_option("--context", a.context, "characters per training window, the longest input the model reads")
        ->capture_default_str();
    cmd->add_option("--dim", a.dim, "embedding width (default: 64)");
    cmd->add_option("--hidden", a.hidden,
                    "recurrent state size, or feed-forward width (default: 128, transformer 256)");
    cmd->add_option("--layers", a.layers, "recurrent or transformer layers (default: 1, transformer 2)");
    cmd->add_option("--heads", a.heads, "attention heads of the transformer (default: 4)");
    cmd->add_option("--limit", a.limit, "use only the first N characters of the corpus (0: all)")->capture_default_str();
    cmd->add_option("--clip-norm", a.clip_norm,
                    "clip the gradients' total 2-norm to X before each step (0: off; the norm is reported either way)")
        ->capture_default_str();
    cmd->add_option("--threads", a.threads, "threads to compute on (default: every core, or OMP_NUM_THREADS)");
    cmd->add_option("--out", a.out, "where last.safetensors, best.safetensors, metrics.csv and chart.svg go")
        ->capture_default_str();
    cmd->add_flag("--resume", a.resume, "continue the run in OUT from its last.safetensors");
    cmd->add_flag("--sample", a.sample, "write text with the model of --checkpoint instead of training");
    cmd->add_option("--checkpoint", a.checkpoint, "with --sample: best.safetensors or last.safetensors of a run");
    cmd->add_option("--temperature", a.temperature, "with --sample: below 1 safer, above 1 wilder (> 0)")
        ->capture_default_str();
    cmd->add_option("--length", a.length, "with --sample: characters to write")->capture_default_str();
    cmd->add_option("--prompt", a.prompt, "with --sample: the text to continue (default: none)");
    for (CLI::Option* o : cmd->get_options()) o->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    return cmd;
}

int run_lm(const LmArgs& args) { return args.sample ? sample(args) : train(args); }

}  // namespace cli
