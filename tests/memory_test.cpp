// The tape does not leak: memory after 10,000 forward+backward iterations is
// what it was after a warm-up. Measured with the resident set size from
// /proc/self/statm (Linux), so allocator caches are counted too.
#include <fstream>
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
