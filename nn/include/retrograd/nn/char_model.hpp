#pragma once
/// @file
/// Character language models: a recurrent one (embedding, GRU or LSTM, a
/// linear map to the vocabulary) and a small decoder-only Transformer (token
/// and position embeddings, pre-norm encoder layers with a causal mask), their
/// loss in bits per character, sampling with a temperature and a seed, and
/// reading one back from a file written by the training loop.
#include <retrograd/data/text.hpp>
#include <retrograd/nn/layers.hpp>
#include <retrograd/nn/normalization.hpp>
#include <retrograd/nn/recurrent.hpp>
#include <retrograd/nn/transformer.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace rg::nn {

/// Which character model, and its sizes.
struct CharModelSpec {
    std::string kind = "gru";  ///< "gru", "lstm" or "transformer"
    std::size_t dim = 64;  ///< the embedding's width (the Transformer's d_model)
    std::size_t hidden = 256;  ///< the recurrent state's size; the Transformer's feed-forward width
    std::size_t layers = 1;  ///< recurrent or Transformer layers
    std::size_t heads = 4;  ///< attention heads (Transformer only; must divide dim)
    std::size_t context = 128;  ///< the longest input: the Transformer's position table, the sampling window
    /// One line that parse() reads back, e.g. "gru dim=64 hidden=256 layers=1 heads=4 context=128".
    std::string to_string() const;
    /// The spec of a to_string() line.
    /// @param text the line
    /// @throws rg::Error when the line is not one to_string() writes, or check() fails
    static CharModelSpec parse(const std::string& text);
    /// @throws rg::Error for an unknown kind, a size of 0, or heads not dividing dim
    void check() const;
};

/// A character language model: ids (N, T) int64 -> logits (N, T, V) of the
/// character following each position, T <= spec.context. The vocabulary's
/// code points are a buffer ("characters"), so every file of the weights
/// carries the vocabulary it was trained with.
class CharLanguageModel : public Module {
public:
    /// @param spec the kind and sizes
    /// @param vocabulary the characters it reads and writes
    /// @throws rg::Error when spec.check() fails
    CharLanguageModel(CharModelSpec spec, const data::Vocabulary& vocabulary);
    /// Logits (N, T, V) of the next character at every position.
    /// @param ids (N, T) int64 character ids
    /// @throws rg::Error when ids is not 2-D int64, or T exceeds spec().context
    Tensor forward(const Tensor& ids) override;
    /// "CharLanguageModel(<spec>, vocabulary V)".
    std::string describe() const override;
    /// The kind and sizes.
    const CharModelSpec& spec() const { return spec_; }
    /// The vocabulary, rebuilt from the "characters" buffer.
    data::Vocabulary vocabulary() const;

private:
    CharModelSpec spec_;
    Tensor characters_;
    std::shared_ptr<Embedding> embedding_, positions_;
    std::shared_ptr<GRU> gru_;
    std::shared_ptr<LSTM> lstm_;
    std::vector<std::shared_ptr<TransformerEncoderLayer>> blocks_;
    std::shared_ptr<LayerNorm> norm_;
    std::shared_ptr<Linear> head_;
};

/// The mean cross-entropy of the next characters in bits (log base 2), the
/// loss train() minimises for a CharLanguageModel.
/// @param logits (N, T, V)
/// @param targets (N, T) int64 ids
/// @throws rg::Error when the shapes do not fit (cross_entropy's errors)
Tensor bits_per_character(const Tensor& logits, const Tensor& targets);

/// How sample_text() draws.
struct SampleOptions {
    std::size_t length = 200;  ///< characters to write
    double temperature = 1.0;  ///< logits are divided by it: below 1 sharper, above 1 flatter (> 0)
    std::uint64_t seed = 0;  ///< the same seed gives the same text
};

/// Writes text after `prompt`, one character at a time, each drawn from the
/// model's softmax(logits / temperature) given the last spec().context
/// characters. An empty prompt starts after a newline when the vocabulary has
/// one, else after its first character. Draws use std::mt19937_64, so a seed
/// gives the same text on every machine for the same probabilities.
/// @param model the model (run in eval mode, nothing recorded)
/// @param prompt the text to continue
/// @param options length, temperature, seed
/// @return the characters written, without the prompt
/// @throws rg::Error when the temperature is not a finite number > 0, or the
///         prompt has a character outside the vocabulary
std::u32string sample_text(CharLanguageModel& model, const std::u32string& prompt, const SampleOptions& options);

/// A model read back from a file train() wrote: a checkpoint (last.safetensors)
/// or the best weights (best.safetensors).
/// @param path the file
/// @throws rg::Error when the file is missing, damaged, or holds no character model
std::shared_ptr<CharLanguageModel> load_char_model(const std::string& path);

}  // namespace rg::nn
