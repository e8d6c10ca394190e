// The caching allocator's reuse of freed blocks (autodiff/src/memory.cpp):
// exact sizes first, else the smallest cached block at most a quarter larger.
#include "helpers.hpp"

namespace {

// A float32 storage of `bytes` bytes (a multiple of 4 KiB, so no rounding).
rg::Tensor block(std::size_t bytes) { return rg::empty({bytes / 4}); }

}  // namespace

TEST_CASE("the block cache gives a smaller request a block at most a quarter larger, and takes it back whole") {
    rg::empty_cache();
    constexpr std::size_t full = std::size_t{1} << 20;  // 1 MiB: a full batch's buffer
    const auto start = rg::cache_stats();
    const void* first = nullptr;
    {
        rg::Tensor t = block(full);
        first = t.data_ptr();
    }
    CHECK(rg::cache_stats().cached_bytes == full);
    {
        // 7/8 of it, an epoch's last batch: served from the cached block.
        rg::Tensor smaller = block(full / 8 * 7);
        CHECK(smaller.data_ptr() == first);
        CHECK(rg::cache_stats().hits == start.hits + 1);
        CHECK(rg::cache_stats().live_bytes == start.live_bytes + full);
        CHECK(rg::cache_stats().cached_bytes == 0);
    }
    // Released under its own size: the cache holds the 1 MiB block again, nothing else.
    CHECK(rg::cache_stats().cached_bytes == full);
    CHECK(rg::cache_stats().live_bytes == start.live_bytes);
    {
        rg::Tensor again = block(full);
        CHECK(again.data_ptr() == first);
        // Half of it is too small for the block: a fresh one.
        const auto misses = rg::cache_stats().misses;
        rg::Tensor half = block(full / 2);
        CHECK(half.data_ptr() != first);
        CHECK(rg::cache_stats().misses == misses + 1);
    }
    {
        // With both cached, a request takes its exact size, not the larger block.
        rg::Tensor half = block(full / 2);
        CHECK(half.data_ptr() != first);
        rg::Tensor t = block(full);
        CHECK(t.data_ptr() == first);
    }
    rg::empty_cache();
    CHECK(rg::cache_stats().cached_bytes == 0);
    CHECK(rg::cache_stats().live_bytes == start.live_bytes);
}
