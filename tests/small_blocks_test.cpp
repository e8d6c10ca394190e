// The per-thread free lists behind the tape's small allocations
// (retrograd/detail/small_blocks.hpp): blocks are reused, bounded, aligned,
// may be freed on another thread, and empty_cache() gives them back.
#include <retrograd/detail/small_blocks.hpp>

#include <cstdint>
#include <thread>
#include <vector>

#include "helpers.hpp"
#include "sanitizers.hpp"

using rg::detail::small_allocate;
using rg::detail::small_blocks_cached;
using rg::detail::small_release;

TEST_CASE("small blocks are 64-byte aligned and reused from the thread's lists") {
    rg::empty_cache();
    void* a = small_allocate(100);
    CHECK(reinterpret_cast<std::uintptr_t>(a) % 64 == 0);
    small_release(a, 100);
    if (test::under_sanitizer) {
        MESSAGE("under a sanitizer every small block comes from the system: reuse not checked");
        CHECK(small_blocks_cached() == 0);
        return;
    }
    CHECK(small_blocks_cached() == 128);  // 100 bytes round up to the 128-byte class
    CHECK(rg::cache_stats().small_cached_bytes == 128);
    void* b = small_allocate(120);  // the same class
    CHECK(b == a);
    CHECK(small_blocks_cached() == 0);
    small_release(b, 120);
    rg::empty_cache();
    CHECK(small_blocks_cached() == 0);
}

TEST_CASE("a thread's small-block lists hold at most 16 MiB") {
    if (test::under_sanitizer) return;
    rg::empty_cache();
    const std::size_t count = rg::detail::kSmallBlocksCachedPerThread / 1024 + 100;
    std::vector<void*> blocks(count);
    for (auto& p : blocks) p = small_allocate(1024);
    for (void* p : blocks) small_release(p, 1024);
    CHECK(small_blocks_cached() == rg::detail::kSmallBlocksCachedPerThread);
    rg::empty_cache();
    CHECK(small_blocks_cached() == 0);
}

TEST_CASE("a small block made on one thread may be freed on another") {
    rg::empty_cache();
    void* p = nullptr;
    std::thread maker([&] { p = small_allocate(64); });
    maker.join();
    small_release(p, 64);  // joins this thread's lists
    if (!test::under_sanitizer) CHECK(small_blocks_cached() == 64);
    rg::empty_cache();
    // Tensors made on a thread that has exited are still freed correctly.
    rg::Tensor kept;
    std::thread worker([&] { kept = rg::tanh(rg::ones({3}) * 2.0); });
    worker.join();
    CHECK(kept.sum().item<double>() == doctest::Approx(3 * std::tanh(2.0)).epsilon(1e-6));
    kept = rg::Tensor{};
}

TEST_CASE("the tape's nodes and tensors come from the small-block lists") {
    if (test::under_sanitizer) return;
    auto x = rg::randn({4}, {.requires_grad = true});
    auto run = [&] {
        rg::Tensor y = x;
        for (int i = 0; i < 100; ++i) y = rg::tanh(y * 0.5 + 0.1);
        y.sum().backward();
    };
    run();
    rg::empty_cache();
    run();  // the graph freed after backward returns its blocks to the lists
    CHECK(rg::cache_stats().small_cached_bytes > 100 * 3 * 256);
}
