// The caching allocator behind every storage. A training step frees and
// allocates the same large buffers (activations, patch matrices, gradients)
// over and over; fresh pages from the system cost a page fault each, which
// made convolutions 2-3x slower. Freed blocks from 64 KiB to 64 MiB are kept
// here, by size, for the next request of that size, up to a limit. A request
// with no block of its size takes the smallest cached block at most a quarter
// larger: an epoch's last, smaller batch then reuses the full batches' blocks
// instead of holding a second set of its own sizes. The host's allocator
// settings are left alone.
#include "storage.hpp"

#include <retrograd/detail/small_blocks.hpp>

#include <cstdlib>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace rg {
namespace {

constexpr std::size_t kCachedFrom = 64 << 10;
// Blocks above this are one-off (a data set, its normalised copy): they go back
// to the system at once rather than holding the process's peak up.
constexpr std::size_t kCachedUpTo = std::size_t{64} << 20;
constexpr std::size_t kPage = 4096;
constexpr std::size_t kAlignment = 64;

struct Cache {
    std::mutex mutex;
    std::map<std::size_t, std::vector<void*>> free_blocks;  // by rounded size, ordered for the best fit
    std::unordered_map<void*, std::size_t> larger_blocks;  // blocks handed out for a smaller request: their size
    std::size_t cached = 0;
    std::size_t live = 0;
    std::size_t limit = std::size_t{1} << 30;
    std::size_t hits = 0, misses = 0;

    void drop_all() {
        for (auto& [size, blocks] : free_blocks)
            for (void* p : blocks) std::free(p);
        free_blocks.clear();
        cached = 0;
    }

    // A cached block of `size` bytes, or else the smallest of at most 5/4 of it; null for none.
    void* take(std::size_t size) {
        auto it = free_blocks.lower_bound(size);
        while (it != free_blocks.end() && it->second.empty()) ++it;
        if (it == free_blocks.end() || it->first > size + size / 4) return nullptr;
        void* p = it->second.back();
        if (it->first != size) larger_blocks.emplace(p, it->first);  // before the pop: a throw leaves it cached
        it->second.pop_back();
        cached -= it->first;
        live += it->first;
        return p;
    }

    // The size a block was allocated with, given the size its storage asked for.
    std::size_t block_size(void* p, std::size_t asked) {
        if (larger_blocks.empty()) return asked;
        auto it = larger_blocks.find(p);
        if (it == larger_blocks.end()) return asked;
        const std::size_t size = it->second;
        larger_blocks.erase(it);
        return size;
    }
};

// Never destroyed: storages released by other static destructors still return here.
Cache& cache() {
    static Cache* instance = new Cache;
    return *instance;
}

std::size_t rounded(std::size_t bytes) { return (bytes + kPage - 1) / kPage * kPage; }

// Aligned memory, or null when the system refuses (malloc's contract, which
// sanitizers keep; operator new would abort under them instead of throwing).
void* aligned(std::size_t bytes) {
    return std::aligned_alloc(kAlignment, (bytes + kAlignment - 1) / kAlignment * kAlignment);
}

void* system_allocate(std::size_t bytes, const char* op) {
    void* p = aligned(bytes);
    if (!p) detail::out_of_memory(bytes, op);
    return p;
}

}  // namespace

namespace detail {

void out_of_memory(std::size_t bytes, const char* op) {
    fail("{}: cannot allocate {} bytes ({:.2f} GiB): the system refused; use smaller tensors or batches", op, bytes,
         static_cast<double>(bytes) / static_cast<double>(std::size_t{1} << 30));
}

void* allocate_bytes(std::size_t bytes, const char* op) {
    if (bytes == 0) return nullptr;
    if (bytes > (std::size_t{1} << 62)) out_of_memory(bytes, op);
    if (bytes <= kSmallBlockMax) return small_allocate(bytes);
    if (bytes < kCachedFrom) return system_allocate(bytes, op);
    const std::size_t size = rounded(bytes);
    Cache& c = cache();
    {
        std::lock_guard lock(c.mutex);
        try {
            if (void* p = c.take(size)) {
                ++c.hits;
                return p;
            }
        } catch (...) {  // no room for the bookkeeping: allocate afresh below
        }
        c.live += size;
        ++c.misses;
    }
    if (void* p = aligned(size)) return p;
    {
        std::lock_guard lock(c.mutex);
        c.drop_all();  // cached blocks of other sizes may make room
    }
    if (void* p = aligned(size)) return p;
    {
        std::lock_guard lock(c.mutex);
        c.live -= size;
    }
    out_of_memory(bytes, op);
}

void release_bytes(void* p, std::size_t bytes) noexcept {
    if (!p) return;
    if (bytes <= kSmallBlockMax) {
        small_release(p, bytes);
        return;
    }
    if (bytes < kCachedFrom) {
        std::free(p);
        return;
    }
    Cache& c = cache();
    {
        std::lock_guard lock(c.mutex);
        const std::size_t size = c.block_size(p, rounded(bytes));
        c.live -= size;
        if (size <= kCachedUpTo && c.cached + size <= c.limit) {
            try {
                c.free_blocks[size].push_back(p);
                c.cached += size;
                return;
            } catch (...) {  // no room for the bookkeeping: give the block back
            }
        }
    }
    std::free(p);
}

}  // namespace detail

void set_cache_limit(std::size_t bytes) {
    Cache& c = cache();
    std::lock_guard lock(c.mutex);
    c.limit = bytes;
    if (c.cached > bytes) c.drop_all();
}

void empty_cache() {
    Cache& c = cache();
    std::lock_guard lock(c.mutex);
    c.drop_all();
    detail::drop_small_blocks();
}

CacheStats cache_stats() {
    Cache& c = cache();
    std::lock_guard lock(c.mutex);
    return CacheStats{c.cached, c.live, c.hits, c.misses, detail::small_blocks_cached()};
}

}  // namespace rg
