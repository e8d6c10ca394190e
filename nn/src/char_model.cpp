// Character language models (recurrent and decoder-only Transformer), their
// loss in bits, sampling, and reading them back from training files.
#include <retrograd/nn/char_model.hpp>
#include <retrograd/nn/checkpoint.hpp>
#include <retrograd/nn/containers.hpp>
#include <retrograd/nn/init.hpp>
#include <retrograd/nn/losses.hpp>
#include <retrograd/nn/serialize.hpp>
#include <retrograd/ops.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numbers>
#include <random>
#include <sstream>

namespace rg::nn {

namespace {

std::size_t spec_number(const std::string& text, const std::string& key, const std::string& line) {
    std::size_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc() || end != text.data() + text.size())
        fail("CharModelSpec::parse: {} must be a whole number in '{}'", key, line);
    return value;
}

}  // namespace

std::string CharModelSpec::to_string() const {
    return fmt::format("{} dim={} hidden={} layers={} heads={} context={}", kind, dim, hidden, layers, heads, context);
}

void CharModelSpec::check() const {
    if (kind != "gru" && kind != "lstm" && kind != "transformer")
        fail("CharModelSpec: kind must be gru, lstm or transformer (got '{}')", kind);
    if (dim == 0 || hidden == 0 || layers == 0 || heads == 0 || context == 0)
        fail("CharModelSpec: dim, hidden, layers, heads and context must be at least 1 (got {})", to_string());
    if (kind == "transformer" && dim % heads != 0) fail("CharModelSpec: {} heads do not divide dim {}", heads, dim);
}

CharModelSpec CharModelSpec::parse(const std::string& text) {
    std::istringstream words(text);
    CharModelSpec spec;
    std::string word;
    if (!(words >> spec.kind)) fail("CharModelSpec::parse: '{}' names no model", text);
    std::size_t found = 0;
    while (words >> word) {
        const auto eq = word.find('=');
        const std::string key = word.substr(0, eq), value = eq == std::string::npos ? "" : word.substr(eq + 1);
        std::size_t* field = key == "dim"       ? &spec.dim
                             : key == "hidden"  ? &spec.hidden
                             : key == "layers"  ? &spec.layers
                             : key == "heads"   ? &spec.heads
                             : key == "context" ? &spec.context
                                                : nullptr;
        if (!field || eq == std::string::npos)
            fail("CharModelSpec::parse: '{}' in '{}' is not dim=, hidden=, layers=, heads= or context=", word, text);
        *field = spec_number(value, key, text);
        ++found;
    }
    if (found != 5) fail("CharModelSpec::parse: '{}' does not give the five sizes of a character model", text);
    spec.check();
    return spec;
}

CharLanguageModel::CharLanguageModel(CharModelSpec spec, const data::Vocabulary& vocabulary) : spec_(std::move(spec)) {
    spec_.check();
    const std::size_t v = vocabulary.size();
    std::vector<std::int64_t> points(vocabulary.characters().begin(), vocabulary.characters().end());
    characters_ = register_buffer("characters", from_indices(points));
    embedding_ = register_module("embedding", std::make_shared<Embedding>(v, spec_.dim));
    std::size_t features = spec_.dim;
    const RNNOptions recurrent{.num_layers = spec_.layers, .batch_first = true};
    if (spec_.kind == "gru") {
        gru_ = register_module("gru", std::make_shared<GRU>(spec_.dim, spec_.hidden, recurrent));
        features = spec_.hidden;
    } else if (spec_.kind == "lstm") {
        lstm_ = register_module("lstm", std::make_shared<LSTM>(spec_.dim, spec_.hidden, recurrent));
        features = spec_.hidden;
    } else {
        positions_ = register_module("positions", std::make_shared<Embedding>(spec_.context, spec_.dim));
        // Small embeddings, as GPT-2: the residual stream starts near zero and
        // the pre-norm blocks' outputs are not drowned by it.
        {
            NoGrad off;
            init::normal_(embedding_->weight, 0.0, 0.02);
            init::normal_(positions_->weight, 0.0, 0.02);
        }
        const TransformerLayerOptions layer{.dim_feedforward = spec_.hidden,
                                            .dropout = 0.0,
                                            .activation = TransformerActivation::gelu,
                                            .batch_first = true,
                                            .norm_first = true};
        // A ModuleList, so that the blocks are named blocks.0, blocks.1... as in PyTorch.
        auto blocks = register_module("blocks", std::make_shared<ModuleList>());
        for (std::size_t i = 0; i < spec_.layers; ++i) {
            blocks_.push_back(std::make_shared<TransformerEncoderLayer>(spec_.dim, spec_.heads, layer));
            blocks->push_back(blocks_.back());
        }
        norm_ = register_module("norm", std::make_shared<LayerNorm>(spec_.dim));
    }
    head_ = register_module("head", std::make_shared<Linear>(features, v));
}

Tensor CharLanguageModel::forward(const Tensor& ids) {
    if (!ids.defined() || ids.dtype() != Dtype::int64 || ids.dim() != 2)
        fail("CharLanguageModel: expected (N, T) int64 character ids, got {}",
             ids.defined() ? fmt::format("{} {}", dtype_name(ids.dtype()), shape_str(ids.shape())) : "undefined");
    const std::size_t t = ids.shape()[1];
    if (t > spec_.context || t == 0)
        fail("CharLanguageModel: an input of {} characters; this model reads 1 to {} (its context)", t, spec_.context);
    Tensor x = (*embedding_)(ids);
    if (gru_) {
        x = gru_->forward(x).output;
    } else if (lstm_) {
        x = lstm_->forward(x).output;
    } else {
        std::vector<std::int64_t> where(t);
        for (std::size_t i = 0; i < t; ++i) where[i] = static_cast<std::int64_t>(i);
        x = x + (*positions_)(from_indices(where));
        for (const auto& block : blocks_) x = (*block)(x, {.is_causal = true});
        x = (*norm_)(x);
    }
    return (*head_)(x);
}

std::string CharLanguageModel::describe() const {
    return fmt::format("CharLanguageModel({}, vocabulary {})", spec_.to_string(), characters_.numel());
}

data::Vocabulary CharLanguageModel::vocabulary() const {
    std::u32string text;
    for (const double c : characters_.to_vector()) text.push_back(static_cast<char32_t>(c));
    return data::Vocabulary(text);
}

Tensor bits_per_character(const Tensor& logits, const Tensor& targets) {
    if (logits.dim() != 3) fail("bits_per_character: expected logits (N, T, V), got {}", shape_str(logits.shape()));
    const auto v = static_cast<std::int64_t>(logits.shape()[2]);
    return cross_entropy(logits.reshape({-1, v}), targets.reshape({-1})) * (1.0 / std::numbers::ln2);
}

std::u32string sample_text(CharLanguageModel& model, const std::u32string& prompt, const SampleOptions& options) {
    if (!std::isfinite(options.temperature) || !(options.temperature > 0))
        fail("sample_text: the temperature must be a finite number > 0 (got {})", options.temperature);
    const data::Vocabulary vocabulary = model.vocabulary();
    std::vector<std::int64_t> ids = vocabulary.encode(prompt);
    if (ids.empty()) {
        const std::u32string& all = vocabulary.characters();
        const bool has_newline = std::binary_search(all.begin(), all.end(), U'\n');
        ids.push_back(has_newline ? vocabulary.encode(U"\n")[0] : 0);
    }
    const std::size_t context = model.spec().context;
    NoGrad off;
    const bool was_training = model.is_training();
    model.eval();
    std::mt19937_64 engine(options.seed);
    std::vector<std::int64_t> written;
    for (std::size_t n = 0; n < options.length; ++n) {
        const std::size_t from = ids.size() > context ? ids.size() - context : 0;
        const std::vector<std::int64_t> window(ids.begin() + static_cast<long>(from), ids.end());
        const auto t = static_cast<std::int64_t>(window.size());
        const Tensor logits = model(from_indices(window, {1, t})).select(1, t - 1).reshape({-1});
        // softmax(logits / temperature) in double, its largest term 1.
        const std::vector<double> z = logits.to_vector();
        const double top = *std::max_element(z.begin(), z.end());
        std::vector<double> p(z.size());
        double total = 0;
        for (std::size_t i = 0; i < z.size(); ++i) total += p[i] = std::exp((z[i] - top) / options.temperature);
        // A uniform draw in [0, total) from the engine's 53 high bits: the same on every standard library.
        const double u = static_cast<double>(engine() >> 11) * 0x1.0p-53 * total;
        std::size_t pick = 0;
        for (double cumulative = p[0]; cumulative <= u && pick + 1 < p.size(); cumulative += p[++pick]) {
        }
        ids.push_back(static_cast<std::int64_t>(pick));
        written.push_back(static_cast<std::int64_t>(pick));
    }
    model.train(was_training);
    return vocabulary.decode(written);
}

std::shared_ptr<CharLanguageModel> load_char_model(const std::string& path) {
    const auto meta = load_metadata(path);
    const bool checkpoint = meta.count("format") && meta.at("format") == checkpoint_format;
    TensorMap tensors;
    std::string name;
    if (checkpoint) {
        Checkpoint c = read_checkpoint(path);
        tensors = std::move(c.model);
        name = c.state.model_name;
    } else {
        tensors = load_tensors(path);
        name = meta.count("model") ? meta.at("model") : "";
    }
    const auto characters = tensors.find("characters");
    if (characters == tensors.end() || name.empty()) {
        const std::string what = describe_saved_file(path);
        fail("load_char_model: '{}' holds {}, not a character language model", path,
             what.empty() ? "other tensors" : what);
    }
    CharModelSpec spec;
    try {
        spec = CharModelSpec::parse(name);
    } catch (const Error&) {
        fail("load_char_model: '{}' holds a {} model, not a character language model", path, name);
    }
    std::u32string text;
    for (const double c : characters->second.to_vector()) text.push_back(static_cast<char32_t>(c));
    auto model = std::make_shared<CharLanguageModel>(spec, data::Vocabulary(text));
    load_weights(*model, tensors, fmt::format("'{}'", path));
    return model;
}

}  // namespace rg::nn
