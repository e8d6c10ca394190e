// The caching allocator behind every storage. A training step frees and
// allocates the same large buffers (activations, patch matrices, gradients)
// over and over; fresh pages from the system cost a page fault each, which
// made convolutions 2-3x slower. Freed blocks from 64 KiB to 64 MiB are kept
// here, by size, for the next request of that size, up to a limit. The host's
// allocator settings are left alone.
#include "storage.hpp"

#include <retrograd/detail/small_blocks.hpp>

#include <cstdlib>
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
    std::unordered_map<std::size_t, std::vector<void*>> free_blocks;  // by rounded size
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
        c.live += size;
        auto it = c.free_blocks.find(size);
        if (it != c.free_blocks.end() && !it->second.empty()) {
            void* p = it->second.back();
            it->second.pop_back();
            c.cached -= size;
            ++c.hits;
            return p;
        }
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
    const std::size_t size = rounded(bytes);
    Cache& c = cache();
    {
        std::lock_guard lock(c.mutex);
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
