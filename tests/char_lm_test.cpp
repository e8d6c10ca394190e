// Character language models: reading a corpus (UTF-8, fortune directories),
// the vocabulary and training windows, the three models' shapes and
// causality, a short training that lowers the loss, sampling fixed by its
// seed, resuming, reading a model back, and every bad input's message.
#include <filesystem>
#include <fstream>
#include <random>
#include <unistd.h>

#include "helpers.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using namespace rg::nn;
using rg::data::Vocabulary;

namespace {

using test::TempDir;

// A text a small model learns in a few steps: a short cycle of phrases.
std::u32string cycle_text(std::size_t length) {
    const std::u32string phrase = U"the cat sat on the mat. ";
    std::u32string text;
    while (text.size() < length) text += phrase;
    text.resize(length);
    return text;
}

CharModelSpec small(const std::string& kind) {
    return {.kind = kind, .dim = 16, .hidden = 32, .layers = 1, .heads = 2, .context = 12};
}

}  // namespace

TEST_CASE("utf8_decode reads UTF-8 and names what is not") {
    CHECK(rg::data::utf8_decode("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "s") == U"a\u00e9\u20ac\U0001F600");
    CHECK(rg::data::utf8_encode(U"a\u00e9\u20ac\U0001F600") == "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    CHECK_THROWS_WITH_AS(rg::data::utf8_decode(std::string("ab\0c", 4), "'f'"),
                         "'f' holds a NUL byte at offset 2: it is binary data, not text", rg::Error);
    CHECK_THROWS_WITH_AS(rg::data::utf8_decode("caf\xe9!", "'f'"),
                         "'f' is not UTF-8 text: byte 0x21 at offset 4 does not continue the character at offset 3",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::data::utf8_decode("x\xff", "'f'"),
                         "'f' is not UTF-8 text: byte 0xff at offset 1 cannot start a character", rg::Error);
    CHECK_THROWS_WITH_AS(rg::data::utf8_decode("x\xe2\x82", "'f'"),
                         "'f' is not UTF-8 text: it ends inside a character (offset 1)", rg::Error);
    CHECK_THROWS_WITH_AS(rg::data::utf8_decode("\xc0\xaf", "'f'"),
                         "'f' is not UTF-8 text: the bytes at offset 0 encode no character (overlong, surrogate or "
                         "beyond U+10FFFF)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::data::utf8_encode(std::u32string(1, char32_t{0xd800})),
                         "utf8_encode: U+D800 is not a Unicode scalar value", rg::Error);
}

TEST_CASE("read_text_corpus reads a file, or a fortune directory's text files in name order") {
    TempDir dir;
    dir.write("zoo", "last\n%\n");
    dir.write("art", "first\n%\n");
    dir.write("art.dat", std::string("\0\0\0\2", 4));  // strfile's index: skipped
    dir.write("art.u8", "");
    fs::create_directories(dir.path / "sub");
    const auto corpus = rg::data::read_text_corpus(dir.path.string());
    CHECK(corpus.text == U"first\n%\nlast\n%\n");
    REQUIRE(corpus.files.size() == 2);
    CHECK(fs::path(corpus.files[0]).filename() == "art");
    CHECK(fs::path(corpus.files[1]).filename() == "zoo");
    const auto one = rg::data::read_text_corpus((dir.path / "zoo").string());
    CHECK(one.text == U"last\n%\n");
    CHECK(one.fingerprint != corpus.fingerprint);
    CHECK(rg::data::read_text_corpus((dir.path / "zoo").string()).fingerprint == one.fingerprint);

    const std::string empty = dir.write("empty.txt", "");
    CHECK_THROWS_WITH_AS(rg::data::read_text_corpus(empty),
                         doctest::Contains(
                             ("read_text_corpus: '" + empty + "' is empty: a corpus needs text to learn from").c_str()),
                         rg::Error);
    const std::string binary = dir.write("b.bin", std::string("PK\0\3", 4));
    CHECK_THROWS_WITH_AS(rg::data::read_text_corpus(binary),
                         doctest::Contains(
                             ("'" + binary + "' holds a NUL byte at offset 2: it is binary data, not text").c_str()),
                         rg::Error);
    const std::string latin1 = dir.write("l.txt", "caf\xe9\n");
    CHECK_THROWS_WITH_AS(rg::data::read_text_corpus(latin1),
                         doctest::Contains(("'" + latin1 + "' is not UTF-8 text: byte 0x0a at offset 4").c_str()),
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::data::read_text_corpus((dir.path / "missing").string()),
                         doctest::Contains("missing' does not exist"), rg::Error);
    CHECK_THROWS_WITH_AS(rg::data::read_text_corpus((dir.path / "sub").string()),
                         doctest::Contains("sub' holds no text file"), rg::Error);
}

TEST_CASE("Vocabulary: the distinct characters in code-point order, encode and decode") {
    const Vocabulary v(U"b\u00e9ab a");
    CHECK(v.size() == 4);
    CHECK(v.characters() == U" ab\u00e9");
    CHECK(v.encode(U"ab\u00e9 ") == std::vector<std::int64_t>{1, 2, 3, 0});
    CHECK(v.decode({3, 2, 1}) == U"\u00e9ba");
    CHECK_THROWS_WITH_AS(v.encode(U"abz"),
                         "Vocabulary::encode: character 'z' (U+007A) at position 2 is not in the vocabulary of 4 "
                         "characters",
                         rg::Error);
    CHECK_THROWS_WITH_AS(v.decode({4}), "Vocabulary::decode: id 4 is outside [0, 4)", rg::Error);
    CHECK_THROWS_WITH_AS(Vocabulary(U""), "Vocabulary: the text is empty, so there are no characters", rg::Error);
}

TEST_CASE("char_windows: non-overlapping windows, targets one character on") {
    const auto data = rg::data::char_windows({0, 1, 2, 3, 4, 5, 6, 7}, 3, "t");
    CHECK(data.inputs().shape() == rg::Shape{2, 3});
    CHECK(data.inputs().to_vector() == std::vector<double>{0, 1, 2, 3, 4, 5});
    CHECK(data.targets().to_vector() == std::vector<double>{1, 2, 3, 4, 5, 6});
    CHECK(data.inputs().dtype() == rg::int64);
    CHECK_THROWS_WITH_AS(rg::data::char_windows({0, 1, 2}, 3, "the held-out text"),
                         "char_windows: a window of 3 characters and its next one need 4 characters, but the held-out "
                         "text has 3",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::data::char_windows({0, 1}, 0, "t"), "char_windows: the window length must be at least 1",
                         rg::Error);
}

TEST_CASE("CharModelSpec: to_string and parse are inverse, bad specs are named") {
    const CharModelSpec spec{.kind = "transformer", .dim = 32, .hidden = 64, .layers = 2, .heads = 4, .context = 50};
    CHECK(spec.to_string() == "transformer dim=32 hidden=64 layers=2 heads=4 context=50");
    const CharModelSpec back = CharModelSpec::parse(spec.to_string());
    CHECK(back.to_string() == spec.to_string());
    CHECK_THROWS_WITH_AS(CharModelSpec::parse("mlp"),
                         "CharModelSpec::parse: 'mlp' does not give the five sizes of a "
                         "character model",
                         rg::Error);
    CHECK_THROWS_WITH_AS(CharModelSpec::parse("gru dim=x hidden=1 layers=1 heads=1 context=1"),
                         "CharModelSpec::parse: dim must be a whole number in 'gru dim=x hidden=1 layers=1 heads=1 "
                         "context=1'",
                         rg::Error);
    CHECK_THROWS_WITH_AS(CharModelSpec::parse("rnn dim=1 hidden=1 layers=1 heads=1 context=1"),
                         "CharModelSpec: kind must be gru, lstm or transformer (got 'rnn')", rg::Error);
    CHECK_THROWS_WITH_AS(CharLanguageModel(CharModelSpec{.kind = "transformer", .dim = 6, .heads = 4},
                                           Vocabulary(U"ab")),
                         "CharModelSpec: 4 heads do not divide dim 6", rg::Error);
}

TEST_CASE("the character models map (N, T) ids to (N, T, V) logits; the Transformer is causal") {
    const Vocabulary v(U"abcde");
    for (const std::string kind : {"gru", "lstm", "transformer"}) {
        CAPTURE(kind);
        rg::manual_seed(0);
        CharLanguageModel model(small(kind), v);
        const auto ids = rg::from_indices({0, 1, 2, 3, 4, 0, 1, 2}, {2, 4});
        const auto logits = model(ids);
        CHECK(logits.shape() == rg::Shape{2, 4, 5});
        // Changing the last character changes nothing before it: no position sees the future.
        const auto changed = model(rg::from_indices({0, 1, 2, 0, 4, 0, 1, 4}, {2, 4}));
        test::check_values(logits.slice(1, 0, 3), changed.slice(1, 0, 3), 1e-6);
        CHECK_FALSE(rg::allclose(logits.slice(1, 3, 4), changed.slice(1, 3, 4), 1e-6, 1e-6));
        CHECK(model.vocabulary().characters() == v.characters());
        CHECK_THROWS_WITH_AS(model(rg::zeros({1, 13}, {.dtype = rg::int64})),
                             "CharLanguageModel: an input of 13 characters; this model reads 1 to 12 (its context)",
                             rg::Error);
        CHECK_THROWS_WITH_AS(model(rg::zeros({2, 3})),
                             "CharLanguageModel: expected (N, T) int64 character ids, got float32 (2, 3)", rg::Error);
    }
}

TEST_CASE("bits_per_character is the cross-entropy in base 2") {
    // Uniform logits over 4 characters: exactly 2 bits.
    const auto bits = bits_per_character(rg::zeros({2, 3, 4}), rg::from_indices({0, 1, 2, 3, 0, 1}, {2, 3}));
    CHECK(bits.item() == doctest::Approx(2.0).epsilon(1e-6));
}

TEST_CASE("a short training lowers the held-out bits per character, for every kind") {
    const std::u32string text = cycle_text(1200);
    const Vocabulary v(text);
    const auto ids = v.encode(text);
    for (const std::string kind : {"gru", "lstm", "transformer"}) {
        CAPTURE(kind);
        rg::manual_seed(1);
        CharLanguageModel model(small(kind), v);
        rg::data::DataLoader data(rg::data::char_windows(ids, 12, "t"), {.batch_size = 16, .shuffle = true});
        rg::optim::Adam adam(model.parameters(), {.lr = 0.01});
        const auto history = train(model, adam, bits_per_character, data, &data,
                                   {.epochs = 6, .seed_each_epoch = 1, .progress = Progress::none});
        const double first = history.epochs.front().train_loss, last = history.epochs.back().val_loss;
        CAPTURE(first);
        CAPTURE(last);
        CHECK(first > 2.0);  // about log2(11) at the start
        CHECK(last < 1.0);  // the cycle is nearly certain once learned
    }
}

TEST_CASE("sample_text: the same seed writes the same text, another seed another") {
    const std::u32string text = cycle_text(600);
    const Vocabulary v(text);
    rg::manual_seed(2);
    CharLanguageModel model(small("gru"), v);
    const auto a = sample_text(model, U"the ", {.length = 40, .temperature = 1.0, .seed = 7});
    const auto b = sample_text(model, U"the ", {.length = 40, .temperature = 1.0, .seed = 7});
    const auto c = sample_text(model, U"the ", {.length = 40, .temperature = 1.0, .seed = 8});
    CHECK(a.size() == 40);
    CHECK(a == b);
    CHECK(a != c);
    CHECK(sample_text(model, U"", {.length = 5, .seed = 1}).size() == 5);
    // A temperature near 0 takes the most likely character every time, whatever the seed.
    CHECK(sample_text(model, U"the", {.length = 20, .temperature = 1e-6, .seed = 1}) ==
          sample_text(model, U"the", {.length = 20, .temperature = 1e-6, .seed = 2}));
    CHECK_THROWS_WITH_AS(sample_text(model, U"the", {.temperature = 0}),
                         "sample_text: the temperature must be a finite number > 0 (got 0)", rg::Error);
    CHECK_THROWS_WITH_AS(sample_text(model, U"dog", {}), doctest::Contains("character 'd' (U+0064) at position 0"),
                         rg::Error);
}

TEST_CASE("a resumed character model run equals an uninterrupted one; the files load back as models") {
    const std::u32string text = cycle_text(900);
    const Vocabulary v(text);
    const auto ids = v.encode(text);
    auto run = [&](const fs::path& dir, std::size_t epochs, bool resume) {
        rg::manual_seed(3);
        auto model = std::make_shared<CharLanguageModel>(small("transformer"), v);
        rg::data::DataLoader data(rg::data::char_windows(ids, 12, "t"), {.batch_size = 8, .shuffle = true, .seed = 3});
        rg::optim::Adam adam(model->parameters(), {.lr = 0.01});
        train(*model, adam, bits_per_character, data, &data,
              {.epochs = epochs,
               .checkpoint_dir = dir.string(),
               .resume = resume,
               .model_name = model->spec().to_string(),
               .seed_each_epoch = 3,
               .progress = Progress::none});
        return model;
    };
    TempDir straight, resumed;
    const auto whole = run(straight.path, 2, false);
    run(resumed.path, 1, false);
    const auto continued = run(resumed.path, 2, true);
    const NamedTensors expected = whole->named_parameters(), got = continued->named_parameters();
    REQUIRE(expected.size() == got.size());
    for (std::size_t k = 0; k < expected.size(); ++k) {
        CAPTURE(expected[k].first);
        CHECK(expected[k].first == got[k].first);
        CHECK(expected[k].second.to_vector() == got[k].second.to_vector());
    }
    for (const char* file : {"last.safetensors", "best.safetensors"}) {
        CAPTURE(file);
        const auto loaded = load_char_model((resumed.path / file).string());
        CHECK(loaded->spec().to_string() == small("transformer").to_string());
        CHECK(loaded->vocabulary().characters() == v.characters());
    }
    const auto last = load_char_model((resumed.path / "last.safetensors").string());
    CHECK(sample_text(*last, U"the", {.length = 30, .seed = 4}) ==
          sample_text(*continued, U"the", {.length = 30, .seed = 4}));

    // A file that holds another model is named as such.
    Sequential mlp{Linear(2, 3)};
    save(mlp, (resumed.path / "mlp.safetensors").string());
    CHECK_THROWS_WITH_AS(load_char_model((resumed.path / "mlp.safetensors").string()),
                         doctest::Contains("mlp.safetensors' holds"), rg::Error);
    CHECK_THROWS_WITH_AS(load_char_model((resumed.path / "mlp.safetensors").string()),
                         doctest::Contains("not a character language model"), rg::Error);
}
