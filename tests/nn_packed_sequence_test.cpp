// Packed batches: pack_padded_sequence's layout and its round trip, gradients
// through packing against finite differences, RNN, LSTM and GRU over a packed
// batch equal to each sequence run alone, and every bad input's message.
// Agreement with PyTorch is in nn_parity_test.cpp (the *_packed_* cases).
#include "helpers.hpp"
#include "parameter_gradients.hpp"

using namespace rg::nn;
using namespace rg::nn::utils::rnn;
using rg::Tensor;
using rg::TensorList;
using test::check_values;

namespace {

std::vector<double> values(const Tensor& t) { return t.to_vector(); }

// (T, B, F) float64 where x[t, b, f] = 100 b + 10 t + f: each row says where it came from.
Tensor numbered(std::size_t steps, std::size_t batch, std::size_t features) {
    std::vector<double> v;
    for (std::size_t t = 0; t < steps; ++t)
        for (std::size_t b = 0; b < batch; ++b)
            for (std::size_t f = 0; f < features; ++f) v.push_back(100.0 * b + 10.0 * t + f);
    return rg::from_vector(v,
                           {static_cast<std::int64_t>(steps), static_cast<std::int64_t>(batch),
                            static_cast<std::int64_t>(features)},
                           test::f64());
}

}  // namespace

TEST_CASE("pack_padded_sequence keeps each sequence's steps, time-major and longest first") {
    const Tensor x = numbered(3, 3, 1);
    SUBCASE("sorted lengths keep no indices") {
        const PackedSequence p = pack_padded_sequence(x, std::vector<std::int64_t>{3, 2, 1});
        CHECK(values(p.batch_sizes()) == std::vector<double>{3, 2, 1});
        CHECK(values(p.data()) == std::vector<double>{0, 100, 200, 10, 110, 20});
        CHECK(p.data().shape() == rg::Shape{6, 1});
        CHECK_FALSE(p.sorted_indices().defined());
        CHECK_FALSE(p.unsorted_indices().defined());
    }
    SUBCASE("unsorted lengths are sorted, longest first, ties in batch order") {
        const PackedSequence p = pack_padded_sequence(x, rg::from_indices({1, 3, 1}), false, false);
        CHECK(values(p.batch_sizes()) == std::vector<double>{3, 1, 1});
        CHECK(values(p.sorted_indices()) == std::vector<double>{1, 0, 2});
        CHECK(values(p.unsorted_indices()) == std::vector<double>{1, 0, 2});
        CHECK(values(p.data()) == std::vector<double>{100, 0, 200, 110, 120});
    }
    SUBCASE("batch_first reads (B, T, *)") {
        const PackedSequence p = pack_padded_sequence(transpose(x, 0, 1), std::vector<std::int64_t>{2, 2, 1}, true);
        CHECK(values(p.data()) == std::vector<double>{0, 100, 200, 10, 110});
    }
}

TEST_CASE("pad_packed_sequence undoes packing, in the original batch order, padding with the value asked") {
    const Tensor x = numbered(4, 3, 2);
    const std::vector<std::int64_t> lengths{2, 4, 1};
    for (bool batch_first : {false, true}) {
        CAPTURE(batch_first);
        const Tensor input = batch_first ? transpose(x, 0, 1) : x;
        const auto [padded, lengths_out] =
            pad_packed_sequence(pack_padded_sequence(input, lengths, batch_first, false), batch_first, -1.0);
        CHECK(values(lengths_out) == std::vector<double>{2, 4, 1});
        REQUIRE(padded.shape() == input.shape());
        const Tensor steps_first = batch_first ? transpose(padded, 0, 1) : padded;
        for (std::size_t b = 0; b < 3; ++b)
            for (std::int64_t t = 0; t < 4; ++t) {
                const Tensor row = select(select(steps_first, 0, t), 0, static_cast<std::int64_t>(b));
                const Tensor expected = t < lengths[b] ? select(select(x, 0, t), 0, static_cast<std::int64_t>(b))
                                                       : rg::full({2}, -1.0, test::f64());
                check_values(row, expected, 0.0);
            }
    }
    SUBCASE("total_length pads further") {
        const auto [padded, lengths_out] =
            pad_packed_sequence(pack_padded_sequence(x, lengths, false, false), false, 0.0, 6);
        CHECK(padded.shape() == rg::Shape{6, 3, 2});
        CHECK(rg::sum(abs(narrow(padded, 0, 4, 2))).item() == 0.0);
    }
}

TEST_CASE("pack_sequence packs sequences of their own lengths") {
    const Tensor a = test::rand64({3, 2}, false), b = test::rand64({1, 2}, false);
    const PackedSequence p = pack_sequence({a, b});
    CHECK(values(p.batch_sizes()) == std::vector<double>{2, 1, 1});
    check_values(p.data(), rg::concat({narrow(a, 0, 0, 1), b, narrow(a, 0, 1, 2)}), 0.0);
    CHECK_THROWS_WITH_AS(pack_sequence({b, a}),
                         "pack_padded_sequence: lengths[1] = 3 follows lengths[0] = 1; with enforce_sorted the lengths "
                         "must not grow (pass enforce_sorted = false to sort them)",
                         rg::Error);
    CHECK(values(pack_sequence({b, a}, false).sorted_indices()) == std::vector<double>{1, 0});
}

TEST_CASE("packing and unpacking pass gradients to each step, padding none, to second order") {
    const Tensor x = test::rand64({4, 3, 2});
    test::check_gradients(
        [](const TensorList& in) {
            const PackedSequence p = pack_padded_sequence(in[0], std::vector<std::int64_t>{2, 4, 3}, false, false);
            return pad_packed_sequence(p.with_data(p.data() * p.data()), true).padded;
        },
        {x});
    const PackedSequence p = pack_padded_sequence(x, std::vector<std::int64_t>{1, 4, 2}, false, false);
    rg::sum(p.data()).backward();
    // Steps past each sequence's end get no gradient.
    const Tensor expected = rg::from_vector({1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0},
                                            {4, 3, 2}, test::f64());
    check_values(x.grad(), expected, 0.0);
}

TEST_CASE("RNN, LSTM and GRU over a packed batch equal each sequence run alone") {
    const std::vector<std::int64_t> lengths{3, 5, 1, 4};
    const Tensor x = test::rand64({5, 4, 3}, false);
    for (bool bidirectional : {false, true}) {
        CAPTURE(bidirectional);
        const RNNOptions options{.num_layers = 2, .bidirectional = bidirectional};
        LSTM lstm(3, 4, options);
        GRU gru(3, 4, options);
        RNN rnn(3, 4, options);
        for (Module* m : std::vector<Module*>{&lstm, &gru, &rnn}) m->to(rg::float64);
        const std::size_t states = bidirectional ? 4 : 2;
        const Tensor h0 = test::rand64({states, 4, 4}, false), c0 = test::rand64({states, 4, 4}, false);
        const PackedSequence packed = pack_padded_sequence(x, lengths, false, false);

        const auto [lstm_out, lstm_state] = lstm(packed, LSTMState{h0, c0});
        const auto [gru_out, gru_h] = gru(packed, h0);
        const auto [rnn_out, rnn_h] = rnn(packed, h0);
        const Tensor lstm_padded = pad_packed_sequence(lstm_out).padded;
        const Tensor gru_padded = pad_packed_sequence(gru_out).padded;
        const Tensor rnn_padded = pad_packed_sequence(rnn_out).padded;
        for (std::size_t b = 0; b < lengths.size(); ++b) {
            CAPTURE(b);
            const auto column = static_cast<std::int64_t>(b);
            const Tensor alone = narrow(select(x, 1, column), 0, 0, lengths[b]);  // (length, 3), unbatched
            const Tensor h0_b = select(h0, 1, column), c0_b = select(c0, 1, column);
            const auto [lstm_alone, lstm_alone_state] = lstm(alone, LSTMState{h0_b, c0_b});
            check_values(narrow(select(lstm_padded, 1, column), 0, 0, lengths[b]), lstm_alone, 1e-12);
            check_values(select(lstm_state.h, 1, column), lstm_alone_state.h, 1e-12);
            check_values(select(lstm_state.c, 1, column), lstm_alone_state.c, 1e-12);
            const auto [gru_alone, gru_alone_h] = gru(alone, h0_b);
            check_values(narrow(select(gru_padded, 1, column), 0, 0, lengths[b]), gru_alone, 1e-12);
            check_values(select(gru_h, 1, column), gru_alone_h, 1e-12);
            const auto [rnn_alone, rnn_alone_h] = rnn(alone, h0_b);
            check_values(narrow(select(rnn_padded, 1, column), 0, 0, lengths[b]), rnn_alone, 1e-12);
            check_values(select(rnn_h, 1, column), rnn_alone_h, 1e-12);
        }
    }
}

TEST_CASE("an LSTM over a packed batch has finite-difference gradients for input, states and weights") {
    LSTM lstm(2, 3, {.bidirectional = true});
    lstm.to(rg::float64);
    const auto run = [&](const Tensor& x, const Tensor& h0, const Tensor& c0) {
        const PackedSequence p = pack_padded_sequence(x, std::vector<std::int64_t>{2, 4, 1}, false, false);
        const auto [out, state] = lstm(p, LSTMState{h0, c0});
        return rg::concat({reshape(out.data(), {-1}), reshape(state.h, {-1}), reshape(state.c, {-1})});
    };
    const Tensor x = test::rand64({4, 3, 2}), h0 = test::rand64({2, 3, 3}), c0 = test::rand64({2, 3, 3});
    test::check_gradients([&](const TensorList& in) { return run(in[0], in[1], in[2]); }, {x, h0, c0}, false);
    // The weights cannot be gradcheck's inputs (it perturbs copies): each along a random direction.
    const Tensor cotangent = rg::randn(run(x, h0, c0).shape(), {.dtype = rg::float64});
    test::check_parameter_gradients(lstm, [&] { return rg::sum(run(x, h0, c0) * cotangent); });
}

TEST_CASE("packed batches: every bad input's message") {
    const Tensor x = rg::zeros({4, 2, 3});
    CHECK_THROWS_WITH_AS(pack_padded_sequence(Tensor{}, std::vector<std::int64_t>{1}),
                         "pack_padded_sequence: input is undefined, expected (T, B, *)", rg::Error);
    CHECK_THROWS_WITH_AS(pack_padded_sequence(rg::zeros({4}), std::vector<std::int64_t>{1}, true),
                         "pack_padded_sequence: input is float32 of shape (4,), expected (T, B, *), batch first: (B, "
                         "T, *)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(pack_padded_sequence(rg::zeros({4, 0, 3}), std::vector<std::int64_t>{}),
                         "pack_padded_sequence: input of shape (4, 0, 3) holds no sequence, expected at least one",
                         rg::Error);
    CHECK_THROWS_WITH_AS(pack_padded_sequence(x, std::vector<std::int64_t>{3}),
                         "pack_padded_sequence: 1 lengths for a batch of 2 (input of shape (4, 2, 3)), expected one "
                         "per sequence",
                         rg::Error);
    CHECK_THROWS_WITH_AS(pack_padded_sequence(x, std::vector<std::int64_t>{3, 0}),
                         "pack_padded_sequence: lengths[1] is 0, expected a length in [1, 4] (the input's 4 steps)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(pack_padded_sequence(x, std::vector<std::int64_t>{5, 1}),
                         "pack_padded_sequence: lengths[0] is 5, expected a length in [1, 4] (the input's 4 steps)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(pack_padded_sequence(x, std::vector<std::int64_t>{2, 3}),
                         "pack_padded_sequence: lengths[1] = 3 follows lengths[0] = 2; with enforce_sorted the lengths "
                         "must not grow (pass enforce_sorted = false to sort them)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(pack_padded_sequence(x, rg::tensor({3.0, 2.0})),
                         "pack_padded_sequence: lengths is float32 of shape (2,), expected a 1-D int64 tensor",
                         rg::Error);

    const PackedSequence p = pack_padded_sequence(x, std::vector<std::int64_t>{3, 2});
    CHECK_THROWS_WITH_AS(pad_packed_sequence(p, false, 0.0, 2),
                         "pad_packed_sequence: total_length is 2, expected at least the longest length, 3", rg::Error);
    CHECK_THROWS_AS(pad_packed_sequence(p, false, 0.0, std::size_t{1} << 62), rg::Error);  // too large to allocate
    CHECK_THROWS_WITH_AS(pad_packed_sequence(PackedSequence{}),
                         "pad_packed_sequence: the packed sequence is empty (undefined data)", rg::Error);
    CHECK_THROWS_WITH_AS(p.with_data(rg::zeros({4, 3})),
                         "PackedSequence: data has shape (4, 3), expected 5 rows, the sum of batch_sizes", rg::Error);
    CHECK_THROWS_WITH_AS(PackedSequence(rg::zeros({3, 1}), rg::from_indices({1, 2})),
                         "PackedSequence: batch_sizes[1] is 2, expected positive sizes that never grow (the sequences "
                         "run longest first)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(PackedSequence(rg::zeros({3, 1}), rg::zeros({2})),
                         "PackedSequence: batch_sizes is float32 of shape (2,), expected a non-empty 1-D int64 tensor",
                         rg::Error);
    CHECK_THROWS_WITH_AS(PackedSequence(rg::zeros({2, 1}), rg::from_indices({2}), rg::from_indices({0, 1})),
                         "PackedSequence: sorted_indices is given but unsorted_indices is undefined; give both or "
                         "neither",
                         rg::Error);
    CHECK_THROWS_WITH_AS(PackedSequence(rg::zeros({2, 1}), rg::from_indices({2}), rg::from_indices({0, 1}),
                                        rg::from_indices({1, 0})),
                         "PackedSequence: sorted_indices and unsorted_indices are not a permutation of 0..1 and its "
                         "inverse",
                         rg::Error);
    CHECK_THROWS_WITH_AS(PackedSequence(rg::zeros({2, 1}), rg::from_indices({2}), rg::from_indices({0}),
                                        rg::from_indices({0})),
                         "PackedSequence: sorted_indices is int64 of shape (1,), expected a 1-D int64 tensor of 2 "
                         "indices "
                         "(batch_sizes[0])",
                         rg::Error);

    LSTM lstm(3, 5);
    CHECK_THROWS_WITH_AS(lstm(pack_padded_sequence(rg::zeros({4, 2, 2}), std::vector<std::int64_t>{3, 2})),
                         "LSTM(3, 5): the packed input's data has shape (5, 2), expected (sum of the lengths, 3)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(lstm(p, LSTMState{rg::zeros({1, 3, 5}), rg::zeros({1, 3, 5})}),
                         "LSTM(3, 5): h0 has shape (1, 3, 5), expected (1, 2, 5): (num_layers * directions, batch, "
                         "hidden_size)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(lstm(p, LSTMState{rg::zeros({1, 2, 5}), Tensor{}}),
                         "LSTM(3, 5): the state has h0 but not c0; give both h0 and c0, or neither (zeros)", rg::Error);
    CHECK_THROWS_WITH_AS(GRU(3, 5)(
                             pack_padded_sequence(rg::zeros({4, 2, 3}, test::f64()), std::vector<std::int64_t>{3, 2})),
                         "GRU(3, 5): the packed input is float64 but the layer is float32; convert one with .to() or "
                         "module.to()",
                         rg::Error);
    CHECK_THROWS_WITH_AS(RNN(3, 5)(PackedSequence{}), "RNN(3, 5): the packed input is empty (undefined data)",
                         rg::Error);
}

TEST_CASE("docs/nn.md's packed LSTM example runs as the page says") {
    namespace rnn = rg::nn::utils::rnn;
    rg::nn::LSTM lstm(8, 16, {.bidirectional = true});
    auto x = rg::randn({10, 3, 8});
    auto packed = rnn::pack_padded_sequence(x, std::vector<std::int64_t>{4, 10, 7}, false, /*enforce_sorted=*/false);
    auto [out, state] = lstm(packed);
    CHECK(state.h.shape() == rg::Shape{2, 3, 16});
    auto [padded, lengths] = rnn::pad_packed_sequence(out);
    CHECK(padded.shape() == rg::Shape{10, 3, 32});
    CHECK(values(lengths) == std::vector<double>{4, 10, 7});
    CHECK(rg::sum(abs(narrow(select(padded, 1, 0), 0, 4, 6))).item() == 0.0);
}
