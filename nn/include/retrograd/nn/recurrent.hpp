#pragma once
// Recurrent layers with PyTorch's semantics and parameter names, so that a
// PyTorch state dict saved as safetensors loads unchanged: RNN, LSTM, GRU
// (stacked, bidirectional, batch_first) and their one-step cells. Each is tape
// ops (one product for the gates of every time step, then one per step for the
// hidden state, as cuDNN does); none has a backward.
//
// Shapes, as PyTorch: input (L, N, H_in), or (N, L, H_in) with batch_first, or
// unbatched (L, H_in); states (num_layers · directions, N, H), or (num_layers ·
// directions, H) unbatched, whatever batch_first says. An undefined state is zeros.
// An LSTM with proj_size P > 0 projects its h to P (h = W_hr (o ⊙ tanh(c))): h0,
// h_n and each direction's output are then P wide, c0 and c_n stay H.
#include <retrograd/nn/module.hpp>
#include <retrograd/nn/packed_sequence.hpp>

#include <string>
#include <vector>

namespace rg::nn {

/// The nonlinearity of RNN and RNNCell.
enum class Nonlinearity {
    tanh,  ///< tanh, the default
    relu  ///< relu (RNN and RNNCell only)
};

/// The options of RNN, LSTM and GRU, as PyTorch's constructor arguments.
struct RNNOptions {
    /// Stacked layers, each reading the previous one's output; > 0.
    std::size_t num_layers = 1;
    /// false: no bias_ih_l* and bias_hh_l*.
    bool bias = true;  // false: no bias_ih_l* and bias_hh_l*
    /// Input and output (N, L, H); the states keep (layers, N, H), as PyTorch.
    bool batch_first = false;  // input and output (N, L, H); the states keep (layers, N, H)
    /// In [0, 1]: dropout on the outputs of every layer but the last, in training.
    double dropout = 0.0;  // on the outputs of every layer but the last, in training
    /// Adds *_reverse parameters; outputs concatenate both directions.
    bool bidirectional = false;  // adds *_reverse parameters; outputs concatenate both directions
    /// RNN only; LSTM and GRU refuse relu.
    Nonlinearity nonlinearity = Nonlinearity::tanh;  // RNN only; LSTM and GRU refuse relu
    /// LSTM only (RNN and GRU refuse a non-zero one): 0, no projection, or P in [1, hidden_size): every step's h
    /// is projected to P, h = W_hr (o ⊙ tanh(c)), with weight_hr_l* (P, hidden_size), as PyTorch's proj_size.
    std::size_t proj_size = 0;
};

/// An LSTM's state: hidden and cell, each (num_layers · directions, N, H) for
/// LSTM, (N, H) for LSTMCell (no batch axis unbatched); with proj_size P > 0, h is
/// (num_layers · directions, N, P). LibTorch uses a std::tuple.
struct LSTMState {
    /// The hidden state h.
    Tensor h;
    /// The cell state c.
    Tensor c;
};
/// LSTM's result.
struct LSTMOutput {
    /// (L, N, directions · H) (batch_first: (N, L, ...); unbatched: (L, ...)): the last layer's h at every step.
    Tensor output;  // (L, N, directions · H): the last layer's h at every step
    /// The final h and c of every layer and direction.
    LSTMState state;  // the final h and c of every layer and direction
};
/// RNN's and GRU's result. LibTorch returns a std::tuple.
struct RNNOutput {
    /// (L, N, directions · H) (batch_first: (N, L, ...); unbatched: (L, ...)): the last layer's h at every step.
    Tensor output;
    /// The final h of every layer and direction, (num_layers · directions, N, H).
    Tensor h;  // the final h of every layer and direction
};

/// RNN's and GRU's result for a packed batch.
struct PackedRNNOutput {
    /// The last layer's h at every step of every sequence, packed as the input (data (sum of the lengths,
    /// directions · H)).
    utils::rnn::PackedSequence output;
    /// The final h of every layer and direction, (num_layers · directions, N, H), in the input's batch order: each
    /// sequence's state after its own last step (after its first, for a reverse direction).
    Tensor h;
};
/// LSTM's result for a packed batch.
struct PackedLSTMOutput {
    /// The last layer's h at every step of every sequence, packed as the input.
    utils::rnn::PackedSequence output;
    /// The final h and c of every layer and direction, in the input's batch order, each sequence's after its own
    /// last step.
    LSTMState state;
};

namespace detail {
enum class RecurrentKind { rnn, lstm, gru };

// The parameters and the loop the three recurrent layers share.
class Recurrent {
public:
    Recurrent(RecurrentKind kind, std::size_t input_size, std::size_t hidden_size, RNNOptions options);
    // weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0 (and weight_hr_l0 with
    // proj_size), then the *_reverse ones, then l1..., in PyTorch's order; the
    // owning module registers them.
    NamedTensors parameters;
    // output, final h, final c (undefined but for LSTM).
    std::vector<Tensor> run(const Tensor& input, const Tensor& h0, const Tensor& c0, bool training) const;
    // output data, final h, final c, for a packed batch.
    std::vector<Tensor> run_packed(const utils::rnn::PackedSequence& input, const Tensor& h0, const Tensor& c0,
                                   bool training) const;
    std::string describe() const;
    // The owning module's replace_parameter: the loop reads `parameters`, so the new tensor goes there too.
    void replace(const std::string& name, const Tensor& value);
    // The size of h (and of each direction's output): proj_size, or hidden_size without projection.
    std::size_t output_size() const;
    std::size_t input_size, hidden_size;
    RNNOptions options;

private:
    struct Outputs {
        Tensor output, h_n, c_n;
    };
    // One layer and direction's parameters; the biases and w_hr are undefined when absent.
    struct DirectionWeights {
        Tensor w_ih, w_hh, b_ih, b_hh, w_hr;
    };
    enum class State { hidden, cell };
    DirectionWeights direction_weights(std::size_t layer_direction) const;
    Tensor initial_state(const Tensor& given, State state, std::size_t batch, bool batched) const;
    Outputs run_layers(const Tensor& x, const std::vector<std::int64_t>& packed_sizes, const Tensor& h0,
                       const Tensor& c0, bool training) const;
    RecurrentKind kind_;
};
}  // namespace detail

// Elman RNN: h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh) (or relu).
/// The Elman RNN, as torch::nn::RNN: h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)
/// (or relu), stacked and bidirectional as options say; parameters weight_ih_l0... as PyTorch's.
class RNN : public Callable<RNN> {
public:
    /// Weights and biases uniform in ±1/√H, as PyTorch.
    /// @param input_size the input's feature size, > 0
    /// @param hidden_size H, > 0
    /// @param options num_layers, bias, batch_first, dropout, bidirectional, nonlinearity
    /// @throws rg::Error when a size or num_layers is 0, dropout is outside [0, 1], or proj_size is not 0 (LSTM only)
    RNN(std::size_t input_size, std::size_t hidden_size, RNNOptions options = {});
    /// Runs the sequence.
    /// @param input (L, N, input_size), (N, L, input_size) with batch_first, or unbatched (L, input_size)
    /// @param h0 the initial state (num_layers · directions, N, H), or (num_layers · directions, H) unbatched;
    /// undefined: zeros
    /// @return the outputs and the final state
    /// @throws rg::Error when input is undefined, empty, not 2-D or 3-D, or its last size is not
    /// input_size; when a state's shape is not the one above; or when a dtype differs from the layer's
    RNNOutput forward(const Tensor& input, const Tensor& h0 = {});
    /// Runs each sequence of a packed batch over its own steps (batch_first does not apply).
    /// @param input a packed batch (utils::rnn::pack_padded_sequence), data (sum of the lengths, input_size)
    /// @param h0 the initial state (num_layers · directions, N, H) in the batch's original order; undefined: zeros
    /// @return the outputs, packed as the input, and each sequence's final state
    /// @throws rg::Error when the packed data's shape is not (rows, input_size), a dtype differs from the layer's,
    /// or h0's shape is not the one above
    PackedRNNOutput forward(const utils::rnn::PackedSequence& input, const Tensor& h0 = {});
    /// "RNN(input_size, hidden_size" and the options that differ from their defaults, ")".
    std::string describe() const override { return core_.describe(); }

protected:
    /// Makes the forward read the replaced parameter.
    /// @param name the replaced parameter
    /// @param value the new tensor
    void parameter_replaced(const std::string& name, const Tensor& value) override { core_.replace(name, value); }

private:
    detail::Recurrent core_;
};

// Gates in PyTorch's order i, f, g, o: c' = f c + i g, h' = o tanh(c'),
// or h' = W_hr (o tanh(c')) with proj_size.
/// Long short-term memory, as torch::nn::LSTM: gates in PyTorch's order i, f, g, o,
/// c' = f c + i g, h' = o tanh(c'); with proj_size P > 0, h' = W_hr (o tanh(c')), of size P.
class LSTM : public Callable<LSTM> {
public:
    /// Weights and biases uniform in ±1/√H, as PyTorch (weight_hr too).
    /// @param input_size the input's feature size, > 0
    /// @param hidden_size H, > 0
    /// @param options num_layers, bias, batch_first, dropout, bidirectional, nonlinearity, proj_size
    /// @throws rg::Error when a size or num_layers is 0, dropout is outside [0, 1], nonlinearity is relu, or
    /// proj_size is not smaller than hidden_size
    LSTM(std::size_t input_size, std::size_t hidden_size, RNNOptions options = {});
    // lstm(x) or lstm(x, LSTMState{h0, c0}); h0 and c0 both given or both not.
    /// Runs the sequence: lstm(x) or lstm(x, LSTMState{h0, c0}).
    /// @param input (L, N, input_size), (N, L, input_size) with batch_first, or unbatched (L, input_size)
    /// @param state h0 and c0, both given or both undefined (zeros), each (num_layers · directions, N, H), h0
    /// (num_layers · directions, N, proj_size) with proj_size; without the N axis for an unbatched input
    /// @return the outputs and the final (h, c)
    /// @throws rg::Error when input is undefined, empty, not 2-D or 3-D, or its last size is not
    /// input_size; when a state's shape is not the one above; or when a dtype differs from the layer's, or only one of
    /// h0 and c0 is given
    LSTMOutput forward(const Tensor& input, const LSTMState& state = {});
    /// Runs each sequence of a packed batch over its own steps (batch_first does not apply).
    /// @param input a packed batch (utils::rnn::pack_padded_sequence), data (sum of the lengths, input_size)
    /// @param state h0 and c0, both given or both undefined (zeros), each (num_layers · directions, N, H) in the
    /// batch's original order (h0 (num_layers · directions, N, proj_size) with proj_size)
    /// @return the outputs, packed as the input, and each sequence's final (h, c)
    /// @throws rg::Error when the packed data's shape is not (rows, input_size), a dtype differs from the layer's,
    /// a state's shape is not the one above, or only one of h0 and c0 is given
    PackedLSTMOutput forward(const utils::rnn::PackedSequence& input, const LSTMState& state = {});
    /// "LSTM(input_size, hidden_size" and the options that differ from their defaults, ")".
    std::string describe() const override { return core_.describe(); }

protected:
    /// Makes the forward read the replaced parameter.
    /// @param name the replaced parameter
    /// @param value the new tensor
    void parameter_replaced(const std::string& name, const Tensor& value) override { core_.replace(name, value); }

private:
    detail::Recurrent core_;
};

// Gates r, z, n: n = tanh(x W_inᵀ + b_in + r (h W_hnᵀ + b_hn)), h' = (1 - z) n + z h.
/// Gated recurrent unit, as torch::nn::GRU: gates r, z, n,
/// n = tanh(x W_inᵀ + b_in + r (h W_hnᵀ + b_hn)), h' = (1 - z) n + z h.
class GRU : public Callable<GRU> {
public:
    /// Weights and biases uniform in ±1/√H, as PyTorch.
    /// @param input_size the input's feature size, > 0
    /// @param hidden_size H, > 0
    /// @param options num_layers, bias, batch_first, dropout, bidirectional, nonlinearity
    /// @throws rg::Error when a size or num_layers is 0, dropout is outside [0, 1], nonlinearity is relu, or
    /// proj_size is not 0 (LSTM only)
    GRU(std::size_t input_size, std::size_t hidden_size, RNNOptions options = {});
    /// Runs the sequence.
    /// @param input (L, N, input_size), (N, L, input_size) with batch_first, or unbatched (L, input_size)
    /// @param h0 the initial state (num_layers · directions, N, H), or (num_layers · directions, H) unbatched;
    /// undefined: zeros
    /// @return the outputs and the final state
    /// @throws rg::Error when input is undefined, empty, not 2-D or 3-D, or its last size is not
    /// input_size; when a state's shape is not the one above; or when a dtype differs from the layer's
    RNNOutput forward(const Tensor& input, const Tensor& h0 = {});
    /// Runs each sequence of a packed batch over its own steps (batch_first does not apply).
    /// @param input a packed batch (utils::rnn::pack_padded_sequence), data (sum of the lengths, input_size)
    /// @param h0 the initial state (num_layers · directions, N, H) in the batch's original order; undefined: zeros
    /// @return the outputs, packed as the input, and each sequence's final state
    /// @throws rg::Error when the packed data's shape is not (rows, input_size), a dtype differs from the layer's,
    /// or h0's shape is not the one above
    PackedRNNOutput forward(const utils::rnn::PackedSequence& input, const Tensor& h0 = {});
    /// "GRU(input_size, hidden_size" and the options that differ from their defaults, ")".
    std::string describe() const override { return core_.describe(); }

protected:
    /// Makes the forward read the replaced parameter.
    /// @param name the replaced parameter
    /// @param value the new tensor
    void parameter_replaced(const std::string& name, const Tensor& value) override { core_.replace(name, value); }

private:
    detail::Recurrent core_;
};

/// The options of RNNCell, LSTMCell and GRUCell.
struct RNNCellOptions {
    /// Whether the cell has bias_ih and bias_hh.
    bool bias = true;
    /// RNNCell only; LSTMCell and GRUCell refuse relu.
    Nonlinearity nonlinearity = Nonlinearity::tanh;  // RNNCell only
};

// One step: input (N, H_in) or (H_in), state (N, H) or (H); parameters
// weight_ih, weight_hh, bias_ih, bias_hh. forward(x) starts from zeros, so a
// cell can sit in a Sequential.
/// One step of RNN, as torch::nn::RNNCell: input (N, H_in) or (H_in), state (N, H)
/// or (H); parameters weight_ih, weight_hh, bias_ih, bias_hh. forward(x) starts
/// from zeros, so a cell can sit in a Sequential.
class RNNCell : public Callable<RNNCell> {
public:
    /// Weights and biases uniform in ±1/√H, as PyTorch.
    /// @param input_size the input's feature size, > 0
    /// @param hidden_size H, > 0
    /// @param options bias, nonlinearity
    /// @throws rg::Error when a size is 0
    RNNCell(std::size_t input_size, std::size_t hidden_size, RNNCellOptions options = {});
    /// One step from a zero state.
    /// @param input (N, input_size) or unbatched (input_size,)
    /// @throws rg::Error when the input or the state has another shape (or is undefined), or a dtype differs from the
    /// layer's
    Tensor forward(const Tensor& input) override { return forward(input, Tensor{}); }
    /// One step: h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh) (or relu).
    /// @param input (N, input_size) or unbatched (input_size,)
    /// @param h the state (N, H) or (H,); undefined: zeros
    /// @throws rg::Error when the input or the state has another shape (or is undefined), or a dtype differs from the
    /// layer's
    Tensor forward(const Tensor& input, const Tensor& h);
    /// "RNNCell(input_size, hidden_size" and the options that differ, ")".
    std::string describe() const override;
    /// The input weights (1·hidden_size, input_size), uniform in ±1/√hidden_size at first.
    Tensor weight_ih;
    /// The hidden weights (1·hidden_size, hidden_size), uniform in ±1/√hidden_size at first.
    Tensor weight_hh;
    /// The input bias (1·hidden_size,); undefined without bias.
    Tensor bias_ih;
    /// The hidden bias (1·hidden_size,); undefined without bias.
    Tensor bias_hh;

private:
    RNNCellOptions options_;
};

/// One step of LSTM, as torch::nn::LSTMCell (gates i, f, g, o).
class LSTMCell : public Callable<LSTMCell> {
public:
    /// Weights and biases uniform in ±1/√H, as PyTorch.
    /// @param input_size the input's feature size, > 0
    /// @param hidden_size H, > 0
    /// @param options bias, nonlinearity
    /// @throws rg::Error when a size is 0, or nonlinearity is relu
    LSTMCell(std::size_t input_size, std::size_t hidden_size, RNNCellOptions options = {});
    /// One step: c' = f c + i g, h' = o tanh(c').
    /// @param input (N, input_size) or unbatched (input_size,)
    /// @param state h and c, both given or both undefined (zeros), each (N, H) or (H,)
    /// @return (h', c')
    /// @throws rg::Error when the input or the state has another shape (or is undefined), or a dtype differs from the
    /// layer's, or only one of h and c is given
    LSTMState forward(const Tensor& input, const LSTMState& state = {});  // (h', c')
    /// "LSTMCell(input_size, hidden_size" and the options that differ, ")".
    std::string describe() const override;
    /// The input weights (4·hidden_size, input_size), uniform in ±1/√hidden_size at first.
    Tensor weight_ih;
    /// The hidden weights (4·hidden_size, hidden_size), uniform in ±1/√hidden_size at first.
    Tensor weight_hh;
    /// The input bias (4·hidden_size,); undefined without bias.
    Tensor bias_ih;
    /// The hidden bias (4·hidden_size,); undefined without bias.
    Tensor bias_hh;
};

/// One step of GRU, as torch::nn::GRUCell (gates r, z, n); forward(x) starts from zeros.
class GRUCell : public Callable<GRUCell> {
public:
    /// Weights and biases uniform in ±1/√H, as PyTorch.
    /// @param input_size the input's feature size, > 0
    /// @param hidden_size H, > 0
    /// @param options bias, nonlinearity
    /// @throws rg::Error when a size is 0, or nonlinearity is relu
    GRUCell(std::size_t input_size, std::size_t hidden_size, RNNCellOptions options = {});
    /// One step from a zero state.
    /// @param input (N, input_size) or unbatched (input_size,)
    /// @throws rg::Error when the input or the state has another shape (or is undefined), or a dtype differs from the
    /// layer's
    Tensor forward(const Tensor& input) override { return forward(input, Tensor{}); }
    /// One step: h' = (1 - z) n + z h.
    /// @param input (N, input_size) or unbatched (input_size,)
    /// @param h the state (N, H) or (H,); undefined: zeros
    /// @throws rg::Error when the input or the state has another shape (or is undefined), or a dtype differs from the
    /// layer's
    Tensor forward(const Tensor& input, const Tensor& h);
    /// "GRUCell(input_size, hidden_size" and the options that differ, ")".
    std::string describe() const override;
    /// The input weights (3·hidden_size, input_size), uniform in ±1/√hidden_size at first.
    Tensor weight_ih;
    /// The hidden weights (3·hidden_size, hidden_size), uniform in ±1/√hidden_size at first.
    Tensor weight_hh;
    /// The input bias (3·hidden_size,); undefined without bias.
    Tensor bias_ih;
    /// The hidden bias (3·hidden_size,); undefined without bias.
    Tensor bias_hh;
};

}  // namespace rg::nn
