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
#include <retrograd/nn/module.hpp>

#include <string>
#include <vector>

namespace rg::nn {

enum class Nonlinearity { tanh, relu };

struct RNNOptions {
    std::size_t num_layers = 1;
    bool bias = true;  // false: no bias_ih_l* and bias_hh_l*
    bool batch_first = false;  // input and output (N, L, H); the states keep (layers, N, H)
    double dropout = 0.0;  // on the outputs of every layer but the last, in training
    bool bidirectional = false;  // adds *_reverse parameters; outputs concatenate both directions
    Nonlinearity nonlinearity = Nonlinearity::tanh;  // RNN only; LSTM and GRU refuse relu
};

struct LSTMState {
    Tensor h, c;
};
struct LSTMOutput {
    Tensor output;  // (L, N, directions · H): the last layer's h at every step
    LSTMState state;  // the final h and c of every layer and direction
};
struct RNNOutput {
    Tensor output;
    Tensor h;  // the final h of every layer and direction
};

namespace detail {
enum class RecurrentKind { rnn, lstm, gru };

// The parameters and the loop the three recurrent layers share.
class Recurrent {
public:
    Recurrent(RecurrentKind kind, std::size_t input_size, std::size_t hidden_size, RNNOptions options);
    // weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, then the *_reverse
    // ones, then l1..., in PyTorch's order; the owning module registers them.
    NamedTensors parameters;
    // output, final h, final c (undefined but for LSTM).
    std::vector<Tensor> run(const Tensor& input, const Tensor& h0, const Tensor& c0, bool training) const;
    std::string describe() const;
    std::size_t input_size, hidden_size;
    RNNOptions options;

private:
    RecurrentKind kind_;
};
}  // namespace detail

// Elman RNN: h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh) (or relu).
class RNN : public Callable<RNN> {
public:
    RNN(std::size_t input_size, std::size_t hidden_size, RNNOptions options = {});
    RNNOutput forward(const Tensor& input, const Tensor& h0 = {});
    std::string describe() const override { return core_.describe(); }

private:
    detail::Recurrent core_;
};

// Gates in PyTorch's order i, f, g, o: c' = f c + i g, h' = o tanh(c').
class LSTM : public Callable<LSTM> {
public:
    LSTM(std::size_t input_size, std::size_t hidden_size, RNNOptions options = {});
    // lstm(x) or lstm(x, LSTMState{h0, c0}); h0 and c0 both given or both not.
    LSTMOutput forward(const Tensor& input, const LSTMState& state = {});
    std::string describe() const override { return core_.describe(); }

private:
    detail::Recurrent core_;
};

// Gates r, z, n: n = tanh(x W_inᵀ + b_in + r (h W_hnᵀ + b_hn)), h' = (1 - z) n + z h.
class GRU : public Callable<GRU> {
public:
    GRU(std::size_t input_size, std::size_t hidden_size, RNNOptions options = {});
    RNNOutput forward(const Tensor& input, const Tensor& h0 = {});
    std::string describe() const override { return core_.describe(); }

private:
    detail::Recurrent core_;
};

struct RNNCellOptions {
    bool bias = true;
    Nonlinearity nonlinearity = Nonlinearity::tanh;  // RNNCell only
};

// One step: input (N, H_in) or (H_in), state (N, H) or (H); parameters
// weight_ih, weight_hh, bias_ih, bias_hh. forward(x) starts from zeros, so a
// cell can sit in a Sequential.
class RNNCell : public Callable<RNNCell> {
public:
    RNNCell(std::size_t input_size, std::size_t hidden_size, RNNCellOptions options = {});
    Tensor forward(const Tensor& input) override { return forward(input, Tensor{}); }
    Tensor forward(const Tensor& input, const Tensor& h);
    std::string describe() const override;
    Tensor weight_ih, weight_hh, bias_ih, bias_hh;  // biases undefined without bias

private:
    RNNCellOptions options_;
};

class LSTMCell : public Callable<LSTMCell> {
public:
    LSTMCell(std::size_t input_size, std::size_t hidden_size, RNNCellOptions options = {});
    LSTMState forward(const Tensor& input, const LSTMState& state = {});  // (h', c')
    std::string describe() const override;
    Tensor weight_ih, weight_hh, bias_ih, bias_hh;
};

class GRUCell : public Callable<GRUCell> {
public:
    GRUCell(std::size_t input_size, std::size_t hidden_size, RNNCellOptions options = {});
    Tensor forward(const Tensor& input) override { return forward(input, Tensor{}); }
    Tensor forward(const Tensor& input, const Tensor& h);
    std::string describe() const override;
    Tensor weight_ih, weight_hh, bias_ih, bias_hh;
};

}  // namespace rg::nn
