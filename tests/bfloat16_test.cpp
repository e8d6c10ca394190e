// The bfloat16 dtype and rg::Autocast: rounding to nearest even (NaN, infinities,
// denormals), tensors, casts and printing, ops computed in float32 and rounded
// once, the refusal of mixed dtypes, and Autocast's products (matmul, Linear,
// conv2d) on both of its kernels against float64 references of the rounded
// operands, with their gradients. The test cases whose names start with
// "bfloat16" run again with ONEDNN_MAX_CPU_ISA=AVX2, where oneDNN has no
// bfloat16 kernels (the native kernel's case is then skipped).
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <optional>
#include <thread>

#include <retrograd/detail/autocast_kernel.hpp>
#include <retrograd/detail/conv_kernel.hpp>
#include <retrograd/registry.hpp>

#include "helpers.hpp"

using rg::BFloat16;
using rg::Tensor;
using rg::tensor;

namespace {
std::uint16_t bits_of(float v) { return BFloat16(v).bits; }
float float_of_bits(std::uint32_t u) { return std::bit_cast<float>(u); }

// Every element of `actual` equals the element of `expected` (NaN equal to NaN).
void check_same(const Tensor& actual, const Tensor& expected) {
    REQUIRE(actual.shape() == expected.shape());
    CHECK(actual.dtype() == expected.dtype());
    const auto a = actual.to_vector(), e = expected.to_vector();
    for (std::size_t i = 0; i < a.size(); ++i) {
        CAPTURE(i);
        if (std::isnan(e[i]))
            CHECK(std::isnan(a[i]));
        else
            CHECK(a[i] == e[i]);
    }
}

// The largest |a - b| over the elements.
double max_difference(const Tensor& a, const Tensor& b) {
    const auto va = a.to_vector(), vb = b.to_vector();
    double most = 0;
    for (std::size_t i = 0; i < va.size(); ++i) most = std::max(most, std::abs(va[i] - vb[i]));
    return most;
}

// t's values rounded to bfloat16, as float32.
Tensor rounded(const Tensor& t) { return t.detach().to(rg::bfloat16).to(rg::float32); }
}  // namespace

TEST_CASE("BFloat16 rounds to nearest even, keeps NaN, infinities, signed zero and denormals") {
    CHECK(bits_of(1.0f) == 0x3f80);
    CHECK(bits_of(-2.0f) == 0xc000);
    CHECK(bits_of(-0.0f) == 0x8000);
    // Halfway between two bfloat16 values: to the even one.
    CHECK(bits_of(float_of_bits(0x3f808000)) == 0x3f80);  // 1 + 2^-8: down to 1 (even)
    CHECK(bits_of(float_of_bits(0x3f818000)) == 0x3f82);  // 1 + 3 2^-8: up to the even 0x3f82
    CHECK(bits_of(float_of_bits(0x3f808001)) == 0x3f81);  // just above halfway: up
    CHECK(bits_of(float_of_bits(0x3f807fff)) == 0x3f80);  // just below: down
    CHECK(static_cast<float>(BFloat16(0.1f)) == 0.10009765625f);
    // NaN stays NaN (quiet, its sign kept), even one whose payload sits in the dropped bits.
    CHECK(std::isnan(static_cast<float>(BFloat16(std::numeric_limits<float>::quiet_NaN()))));
    CHECK(bits_of(float_of_bits(0x7f800001)) == 0x7fc0);
    CHECK(bits_of(float_of_bits(0xff800001)) == 0xffc0);
    // Infinities stay; the largest floats round up to infinity, as PyTorch.
    CHECK(bits_of(std::numeric_limits<float>::infinity()) == 0x7f80);
    CHECK(bits_of(-std::numeric_limits<float>::infinity()) == 0xff80);
    CHECK(bits_of(std::numeric_limits<float>::max()) == 0x7f80);
    CHECK(static_cast<float>(std::numeric_limits<BFloat16>::max()) == float_of_bits(0x7f7f0000));
    // Denormals: bfloat16's own are exact; below half the smallest, zero.
    CHECK(bits_of(float_of_bits(0x00010000)) == 0x0001);  // 2^-133, the smallest bfloat16 denormal
    CHECK(bits_of(float_of_bits(0x00018000)) == 0x0002);  // halfway between 1 and 2 denormal steps: even
    CHECK(bits_of(float_of_bits(0x00008000)) == 0x0000);  // exactly half the smallest: even (zero)
    CHECK(bits_of(float_of_bits(0x00008001)) == 0x0001);
    CHECK(bits_of(float_of_bits(0x007fffff)) == 0x0080);  // the largest float denormal rounds to the smallest normal
    CHECK(static_cast<float>(std::numeric_limits<BFloat16>::denorm_min()) == float_of_bits(0x00010000));
    CHECK(static_cast<float>(std::numeric_limits<BFloat16>::lowest()) == -float_of_bits(0x7f7f0000));
    CHECK(static_cast<float>(std::numeric_limits<BFloat16>::epsilon()) == 0.0078125f);
}

TEST_CASE("bfloat16 tensors: creation, casts both ways, printing, gradients through to()") {
    CHECK(rg::dtype_name(rg::bfloat16) == "bfloat16");
    CHECK(rg::dtype_size(rg::bfloat16) == 2);
    CHECK(rg::is_floating_point(rg::bfloat16));
    const Tensor t = tensor({1.0, 0.1, -3.0e38, 1e-41}, {.dtype = rg::bfloat16});
    CHECK(t.dtype() == rg::bfloat16);
    CHECK(t.nbytes() == 8);
    CHECK(t.to_vector() == std::vector<double>{1.0, 0.10009765625, static_cast<double>(BFloat16(-3.0e38f)),
                                               static_cast<double>(BFloat16(1e-41f))});
    CHECK(t.data_ptr<BFloat16>()[1].bits == 0x3dcd);
    CHECK(rg::to_string(t.slice(0, 0, 2)) == "tensor([1, 0.100098], dtype=bfloat16)");
    CHECK(rg::to_string(tensor({std::nan(""), -INFINITY}, {.dtype = rg::bfloat16})) ==
          "tensor([nan, -inf], dtype=bfloat16)");
    CHECK(rg::zeros({2, 3}, {.dtype = rg::bfloat16}).to_vector() == std::vector<double>(6, 0.0));
    CHECK(rg::full({2}, 0.1, {.dtype = rg::bfloat16}).to_vector() == std::vector<double>(2, 0.10009765625));
    const Tensor r = rg::randn({100}, {.dtype = rg::bfloat16});
    CHECK(r.dtype() == rg::bfloat16);
    check_same(r, r.to(rg::float32).to(rg::bfloat16));  // every value a bfloat16
    // float32 -> bfloat16 -> float32 and float64 -> bfloat16: rounded once, to nearest even.
    const Tensor x = tensor({1.00390625, 1.01171875, 3.14159265});
    CHECK(x.to(rg::bfloat16).to(rg::float32).to_vector() == std::vector<double>{1.0, 1.015625, 3.140625});
    CHECK(x.to(rg::float64).to(rg::bfloat16).to(rg::float64).to_vector() ==
          std::vector<double>{1.0, 1.015625, 3.140625});
    CHECK(tensor({2.7, -0.0}).to(rg::bfloat16).to(rg::int64).to_vector() == std::vector<double>{2, 0});
    CHECK(tensor({true, false}).to(rg::bfloat16).to_vector() == std::vector<double>{1, 0});
    CHECK(tensor({0.5, 0.0}, {.dtype = rg::bfloat16}).to(rg::bool_).to_vector() == std::vector<double>{1, 0});
    CHECK(tensor({2.5}, {.dtype = rg::bfloat16}).item<double>() == 2.5);
    // to() is differentiable both ways; the gradient comes back in the leaf's dtype.
    const Tensor w = tensor({1.0, 2.0, 3.0}, {.requires_grad = true});
    (w.to(rg::bfloat16) * tensor({0.5, 0.25, 2.0}, {.dtype = rg::bfloat16})).sum().backward();
    REQUIRE(w.grad().defined());
    CHECK(w.grad().dtype() == rg::float32);
    CHECK(w.grad().to_vector() == std::vector<double>{0.5, 0.25, 2.0});
    // A bfloat16 leaf gets a bfloat16 gradient.
    const Tensor b = tensor({1.0, -2.0}, {.dtype = rg::bfloat16, .requires_grad = true});
    (b * b).sum().backward();
    CHECK(b.grad().dtype() == rg::bfloat16);
    CHECK(b.grad().to_vector() == std::vector<double>{2.0, -4.0});
}

TEST_CASE("bfloat16 ops compute in float32 and round the result once") {
    rg::manual_seed(7);
    const Tensor x = rg::randn({5, 7}).to(rg::bfloat16), y = rg::randn({5, 7}).to(rg::bfloat16);
    const Tensor row = rg::randn({7}).to(rg::bfloat16);
    const Tensor xf = x.to(rg::float32), yf = y.to(rg::float32), rowf = row.to(rg::float32);
    const auto round = [](const Tensor& t) { return t.to(rg::bfloat16); };
    check_same(rg::exp(x), round(rg::exp(xf)));
    check_same(rg::tanh(x), round(rg::tanh(xf)));
    check_same(rg::relu(x), round(rg::relu(xf)));
    check_same(rg::sigmoid(x), round(rg::sigmoid(xf)));
    check_same(x + y, round(xf + yf));
    check_same(x * row, round(xf * rowf));  // broadcast
    check_same(x / y, round(xf / yf));
    check_same(x * 0.3, round(xf * 0.3));
    check_same(rg::pow(x, 2.0), round(rg::pow(xf, 2.0)));
    check_same(rg::sum(x), round(rg::sum(xf)));
    check_same(rg::sum(x, {1}), round(rg::sum(xf, {1})));
    check_same(rg::mean(x, {0}), round(rg::mean(xf, {0})));
    check_same(rg::max(x, {1}), round(rg::max(xf, {1})));
    check_same(rg::softmax(x, 1), round(rg::softmax(xf, 1)));
    check_same(rg::matmul(x, y.t()), round(rg::matmul(xf, yf.t())));
    check_same(x.t().contiguous(), round(xf.t().contiguous()));  // copies are exact
    CHECK(rg::argmax(x, 1).to_vector() == rg::argmax(xf, 1).to_vector());
    CHECK((x > y).dtype() == rg::bool_);
    CHECK((x > y).to_vector() == (xf > yf).to_vector());
    // A sum whose float32 value has more bits than bfloat16 keeps: rounded at the end only.
    const Tensor ones = rg::ones({300}, {.dtype = rg::bfloat16});
    CHECK(rg::sum(ones).item<double>() == 300.0);  // a bfloat16 running sum would stop at 256
}

TEST_CASE("bfloat16 with float32 is an error naming both, as between float32 and float64") {
    const Tensor b = tensor({1.0, 2.0}, {.dtype = rg::bfloat16}), f = tensor({1.0, 2.0});
    CHECK_THROWS_WITH_AS(b + f, "add: dtype mismatch, bfloat16 and float32; convert one side with .to(rg::bfloat16)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::matmul(f.reshape({1, 2}), b.reshape({2, 1})),
                         "matmul: dtype mismatch, float32 and bfloat16; convert one side with .to(rg::float32)",
                         rg::Error);
    // gradcheck differentiates in float64: a function that computes in bfloat16 is refused.
    const Tensor x = rg::randn({3}, {.dtype = rg::float64, .requires_grad = true});
    CHECK_THROWS_WITH_AS(rg::gradcheck([](const rg::TensorList& v) { return (v[0].to(rg::bfloat16) * 2.0).sum(); },
                                       {x}),
                         "gradcheck: f returned bfloat16; build it from its inputs so that it runs in float64",
                         rg::Error);
    const Tensor xb = tensor({1.0, 2.0}, {.dtype = rg::bfloat16, .requires_grad = true});
    CHECK_THROWS_WITH_AS(rg::gradcheck([](const rg::TensorList& v) { return v[0].sum(); }, {xb}),
                         "gradcheck: input 0 is bfloat16 (8 significant bits, too few for finite differences); "
                         "pass float64 inputs",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::Autocast({.dtype = rg::float64}),
                         "Autocast: the CPU computes products in bfloat16 only, got dtype float64", rg::Error);
}

TEST_CASE("bfloat16 Autocast scopes are per thread, nest, and can switch autocasting off") {
    CHECK_FALSE(rg::is_autocast_enabled());
    {
        rg::Autocast outer;
        CHECK(rg::is_autocast_enabled());
        {
            rg::Autocast off({.enabled = false});
            CHECK_FALSE(rg::is_autocast_enabled());
            {
                rg::Autocast inner;
                CHECK(rg::is_autocast_enabled());
            }
            CHECK_FALSE(rg::is_autocast_enabled());
        }
        CHECK(rg::is_autocast_enabled());
        bool other_thread = true;
        std::thread([&] { other_thread = rg::is_autocast_enabled(); }).join();
        CHECK_FALSE(other_thread);
    }
    CHECK_FALSE(rg::is_autocast_enabled());
    CHECK_FALSE(rg::onednn_isa().empty());
}

namespace {
// rg::Autocast's products run `kernel` for the scope, the process's own choice after.
class ForcedAutocastKernel {
public:
    explicit ForcedAutocastKernel(rg::AutocastKernel kernel) { rg::detail::force_autocast_kernel(kernel); }
    ~ForcedAutocastKernel() { rg::detail::force_autocast_kernel(std::nullopt); }
    ForcedAutocastKernel(const ForcedAutocastKernel&) = delete;
    ForcedAutocastKernel& operator=(const ForcedAutocastKernel&) = delete;
};

// t's values rounded to bfloat16, in float64 (the reference's operands).
Tensor rounded64(const Tensor& t) { return rounded(t).to(rg::float64); }

// `actual` (float32, from autocast) is the float64 `reference` computed on
// the rounded operands, up to float32 accumulation error; and it is not the
// float32 result `unrounded`, from which bfloat16's rounding moves it by far
// more than that error.
void check_rounded_product(const Tensor& actual, const Tensor& reference, const Tensor& unrounded) {
    REQUIRE(actual.defined());
    CHECK(actual.dtype() == rg::float32);
    REQUIRE(actual.shape() == reference.shape());
    const double scale = 1.0 + max_difference(reference, rg::zeros_like(reference));
    const double accumulation = 2e-6 * scale;  // float32's 2^-24 over sums of a few hundred terms
    CHECK(max_difference(actual.to(rg::float64), reference) <= accumulation);
    CHECK(max_difference(actual.to(rg::float64), unrounded.to(rg::float64)) > 100 * accumulation);
}

// matmul, gemm, bmm, Linear and conv2d under rg::Autocast, with their
// gradients, against float64 on the operands rounded to bfloat16.
void check_autocast_products() {
    rg::manual_seed(3);
    const Tensor a = rg::randn({33, 70}, {.requires_grad = true}), b = rg::randn({70, 20}, {.requires_grad = true});
    const Tensor g = rg::randn({33, 20});
    Tensor c, ct, batched;
    {
        rg::Autocast autocast;
        c = rg::matmul(a, b);
        ct = rg::gemm(b, a, true, true);  // (a b)^T, both operands read transposed
        batched = rg::bmm(a.detach().reshape({1, 33, 70}).expand({2, 33, 70}),
                          b.detach().reshape({1, 70, 20}).expand({2, 70, 20}));
        CHECK(rg::matmul(a.to(rg::float64), b.to(rg::float64)).dtype() == rg::float64);  // never autocast
    }
    const Tensor unrounded = rg::matmul(a.detach(), b.detach());
    const Tensor product = rg::matmul(rounded64(a), rounded64(b));
    check_rounded_product(c, product, unrounded);
    check_rounded_product(ct.t(), product, unrounded);
    check_rounded_product(batched.select(0, 1), product, unrounded);
    // The backward products, recorded inside the scope and run outside it.
    (c * g).sum().backward();
    check_rounded_product(a.grad(), rg::matmul(rounded64(g), rounded64(b).t()), rg::matmul(g, b.detach().t()));
    check_rounded_product(b.grad(), rg::matmul(rounded64(a).t(), rounded64(g)), rg::matmul(a.detach().t(), g));
    // Outside the scope, float32 again.
    CHECK(max_difference(rg::matmul(a, b), unrounded) == 0.0);

    rg::nn::Linear fc(50, 10);
    const Tensor input = rg::randn({16, 50}), gy = rg::randn({16, 10});
    Tensor out;
    {
        rg::Autocast autocast;
        out = fc(input);
    }
    (out * gy).sum().backward();
    const Tensor w = fc.weight.detach(), bias = fc.bias.detach();
    check_rounded_product(out, rg::matmul(rounded64(input), rounded64(w).t()) + bias.to(rg::float64),
                          rg::matmul(input, w.t()) + bias);
    check_rounded_product(fc.weight.grad(), rg::matmul(rounded64(gy).t(), rounded64(input)), rg::matmul(gy.t(), input));
    CHECK(max_difference(fc.bias.grad(), rg::sum(gy, {0})) < 1e-5);  // a float32 sum, not a product

    // conv2d on both of its float32 kernels: im2col + GEMM, and oneDNN's convolutions.
    for (const auto conv_kernel : {rg::detail::ConvKernel::own, rg::detail::ConvKernel::onednn}) {
        CAPTURE(static_cast<int>(conv_kernel));
        rg::detail::force_conv_kernel(conv_kernel);
        Tensor x = rg::randn({2, 3, 9, 9}, {.requires_grad = true});
        Tensor weight = rg::randn({4, 3, 3, 3}, {.requires_grad = true});
        Tensor conv_bias = rg::randn({4}, {.requires_grad = true});
        const Tensor gc = rg::randn({2, 4, 9, 9});
        const rg::Conv2dOptions options{.padding = {1, 1}};
        Tensor y;
        {
            rg::Autocast autocast;
            y = rg::conv2d(x, weight, conv_bias, options);
        }
        (y * gc).sum().backward();
        const Tensor xd = x.detach(), wd = weight.detach(), bd = conv_bias.detach();
        check_rounded_product(y, rg::conv2d(rounded64(x), rounded64(weight), bd.to(rg::float64), options),
                              rg::conv2d(xd, wd, bd, options));
        check_rounded_product(x.grad(), rg::conv2d_input_grad(rounded64(gc), rounded64(weight), x.shape(), options),
                              rg::conv2d_input_grad(gc, wd, x.shape(), options));
        check_rounded_product(weight.grad(),
                              rg::conv2d_weight_grad(rounded64(gc), rounded64(x), weight.shape(), options),
                              rg::conv2d_weight_grad(gc, xd, weight.shape(), options));
        CHECK(max_difference(conv_bias.grad(), rg::sum(gc, {0, 2, 3})) < 1e-4);
    }
    // Conv, ReLU and 2x2 max pool as one op, on each kernel: automatic (under
    // the native kernel, oneDNN's bfloat16 convolution with the pool read from
    // its channel-blocked output, 20 channels filling two blocks of 16 in part,
    // an odd height and width leaving a row and a column outside every window).
    for (const auto conv_kernel :
         {rg::detail::ConvKernel::automatic, rg::detail::ConvKernel::own, rg::detail::ConvKernel::onednn}) {
        CAPTURE(static_cast<int>(conv_kernel));
        rg::detail::force_conv_kernel(conv_kernel);
        Tensor x = rg::randn({3, 16, 13, 11}, {.requires_grad = true});
        Tensor weight = rg::randn({20, 16, 3, 3}, {.requires_grad = true});
        const Tensor conv_bias = rg::randn({20});
        const Tensor gp = rg::randn({3, 20, 6, 5});
        const rg::Conv2dOptions options{.padding = {1, 1}};
        Tensor pooled;
        {
            rg::Autocast autocast;
            pooled = rg::conv2d_relu_max_pool2d(x, weight, conv_bias, options, {2, 2});
        }
        (pooled * gp).sum().backward();
        const Tensor z =
            rg::conv2d(rounded64(x), rounded64(weight), conv_bias.to(rg::float64), options).detach().requires_grad_();
        const Tensor reference = rg::max_pool2d(rg::relu(z), {2, 2});
        (reference * gp.to(rg::float64)).sum().backward();
        const Tensor dz = rounded64(z.grad().to(rg::float32));  // exact: G's values or zero
        const Tensor xd = x.detach(), wd = weight.detach();
        check_rounded_product(pooled, reference.detach(),
                              rg::max_pool2d(rg::relu(rg::conv2d(xd, wd, conv_bias, options)), {2, 2}));
        check_rounded_product(x.grad(), rg::conv2d_input_grad(dz, rounded64(weight), x.shape(), options),
                              rg::conv2d_input_grad(dz.to(rg::float32), wd, x.shape(), options));
        check_rounded_product(weight.grad(), rg::conv2d_weight_grad(dz, rounded64(x), weight.shape(), options),
                              rg::conv2d_weight_grad(dz.to(rg::float32), xd, weight.shape(), options));
    }
    rg::detail::force_conv_kernel(rg::detail::ConvKernel::automatic);
}
}  // namespace

TEST_CASE("bfloat16 Autocast, rounded kernel: products equal float64 on the rounded operands, gradients too") {
    const ForcedAutocastKernel forced(rg::AutocastKernel::rounded);
    REQUIRE(rg::autocast_kernel() == rg::AutocastKernel::rounded);
    MESSAGE(rg::autocast_kernel_description());
    check_autocast_products();
}

// Where oneDNN has bfloat16 kernels: on its bfloat16 instructions, or
// emulated on AVX-512 without them (slower, the same numerics).
TEST_CASE("bfloat16 Autocast, native kernel: products equal float64 on the rounded operands, gradients too") {
    const ForcedAutocastKernel forced(rg::AutocastKernel::native);
    if (rg::autocast_kernel() != rg::AutocastKernel::native) {
        MESSAGE("SKIP: oneDNN has no bfloat16 kernels on this CPU: " << rg::autocast_kernel_description());
        return;
    }
    MESSAGE(rg::autocast_kernel_description());
    check_autocast_products();
}

// Under the native kernel a product keeps its operands' bfloat16 images for
// its backward pass, which converts its output gradient once for both of
// its products (kernels/onednn.hpp, Bf16Images): a second backward pass
// with another gradient reads that gradient, and an operand changed in place
// after the forward pass is the saved-tensor error, never a stale image.
TEST_CASE("bfloat16 Autocast, native kernel: a product's kept images are never stale") {
    const ForcedAutocastKernel forced(rg::AutocastKernel::native);
    if (rg::autocast_kernel() != rg::AutocastKernel::native) {
        MESSAGE("SKIP: oneDNN has no bfloat16 kernels on this CPU: " << rg::autocast_kernel_description());
        return;
    }
    rg::manual_seed(5);
    Tensor a = rg::randn({24, 40}, {.requires_grad = true}), b = rg::randn({40, 16}, {.requires_grad = true});
    Tensor c;
    {
        rg::Autocast autocast;
        c = rg::matmul(a, b);
    }
    Tensor g = rg::randn({24, 16});
    for (int pass = 0; pass < 2; ++pass) {
        CAPTURE(pass);
        if (pass == 1) g.copy_(rg::randn({24, 16}));  // new values where the last pass's gradient was
        a.zero_grad();
        b.zero_grad();
        c.backward(g, {.retain_graph = true});
        check_rounded_product(a.grad(), rg::matmul(rounded64(g), rounded64(b).t()), rg::matmul(g, b.detach().t()));
        check_rounded_product(b.grad(), rg::matmul(rounded64(a).t(), rounded64(g)), rg::matmul(a.detach().t(), g));
    }
    Tensor x = rg::randn({24, 40});
    {
        rg::Autocast autocast;
        c = rg::matmul(x, b);
    }
    x.mul_(2.0);
    CHECK_THROWS_WITH_AS(c.sum().backward(),
                         doctest::Contains("saved by 'matmul' was modified by an in-place operation"), rg::Error);
}

TEST_CASE("bfloat16 Autocast's kernel: native with bfloat16 instructions, rounded elsewhere, and it says which") {
    const std::string isa = rg::onednn_isa();
    CHECK(rg::bfloat16_supported() == (isa == "avx512_core_bf16" || isa == "avx512_core_amx"));
    const auto asked = rg::detail::parse_autocast_kernel(std::getenv("RETROGRAD_AUTOCAST_KERNEL"));
    const std::string description = rg::autocast_kernel_description();
    MESSAGE(description);
    if (!asked) {
        if (rg::bfloat16_supported()) {
            CHECK(rg::autocast_kernel() == rg::AutocastKernel::native);
            CHECK(description ==
                  "native: oneDNN's bfloat16 kernels (oneDNN's ISA " + isa + " has bfloat16 instructions)");
        } else {
            CHECK(rg::autocast_kernel() == rg::AutocastKernel::rounded);
            CHECK(description == "rounded: operands rounded to bfloat16, float32 kernels (oneDNN's ISA " + isa +
                                     " has no bfloat16 instructions)");
        }
    } else {
        CHECK(description.find(*asked == rg::AutocastKernel::native
                                   ? "RETROGRAD_AUTOCAST_KERNEL=native"
                                   : "RETROGRAD_AUTOCAST_KERNEL=rounded") != std::string::npos);
    }
    {
        const ForcedAutocastKernel forced(rg::AutocastKernel::rounded);
        CHECK(rg::autocast_kernel_description() ==
              "rounded: operands rounded to bfloat16, float32 kernels (forced rounded; oneDNN's ISA " + isa + ")");
    }
    {
        const ForcedAutocastKernel forced(rg::AutocastKernel::native);
        const std::string forced_native = rg::autocast_kernel_description();
        if (rg::autocast_kernel() == rg::AutocastKernel::native)
            CHECK(forced_native.starts_with("native: oneDNN's bfloat16 kernels (forced native; oneDNN's ISA " + isa));
        else
            CHECK(forced_native == "rounded: operands rounded to bfloat16, float32 kernels (forced native, but "
                                   "oneDNN's ISA " +
                                       isa + " has no bfloat16 kernels)");
    }
    CHECK(rg::detail::parse_autocast_kernel(nullptr) == std::nullopt);
    CHECK(rg::detail::parse_autocast_kernel("") == std::nullopt);
    CHECK(rg::detail::parse_autocast_kernel("native") == rg::AutocastKernel::native);
    CHECK(rg::detail::parse_autocast_kernel("rounded") == rg::AutocastKernel::rounded);
    CHECK_THROWS_WITH_AS(rg::detail::parse_autocast_kernel("Native"),
                         "Autocast: RETROGRAD_AUTOCAST_KERNEL is \"Native\"; expected native or rounded (or unset: "
                         "the CPU decides)",
                         rg::Error);
}

TEST_CASE("bfloat16 Autocast Linear: the float32 parameters get float32 gradients near float32's") {
    rg::manual_seed(11);
    rg::nn::Linear fc(50, 10);
    const Tensor input = rg::randn({16, 50});
    const auto gradients = [&](bool autocast) {
        fc.zero_grad();
        rg::Autocast scope({.enabled = autocast});
        Tensor out = fc(input);
        CHECK(out.dtype() == rg::float32);
        rg::nn::cross_entropy(out, rg::randint(0, 10, {16})).backward();
        return std::pair{fc.weight.grad().clone(), fc.bias.grad().clone()};
    };
    rg::manual_seed(1);
    const auto [w32, b32] = gradients(false);
    rg::manual_seed(1);
    const auto [w16, b16] = gradients(true);
    CHECK(w16.dtype() == rg::float32);
    CHECK(max_difference(w16, w32) < 0.02 * max_difference(w32, rg::zeros_like(w32)) + 1e-6);
    CHECK(max_difference(b16, b32) < 0.02 * max_difference(b32, rg::zeros_like(b32)) + 1e-6);
}

TEST_CASE("bfloat16 inputs to every registered op: a result or an rg::Error, never a crash") {
    rg::manual_seed(13);
    int computed = 0, refused = 0;
    for (const rg::OpDef* def : rg::op_registry()) {
        if (def->samples.empty() || !def->call) continue;
        const rg::OpSample& sample = def->samples.front();
        rg::TensorList f32, b16;
        for (const rg::Shape& shape : sample.shapes) {
            const Tensor v = rg::uniform(rg::IntList(shape), sample.low, sample.high).to(rg::bfloat16);
            b16.push_back(v);
            f32.push_back(v.to(rg::float32));
        }
        CAPTURE(def->name);
        Tensor out;
        try {
            out = def->call(b16);
        } catch (const rg::Error& e) {
            ++refused;
            CHECK(std::string(e.what()).find("bfloat16") != std::string::npos);  // it says why
            continue;
        }
        ++computed;
        if (!out.defined() || def->composite || def->kind != rg::OpKind::elementwise) continue;
        // A primitive elementwise op: its float32 result on the same values, rounded once.
        const Tensor expected = def->call(f32);
        check_same(out, expected.dtype() == rg::float32 ? expected.to(rg::bfloat16) : expected);  // bool masks stay
    }
    MESSAGE(computed << " ops computed bfloat16 inputs, " << refused << " refused them");
    CHECK(computed > refused);
}
