// Tests generated from the op registry: every registered op, on every sample
// its declaration gives, is checked for values (against its float64
// reference), gradients at first and second order (gradcheck, gradgradcheck),
// float32 agreement, dtype errors and shape errors. Plus: every public op has
// an entry, and docs/autodiff.md's op table is the registry's.
#include <retrograd/registry.hpp>

#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "helpers.hpp"

using rg::OpDef;
using rg::Tensor;
using rg::TensorList;

namespace {

std::string source_file(const std::string& relative) {
    std::ifstream in(std::string(RETROGRAD_SOURCE_DIR) + "/" + relative);
    REQUIRE_MESSAGE(in.good(), "cannot read " << relative);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// Inputs for one sample: uniform in [low, high), float64; differentiable ones require grad.
TensorList sample_inputs(const OpDef& def, const rg::OpSample& sample, rg::Dtype dtype) {
    TensorList inputs;
    for (std::size_t i = 0; i < sample.shapes.size(); ++i) {
        const bool grad = i < def.differentiable.size() && def.differentiable[i] && dtype != rg::int64;
        if (dtype == rg::int64) {
            inputs.push_back(rg::randint(1, 3, sample.shapes[i]));
        } else {
            inputs.push_back(
                rg::uniform(sample.shapes[i], sample.low, sample.high, {.dtype = dtype, .requires_grad = grad}));
        }
    }
    return inputs;
}

// The float64 reference, elementwise over the broadcast inputs.
void check_reference(const OpDef& def, const TensorList& inputs, const Tensor& out) {
    if (def.reference) {
        TensorList detached;
        for (const Tensor& t : inputs) detached.push_back(t.detach());
        const Tensor expected = def.reference(detached);
        REQUIRE_MESSAGE(expected.shape() == out.shape(), def.name << ": shape " << rg::shape_str(out.shape())
                                                                  << ", expected " << rg::shape_str(expected.shape()));
        CHECK_MESSAGE(rg::allclose(out.detach().to(rg::float64), expected, 1e-12, 1e-12),
                      def.name << ": got " << out << "\nexpected " << expected);
        return;
    }
    if (!def.reference1 && !def.reference2) return;
    std::vector<double> expected;
    if (def.reference1) {
        for (double x : inputs[0].to_vector()) expected.push_back(def.reference1(x));
    } else {
        const auto a = rg::broadcast_to(inputs[0].detach(), out.shape()).to_vector();
        const auto b = rg::broadcast_to(inputs[1].detach(), out.shape()).to_vector();
        for (std::size_t k = 0; k < a.size(); ++k) expected.push_back(def.reference2(a[k], b[k]));
    }
    const auto actual = out.to_vector();
    REQUIRE(actual.size() == expected.size());
    for (std::size_t k = 0; k < actual.size(); ++k)
        CHECK_MESSAGE(actual[k] == doctest::Approx(expected[k]).epsilon(1e-12),
                      def.name << ": element " << k << " is " << actual[k] << ", expected " << expected[k]);
}

bool any_differentiable(const OpDef& def) {
    return std::any_of(def.differentiable.begin(), def.differentiable.end(), [](bool d) { return d; });
}

}  // namespace

TEST_CASE("every registered op is declared completely") {
    REQUIRE(rg::op_registry().size() > 60);
    std::set<std::string_view> names;
    for (const OpDef* def : rg::op_registry()) {
        CAPTURE(def->name);
        CHECK(names.insert(def->name).second);
        CHECK_FALSE(def->signature.empty());
        CHECK_FALSE(def->doc.empty());
        CHECK_FALSE(def->rule.empty());
        CHECK(def->call);
        CHECK(rg::find_op(def->name) == def);
    }
}

TEST_CASE(
    "an op's tensor inputs are named from its signature, or from input_names where other arguments come between") {
    CHECK(rg::find_op("add")->input_name(1) == "b");
    CHECK(rg::find_op("conv2d")->input_name(1) == "weight");
    const OpDef* layer_norm = rg::find_op("layer_norm");
    CHECK(layer_norm->input_name(1) == "weight");  // not normalized_shape, the signature's second argument
    CHECK(layer_norm->input_name(2) == "bias");
    CHECK(layer_norm->input_name(3) == "input3");
}

TEST_CASE("registered ops: values, gradients at both orders, float32, on every sample") {
    rg::manual_seed(7);
    for (const OpDef* def : rg::op_registry()) {
        for (const rg::OpSample& sample : def->samples) {
            std::ostringstream what;
            what << def->name << " on";
            for (const auto& s : sample.shapes) what << " " << rg::shape_str(s);
            CAPTURE(what.str());
            const TensorList inputs = sample_inputs(*def, sample, rg::float64);
            const Tensor out = def->call(inputs);
            REQUIRE(out.defined());
            check_reference(*def, inputs, out);
            if (any_differentiable(*def) && out.is_floating() && out.numel() > 0 &&
                std::any_of(inputs.begin(), inputs.end(), [](const Tensor& t) { return t.numel() > 0; })) {
                test::check_gradients(def->call, inputs, def->second_order);
            }
            // The same op in float32 agrees with float64 to float32 precision.
            TensorList single;
            for (const Tensor& t : inputs) single.push_back(t.detach().to(rg::float32));
            const Tensor out32 = def->call(single);
            if (out.is_floating()) {
                CHECK(out32.dtype() == rg::float32);
                CHECK_MESSAGE(rg::allclose(out32.to(rg::float64), out.detach(), 1e-4, 1e-4),
                              "float32 " << out32 << "\nfloat64 " << out);
            }
        }
    }
}

// gradgradcheck differentiates the gradient recorded under create_graph, so
// it would pass a recorded VJP that is consistently wrong: an op whose VJP
// runs a kernel normally and single ops when recorded (lstm_pointwise) must
// give the same gradient both ways.
TEST_CASE("registered ops: the gradient recorded for create_graph equals the plain one") {
    rg::manual_seed(11);
    for (const OpDef* def : rg::op_registry()) {
        if (!any_differentiable(*def)) continue;
        for (const rg::OpSample& sample : def->samples) {
            CAPTURE(def->name);
            const TensorList inputs = sample_inputs(*def, sample, rg::float64);
            const Tensor out = def->call(inputs);
            if (!out.requires_grad() || out.numel() == 0) continue;
            TensorList wrt;
            for (const Tensor& t : inputs)
                if (t.requires_grad()) wrt.push_back(t);
            const Tensor v = rg::randn(out.shape(), {.dtype = out.dtype()});
            const TensorList plain = rg::grad({out}, wrt, {v}, {.retain_graph = true, .allow_unused = true});
            const TensorList recorded = rg::grad({out}, wrt, {v}, {.create_graph = true, .allow_unused = true});
            REQUIRE(plain.size() == recorded.size());
            for (std::size_t k = 0; k < plain.size(); ++k) {
                REQUIRE(plain[k].defined() == recorded[k].defined());
                if (plain[k].defined())
                    CHECK_MESSAGE(rg::allclose(plain[k], recorded[k].detach(), 1e-12, 1e-12),
                                  "input " << k << ": " << plain[k] << "\nrecorded " << recorded[k]);
            }
        }
    }
}

TEST_CASE("registered ops: int64 and bool inputs and incompatible shapes are rg::Errors") {
    for (const OpDef* def : rg::op_registry()) {
        CAPTURE(def->name);
        if (!def->accepts_int64 && !def->samples.empty()) {
            const TensorList ints = sample_inputs(*def, def->samples.front(), rg::int64);
            CHECK_THROWS_WITH_AS(def->call(ints), doctest::Contains("int64"), rg::Error);
            // bool likewise: no op reads a mask as numbers without saying so.
            TensorList bools;
            for (const Tensor& t : ints) bools.push_back(t > 1);
            CHECK_THROWS_WITH_AS(def->call(bools), doctest::Contains("bool"), rg::Error);
        }
        if (!def->bad_shapes.empty()) {
            TensorList bad;
            for (const rg::Shape& s : def->bad_shapes) bad.push_back(rg::randn(s, {.dtype = rg::float64}));
            CHECK_THROWS_AS(def->call(bad), rg::Error);
        }
    }
}

TEST_CASE("every public op in ops.hpp, conv.hpp and attention.hpp has a registry entry") {
    std::set<std::string> covered;
    for (const OpDef* def : rg::op_registry()) {
        covered.insert(std::string(def->name));
        for (auto alias : def->aliases) covered.insert(std::string(alias));
        const std::string name(def->name);
        if (name.size() > 7 && name.ends_with("_scalar")) covered.insert(name.substr(0, name.size() - 7));
    }
    // Helpers that validate arguments or compute shapes, not ops.
    const std::set<std::string> not_ops{"normalize_axis", "broadcast_shapes", "conv_output_size"};
    const std::regex declaration(R"(\n(?:Tensor|TensorList) ([a-z_0-9]+)\()");
    for (const char* header : {"autodiff/include/retrograd/ops.hpp", "autodiff/include/retrograd/conv.hpp",
                               "autodiff/include/retrograd/attention.hpp", "autodiff/include/retrograd/spatial.hpp",
                               "autodiff/include/retrograd/sampling.hpp"}) {
        const std::string text = source_file(header);
        for (std::sregex_iterator it(text.begin(), text.end(), declaration), end; it != end; ++it) {
            const std::string name = (*it)[1];
            if (not_ops.count(name)) continue;
            CHECK_MESSAGE(covered.count(name), header << " declares " << name
                                                      << "() but no OpDef covers it: declare it with define_op "
                                                         "(docs/contributing.md)");
        }
    }
}

TEST_CASE("docs/autodiff.md's op table is the registry's") {
    const std::string page = source_file("docs/autodiff.md");
    const std::string begin = "<!-- op table: generated from the registry -->\n", end = "<!-- end of op table -->";
    const auto from = page.find(begin), to = page.find(end);
    REQUIRE_MESSAGE(from != std::string::npos, "docs/autodiff.md has no '" << begin << "' marker");
    REQUIRE(to != std::string::npos);
    const std::string table = page.substr(from + begin.size(), to - from - begin.size());
    CHECK_MESSAGE(table == rg::op_table_markdown(), "(" << table.size() << " vs " << rg::op_table_markdown().size()
                                                        << " characters) docs/autodiff.md's op table is out of date; "
                                                           "run `./build/docs/op_table docs/autodiff.md` "
                                                           "to rewrite it");
}

TEST_CASE("every unary elementwise op of the registry has its method form, x.name() == rg::name(x)") {
    std::map<std::string, std::function<Tensor(const Tensor&)>> methods;
#define RETROGRAD_TEST_METHOD(name) methods[#name] = [](const Tensor& x) { return x.name(); };
    RETROGRAD_UNARY_METHODS(RETROGRAD_TEST_METHOD)
#undef RETROGRAD_TEST_METHOD
    std::set<std::string> unary;
    for (const OpDef* def : rg::op_registry()) {
        // A composite (relu6 = hardtanh(x, 0, 6)) records no node of its own, and has no method in LibTorch.
        if (def->kind != rg::OpKind::elementwise || def->signature != std::string(def->name) + "(x)" || def->composite)
            continue;
        unary.insert(std::string(def->name));
        CAPTURE(def->name);
        REQUIRE_MESSAGE(methods.count(std::string(def->name)) == 1,
                        "add " << def->name << " to RETROGRAD_UNARY_METHODS in tensor.hpp");
        for (const auto& sample : def->samples) {
            const TensorList inputs = sample_inputs(*def, sample, rg::float64);
            const Tensor by_method = methods[std::string(def->name)](inputs[0]);
            const Tensor by_function = def->call(inputs);
            CHECK(by_method.shape() == by_function.shape());
            CHECK(by_method.dtype() == by_function.dtype());
            CHECK(rg::allclose(by_method.to(rg::float64), by_function.to(rg::float64), 0.0, 0.0));
            if (!any_differentiable(*def)) {  // a bool mask (isnan): never recorded
                CHECK(by_method.grad_fn() == nullptr);
                continue;
            }
            CHECK(by_method.grad_fn() != nullptr);
            CHECK(by_method.grad_fn()->def() == def);
        }
    }
    for (const auto& entry : methods) {  // no structured binding: doctest's CHECK is a lambda (clang 14)
        const std::string& name = entry.first;
        CHECK_MESSAGE(unary.count(name) == 1, name << " has a method form but no unary registry entry");
    }
}
