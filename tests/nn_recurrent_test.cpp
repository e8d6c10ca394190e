// RNN, LSTM, GRU and their cells: parameter names and initialisation as
// PyTorch, states carried across calls, dropout, gradients against finite
// differences, and every bad input's message. Agreement with PyTorch's values
// and gradients is in nn_parity_test.cpp.
#include <unistd.h>

#include <filesystem>

#include <retrograd/graph.hpp>

#include "helpers.hpp"
#include "parameter_gradients.hpp"

using namespace rg::nn;
using rg::Tensor;
using rg::TensorList;
using test::check_values;

namespace {

std::vector<std::string> names_of(const Module& m) {
    std::vector<std::string> names;
    for (const auto& entry : m.named_parameters()) names.push_back(entry.first);
    return names;
}

rg::TensorOptions f64() { return {.dtype = rg::float64}; }

// forward() as the layers run it (the fused cell ops) and under rg::ExplainMode
// (the course's single ops): the same values and gradients.
template <class Forward> void check_same_under_explain_mode(Forward forward) {
    const TensorList fused = forward();
    TensorList explained;
    {
        rg::ExplainMode on;
        explained = forward();
    }
    REQUIRE(fused.size() == explained.size());
    for (std::size_t k = 0; k < fused.size(); ++k) check_values(fused[k], explained[k], 1e-5);
}

// How many times `word` appears in `text` (an op's name in a tape table).
std::size_t occurrences(const std::string& text, const std::string& word) {
    std::size_t count = 0;
    for (auto at = text.find(word); at != std::string::npos; at = text.find(word, at + word.size())) ++count;
    return count;
}

}  // namespace

TEST_CASE("recurrent layers have PyTorch's parameter names, shapes and order") {
    LSTM lstm(3, 4, {.num_layers = 2, .bidirectional = true});
    CHECK(names_of(lstm) ==
          std::vector<std::string>{"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_ih_l0_reverse",
                                   "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse", "weight_ih_l1",
                                   "weight_hh_l1", "bias_ih_l1", "bias_hh_l1", "weight_ih_l1_reverse",
                                   "weight_hh_l1_reverse", "bias_ih_l1_reverse", "bias_hh_l1_reverse"});
    const auto p = lstm.named_parameters();
    CHECK(p[0].second.shape() == rg::Shape{16, 3});  // 4 gates x hidden 4, input 3
    CHECK(p[1].second.shape() == rg::Shape{16, 4});
    CHECK(p[2].second.shape() == rg::Shape{16});
    CHECK(p[8].second.shape() == rg::Shape{16, 8});  // layer 1 reads both directions
    CHECK(names_of(GRU(3, 4, {.bias = false})) == std::vector<std::string>{"weight_ih_l0", "weight_hh_l0"});
    CHECK(GRU(3, 4).parameters()[0].shape() == rg::Shape{12, 3});
    CHECK(RNN(3, 4).parameters()[0].shape() == rg::Shape{4, 3});
    CHECK(names_of(LSTMCell(3, 4)) == std::vector<std::string>{"weight_ih", "weight_hh", "bias_ih", "bias_hh"});
    CHECK(names_of(RNNCell(3, 4, {.bias = false})) == std::vector<std::string>{"weight_ih", "weight_hh"});
    CHECK(GRUCell(3, 4).weight_hh.shape() == rg::Shape{12, 4});
}

TEST_CASE("recurrent layers are initialised uniform in +-1/sqrt(hidden_size), as PyTorch") {
    rg::manual_seed(1);
    for (const Tensor& t : LSTM(3, 16, {.num_layers = 2}).parameters()) {
        const double bound = 0.25;
        CHECK(rg::max(rg::abs(t)).item() <= bound);
        CHECK(rg::max(rg::abs(t)).item() > 0.9 * bound);  // spread over the interval, not a constant
    }
    CHECK(rg::max(rg::abs(GRUCell(2, 4).weight_ih)).item() <= 0.5);
}

TEST_CASE("the returned state continues a sequence: two halves give the whole") {
    rg::manual_seed(2);
    const Tensor x = rg::randn({6, 2, 3});
    LSTM lstm(3, 4, {.num_layers = 2});
    auto [whole, end] = lstm(x);
    auto [first, middle] = lstm(rg::narrow(x, 0, 0, 3));
    auto [second, after] = lstm(rg::narrow(x, 0, 3, 3), middle);
    check_values(rg::concat({first, second}, 0), whole, 1e-6);
    check_values(after.h, end.h, 1e-6);
    check_values(after.c, end.c, 1e-6);
    // The last layer's final h is the output's last step.
    check_values(rg::select(end.h, 0, 1), rg::select(whole, 0, 5), 0);
    GRU gru(3, 4);
    auto [out, h] = gru(x);
    auto [out1, h1] = gru(rg::narrow(x, 0, 0, 2));
    auto [out2, h2] = gru(rg::narrow(x, 0, 2, 4), h1);
    check_values(h2, h, 1e-6);
    // A cell stepped by hand is the one-layer GRU.
    GRUCell cell(3, 4);
    rg::NoGrad off;
    for (const auto& entry : gru.named_parameters()) {
        const std::string name = entry.first.substr(0, entry.first.size() - 3);  // weight_ih_l0 -> weight_ih
        for (auto& own : cell.named_parameters())
            if (own.first == name) own.second.set_values_(entry.second);
    }
    Tensor step = cell(rg::select(x, 0, 0));
    for (int t = 1; t < 6; ++t) step = cell(rg::select(x, 0, t), step);
    check_values(step, rg::select(h, 0, 0), 1e-6);
}

TEST_CASE("an LSTM runs one lstm_pointwise op per step; under ExplainMode its single ops give the same values") {
    rg::manual_seed(23);
    LSTM lstm(3, 5, {.num_layers = 2});
    const auto x = rg::randn({4, 2, 3});
    const auto forward = [&] {
        const LSTMOutput out = lstm.forward(x);
        lstm.zero_grad();
        rg::sum(out.output * out.output).backward();
        return TensorList{out.output, out.state.h, out.state.c, lstm.named_parameters()[1].second.grad()};
    };
    const std::string tape = rg::tape_table(lstm.forward(x).output);
    CHECK(occurrences(tape, "lstm_pointwise") == 8);  // 4 steps, 2 layers
    CHECK(tape.find("sigmoid") == std::string::npos);
    check_same_under_explain_mode(forward);
}

TEST_CASE("a GRU runs one gru_pointwise op per step; under ExplainMode its single ops give the same values") {
    rg::manual_seed(24);
    GRU gru(3, 5, {.num_layers = 2, .bidirectional = true});
    const auto x = rg::randn({4, 2, 3});
    const auto forward = [&] {
        const RNNOutput out = gru.forward(x);
        gru.zero_grad();
        rg::sum(out.output * out.output).backward();
        return TensorList{out.output, out.h, gru.named_parameters()[1].second.grad()};
    };
    const std::string tape = rg::tape_table(gru.forward(x).output);
    CHECK(occurrences(tape, "gru_pointwise") == 16);  // 4 steps, 2 layers, 2 directions
    CHECK(tape.find("sigmoid") == std::string::npos);
    check_same_under_explain_mode(forward);
}

TEST_CASE("dropout acts between layers in training only") {
    rg::manual_seed(4);
    LSTM lstm(3, 4, {.num_layers = 2, .dropout = 1.0});
    const Tensor a = rg::randn({3, 2, 3}), b = rg::randn({3, 2, 3});
    // Everything dropped: the second layer sees zeros, whatever the input.
    check_values(lstm(a).output, lstm(b).output, 0);
    lstm.eval();
    CHECK_FALSE(rg::allclose(lstm(a).output, lstm(b).output));
}

TEST_CASE("recurrent layers' gradients match finite differences at first and second order") {
    rg::manual_seed(5);
    RNN rnn(2, 2, {.num_layers = 2, .bidirectional = true});
    LSTM lstm(2, 3, {.batch_first = true});
    GRU gru(2, 2, {.num_layers = 2});
    LSTMCell lstm_cell(2, 2);
    for (Module* m : std::vector<Module*>{&rnn, &lstm, &gru, &lstm_cell}) m->to(rg::float64);
    const auto flat = [](const TensorList& parts) {
        TensorList flats;
        for (const Tensor& t : parts) flats.push_back(rg::reshape(t, {-1}));
        return rg::concat(flats, 0);
    };
    test::check_gradients(
        [&](const TensorList& v) {
            auto [out, h] = rnn(v[0], v[1]);
            return flat({out, h});
        },
        {test::rand64({3, 2, 2}), test::rand64({4, 2, 2})});
    test::check_gradients(
        [&](const TensorList& v) {
            auto [out, state] = lstm(v[0], LSTMState{v[1], v[2]});
            return flat({out, state.h, state.c});
        },
        {test::rand64({2, 3, 2}), test::rand64({1, 2, 3}), test::rand64({1, 2, 3})});
    test::check_gradients(
        [&](const TensorList& v) {
            auto [out, h] = gru(v[0], v[1]);
            return flat({out, h});
        },
        {test::rand64({3, 2}), test::rand64({2, 2})});
    test::check_gradients(
        [&](const TensorList& v) {
            auto [h, c] = lstm_cell(v[0], LSTMState{v[1], v[2]});
            return flat({h, c});
        },
        {test::rand64({2, 2}), test::rand64({2, 2}), test::rand64({2, 2})});
}

TEST_CASE("an LSTM with proj_size has PyTorch's parameters: weight_hr last in each direction, h proj_size wide") {
    LSTM lstm(3, 5, {.num_layers = 2, .bidirectional = true, .proj_size = 2});
    // list(torch.nn.LSTM(3, 5, proj_size=2, num_layers=2, bidirectional=True).state_dict()), shapes included.
    const std::vector<std::pair<std::string, rg::Shape>> expected{{"weight_ih_l0", {20, 3}},
                                                                  {"weight_hh_l0", {20, 2}},
                                                                  {"bias_ih_l0", {20}},
                                                                  {"bias_hh_l0", {20}},
                                                                  {"weight_hr_l0", {2, 5}},
                                                                  {"weight_ih_l0_reverse", {20, 3}},
                                                                  {"weight_hh_l0_reverse", {20, 2}},
                                                                  {"bias_ih_l0_reverse", {20}},
                                                                  {"bias_hh_l0_reverse", {20}},
                                                                  {"weight_hr_l0_reverse", {2, 5}},
                                                                  {"weight_ih_l1", {20, 4}},
                                                                  {"weight_hh_l1", {20, 2}},
                                                                  {"bias_ih_l1", {20}},
                                                                  {"bias_hh_l1", {20}},
                                                                  {"weight_hr_l1", {2, 5}},
                                                                  {"weight_ih_l1_reverse", {20, 4}},
                                                                  {"weight_hh_l1_reverse", {20, 2}},
                                                                  {"bias_ih_l1_reverse", {20}},
                                                                  {"bias_hh_l1_reverse", {20}},
                                                                  {"weight_hr_l1_reverse", {2, 5}}};
    std::vector<std::pair<std::string, rg::Shape>> actual;
    for (const auto& [name, t] : lstm.named_parameters()) actual.emplace_back(name, t.shape());
    CHECK(actual == expected);
    CHECK(names_of(LSTM(3, 5, {.bias = false, .proj_size = 4})) ==
          std::vector<std::string>{"weight_ih_l0", "weight_hh_l0", "weight_hr_l0"});
    // Every weight, weight_hr included, uniform in +-1/sqrt(hidden_size) as PyTorch.
    rg::manual_seed(25);
    const Tensor w_hr = LSTM(3, 16, {.proj_size = 8}).named_parameters()[4].second;
    CHECK(rg::max(rg::abs(w_hr)).item() <= 0.25);
    CHECK(rg::max(rg::abs(w_hr)).item() > 0.9 * 0.25);

    // h and the output are proj_size wide (per direction), c stays hidden_size.
    auto [out, state] = lstm(rg::randn({4, 3, 3}));
    CHECK(out.shape() == rg::Shape{4, 3, 4});
    CHECK(state.h.shape() == rg::Shape{4, 3, 2});
    CHECK(state.c.shape() == rg::Shape{4, 3, 5});
    auto [unbatched, unbatched_state] = lstm(rg::randn({4, 3}), LSTMState{rg::zeros({4, 2}), rg::zeros({4, 5})});
    CHECK(unbatched.shape() == rg::Shape{4, 4});
    CHECK(unbatched_state.h.shape() == rg::Shape{4, 2});
    CHECK(unbatched_state.c.shape() == rg::Shape{4, 5});
    LSTM batch_first(3, 5, {.batch_first = true, .proj_size = 3});
    CHECK(batch_first(rg::randn({2, 4, 3})).output.shape() == rg::Shape{2, 4, 3});
}

TEST_CASE("an LSTM with proj_size computes h = W_hr (o tanh(c)), the h its next step reads") {
    rg::manual_seed(26);
    LSTM lstm(3, 4, {.proj_size = 2});
    lstm.to(rg::float64);
    const auto p = lstm.named_parameters();
    const Tensor &w_ih = p[0].second, &w_hh = p[1].second, &b_ih = p[2].second, &b_hh = p[3].second,
                 &w_hr = p[4].second;
    const Tensor x = test::rand64({3, 2, 3}, false);
    Tensor h = test::rand64({2, 2}, false), c = test::rand64({2, 4}, false);
    const auto [out, state] = lstm(x, LSTMState{unsqueeze(h, 0), unsqueeze(c, 0)});
    // The step written out with single ops: gates i, f, g, o, then the projection.
    for (std::int64_t t = 0; t < 3; ++t) {
        const Tensor gates = rg::matmul(rg::select(x, 0, t), rg::transpose(w_ih, 0, 1)) + b_ih +
                             rg::matmul(h, rg::transpose(w_hh, 0, 1)) + b_hh;
        const auto gate = [&](std::int64_t k) { return rg::narrow(gates, 1, 4 * k, 4); };
        c = rg::sigmoid(gate(1)) * c + rg::sigmoid(gate(0)) * rg::tanh(gate(2));
        h = rg::matmul(rg::sigmoid(gate(3)) * rg::tanh(c), rg::transpose(w_hr, 0, 1));
        check_values(rg::select(out, 0, t), h, 1e-12);
    }
    check_values(rg::select(state.h, 0, 0), h, 1e-12);
    check_values(rg::select(state.c, 0, 0), c, 1e-12);
}

TEST_CASE("an LSTM with proj_size: gradients match finite differences, at second order for input and states") {
    rg::manual_seed(27);
    LSTM lstm(2, 3, {.bidirectional = true, .proj_size = 2});
    lstm.to(rg::float64);
    const auto run = [&](const Tensor& x, const Tensor& h0, const Tensor& c0) {
        auto [out, state] = lstm(x, LSTMState{h0, c0});
        return rg::concat({rg::reshape(out, {-1}), rg::reshape(state.h, {-1}), rg::reshape(state.c, {-1})});
    };
    const Tensor x = test::rand64({3, 2, 2}), h0 = test::rand64({2, 2, 2}), c0 = test::rand64({2, 2, 3});
    test::check_gradients([&](const TensorList& v) { return run(v[0], v[1], v[2]); }, {x, h0, c0});

    // The weights (weight_hr too) are not gradcheck's inputs: each along a random direction.
    const Tensor cotangent = rg::randn(run(x, h0, c0).shape(), f64());
    test::check_parameter_gradients(lstm, [&] { return rg::sum(run(x, h0, c0) * cotangent); });
}

TEST_CASE("docs/nn.md's LSTM with proj_size example gives the shapes the page says") {
    rg::nn::LSTM projected(8, 16, {.bidirectional = true, .proj_size = 4});
    auto [p_out, p_state] = projected(rg::randn({10, 3, 8}));
    CHECK(p_out.shape() == rg::Shape{10, 3, 8});
    CHECK(p_state.h.shape() == rg::Shape{2, 3, 4});
    CHECK(p_state.c.shape() == rg::Shape{2, 3, 16});
    for (const auto& [name, w] : projected.named_parameters())
        if (name.rfind("weight_hr", 0) == 0) CHECK(w.shape() == rg::Shape{4, 16});
    CHECK(names_of(projected).size() == 10);  // 5 per direction
}

TEST_CASE("recurrent layers describe themselves as PyTorch prints them") {
    CHECK(LSTM(3, 5).describe() == "LSTM(3, 5)");
    // proj_size right after the sizes, where PyTorch's repr puts it.
    CHECK(LSTM(3, 5, {.num_layers = 2, .bidirectional = true, .proj_size = 2}).describe() ==
          "LSTM(3, 5, proj_size=2, num_layers=2, bidirectional=true)");
    CHECK(RNN(3, 5,
              {.num_layers = 2,
               .bias = false,
               .batch_first = true,
               .dropout = 0.5,
               .bidirectional = true,
               .nonlinearity = Nonlinearity::relu})
              .describe() == "RNN(3, 5, num_layers=2, nonlinearity=relu, bias=false, batch_first=true, dropout=0.5, "
                             "bidirectional=true)");
    CHECK(GRUCell(3, 5, {.bias = false}).describe() == "GRUCell(3, 5, bias=false)");
    CHECK(RNNCell(3, 5, {.nonlinearity = Nonlinearity::relu}).describe() == "RNNCell(3, 5, nonlinearity=relu)");
}

TEST_CASE("a recurrent layer's bad input names the layer, what it received and what it expected") {
    LSTM lstm(3, 5);
    CHECK_THROWS_WITH_AS(lstm(rg::zeros({4, 2, 7})),
                         "LSTM(3, 5): input has shape (4, 2, 7), expected (seq_len, batch, 3) or, unbatched, "
                         "(seq_len, 3), with seq_len and batch at least 1",
                         rg::Error);
    CHECK_THROWS_WITH_AS(LSTM(3, 5, {.batch_first = true})(rg::zeros({2, 4, 3, 1})),
                         "LSTM(3, 5, batch_first=true): input has shape (2, 4, 3, 1), expected (batch, seq_len, 3) or, "
                         "unbatched, (seq_len, 3), with seq_len at least 1",
                         rg::Error);
    CHECK_THROWS_WITH_AS(lstm(rg::zeros({0, 2, 3})), doctest::Contains("input has shape (0, 2, 3)"), rg::Error);
    LSTM stacked(3, 5, {.num_layers = 2});
    CHECK_THROWS_WITH_AS(stacked(rg::zeros({4, 2, 3}), LSTMState{rg::zeros({1, 2, 5}), rg::zeros({2, 2, 5})}),
                         "LSTM(3, 5, num_layers=2): h0 has shape (1, 2, 5), expected (2, 2, 5): (num_layers * "
                         "directions, batch, hidden_size)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(stacked(rg::zeros({4, 2, 3}), LSTMState{rg::zeros({2, 2, 5}), rg::zeros({2, 3, 5})}),
                         doctest::Contains("c0 has shape (2, 3, 5), expected (2, 2, 5)"), rg::Error);
    CHECK_THROWS_WITH_AS(GRU(3, 5, {.bidirectional = true})(rg::zeros({4, 3}), rg::zeros({1, 5})),
                         "GRU(3, 5, bidirectional=true): h0 has shape (1, 5), expected (2, 5): (num_layers * "
                         "directions, hidden_size) for an unbatched input",
                         rg::Error);
    CHECK_THROWS_WITH_AS(lstm(rg::zeros({4, 2, 3}), LSTMState{rg::zeros({1, 2, 5}), Tensor{}}),
                         "LSTM(3, 5): the state has h0 but not c0; give both h0 and c0, or neither (zeros)", rg::Error);
    CHECK_THROWS_WITH_AS(RNN(3, 5)(rg::zeros({4, 2, 3}, f64())),
                         "RNN(3, 5): the input is float64 but the layer is float32; convert one with .to() or "
                         "module.to()",
                         rg::Error);
    CHECK_THROWS_WITH_AS(LSTM(3, 5, {.nonlinearity = Nonlinearity::relu}),
                         "LSTM: nonlinearity=relu is an option of RNN only; LSTM's gates use sigmoid and tanh",
                         rg::Error);
    CHECK_THROWS_WITH_AS(GRU(3, 5, {.dropout = 1.5}), "GRU: dropout must be in [0, 1], got 1.5", rg::Error);
    CHECK_THROWS_WITH_AS(RNN(0, 5), "RNN: input_size, hidden_size and num_layers must be positive, got 0, 5 and 1",
                         rg::Error);
}

TEST_CASE("proj_size: RNN and GRU refuse it, LSTM wants it below hidden_size, and h0 must be proj_size wide") {
    CHECK_THROWS_WITH_AS(RNN(3, 5, {.proj_size = 2}),
                         "RNN: proj_size=2 is an option of LSTM only; RNN has no projection, so proj_size must be 0",
                         rg::Error);
    CHECK_THROWS_WITH_AS(GRU(3, 5, {.proj_size = 4}),
                         "GRU: proj_size=4 is an option of LSTM only; GRU has no projection, so proj_size must be 0",
                         rg::Error);
    CHECK_THROWS_WITH_AS(LSTM(3, 5, {.proj_size = 5}),
                         "LSTM: proj_size must be smaller than hidden_size (or 0: no projection), got proj_size=5 and "
                         "hidden_size=5",
                         rg::Error);
    CHECK_THROWS_WITH_AS(LSTM(3, 5, {.proj_size = 7}), doctest::Contains("got proj_size=7 and hidden_size=5"),
                         rg::Error);
    LSTM lstm(3, 5, {.num_layers = 2, .proj_size = 2});
    // h0 of hidden_size, as without a projection: refused, with the shape it should have.
    CHECK_THROWS_WITH_AS(lstm(rg::zeros({4, 3, 3}), LSTMState{rg::zeros({2, 3, 5}), rg::zeros({2, 3, 5})}),
                         "LSTM(3, 5, proj_size=2, num_layers=2): h0 has shape (2, 3, 5), expected (2, 3, 2): "
                         "(num_layers * directions, batch, proj_size)",
                         rg::Error);
    // c0 stays hidden_size wide.
    CHECK_THROWS_WITH_AS(lstm(rg::zeros({4, 3, 3}), LSTMState{rg::zeros({2, 3, 2}), rg::zeros({2, 3, 2})}),
                         "LSTM(3, 5, proj_size=2, num_layers=2): c0 has shape (2, 3, 2), expected (2, 3, 5): "
                         "(num_layers * directions, batch, hidden_size)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(lstm(rg::zeros({4, 3}), LSTMState{rg::zeros({2, 5}), rg::zeros({2, 5})}),
                         "LSTM(3, 5, proj_size=2, num_layers=2): h0 has shape (2, 5), expected (2, 2): (num_layers * "
                         "directions, proj_size) for an unbatched input",
                         rg::Error);
    const auto packed = utils::rnn::pack_padded_sequence(rg::zeros({4, 3, 3}), std::vector<std::int64_t>{4, 2, 1});
    CHECK_THROWS_WITH_AS(lstm(packed, LSTMState{rg::zeros({2, 3, 5}), rg::zeros({2, 3, 5})}),
                         doctest::Contains("h0 has shape (2, 3, 5), expected (2, 3, 2)"), rg::Error);
}

TEST_CASE("a cell's bad input names the cell, what it received and what it expected") {
    RNNCell cell(3, 5);
    CHECK_THROWS_WITH_AS(cell(rg::zeros({2, 4})),
                         "RNNCell(3, 5): input has shape (2, 4), expected (batch, 3) or, unbatched, (3,)", rg::Error);
    CHECK_THROWS_WITH_AS(cell(rg::zeros({2, 3}), rg::zeros({3, 5})),
                         "RNNCell(3, 5): h has shape (3, 5), expected (2, 5): (batch, hidden_size)", rg::Error);
    CHECK_THROWS_WITH_AS(GRUCell(3, 5)(rg::zeros({3}), rg::zeros({1, 5})),
                         "GRUCell(3, 5): h has shape (1, 5), expected (5,) for an unbatched input: (hidden_size)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(LSTMCell(3, 5)(rg::zeros({2, 3}), LSTMState{Tensor{}, rg::zeros({2, 5})}),
                         "LSTMCell(3, 5): the state has c but not h; give both h and c, or neither (zeros)", rg::Error);
}

TEST_CASE("a layer whose forward takes a state is refused by Sequential and says so when called with one tensor") {
    static_assert(!OneTensorModule<LSTM> && !OneTensorModule<GRU> && !OneTensorModule<RNN> &&
                  !OneTensorModule<LSTMCell>);
    static_assert(OneTensorModule<RNNCell> && OneTensorModule<GRUCell> && OneTensorModule<Linear> &&
                  OneTensorModule<LayerNorm> && OneTensorModule<Module>);
    LSTM lstm(3, 5);
    Module& as_module = lstm;
    CHECK_THROWS_WITH_AS(as_module(rg::zeros({4, 2, 3})),
                         "LSTM(3, 5): called with one tensor (as Sequential and summary call a module), but its "
                         "forward "
                         "takes other inputs or returns several outputs; call it with the inputs its forward declares",
                         rg::Error);
    // A cell's one-tensor forward starts from zeros, so a cell chains.
    Sequential net{Linear(2, 3), RNNCell(3, 4), LayerNorm(4)};
    CHECK(net(rg::zeros({5, 2})).shape() == rg::Shape{5, 4});
}

TEST_CASE("a PyTorch state dict with a missing, extra or misshapen tensor is refused, naming the layer") {
    const std::string path = (std::filesystem::temp_directory_path() /
                              ("retrograd-recurrent-" + std::to_string(::getpid()) + ".safetensors"))
                                 .string();
    LSTM lstm(3, 5, {.num_layers = 2});
    TensorMap state;
    for (const auto& entry : lstm.named_parameters()) state[entry.first] = entry.second.detach();
    const auto refused = [&](const TensorMap& tensors, const std::string& message) {
        save_tensors(tensors, path);
        CHECK_THROWS_WITH_AS(load(lstm, path), fmt::format("load '{}': {}", path, message).c_str(), rg::Error);
    };
    TensorMap missing = state;
    missing.erase("weight_hh_l1");
    refused(missing, "the file has no tensor 'weight_hh_l1' (LSTM(3, 5, num_layers=2) expects (20, 5) float32)");
    TensorMap extra = state;
    extra["weight_ih_l0_reverse"] = rg::zeros({20, 3});
    refused(extra, "the file has tensor 'weight_ih_l0_reverse', which the module does not (LSTM(3, 5, num_layers=2) "
                   "has weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, weight_ih_l1, weight_hh_l1, bias_ih_l1, "
                   "bias_hh_l1)");
    TensorMap misshapen = state;
    misshapen["bias_ih_l1"] = rg::zeros({15});
    refused(misshapen, "tensor 'bias_ih_l1' has shape (15,) in the file but (20,) in the module (LSTM(3, 5, "
                       "num_layers=2))");
    // Inside a model, the message names the layer and where it sits.
    Sequential net{Linear(2, 3), LayerNorm(3)};
    TensorMap net_state{{"0.weight", rg::zeros({3, 2})},
                        {"0.bias", rg::zeros({3})},
                        {"1.weight", rg::zeros({4})},
                        {"1.bias", rg::zeros({3})}};
    save_tensors(net_state, path);
    CHECK_THROWS_WITH_AS(load(net, path),
                         fmt::format("load '{}': tensor '1.weight' has shape (4,) in the file but (3,) in the module "
                                     "(LayerNorm((3,)) at '1')",
                                     path)
                             .c_str(),
                         rg::Error);
    std::filesystem::remove(path);
}

TEST_CASE("replace_parameter reaches a recurrent layer's forward (weight tying)") {
    rg::manual_seed(31);
    LSTM lstm(3, 3, {.proj_size = 2});
    GRU gru(3, 3);
    const Tensor x = rg::randn({4, 2, 3});
    for (Module* m : std::vector<Module*>{&lstm, &gru}) {
        const auto before = m->named_parameters();
        const Tensor zero_input_weight = rg::zeros(before[0].second.shape());
        const Tensor outputs_before = m == &lstm ? lstm(x).output : gru(x).output;
        m->replace_parameter(before[0].first, zero_input_weight);  // weight_ih_l0: the input no longer matters
        const Tensor outputs_after = m == &lstm ? lstm(x).output : gru(x).output;
        const Tensor outputs_other_input = m == &lstm ? lstm(x * 3.0).output : gru(x * 3.0).output;
        CHECK(!rg::allclose(outputs_before, outputs_after));
        test::check_values(outputs_after, outputs_other_input, 0.0);
        CHECK(m->named_parameters()[0].second.same(zero_input_weight));
    }
}
