// Layers against PyTorch 1.13. tests/parity/make_references.py wrote one file
// per layer and option set: the state dict under PyTorch's names, the inputs,
// the outputs, and the gradients of sum(output * cotangent) with respect to
// every floating input and every parameter. Each case loads the state dict
// unchanged into the retrograd layer, runs forward and backward, and compares,
// in float32 (relative 1e-4) and again in float64 (relative 1e-9).
#include <filesystem>
#include <map>
#include <set>

#include "helpers.hpp"
#include "temp_dir.hpp"

using namespace rg::nn;
using rg::Tensor;

namespace {

using Tensors = std::map<std::string, Tensor>;

struct Case {
    std::string name;
    std::function<ModulePtr()> make;
    std::function<Tensors(Module&, const Tensors&)> run;
    // false where a default depends on the dtype (RMSNorm's eps is the float32
    // epsilon in the reference): only the float32 run applies.
    bool float64_too = true;
};

Tensor optional_input(const Tensors& inputs, const std::string& name) {
    auto it = inputs.find(name);
    return it == inputs.end() ? Tensor{} : it->second;
}

Tensors one_tensor(Module& m, const Tensors& in) { return {{"output", m(in.at("x"))}}; }

template <class Layer> Tensors rnn_or_gru(Module& m, const Tensors& in) {
    auto [output, h] = dynamic_cast<Layer&>(m)(in.at("x"), optional_input(in, "h0"));
    return {{"output", output}, {"h", h}};
}

Tensors lstm(Module& m, const Tensors& in) {
    auto [output, state] =
        dynamic_cast<LSTM&>(m)(in.at("x"), LSTMState{optional_input(in, "h0"), optional_input(in, "c0")});
    return {{"output", output}, {"h", state.h}, {"c", state.c}};
}

// The layer over pack_padded_sequence(x, lengths), unpacked to x's steps.
template <class Layer>
std::function<Tensors(Module&, const Tensors&)> packed(bool enforce_sorted = false, bool batch_first = false) {
    return [=](Module& m, const Tensors& in) {
        auto& layer = dynamic_cast<Layer&>(m);
        const Tensor& x = in.at("x");
        const auto packed_x = utils::rnn::pack_padded_sequence(x, in.at("lengths"), batch_first, enforce_sorted);
        const std::size_t steps = x.shape()[batch_first ? 1 : 0];
        Tensors out;
        utils::rnn::PackedSequence output;
        if constexpr (std::is_same_v<Layer, LSTM>) {
            auto [packed_out, state] = layer(packed_x, LSTMState{optional_input(in, "h0"), optional_input(in, "c0")});
            output = packed_out;
            out = {{"h", state.h}, {"c", state.c}};
        } else {
            auto [packed_out, h] = layer(packed_x, optional_input(in, "h0"));
            output = packed_out;
            out = {{"h", h}};
        }
        out["output"] = utils::rnn::pad_packed_sequence(output, batch_first, 0.0, steps).padded;
        return out;
    };
}

template <class Cell> Tensors one_state_cell(Module& m, const Tensors& in) {
    return {{"h", dynamic_cast<Cell&>(m)(in.at("x"), optional_input(in, "h"))}};
}

Tensors lstm_cell(Module& m, const Tensors& in) {
    auto [h, c] = dynamic_cast<LSTMCell&>(m)(in.at("x"), LSTMState{optional_input(in, "h"), optional_input(in, "c")});
    return {{"h", h}, {"c", c}};
}

// A mask input: stored as int64 0/1 for a bool mask (true where 1), or float.
Tensor mask_input(const Tensors& inputs, const std::string& name) {
    const Tensor m = optional_input(inputs, name);
    return m.defined() && !m.is_floating() ? m != 0.0 : m;
}

std::function<Tensors(Module&, const Tensors&)> mha(bool need_weights = true, bool average = true) {
    return [=](Module& m, const Tensors& in) {
        auto [output, weights] =
            dynamic_cast<MultiheadAttention&>(m)(in.at("query"), in.at("key"), in.at("value"),
                                                 {.key_padding_mask = mask_input(in, "key_padding_mask"),
                                                  .need_weights = need_weights,
                                                  .attn_mask = mask_input(in, "attn_mask"),
                                                  .average_attn_weights = average});
        CHECK(weights.defined() == need_weights);
        return need_weights ? Tensors{{"output", output}, {"weights", weights}} : Tensors{{"output", output}};
    };
}

template <class Encoder> Tensors encoder(Module& m, const Tensors& in) {
    return {{"output", dynamic_cast<Encoder&>(m)(in.at("src"),
                                                 {.src_mask = mask_input(in, "src_mask"),
                                                  .src_key_padding_mask = mask_input(in, "src_key_padding_mask")})}};
}

template <class Decoder> Tensors decoder(Module& m, const Tensors& in) {
    return {
        {"output", dynamic_cast<Decoder&>(m)(in.at("tgt"), in.at("memory"),
                                             {.tgt_mask = mask_input(in, "tgt_mask"),
                                              .memory_mask = mask_input(in, "memory_mask"),
                                              .tgt_key_padding_mask = mask_input(in, "tgt_key_padding_mask"),
                                              .memory_key_padding_mask = mask_input(in, "memory_key_padding_mask")})}};
}

Tensors transformer(Module& m, const Tensors& in) {
    return {{"output",
             dynamic_cast<Transformer&>(m)(in.at("src"), in.at("tgt"),
                                           {.src_mask = mask_input(in, "src_mask"),
                                            .tgt_mask = mask_input(in, "tgt_mask"),
                                            .memory_mask = mask_input(in, "memory_mask"),
                                            .src_key_padding_mask = mask_input(in, "src_key_padding_mask"),
                                            .tgt_key_padding_mask = mask_input(in, "tgt_key_padding_mask"),
                                            .memory_key_padding_mask = mask_input(in, "memory_key_padding_mask")})}};
}

// torch.nn.Transformer(8, 2, 2, 2, 16, dropout=0.0, ...) of make_references.py's transformer group.
std::function<ModulePtr()> small_transformer(TransformerOptions options) {
    options.d_model = 8;
    options.nhead = 2;
    options.num_encoder_layers = 2;
    options.num_decoder_layers = 2;
    options.dim_feedforward = 16;
    options.dropout = 0.0;
    return [=] { return std::make_shared<Transformer>(options); };
}

Tensors bilinear_layer(Module& m, const Tensors& in) {
    return {{"output", dynamic_cast<Bilinear&>(m)(in.at("x1"), in.at("x2"))}};
}

// EmbeddingBag over int64 indices x, with offsets and per_sample_weights when the case has them.
Tensors embedding_bag_layer(Module& m, const Tensors& in) {
    return {{"output", dynamic_cast<EmbeddingBag&>(m).forward(in.at("x"), optional_input(in, "offsets"),
                                                              optional_input(in, "per_sample_weights"))}};
}

template <class M, class... Args> std::function<ModulePtr()> make(Args... args) {
    return [=] { return std::make_shared<M>(args...); };
}

// The model of make_references.py's "containers" case, field for field.
struct WithContainers : Module {
    std::shared_ptr<ModuleList> blocks =
        register_module("blocks", std::make_shared<ModuleList>(Linear(3, 4), Tanh(), Linear(4, 4)));
    std::shared_ptr<ModuleDict> heads =
        register_module("heads",
                        std::make_shared<ModuleDict>(
                            std::vector<std::pair<std::string, ModulePtr>>{{"mean", std::make_shared<Linear>(4, 2)},
                                                                           {"scale",
                                                                            std::make_shared<Linear>(4, 2, false)}}));
    std::shared_ptr<ParameterList> gains =
        register_module("gains", std::make_shared<ParameterList>(rg::TensorList{rg::randn({4}), rg::randn({2})}));
    std::shared_ptr<ParameterDict> offsets =
        register_module("offsets", std::make_shared<ParameterDict>(
                                       NamedTensors{{"mean", rg::randn({2})}, {"scale", rg::randn({2})}}));

    rg::Tensor forward(const rg::Tensor& input) override {
        rg::Tensor x = input;
        for (const auto& block : *blocks) x = block->forward(x);
        x = x * (*gains)[0];
        const rg::Tensor mean = (*heads)["mean"]->forward(x) * (*gains)[1] + (*offsets)["mean"];
        const rg::Tensor scale = (*heads)["scale"]->forward(x) + (*offsets)["scale"];
        return mean * rg::sigmoid(scale);
    }
};

std::vector<Case> cases() {
    const RNNOptions two_bidirectional_batch_first{.num_layers = 2, .batch_first = true, .bidirectional = true};
    return {
        {"layernorm", make<LayerNorm>(4), one_tensor},
        {"layernorm_two_axes",
         [] {
             return std::make_shared<LayerNorm>(rg::IntList{3, 4}, LayerNormOptions{.eps = 1e-3});
         },
         one_tensor},
        {"layernorm_no_affine",
         [] { return std::make_shared<LayerNorm>(5, LayerNormOptions{.elementwise_affine = false}); }, one_tensor},
        {"groupnorm", make<GroupNorm>(std::size_t{2}, std::size_t{6}), one_tensor},
        {"groupnorm_no_affine_4d", make<GroupNorm>(std::size_t{3}, std::size_t{6}, GroupNormOptions{.affine = false}),
         one_tensor},
        {"rmsnorm", make<RMSNorm>(4), one_tensor, false},
        {"rmsnorm_two_axes_eps",
         [] {
             return std::make_shared<RMSNorm>(rg::IntList{3, 4}, RMSNormOptions{.eps = 1e-6});
         },
         one_tensor},
        {"rnn_tanh", make<RNN>(3, 5), rnn_or_gru<RNN>},
        {"rnn_relu_two_layers_bidirectional_batch_first",
         make<RNN>(3, 4,
                   RNNOptions{.num_layers = 2,
                              .batch_first = true,
                              .bidirectional = true,
                              .nonlinearity = Nonlinearity::relu}),
         rnn_or_gru<RNN>},
        {"lstm", make<LSTM>(3, 5), lstm},
        {"lstm_two_layers_bidirectional_batch_first", make<LSTM>(3, 4, two_bidirectional_batch_first), lstm},
        {"lstm_no_bias", make<LSTM>(3, 4, RNNOptions{.bias = false}), lstm},
        {"lstm_unbatched", make<LSTM>(3, 4), lstm},
        // Dropout between layers is off in eval mode, as in the reference.
        {"lstm_dropout_eval", make<LSTM>(3, 4, RNNOptions{.num_layers = 2, .dropout = 0.5}), lstm},
        {"gru", make<GRU>(3, 5), rnn_or_gru<GRU>},
        {"gru_two_layers_bidirectional_batch_first", make<GRU>(3, 4, two_bidirectional_batch_first), rnn_or_gru<GRU>},
        {"gru_no_bias_unbatched", make<GRU>(3, 4, RNNOptions{.bias = false}), rnn_or_gru<GRU>},
        {"rnncell", make<RNNCell>(3, 5), one_state_cell<RNNCell>},
        {"rnncell_relu_no_bias", make<RNNCell>(3, 5, RNNCellOptions{.bias = false, .nonlinearity = Nonlinearity::relu}),
         one_state_cell<RNNCell>},
        {"lstm_packed_unsorted", make<LSTM>(3, 4), packed<LSTM>()},
        {"lstm_packed_two_layers_bidirectional", make<LSTM>(3, 4, RNNOptions{.num_layers = 2, .bidirectional = true}),
         packed<LSTM>()},
        {"gru_packed_sorted_two_layers_bidirectional",
         make<GRU>(3, 4, RNNOptions{.num_layers = 2, .bidirectional = true}), packed<GRU>(true)},
        {"rnn_packed_relu_bidirectional_batch_first",
         make<RNN>(3, 4, RNNOptions{.batch_first = true, .bidirectional = true, .nonlinearity = Nonlinearity::relu}),
         packed<RNN>(false, true)},
        {"gru_packed_no_bias_one_sequence", make<GRU>(3, 4, RNNOptions{.bias = false}), packed<GRU>()},
        {"lstmcell", make<LSTMCell>(3, 5), lstm_cell},
        {"lstmcell_unbatched", make<LSTMCell>(3, 4), lstm_cell},
        {"grucell", make<GRUCell>(3, 5), one_state_cell<GRUCell>},
        {"grucell_unbatched_zero_state", make<GRUCell>(3, 4), one_state_cell<GRUCell>},
        {"embedding_padding_idx", make<Embedding>(6, 4, EmbeddingOptions{.padding_idx = 1}), one_tensor},
        {"mha", make<MultiheadAttention>(8, 2), mha()},
        {"mha_batch_first_bool_masks_per_head",
         make<MultiheadAttention>(8, 2, MultiheadAttentionOptions{.batch_first = true}), mha(true, false)},
        {"mha_kdim_vdim_no_bias_float_mask_3d",
         make<MultiheadAttention>(8, 2, MultiheadAttentionOptions{.bias = false, .kdim = 5, .vdim = 6}), mha()},
        {"mha_unbatched_padding_no_weights", make<MultiheadAttention>(6, 3), mha(false)},
        {"transformer_encoder_layer",
         make<TransformerEncoderLayer>(8, 2, TransformerLayerOptions{.dim_feedforward = 16}),
         encoder<TransformerEncoderLayer>},
        {"transformer_encoder_layer_gelu_norm_first_batch_first",
         make<TransformerEncoderLayer>(8, 2,
                                       TransformerLayerOptions{.dim_feedforward = 16,
                                                               .activation = TransformerActivation::gelu,
                                                               .layer_norm_eps = 1e-4,
                                                               .batch_first = true,
                                                               .norm_first = true}),
         encoder<TransformerEncoderLayer>},
        {"transformer_encoder_layer_gelu_batch_first",
         make<TransformerEncoderLayer>(8, 2,
                                       TransformerLayerOptions{.dim_feedforward = 16,
                                                               .activation = TransformerActivation::gelu,
                                                               .batch_first = true}),
         encoder<TransformerEncoderLayer>},
        {"transformer_encoder_layer_relu_norm_first",
         make<TransformerEncoderLayer>(8, 2, TransformerLayerOptions{.dim_feedforward = 16, .norm_first = true}),
         encoder<TransformerEncoderLayer>},
        {"transformer_encoder_two_layers_norm",
         [] {
             return std::make_shared<TransformerEncoder>(TransformerEncoderLayer(8, 2, {.dim_feedforward = 16}), 2,
                                                         TransformerEncoderOptions{.norm =
                                                                                       std::make_shared<LayerNorm>(8)});
         },
         encoder<TransformerEncoder>},
        {"transformer_decoder_layer",
         make<TransformerDecoderLayer>(8, 2, TransformerLayerOptions{.dim_feedforward = 16}),
         decoder<TransformerDecoderLayer>},
        {"transformer_decoder_layer_gelu_norm_first_batch_first",
         make<TransformerDecoderLayer>(8, 2,
                                       TransformerLayerOptions{.dim_feedforward = 16,
                                                               .activation = TransformerActivation::gelu,
                                                               .batch_first = true,
                                                               .norm_first = true}),
         decoder<TransformerDecoderLayer>},
        {"conv2d_padding_mode_reflect",
         make<Conv2d>(2, 3, std::size_t{3}, Conv2dOptions{.padding = {1, 2}, .padding_mode = rg::PadMode::reflect}),
         one_tensor},
        {"conv2d_padding_mode_replicate_stride",
         make<Conv2d>(2, 4, rg::Size2{2, 3},
                      Conv2dOptions{.stride = {2, 2}, .padding = {1, 1}, .padding_mode = rg::PadMode::replicate}),
         one_tensor},
        {"conv2d_same_circular",
         make<Conv2d>(2, 3, rg::Size2{2, 3},
                      Conv2dOptions{.padding_rule = Conv2dOptions::Rule::same, .padding_mode = rg::PadMode::circular}),
         one_tensor},
        {"conv2d_same_zeros_even_kernel",
         make<Conv2d>(2, 3, std::size_t{4}, Conv2dOptions{.bias = false, .padding_rule = Conv2dOptions::Rule::same}),
         one_tensor},
        {"maxpool2d_dilation_ceil",
         make<MaxPool2d>(std::size_t{3},
                         rg::Pool2dOptions{.stride = {2, 2}, .padding = {1, 1}, .dilation = {2, 2}, .ceil_mode = true}),
         one_tensor},
        {"avgpool2d_ceil_exclude_pad",
         make<AvgPool2d>(std::size_t{3}, rg::Pool2dOptions{.stride = {2, 2},
                                                           .padding = {1, 1},
                                                           .ceil_mode = true,
                                                           .count_include_pad = false}),
         one_tensor},
        {"adaptive_avgpool2d", make<AdaptiveAvgPool2d>(rg::Size2{4, 3}), one_tensor},
        {"conv1d_stride_dilation_groups",
         make<Conv1d>(4, 6, 3, rg::Conv1dOptions{.stride = 2, .padding = 1, .dilation = 2, .groups = 2}), one_tensor},
        {"conv1d_same_reflect_no_bias",
         make<Conv1d>(3, 4, 4,
                      rg::Conv1dOptions{.bias = false,
                                        .padding_rule = Conv2dOptions::Rule::same,
                                        .padding_mode = rg::PadMode::reflect}),
         one_tensor},
        {"conv1d_circular",
         make<Conv1d>(2, 3, 3, rg::Conv1dOptions{.padding = 2, .padding_mode = rg::PadMode::circular}), one_tensor},
        {"conv_transpose2d_output_padding_groups",
         make<ConvTranspose2d>(4, 6, rg::Size2{3, 2},
                               rg::ConvTranspose2dOptions{.stride = {2, 2},
                                                          .padding = {1, 1},
                                                          .output_padding = {1, 1},
                                                          .groups = 2}),
         one_tensor},
        {"conv_transpose2d_dilation_no_bias",
         make<ConvTranspose2d>(2, 3, std::size_t{3},
                               rg::ConvTranspose2dOptions{.padding = {1, 1},
                                                          .output_padding = {1, 0},
                                                          .dilation = {2, 2},
                                                          .bias = false}),
         one_tensor},
        {"upsample_nearest_scale", make<Upsample>(rg::InterpolateOptions{.scale_factor = {2.5}}), one_tensor},
        {"upsample_nearest_size", make<Upsample>(rg::InterpolateOptions{.size = {5, 7}}), one_tensor},
        {"upsample_bilinear_scale",
         make<Upsample>(rg::InterpolateOptions{.scale_factor = {2.0}, .mode = rg::InterpolateMode::bilinear}),
         one_tensor},
        {"upsample_bilinear_align_corners_size",
         make<Upsample>(
             rg::InterpolateOptions{.size = {4, 7}, .mode = rg::InterpolateMode::bilinear, .align_corners = true}),
         one_tensor},
        {"transformer_decoder_two_layers_norm",
         [] {
             return std::make_shared<TransformerDecoder>(TransformerDecoderLayer(8, 2, {.dim_feedforward = 16}), 2,
                                                         TransformerDecoderOptions{.norm =
                                                                                       std::make_shared<LayerNorm>(8)});
         },
         decoder<TransformerDecoder>},
        {"maxpool1d_stride_padding_dilation_ceil",
         make<MaxPool1d>(std::size_t{3}, MaxPool1dOptions{.stride = 2, .padding = 1, .dilation = 2, .ceil_mode = true}),
         one_tensor},
        {"maxpool1d_unbatched", make<MaxPool1d>(std::size_t{2}), one_tensor},
        {"avgpool1d_ceil_exclude_pad",
         make<AvgPool1d>(std::size_t{3},
                         AvgPool1dOptions{.stride = 2, .padding = 1, .ceil_mode = true, .count_include_pad = false}),
         one_tensor},
        {"avgpool1d_padding_unbatched", make<AvgPool1d>(std::size_t{2}, AvgPool1dOptions{.padding = 1}), one_tensor},
        {"adaptive_avgpool1d", make<AdaptiveAvgPool1d>(std::size_t{4}), one_tensor},
        {"adaptive_maxpool1d_unbatched", make<AdaptiveMaxPool1d>(std::size_t{4}), one_tensor},
        {"adaptive_maxpool2d_uneven", make<AdaptiveMaxPool2d>(rg::Size2{3, 4}), one_tensor},
        {"adaptive_maxpool2d_divisible_unbatched", make<AdaptiveMaxPool2d>(std::size_t{2}), one_tensor},
        {"adaptive_maxpool2d_larger_output", make<AdaptiveMaxPool2d>(rg::Size2{5, 3}), one_tensor},
        {"instancenorm1d", make<InstanceNorm1d>(std::size_t{3}), one_tensor},
        {"instancenorm1d_affine_unbatched", make<InstanceNorm1d>(std::size_t{3}, InstanceNormOptions{.affine = true}),
         one_tensor},
        {"instancenorm2d_affine_eps",
         make<InstanceNorm2d>(std::size_t{4}, InstanceNormOptions{.eps = 1e-3, .affine = true}), one_tensor},
        {"instancenorm2d_running_stats_eval",
         make<InstanceNorm2d>(std::size_t{3}, InstanceNormOptions{.affine = true, .track_running_stats = true}),
         one_tensor},
        {"pixel_shuffle", make<PixelShuffle>(std::size_t{2}), one_tensor},
        {"pixel_shuffle_extra_batch_axis", make<PixelShuffle>(std::size_t{3}), one_tensor},
        {"pixel_unshuffle", make<PixelUnshuffle>(std::size_t{2}), one_tensor},
        {"pixel_unshuffle_unbatched", make<PixelUnshuffle>(std::size_t{3}), one_tensor},
        {"unflatten", make<Unflatten>(1, rg::IntList{2, 3}), one_tensor},
        {"unflatten_inferred_last_axis", make<Unflatten>(-1, rg::IntList{-1, 2}), one_tensor},
        {"bilinear", make<Bilinear>(3, 4, 5), bilinear_layer},
        {"bilinear_no_bias_batch_axes", make<Bilinear>(2, 3, 4, false), bilinear_layer},
        {"reflection_pad1d", make<ReflectionPad1d>(Padding1d{2, 1}), one_tensor},
        {"reflection_pad2d", make<ReflectionPad2d>(Padding2d{1, 2, 2, 0}), one_tensor},
        {"replication_pad1d_unbatched", make<ReplicationPad1d>(std::int64_t{2}), one_tensor},
        {"replication_pad2d_unbatched", make<ReplicationPad2d>(Padding2d{2, 0, 1, 3}), one_tensor},
        {"zero_pad2d_crop", make<ZeroPad2d>(Padding2d{1, -1, 2, 0}), one_tensor},
        {"constant_pad1d", make<ConstantPad1d>(Padding1d{2, 3}, 1.5), one_tensor},
        {"constant_pad2d", make<ConstantPad2d>(std::int64_t{1}, -2.0), one_tensor},
        // PyTorch's state dicts, num_batches_tracked included, evaluated with their running statistics.
        {"batchnorm1d_eval", make<BatchNorm1d>(std::size_t{3}), one_tensor},
        {"batchnorm2d_eval_eps", make<BatchNorm2d>(std::size_t{2}, BatchNormOptions{.eps = 1e-3}), one_tensor},
        {"prelu_per_channel", make<PReLU>(std::size_t{3}), one_tensor},
        // The full model: both stacks and their final LayerNorms, under PyTorch's names.
        {"transformer", small_transformer({}), transformer},
        {"transformer_norm_first_gelu",
         small_transformer({.activation = TransformerActivation::gelu, .layer_norm_eps = 1e-4, .norm_first = true}),
         transformer},
        {"transformer_batch_first", small_transformer({.batch_first = true}), transformer},
        {"transformer_unbatched", small_transformer({}), transformer},
        // ModuleList, ModuleDict, ParameterList and ParameterDict under PyTorch's names.
        {"containers", [] { return ModulePtr(std::make_shared<WithContainers>()); }, one_tensor},
        // LSTM with projections: h (and each direction's output) proj_size wide, c hidden_size.
        {"lstm_proj_two_layers_bidirectional_batch_first",
         make<LSTM>(3, 5, RNNOptions{.num_layers = 2, .batch_first = true, .bidirectional = true, .proj_size = 2}),
         lstm},
        {"lstm_proj_unbatched_zero_state", make<LSTM>(3, 4, RNNOptions{.proj_size = 3}), lstm},
        {"lstm_proj_no_bias_dropout_eval",
         make<LSTM>(3, 5, RNNOptions{.num_layers = 2, .bias = false, .dropout = 0.5, .proj_size = 3}), lstm},
        {"lstm_proj_packed_two_layers_bidirectional",
         make<LSTM>(3, 5, RNNOptions{.num_layers = 2, .bidirectional = true, .proj_size = 2}), packed<LSTM>()},
        {"conv_transpose1d_stride_padding_output_padding_groups_dilation",
         make<ConvTranspose1d>(4, 6, 3,
                               ConvTranspose1dOptions{.stride = 2,
                                                      .padding = 1,
                                                      .output_padding = 1,
                                                      .groups = 2,
                                                      .dilation = 2}),
         one_tensor},
        {"conv_transpose1d_unbatched_no_bias",
         make<ConvTranspose1d>(3, 2, 4, ConvTranspose1dOptions{.stride = 3, .bias = false}), one_tensor},
        {"unfold_dilation_padding_stride_module",
         make<Unfold>(rg::Size2{2, 3}, rg::FoldOptions{.dilation = {1, 2}, .padding = {1, 1}, .stride = {2, 1}}),
         one_tensor},
        {"fold_dilation_padding_stride_module",
         make<Fold>(rg::Size2{5, 6}, rg::Size2{2, 3},
                    rg::FoldOptions{.dilation = {1, 2}, .padding = {1, 1}, .stride = {2, 1}}),
         one_tensor},
        {"fold_unbatched", make<Fold>(rg::Size2{4, 5}, rg::Size2{2, 2}, rg::FoldOptions{.stride = {2, 1}}), one_tensor},
        {"embedding_bag_sum_per_sample_weights_offsets",
         make<EmbeddingBag>(7, 3, EmbeddingBagOptions{.mode = EmbeddingBagMode::sum}), embedding_bag_layer},
        {"embedding_bag_mean_padding_idx_2d", make<EmbeddingBag>(6, 4, EmbeddingBagOptions{.padding_idx = 2}),
         embedding_bag_layer},
        {"embedding_bag_max_empty_bag_include_last_offset",
         make<EmbeddingBag>(8, 3, EmbeddingBagOptions{.mode = EmbeddingBagMode::max, .include_last_offset = true}),
         embedding_bag_layer},
    };
}

std::string reference_path(const std::string& name) {
    return (std::filesystem::path(RETROGRAD_SOURCE_DIR) / "tests/parity/data" / (name + ".safetensors")).string();
}

// "input.x" -> ("input", "x"); a state-dict name ("weight", "out_proj.weight")
// -> ("", name).
std::pair<std::string, std::string> split(const std::string& key) {
    const auto dot = key.find('.');
    const std::string part = dot == std::string::npos ? "" : key.substr(0, dot);
    if (part != "input" && part != "output" && part != "cotangent" && part != "grad") return {"", key};
    return {part, key.substr(dot + 1)};
}

void check_close(const std::string& what, const Tensor& actual, const Tensor& expected, double rtol, double atol) {
    REQUIRE_MESSAGE(actual.defined(), what << ": no value");
    REQUIRE_MESSAGE(actual.shape() == expected.shape(), what << ": shape " << rg::shape_str(actual.shape())
                                                             << ", expected " << rg::shape_str(expected.shape()));
    CHECK_MESSAGE(rg::allclose(actual.to(rg::float64), expected.to(rg::float64), rtol, atol),
                  what << ":\ngot " << actual << "\nexpected " << expected);
}

void check_case(const Case& c, rg::Dtype dtype, double rtol, double atol) {
    const std::string path = reference_path(c.name);
    std::map<std::string, Tensors> parts;  // "" (the state dict), input, output, cotangent, grad
    for (const auto& entry : load_tensors(path)) {
        auto [part, name] = split(entry.first);
        parts[part][name] = entry.second;
    }
    ModulePtr module = c.make();
    module->eval();
    load_weights(*module, TensorMap(parts[""].begin(), parts[""].end()), path);
    module->to(dtype);
    Tensors inputs;
    for (const auto& entry : parts["input"])
        inputs[entry.first] =
            entry.second.is_floating() ? entry.second.to(dtype).detach().requires_grad_() : entry.second;

    const Tensors outputs = c.run(*module, inputs);
    REQUIRE(outputs.size() == parts["output"].size());
    Tensor scalar = rg::zeros({}, {.dtype = dtype});
    for (const auto& entry : parts["output"]) {
        const std::string& name = entry.first;
        REQUIRE_MESSAGE(outputs.count(name) == 1, "the layer gives no output '" << name << "'");
        check_close("output " + name, outputs.at(name), entry.second, rtol, atol);
        scalar = scalar + rg::sum(outputs.at(name) * parts["cotangent"].at(name).to(dtype));
    }
    scalar.backward();

    Tensors gradients;
    for (const auto& entry : inputs)
        if (entry.second.is_floating()) gradients[entry.first] = entry.second.grad();
    for (const auto& entry : module->named_parameters()) gradients[entry.first] = entry.second.grad();
    CHECK(gradients.size() == parts["grad"].size());
    for (const auto& entry : parts["grad"]) {
        REQUIRE_MESSAGE(gradients.count(entry.first) == 1,
                        "no tensor '" << entry.first << "' to compare the gradient of");
        check_close("gradient of " + entry.first, gradients.at(entry.first), entry.second, rtol, atol);
    }
}

}  // namespace

TEST_CASE("float32 layers match PyTorch 1.13: outputs and gradients of its state dicts") {
    for (const Case& c : cases()) {
        CAPTURE(c.name);
        check_case(c, rg::float32, 1e-4, 1e-5);
    }
}

TEST_CASE("layers in float64 match PyTorch 1.13's float64 outputs and gradients") {
    for (const Case& c : cases()) {
        if (!c.float64_too) continue;
        CAPTURE(c.name);
        check_case(c, rg::float64, 1e-9, 1e-12);
    }
}

TEST_CASE("every parity reference file has a case, and every case its file") {
    std::set<std::string> files, names;
    for (const auto& entry :
         std::filesystem::directory_iterator(std::string(RETROGRAD_SOURCE_DIR) + "/tests/parity/data"))
        if (entry.path().extension() == ".safetensors") files.insert(entry.path().stem().string());
    for (const Case& c : cases()) names.insert(c.name);
    CHECK(files == names);
}

TEST_CASE("Transformer::generate_square_subsequent_mask is PyTorch's float mask, -inf above the diagonal") {
    // The reference's tgt_mask is torch.nn.Transformer.generate_square_subsequent_mask(5).
    const Tensor expected = load_tensors(reference_path("transformer")).at("input.tgt_mask");
    const Tensor mask = Transformer::generate_square_subsequent_mask(5);
    CHECK(mask.dtype() == rg::float32);
    CHECK(mask.shape() == expected.shape());
    CHECK(mask.to_vector() == expected.to_vector());
}

TEST_CASE("a padding row reads its loaded values and gets no gradient, as PyTorch") {
    TensorMap file = load_tensors(reference_path("embedding_padding_idx"));
    Embedding embedding(6, 4, {.padding_idx = 1});
    load_weights(embedding, {{"weight", file.at("weight")}}, "reference");
    CHECK(rg::sum(rg::abs(rg::select(embedding.weight, 0, 1))).item() >
          0.0);  // the test would miss a zeroed row otherwise
    rg::sum(embedding(rg::from_indices({1, 1, 2}))).backward();
    test::check_values(rg::select(embedding.weight.grad(), 0, 1), rg::zeros({4}), 0);
    test::check_values(rg::select(embedding.weight.grad(), 0, 2), rg::ones({4}), 0);
    // A new table's padding row is zeros; a negative index counts from the end.
    Embedding last(6, 4, {.padding_idx = -1});
    CHECK(last.describe() == "Embedding(6, 4, padding_idx=5)");
    test::check_values(rg::select(last.weight, 0, 5), rg::zeros({4}), 0);
    CHECK_THROWS_WITH_AS(Embedding(6, 4, {.padding_idx = 6}),
                         "Embedding: padding_idx 6 is out of range for 6 rows, expected [-6, 6)", rg::Error);
}

TEST_CASE("a model built of containers saves, loads and differentiates as any module") {
    rg::manual_seed(4);
    WithContainers model;
    const std::vector<std::string> names{"gains.0",           "gains.1",         "offsets.mean",      "offsets.scale",
                                         "blocks.0.weight",   "blocks.0.bias",   "blocks.2.weight",   "blocks.2.bias",
                                         "heads.mean.weight", "heads.mean.bias", "heads.scale.weight"};
    const auto named = model.named_parameters();
    REQUIRE(named.size() == names.size());
    std::set<std::string> expected(names.begin(), names.end()), got;
    for (const auto& [name, t] : named) got.insert(name);
    CHECK(got == expected);

    test::TempDir dir;
    const std::string path = (dir.path / "model.safetensors").string();
    save(model, path);
    WithContainers fresh;
    load(fresh, path);
    const rg::Tensor x = rg::randn({2, 3});
    test::check_values(fresh(x), model(x), 0.0);

    model.to(rg::float64);
    auto result =
        rg::gradcheck([&model](const rg::TensorList& v) { return model(v[0]); }, {rg::randn({2, 3}, test::f64(true))});
    CHECK_MESSAGE(result.ok, result.report);
    rg::Tensor loss = rg::sum(model(rg::randn({2, 3}, test::f64())));
    const auto grads = rg::grad({loss}, model.parameters());
    for (const rg::Tensor& g : grads) CHECK(g.defined());
}
