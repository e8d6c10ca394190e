#pragma once
/// @file
/// The Fashion-MNIST models of `retrograd train --model NAME` and the
/// benchmarks: the MLP and the CNN (Sequential), the CNN with BatchNorm and
/// dropout, two recurrent networks reading an image row by row, and a small
/// Vision Transformer. Each takes images (N, 1, 28, 28) and returns (N, 10)
/// logits, so any of them trains with rg::nn::train and cross_entropy.
#include <retrograd/nn/activations.hpp>
#include <retrograd/nn/layers.hpp>
#include <retrograd/nn/normalization.hpp>
#include <retrograd/nn/recurrent.hpp>
#include <retrograd/nn/transformer.hpp>

#include <memory>
#include <string>
#include <vector>

namespace rg::nn::models {

/// The MLP: 784-256-128-10 with ReLU; takes (N, 1, 28, 28) or (N, 784).
inline std::shared_ptr<Sequential> fashion_mlp() {
    return std::make_shared<Sequential>(Flatten(), Linear(784, 256), ReLU(), Linear(256, 128), ReLU(), Linear(128, 10));
}

/// The CNN: conv(1->32, 3x3)-ReLU-maxpool2-conv(32->64,
/// 3x3)-ReLU-maxpool2-flatten-linear(1600->128)-ReLU-linear(128->10).
inline std::shared_ptr<Sequential> fashion_cnn() {
    return std::make_shared<Sequential>(Conv2d(1, 32, 3), ReLU(), MaxPool2d(2), Conv2d(32, 64, 3), ReLU(), MaxPool2d(2),
                                        Flatten(), Linear(1600, 128), ReLU(), Linear(128, 10));
}

/// The CNN with BatchNorm and dropout ("cnn-bn"): two blocks of conv 3x3
/// (padding 1, no bias: BatchNorm's shift replaces it)-BatchNorm-ReLU-maxpool 2
/// (1->32 then 32->64 channels, 28x28 -> 7x7), then
/// dropout 0.25-linear(3136->128)-ReLU-dropout 0.25-linear(128->10).
std::shared_ptr<Sequential> fashion_cnn_bn();

/// Which recurrent layer a RowClassifier reads the rows with.
enum class RowCell {
    lstm,  ///< rg::nn::LSTM
    gru,  ///< rg::nn::GRU
};

/// The sizes of a RowClassifier.
struct RowClassifierOptions {
    RowCell cell = RowCell::lstm;  ///< LSTM or GRU
    std::size_t width = 28;  ///< pixels per row: the recurrent layer's input size
    std::size_t hidden = 128;  ///< the recurrent layer's hidden size
    std::size_t classes = 10;  ///< outputs of the last Linear
};

/// An image read row by row as a sequence ("lstm" and "gru"): the H rows of W
/// pixels are H time steps of a one-layer LSTM or GRU (batch_first), and its
/// last hidden state goes through a Linear to the class scores. Parameters:
/// rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0,
/// head.weight, head.bias.
class RowClassifier : public Module {
public:
    /// @param options the cell and sizes
    /// @throws rg::Error when a size is 0
    explicit RowClassifier(RowClassifierOptions options = {});
    /// The class scores (N, classes) of images (N, 1, H, W) or (N, H, W).
    /// @param images a batch of images with W = options.width pixels per row
    /// @throws rg::Error naming the shape received when it is not one of those
    Tensor forward(const Tensor& images) override;
    /// "RowClassifier(LSTM(28, 128, batch_first=true) -> Linear(128, 10))" and the like.
    std::string describe() const override;

    std::shared_ptr<LSTM> lstm;  ///< the recurrent layer when the cell is lstm (null otherwise)
    std::shared_ptr<GRU> gru;  ///< the recurrent layer when the cell is gru (null otherwise)
    std::shared_ptr<Linear> head;  ///< last hidden state -> class scores

private:
    RowClassifierOptions options_;
};

/// The sizes of a VisionTransformer.
struct VisionTransformerOptions {
    std::size_t image_size = 28;  ///< images are image_size x image_size
    std::size_t patch_size = 7;  ///< square patches; image_size must be a multiple
    std::size_t channels = 1;  ///< input channels
    std::size_t dim = 64;  ///< the width of every token
    std::size_t depth = 4;  ///< encoder layers
    std::size_t heads = 4;  ///< attention heads; dim must be a multiple
    std::size_t mlp_dim = 128;  ///< the feed-forward block's hidden width
    double dropout = 0.0;  ///< in the encoder layers, in training
    std::size_t classes = 10;  ///< outputs of the head
};

/// A small Vision Transformer ("vit"; Dosovitskiy et al., 2021): the image cut
/// into patches, each projected linearly to a token (a convolution whose kernel
/// and stride are the patch size), a learned position embedding added, `depth`
/// pre-norm encoder layers (TransformerEncoderLayer with norm_first, GELU),
/// a final LayerNorm, the mean of the tokens, and a Linear to the class scores.
/// Parameters: patch_embed.*, pos_embed (1, patches, dim), encoder.layers.K.*,
/// encoder.norm.*, head.*.
class VisionTransformer : public Module {
public:
    /// @param options the sizes
    /// @throws rg::Error when a size is 0, image_size is not a multiple of
    ///         patch_size or dim not a multiple of heads
    explicit VisionTransformer(VisionTransformerOptions options = {});
    /// The class scores (N, classes) of images (N, channels, image_size, image_size).
    /// @param images a batch of images
    /// @throws rg::Error naming the shape received when it is not that one
    Tensor forward(const Tensor& images) override;
    /// "VisionTransformer(patch 7, 16 tokens of 64, depth 4, 4 heads, mlp 128)" and the like.
    std::string describe() const override;

    std::shared_ptr<Conv2d> patch_embed;  ///< patches -> tokens
    Tensor pos_embed;  ///< (1, patches, dim), learned, initialised from N(0, 0.02²)
    std::shared_ptr<TransformerEncoder> encoder;  ///< the layers and the final LayerNorm
    std::shared_ptr<Linear> head;  ///< mean token -> class scores

private:
    VisionTransformerOptions options_;
};

/// The names by_name() knows, in the order the tool lists them.
const std::vector<std::string>& names();

/// A model by name, freshly initialised from rg's generator.
/// @param name mlp, cnn, cnn-bn, lstm, gru or vit
/// @throws rg::Error for another name, listing the known ones
std::shared_ptr<Module> by_name(const std::string& name);

/// The training a model gets from `retrograd train --model NAME` when the
/// command line does not say otherwise: chosen so that the documented accuracy
/// (docs/cli.md) is reached.
struct TrainingDefaults {
    std::size_t epochs = 5;  ///< epochs
    std::size_t batch = 128;  ///< batch size
    double lr = 1e-3;  ///< learning rate
    std::string optimizer = "adam";  ///< sgd, adam, adamw, rmsprop or adagrad
    std::string schedule = "cosine";  ///< cosine, step or none
};

/// The default training of a model.
/// @param name one of names()
/// @throws rg::Error for another name, listing the known ones
TrainingDefaults training_defaults(const std::string& name);

}  // namespace rg::nn::models
