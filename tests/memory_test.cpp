// The tape does not leak: memory after 10,000 forward+backward iterations is
// what it was after a warm-up. Measured with the resident set size from
// /proc/self/statm (Linux), so allocator caches are counted too.
#include <fstream>
#include <pthread.h>
#include <unistd.h>

#include "helpers.hpp"
#include "sanitizers.hpp"

namespace {
long resident_kib() {
    std::ifstream statm("/proc/self/statm");
    long pages = 0, resident = 0;
    statm >> pages >> resident;
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

void step(const rg::Tensor& w, const rg::Tensor& b, const rg::Tensor& x) {
    auto h = rg::tanh(rg::matmul(x, w) + b);
    auto loss = rg::mean(rg::log_softmax(h, 1));
    loss.backward();
}
}  // namespace

TEST_CASE("10,000 forward+backward iterations do not grow memory") {
    if (test::under_sanitizer) {
        MESSAGE("skipped under sanitizers: their allocator quarantines freed memory, so the resident size grows "
                "(leaks are LeakSanitizer's job there)");
        return;
    }
    auto w = rg::randn({16, 8}, {.requires_grad = true});
    auto b = rg::randn({8}, {.requires_grad = true});
    auto x = rg::randn({4, 16});
    for (int i = 0; i < 1000; ++i) step(w, b, x);
    const long before = resident_kib();
    for (int i = 0; i < 10000; ++i) step(w, b, x);
    const long after = resident_kib();
    MESSAGE("resident memory: " << before << " KiB after warm-up, " << after << " KiB after 10,000 more");
    CHECK(after - before < 256);
}

TEST_CASE("a forward pass that is never differentiated frees itself") {
    if (test::under_sanitizer) {
        MESSAGE("skipped under sanitizers: their allocator quarantines freed memory, so the resident size grows "
                "(leaks are LeakSanitizer's job there)");
        return;
    }
    auto w = rg::randn({64, 64}, {.requires_grad = true});
    auto x = rg::randn({64, 64});
    for (int i = 0; i < 100; ++i) rg::tanh(rg::matmul(x, w));
    const long before = resident_kib();
    for (int i = 0; i < 2000; ++i) rg::tanh(rg::matmul(x, w));  // 2000 graphs of 32 KiB outputs
    CHECK(resident_kib() - before < 1024);
}

namespace {
// Where the gradients entering and leaving the op y = f(x) sit: hooks on x and
// y look at the buffers without keeping a handle (which would stop the reuse).
struct GradientBuffers {
    std::shared_ptr<const void*> into_op = std::make_shared<const void*>(nullptr);
    std::shared_ptr<const void*> out_of_op = std::make_shared<const void*>(nullptr);
    GradientBuffers(rg::Tensor& x, rg::Tensor& y) {
        y.register_hook([into = into_op](const rg::Tensor& g) {
            *into = g.data_ptr();
            return rg::Tensor{};
        });
        x.register_hook([out = out_of_op](const rg::Tensor& g) {
            *out = g.data_ptr();
            return rg::Tensor{};
        });
    }
};
}  // namespace

TEST_CASE("relu, tanh and sigmoid backward write into the gradient they are handed when nobody else holds it") {
    for (const char* op : {"relu", "tanh", "sigmoid"}) {
        CAPTURE(op);
        auto x = rg::randn({64, 64}, {.requires_grad = true});
        auto h = x * 2.0;
        auto y = std::string(op) == "relu" ? rg::relu(h) : std::string(op) == "tanh" ? rg::tanh(h) : rg::sigmoid(h);
        const GradientBuffers buffers(h, y);
        (y * 3.0).sum().backward();
        CHECK(*buffers.into_op != nullptr);
        CHECK(*buffers.out_of_op == *buffers.into_op);
        // The values are those of the op's VJP all the same.
        rg::NoGrad no_grad;
        const auto h2 = x.detach() * 2.0;
        const rg::Tensor local = std::string(op) == "relu"   ? rg::gt(h2, 0.0).to(rg::float32)
                                 : std::string(op) == "tanh" ? rg::rsub(1.0, rg::tanh(h2).square())
                                                             : rg::sigmoid(h2) * rg::rsub(1.0, rg::sigmoid(h2));
        CHECK(rg::allclose(x.grad(), local * 6.0, 1e-5, 1e-6));
    }
}

TEST_CASE("multiplying by a number and negating scale the gradient they are handed in its own buffer") {
    for (const char* op : {"mul", "neg"}) {
        CAPTURE(op);
        auto x = rg::randn({64, 64}, {.requires_grad = true});
        auto h = x * 2.0;
        auto y = std::string(op) == "mul" ? h * 0.1 : -h;
        const GradientBuffers buffers(h, y);
        auto weights = rg::randn({64, 64});
        (y * weights).sum().backward();
        CHECK(*buffers.into_op != nullptr);
        CHECK(*buffers.out_of_op == *buffers.into_op);
        // Bit for bit what a new product gives: float32 * 0.1 is rounded from double either way.
        rg::NoGrad no_grad;
        const rg::Tensor expected = std::string(op) == "mul" ? weights * 0.1 * 2.0 : -weights * 2.0;
        CHECK(rg::allclose(x.grad(), expected, 0.0, 0.0));
    }
}

TEST_CASE("a gradient someone else holds is never overwritten by the VJP it is handed to") {
    auto x = rg::randn({8, 8}, {.requires_grad = true});
    auto h = x * 2.0;
    auto y = rg::relu(h);
    y.retain_grad();  // .grad shares the gradient handed to relu's VJP
    (y * 3.0).sum().backward();
    CHECK(rg::allclose(y.grad(), rg::full({8, 8}, 3.0)));
    auto scaled = (x * 2.0) * 0.5;
    scaled.retain_grad();
    (scaled * 3.0).sum().backward();
    CHECK(rg::allclose(scaled.grad(), rg::full({8, 8}, 3.0)));
    // With create_graph the gradient is part of a graph: never overwritten either.
    auto z = rg::tanh(x * 2.0);
    auto [gx] = rg::grad((z * 3.0).sum(), {x}, {.create_graph = true});
    auto expected = (rg::ones({8, 8}) - rg::tanh(x * 2.0).square()) * 6.0;
    CHECK(rg::allclose(gx, expected.detach(), 1e-5, 1e-6));
}

namespace {
// Runs f on a thread with a small stack (256 KiB): a graph freed by recursion
// overflows it within a few thousand nodes.
void on_small_stack(void (*f)()) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, std::size_t{256} * 1024);
    pthread_t thread;
    REQUIRE(pthread_create(
                &thread, &attr,
                [](void* arg) -> void* {
                    reinterpret_cast<void (*)()>(arg)();
                    return nullptr;
                },
                reinterpret_cast<void*>(f)) == 0);
    pthread_join(thread, nullptr);
    pthread_attr_destroy(&attr);
}
}  // namespace

TEST_CASE("a long graph is freed without recursion: 50,000 ops on a 256 KiB stack") {
    // Before, each node's destructor destroyed its inputs' nodes (and saved
    // tensors' grad_fns) recursively: a chain of a million ops crashed the
    // process when dropped.
    on_small_stack([] {
        auto x = rg::ones({2}, {.requires_grad = true});
        auto w = rg::full({2}, 0.5, {.requires_grad = true});
        {
            rg::Tensor y = x;
            for (int i = 0; i < 25000; ++i) y = rg::tanh(y * w);  // saves inputs and the output
        }  // dropped without backward
        rg::Tensor y = x;
        for (int i = 0; i < 25000; ++i) y = y * 1.0 + 0.0;
        y.sum().backward();  // and after backward, which releases the saved values
        y = rg::Tensor{};
        CHECK(x.grad().to_vector() == std::vector<double>{1.0, 1.0});
    });
}
