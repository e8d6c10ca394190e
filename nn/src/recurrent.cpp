// RNN, LSTM, GRU and their cells, as tape ops. The input-to-hidden product is
// one GEMM over every time step; each step then adds one GEMM of the hidden
// state, whose result holds all the gates side by side (narrow picks them; a
// `chunk` op would name the four views in one call), and an LSTM with
// proj_size one more GEMM, the projection of h.
#include "argument_checks.hpp"

#include <retrograd/composite.hpp>
#include <retrograd/nn/recurrent.hpp>
#include <retrograd/ops.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace rg::nn {
namespace {

using detail::RecurrentKind;

const char* kind_name(RecurrentKind kind) {
    switch (kind) {
        case RecurrentKind::rnn: return "RNN";
        case RecurrentKind::lstm: return "LSTM";
        case RecurrentKind::gru: return "GRU";
    }
    return "?";
}

std::size_t gate_count(RecurrentKind kind) {
    switch (kind) {
        case RecurrentKind::rnn: return 1;
        case RecurrentKind::lstm: return 4;
        case RecurrentKind::gru: return 3;
    }
    return 1;
}

// PyTorch's initialisation of every recurrent weight and bias.
Tensor pytorch_uniform(const Shape& shape, std::size_t hidden_size) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(hidden_size));
    return uniform(shape, -bound, bound);
}

Tensor activate(const Tensor& x, Nonlinearity f) { return f == Nonlinearity::relu ? relu(x) : tanh(x); }

// h Wᵀ (+ b): the per-step product of the hidden state with every gate's weights.
Tensor hidden_product(const Tensor& h, const Tensor& w_hh, const Tensor& b_hh) {
    Tensor out = gemm(h, w_hh, false, true);
    return b_hh.defined() ? out + b_hh : out;
}

// LSTM with projections (proj_size > 0): the step's o ⊙ tanh(c), (N, H), times W_hrᵀ
// is the h, (N, P), that the next step and the next layer read, as PyTorch.
// Without proj_size (w_hr undefined) h is o ⊙ tanh(c) itself.
Tensor project(const Tensor& h, const Tensor& w_hr) { return w_hr.defined() ? gemm(h, w_hr, false, true) : h; }

// `gates` = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh, (N, 4H) in PyTorch's order i, f, g, o.
// One lstm_pointwise op; under rg::ExplainMode the step is instead written
// with single ops as two composite steps, the cell state and the hidden
// state, each with the rule a course derives for it (the same values).
LSTMState lstm_step(const Tensor& gates, const Tensor& c, std::int64_t hidden) {
    if (!is_explain_mode()) {
        const Tensor both = lstm_pointwise(gates, c);
        return {select(both, 0, 0), select(both, 0, 1)};
    }
    CompositeStep cell_step("LSTM cell state",
                            "{Cn} = f ⊙ {C} + i ⊙ g, with i, f = σ and g = tanh of {G}'s first three quarters: "
                            "d{C} = d{Cn} ⊙ f, d{G} = [d{Cn} ⊙ g ⊙ i(1 − i), d{Cn} ⊙ {C} ⊙ f(1 − f), "
                            "d{Cn} ⊙ i ⊙ (1 − g²), 0]",
                            {{"G", gates}, {"C", c}});
    Tensor input_forget = sigmoid(narrow(gates, 1, 0, 2 * hidden));
    Tensor i = narrow(input_forget, 1, 0, hidden);
    Tensor f = narrow(input_forget, 1, hidden, hidden);
    Tensor g = tanh(narrow(gates, 1, 2 * hidden, hidden));
    Tensor c_next = cell_step.output(addcmul(f * c, i, g), "Cn");  // f c + i g, one temporary fewer
    CompositeStep hidden_step("LSTM hidden state",
                              "{H} = o ⊙ tanh({C}), with o = σ of {G}'s last quarter: "
                              "d{C} = d{H} ⊙ o ⊙ (1 − tanh²({C})), d{G} = [0, 0, 0, d{H} ⊙ tanh({C}) ⊙ o(1 − o)]",
                              {{"G", gates}, {"C", c_next}});
    Tensor o = sigmoid(narrow(gates, 1, 3 * hidden, hidden));
    return {hidden_step.output(o * tanh(c_next), "H"), c_next};
}

// `xw` = x W_ihᵀ + b_ih and `hw` = h W_hhᵀ + b_hh, each (N, 3H) in the order r, z, n:
// the reset gate scales the hidden part of n only, bias included, as PyTorch.
// One gru_pointwise op; under rg::ExplainMode single ops, one composite step.
Tensor gru_step(const Tensor& xw, const Tensor& hw, const Tensor& h, std::int64_t hidden) {
    if (!is_explain_mode()) return gru_pointwise(xw, hw, h);
    CompositeStep step("GRU cell",
                       "{Hn} = (1 − z) ⊙ n + z ⊙ {H}, with r, z = σ({A} + {B}) over their first two thirds and n = "
                       "tanh({A}ₙ + r ⊙ {B}ₙ) over the last: d{H} = d{Hn} ⊙ z; with da = d{Hn} ⊙ (1 − z) ⊙ (1 − n²), "
                       "dr = da ⊙ {B}ₙ ⊙ r(1 − r) and dz = d{Hn} ⊙ ({H} − n) ⊙ z(1 − z): d{A} = [dr, dz, da], "
                       "d{B} = [dr, dz, da ⊙ r]",
                       {{"A", xw}, {"B", hw}, {"H", h}});
    Tensor reset_update = sigmoid(narrow(xw, 1, 0, 2 * hidden) + narrow(hw, 1, 0, 2 * hidden));
    Tensor r = narrow(reset_update, 1, 0, hidden);
    Tensor z = narrow(reset_update, 1, hidden, hidden);
    Tensor n = tanh(addcmul(narrow(xw, 1, 2 * hidden, hidden), r, narrow(hw, 1, 2 * hidden, hidden)));
    return step.output(addcmul(n, z, h - n), "Hn");
}

// Inverted dropout between layers, as the Dropout module does (a functional
// rg::dropout would replace this).
Tensor drop(const Tensor& x, double p) {
    if (p >= 1.0) return x * 0.0;
    Tensor keep = ge(rand_like(x), full_like(x, p));  // a mask: no gradient
    return x * keep * (1.0 / (1.0 - p));
}

void check_both_states(const std::string& layer, const LSTMState& state) {
    if (state.h.defined() != state.c.defined())
        fail("{}: the state has {} but not {}; give both h0 and c0, or neither (zeros)", layer,
             state.h.defined() ? "h0" : "c0", state.h.defined() ? "c0" : "h0");
}

void check_dtype(const std::string& layer, const char* what, const Tensor& t, const Tensor& weight) {
    if (t.dtype() != weight.dtype())
        fail("{}: {} is {} but the layer is {}; convert one with .to() or module.to()", layer, what,
             dtype_name(t.dtype()), dtype_name(weight.dtype()));
}

std::string cell_description(const char* kind, std::size_t gates, const Tensor& weight_ih, const Tensor& bias_ih,
                             Nonlinearity nonlinearity = Nonlinearity::tanh) {
    return fmt::format("{}({}, {}{}{})", kind, weight_ih.shape()[1], weight_ih.shape()[0] / gates,
                       bias_ih.defined() ? "" : ", bias=false",
                       nonlinearity == Nonlinearity::relu ? ", nonlinearity=relu" : "");
}

}  // namespace

namespace detail {

Recurrent::Recurrent(RecurrentKind kind, std::size_t input_size_, std::size_t hidden_size_, RNNOptions options_)
    : input_size(input_size_), hidden_size(hidden_size_), options(options_), kind_(kind) {
    const char* name = kind_name(kind);
    if (input_size == 0 || hidden_size == 0 || options.num_layers == 0)
        fail("{}: input_size, hidden_size and num_layers must be positive, got {}, {} and {}", name, input_size,
             hidden_size, options.num_layers);
    if (!(options.dropout >= 0.0 && options.dropout <= 1.0))
        fail("{}: dropout must be in [0, 1], got {}", name, options.dropout);
    if (kind != RecurrentKind::rnn && options.nonlinearity != Nonlinearity::tanh)
        fail("{}: nonlinearity=relu is an option of RNN only; {}'s gates use sigmoid and tanh", name, name);
    if (kind != RecurrentKind::lstm && options.proj_size != 0)
        fail("{}: proj_size={} is an option of LSTM only; {} has no projection, so proj_size must be 0", name,
             options.proj_size, name);
    if (options.proj_size >= hidden_size)  // hidden_size > 0 here, so proj_size 0 always passes
        fail("{}: proj_size must be smaller than hidden_size (or 0: no projection), got proj_size={} and "
             "hidden_size={}",
             name, options.proj_size, hidden_size);
    const std::size_t directions = options.bidirectional ? 2 : 1;
    const std::size_t gates = gate_count(kind) * hidden_size;
    // h, which W_hh multiplies and the next layer reads, is proj_size wide with a projection; c stays hidden_size.
    const std::size_t h_size = output_size();
    for (std::size_t layer = 0; layer < options.num_layers; ++layer) {
        const std::size_t in = layer == 0 ? input_size : h_size * directions;
        for (std::size_t direction = 0; direction < directions; ++direction) {
            const std::string suffix = fmt::format("_l{}{}", layer, direction == 1 ? "_reverse" : "");
            parameters.emplace_back("weight_ih" + suffix, pytorch_uniform({gates, in}, hidden_size));
            parameters.emplace_back("weight_hh" + suffix, pytorch_uniform({gates, h_size}, hidden_size));
            if (options.bias) {
                parameters.emplace_back("bias_ih" + suffix, pytorch_uniform({gates}, hidden_size));
                parameters.emplace_back("bias_hh" + suffix, pytorch_uniform({gates}, hidden_size));
            }
            // Last in each direction, as PyTorch's state dict; bounded by 1/√hidden_size like the others.
            if (options.proj_size > 0)
                parameters.emplace_back("weight_hr" + suffix,
                                        pytorch_uniform({options.proj_size, hidden_size}, hidden_size));
        }
    }
}

void Recurrent::replace(const std::string& name, const Tensor& value) {
    for (auto& [own, t] : parameters)
        if (own == name) t = value;
}

std::size_t Recurrent::output_size() const { return options.proj_size > 0 ? options.proj_size : hidden_size; }

Recurrent::DirectionWeights Recurrent::direction_weights(std::size_t layer_direction) const {
    const std::size_t per_direction = 2 + (options.bias ? 2 : 0) + (options.proj_size > 0 ? 1 : 0);
    const auto at = [&](std::size_t k) { return parameters[layer_direction * per_direction + k].second; };
    DirectionWeights w{at(0), at(1), {}, {}, {}};
    if (options.bias) {
        w.b_ih = at(2);
        w.b_hh = at(3);
    }
    if (options.proj_size > 0) w.w_hr = at(per_direction - 1);
    return w;
}

std::string Recurrent::describe() const {
    std::string text = fmt::format("{}({}, {}", kind_name(kind_), input_size, hidden_size);
    if (options.proj_size != 0) text += fmt::format(", proj_size={}", options.proj_size);  // where PyTorch prints it
    if (options.num_layers != 1) text += fmt::format(", num_layers={}", options.num_layers);
    if (options.nonlinearity == Nonlinearity::relu) text += ", nonlinearity=relu";
    if (!options.bias) text += ", bias=false";
    if (options.batch_first) text += ", batch_first=true";
    if (options.dropout != 0.0) text += fmt::format(", dropout={}", options.dropout);
    if (options.bidirectional) text += ", bidirectional=true";
    return text + ")";
}

std::vector<Tensor> Recurrent::run(const Tensor& input, const Tensor& h0_in, const Tensor& c0_in, bool training) const {
    const std::string layer = describe();
    const Tensor& first_weight = parameters.front().second;
    if (!input.defined()) fail("{}: the input is undefined", layer);
    const Shape& shape = input.shape();
    if ((input.dim() != 2 && input.dim() != 3) || shape.back() != input_size || input.numel() == 0)
        fail("{}: input has shape {}, expected {} or, unbatched, (seq_len, {}), with seq_len{} at least 1", layer,
             shape_str(shape),
             options.batch_first ? fmt::format("(batch, seq_len, {})", input_size)
                                 : fmt::format("(seq_len, batch, {})", input_size),
             input_size, input.dim() == 3 ? " and batch" : "");
    check_dtype(layer, "the input", input, first_weight);
    const bool batched = input.dim() == 3;
    // (L, N, H_in) from here on.
    const Tensor x = !batched ? unsqueeze(input, 1) : options.batch_first ? transpose(input, 0, 1) : input;
    const std::size_t batch = x.shape()[1];
    const Tensor h0 = initial_state(h0_in, State::hidden, batch, batched);
    const Tensor c0 = kind_ == RecurrentKind::lstm ? initial_state(c0_in, State::cell, batch, batched) : Tensor{};
    auto [output, h_n, c_n] = run_layers(x, {}, h0, c0, training);
    if (!batched) {
        output = squeeze(output, 1);
        h_n = squeeze(h_n, 1);
        if (c_n.defined()) c_n = squeeze(c_n, 1);
    } else if (options.batch_first) {
        output = transpose(output, 0, 1);
    }
    return {output, h_n, c_n};
}

std::vector<Tensor> Recurrent::run_packed(const utils::rnn::PackedSequence& input, const Tensor& h0_in,
                                          const Tensor& c0_in, bool training) const {
    const std::string layer = describe();
    if (!input.defined()) fail("{}: the packed input is empty (undefined data)", layer);
    const Tensor& data = input.data();
    if (data.dim() != 2 || data.shape()[1] != input_size)
        fail("{}: the packed input's data has shape {}, expected (sum of the lengths, {})", layer,
             shape_str(data.shape()), input_size);
    check_dtype(layer, "the packed input", data, parameters.front().second);
    const std::vector<std::int64_t> batch_sizes = int64_values(input.batch_sizes());  // checked by PackedSequence
    const auto batch = static_cast<std::size_t>(batch_sizes[0]);
    // The states come and go in the caller's batch order; the packed columns are sorted.
    const auto to_columns = [&](const Tensor& state) {
        return input.sorted_indices().defined() ? index_select(state, 1, input.sorted_indices()) : state;
    };
    const auto to_batch = [&](const Tensor& state) {
        return state.defined() && input.unsorted_indices().defined() ? index_select(state, 1, input.unsorted_indices())
                                                                     : state;
    };
    const Tensor h0 = to_columns(initial_state(h0_in, State::hidden, batch, true));
    const Tensor c0 =
        kind_ == RecurrentKind::lstm ? to_columns(initial_state(c0_in, State::cell, batch, true)) : Tensor{};
    auto [output, h_n, c_n] = run_layers(data, batch_sizes, h0, c0, training);
    return {output, to_batch(h_n), to_batch(c_n)};
}

// h0 or c0 as (num_layers · directions, N, size): zeros when undefined. The size is
// hidden_size, but proj_size for an LSTM's h with a projection.
Tensor Recurrent::initial_state(const Tensor& given, State state, std::size_t batch, bool batched) const {
    const Tensor& first_weight = parameters.front().second;
    const std::size_t states = options.num_layers * (options.bidirectional ? 2 : 1);
    const bool projected = state == State::hidden && options.proj_size > 0;
    const std::size_t size = projected ? options.proj_size : hidden_size;
    const char* which = state == State::hidden ? "h0" : "c0";
    if (!given.defined()) return zeros({states, batch, size}, {first_weight.dtype()});
    const Shape expected = batched ? Shape{states, batch, size} : Shape{states, size};
    if (given.shape() != expected)
        fail("{}: {} has shape {}, expected {}: (num_layers * directions{}, {}){}", describe(), which,
             shape_str(given.shape()), shape_str(expected), batched ? ", batch" : "",
             projected ? "proj_size" : "hidden_size", batched ? "" : " for an unbatched input");
    check_dtype(describe(), which, given, first_weight);
    return batched ? given : unsqueeze(given, 1);
}

// `x` is (L, N, H_in) when `packed_sizes` is empty; otherwise the packed rows
// (sum of the lengths, H_in), step t holding packed_sizes[t] of them. A packed
// forward direction drops the sequences that have ended from its state (their
// final state set aside), and the reverse direction adds each sequence from h0
// at its own last step, so that every sequence runs over its own steps only.
Recurrent::Outputs Recurrent::run_layers(const Tensor& x, const std::vector<std::int64_t>& packed_sizes,
                                         const Tensor& h0, const Tensor& c0, bool training) const {
    const bool packed = !packed_sizes.empty();
    const std::size_t steps = packed ? packed_sizes.size() : x.shape()[0];
    const std::size_t batch = h0.shape()[1];
    std::vector<std::int64_t> offsets(steps, 0);
    for (std::size_t t = 1; t < steps; ++t) offsets[t] = offsets[t - 1] + (packed ? packed_sizes[t - 1] : 0);
    const std::size_t directions = options.bidirectional ? 2 : 1;
    const auto hidden = static_cast<std::int64_t>(hidden_size);

    TensorList final_h, final_c;
    Tensor layer_input = x;
    for (std::size_t l = 0; l < options.num_layers; ++l) {
        TensorList outputs_by_direction;
        for (std::size_t d = 0; d < directions; ++d) {
            const std::size_t index = l * directions + d;
            const auto [w_ih, w_hh, b_ih, b_hh, w_hr] = direction_weights(index);
            const std::size_t in = layer_input.shape().back();
            // Every step's input product at once: one (rows, in) x (in, gates) GEMM.
            Tensor xw = gemm(packed ? layer_input : reshape(layer_input, Shape{steps * batch, in}), w_ih, false, true);
            // RNN and LSTM add both biases once here; GRU needs b_hh inside r (h W_hnᵀ + b_hn).
            Tensor step_bias = b_hh;
            if (options.bias && kind_ != RecurrentKind::gru) {
                xw = xw + (b_ih + b_hh);
                step_bias = Tensor{};
            } else if (options.bias) {
                xw = xw + b_ih;
            }
            if (!packed) xw = reshape(xw, Shape{steps, batch, w_ih.shape()[0]});
            const Tensor h_start = select(h0, 0, static_cast<std::int64_t>(index));
            const Tensor c_start = c0.defined() ? select(c0, 0, static_cast<std::int64_t>(index)) : Tensor{};
            Tensor h = h_start, c = c_start;
            TensorList ended_h, ended_c;  // packed, forward: the states of the sequences that have ended, last first
            TensorList outputs(steps);
            for (std::size_t s = 0; s < steps; ++s) {
                const std::size_t t = d == 0 ? s : steps - 1 - s;
                const Tensor xt =
                    packed ? narrow(xw, 0, offsets[t], packed_sizes[t]) : select(xw, 0, static_cast<std::int64_t>(t));
                if (packed) {
                    const auto running = packed_sizes[t];
                    const auto rows = static_cast<std::int64_t>(h.shape()[0]);
                    if (rows > running) {  // forward: sequences ended; reverse: the first step, shorter ones wait
                        if (d == 0) {
                            ended_h.push_back(narrow(h, 0, running, rows - running));
                            if (c.defined()) ended_c.push_back(narrow(c, 0, running, rows - running));
                        }
                        h = narrow(h, 0, 0, running);
                        if (c.defined()) c = narrow(c, 0, 0, running);
                    } else if (rows < running) {  // reverse: sequences whose last step this is start
                        h = concat({h, narrow(h_start, 0, rows, running - rows)});
                        if (c.defined()) c = concat({c, narrow(c_start, 0, rows, running - rows)});
                    }
                }
                switch (kind_) {
                    case RecurrentKind::rnn:
                        h = activate(xt + hidden_product(h, w_hh, step_bias), options.nonlinearity);
                        break;
                    case RecurrentKind::lstm: {
                        LSTMState next = lstm_step(xt + hidden_product(h, w_hh, step_bias), c, hidden);
                        h = project(next.h, w_hr);
                        c = next.c;
                        break;
                    }
                    case RecurrentKind::gru: h = gru_step(xt, hidden_product(h, w_hh, step_bias), h, hidden); break;
                }
                outputs[t] = h;
            }
            // Rows in column order: the running ones, then the ended ones, last ended first.
            const auto with_ended = [](const Tensor& running, TensorList ended) {
                if (ended.empty()) return running;
                std::reverse(ended.begin(), ended.end());
                ended.insert(ended.begin(), running);
                return concat(ended);
            };
            h = with_ended(h, std::move(ended_h));
            if (c.defined()) c = with_ended(c, std::move(ended_c));
            outputs_by_direction.push_back(packed ? concat(outputs, 0) : stack(outputs, 0));
            final_h.push_back(h);
            if (c.defined()) final_c.push_back(c);
        }
        layer_input = directions == 1 ? outputs_by_direction[0]
                                      : concat(outputs_by_direction, static_cast<int>(layer_input.dim()) - 1);
        if (training && options.dropout > 0.0 && l + 1 < options.num_layers)
            layer_input = drop(layer_input, options.dropout);
    }
    Tensor h_n = stack(final_h, 0);
    Tensor c_n = final_c.empty() ? Tensor{} : stack(final_c, 0);
    return {layer_input, h_n, c_n};
}

}  // namespace detail

RNN::RNN(std::size_t input_size, std::size_t hidden_size, RNNOptions options)
    : core_(RecurrentKind::rnn, input_size, hidden_size, options) {
    for (auto& [name, t] : core_.parameters) t = register_parameter(name, t);
}

RNNOutput RNN::forward(const Tensor& input, const Tensor& h0) {
    auto out = core_.run(input, h0, {}, is_training());
    return {out[0], out[1]};
}

PackedRNNOutput RNN::forward(const utils::rnn::PackedSequence& input, const Tensor& h0) {
    auto out = core_.run_packed(input, h0, {}, is_training());
    return {input.with_data(out[0]), out[1]};
}

LSTM::LSTM(std::size_t input_size, std::size_t hidden_size, RNNOptions options)
    : core_(RecurrentKind::lstm, input_size, hidden_size, options) {
    for (auto& [name, t] : core_.parameters) t = register_parameter(name, t);
}

LSTMOutput LSTM::forward(const Tensor& input, const LSTMState& state) {
    check_both_states(describe(), state);
    auto out = core_.run(input, state.h, state.c, is_training());
    return {out[0], {out[1], out[2]}};
}

PackedLSTMOutput LSTM::forward(const utils::rnn::PackedSequence& input, const LSTMState& state) {
    check_both_states(describe(), state);
    auto out = core_.run_packed(input, state.h, state.c, is_training());
    return {input.with_data(out[0]), {out[1], out[2]}};
}

GRU::GRU(std::size_t input_size, std::size_t hidden_size, RNNOptions options)
    : core_(RecurrentKind::gru, input_size, hidden_size, options) {
    for (auto& [name, t] : core_.parameters) t = register_parameter(name, t);
}

RNNOutput GRU::forward(const Tensor& input, const Tensor& h0) {
    auto out = core_.run(input, h0, {}, is_training());
    return {out[0], out[1]};
}

PackedRNNOutput GRU::forward(const utils::rnn::PackedSequence& input, const Tensor& h0) {
    auto out = core_.run_packed(input, h0, {}, is_training());
    return {input.with_data(out[0]), out[1]};
}

namespace {

struct CellParameters {
    Tensor weight_ih, weight_hh, bias_ih, bias_hh;
};

CellParameters make_cell(const char* kind, std::size_t gates, std::size_t input_size, std::size_t hidden_size,
                         bool bias) {
    if (input_size == 0 || hidden_size == 0)
        fail("{}: input_size and hidden_size must be positive, got {} and {}", kind, input_size, hidden_size);
    CellParameters p;
    p.weight_ih = pytorch_uniform({gates * hidden_size, input_size}, hidden_size);
    p.weight_hh = pytorch_uniform({gates * hidden_size, hidden_size}, hidden_size);
    if (bias) {
        p.bias_ih = pytorch_uniform({gates * hidden_size}, hidden_size);
        p.bias_hh = pytorch_uniform({gates * hidden_size}, hidden_size);
    }
    return p;
}

// The input as (N, H_in), and whether it was batched.
std::pair<Tensor, bool> cell_input(const std::string& cell, const Tensor& input, const Tensor& weight_ih) {
    const std::size_t in = weight_ih.shape()[1];
    if (!input.defined()) fail("{}: the input is undefined", cell);
    if ((input.dim() != 1 && input.dim() != 2) || input.shape().back() != in)
        fail("{}: input has shape {}, expected (batch, {}) or, unbatched, ({},)", cell, shape_str(input.shape()), in,
             in);
    check_dtype(cell, "the input", input, weight_ih);
    return {input.dim() == 1 ? unsqueeze(input, 0) : input, input.dim() == 2};
}

// A state as (N, H): zeros when undefined.
Tensor cell_state(const std::string& cell, const char* which, const Tensor& given, const Tensor& x, bool batched,
                  const Tensor& weight_hh) {
    const std::size_t hidden = weight_hh.shape()[1];
    if (!given.defined()) return zeros({x.shape()[0], hidden}, {weight_hh.dtype()});
    const Shape expected = batched ? Shape{x.shape()[0], hidden} : Shape{hidden};
    if (given.shape() != expected)
        fail("{}: {} has shape {}, expected {}{}", cell, which, shape_str(given.shape()), shape_str(expected),
             batched ? ": (batch, hidden_size)" : " for an unbatched input: (hidden_size)");
    check_dtype(cell, which, given, weight_hh);
    return batched ? given : unsqueeze(given, 0);
}

Tensor input_product(const Tensor& x, const Tensor& w_ih, const Tensor& b_ih) {
    Tensor out = gemm(x, w_ih, false, true);
    return b_ih.defined() ? out + b_ih : out;
}

}  // namespace

RNNCell::RNNCell(std::size_t input_size, std::size_t hidden_size, RNNCellOptions options) : options_(options) {
    auto p = make_cell("RNNCell", 1, input_size, hidden_size, options.bias);
    weight_ih = register_parameter("weight_ih", p.weight_ih);
    weight_hh = register_parameter("weight_hh", p.weight_hh);
    if (options.bias) {
        bias_ih = register_parameter("bias_ih", p.bias_ih);
        bias_hh = register_parameter("bias_hh", p.bias_hh);
    }
}

Tensor RNNCell::forward(const Tensor& input, const Tensor& h) {
    const std::string cell = describe();
    auto [x, batched] = cell_input(cell, input, weight_ih);
    Tensor state = cell_state(cell, "h", h, x, batched, weight_hh);
    Tensor next = activate(input_product(x, weight_ih, bias_ih) + hidden_product(state, weight_hh, bias_hh),
                           options_.nonlinearity);
    return batched ? next : squeeze(next, 0);
}

std::string RNNCell::describe() const {
    return cell_description("RNNCell", 1, weight_ih, bias_ih, options_.nonlinearity);
}

LSTMCell::LSTMCell(std::size_t input_size, std::size_t hidden_size, RNNCellOptions options) {
    if (options.nonlinearity != Nonlinearity::tanh)
        fail("LSTMCell: nonlinearity=relu is an option of RNNCell only; LSTMCell's gates use sigmoid and tanh");
    auto p = make_cell("LSTMCell", 4, input_size, hidden_size, options.bias);
    weight_ih = register_parameter("weight_ih", p.weight_ih);
    weight_hh = register_parameter("weight_hh", p.weight_hh);
    if (options.bias) {
        bias_ih = register_parameter("bias_ih", p.bias_ih);
        bias_hh = register_parameter("bias_hh", p.bias_hh);
    }
}

LSTMState LSTMCell::forward(const Tensor& input, const LSTMState& state) {
    const std::string cell = describe();
    if (state.h.defined() != state.c.defined())
        fail("{}: the state has {} but not {}; give both h and c, or neither (zeros)", cell,
             state.h.defined() ? "h" : "c", state.h.defined() ? "c" : "h");
    auto [x, batched] = cell_input(cell, input, weight_ih);
    Tensor h = cell_state(cell, "h", state.h, x, batched, weight_hh);
    Tensor c = cell_state(cell, "c", state.c, x, batched, weight_hh);
    LSTMState next = lstm_step(input_product(x, weight_ih, bias_ih) + hidden_product(h, weight_hh, bias_hh), c,
                               static_cast<std::int64_t>(weight_hh.shape()[1]));
    if (!batched) return {squeeze(next.h, 0), squeeze(next.c, 0)};
    return next;
}

std::string LSTMCell::describe() const { return cell_description("LSTMCell", 4, weight_ih, bias_ih); }

GRUCell::GRUCell(std::size_t input_size, std::size_t hidden_size, RNNCellOptions options) {
    if (options.nonlinearity != Nonlinearity::tanh)
        fail("GRUCell: nonlinearity=relu is an option of RNNCell only; GRUCell's gates use sigmoid and tanh");
    auto p = make_cell("GRUCell", 3, input_size, hidden_size, options.bias);
    weight_ih = register_parameter("weight_ih", p.weight_ih);
    weight_hh = register_parameter("weight_hh", p.weight_hh);
    if (options.bias) {
        bias_ih = register_parameter("bias_ih", p.bias_ih);
        bias_hh = register_parameter("bias_hh", p.bias_hh);
    }
}

Tensor GRUCell::forward(const Tensor& input, const Tensor& h) {
    const std::string cell = describe();
    auto [x, batched] = cell_input(cell, input, weight_ih);
    Tensor state = cell_state(cell, "h", h, x, batched, weight_hh);
    Tensor next = gru_step(input_product(x, weight_ih, bias_ih), hidden_product(state, weight_hh, bias_hh), state,
                           static_cast<std::int64_t>(weight_hh.shape()[1]));
    return batched ? next : squeeze(next, 0);
}

std::string GRUCell::describe() const { return cell_description("GRUCell", 3, weight_ih, bias_ih); }

}  // namespace rg::nn
