// Per-thread free lists of small blocks (see detail/small_blocks.hpp).
#include <retrograd/detail/small_blocks.hpp>

#include "storage.hpp"

#include <cstdlib>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define RETROGRAD_SMALL_BLOCKS_FROM_SYSTEM 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define RETROGRAD_SMALL_BLOCKS_FROM_SYSTEM 1
#endif
#endif

namespace rg::detail {
namespace {

constexpr std::size_t kGranule = 64;
constexpr std::size_t kClasses = kSmallBlockMax / kGranule;

struct FreeBlock {
    FreeBlock* next;
};

// Trivially destructible, so it stays usable while other thread-local objects
// (a tape's scratch tensors) are destroyed after the lists were drained.
struct FreeLists {
    FreeBlock* heads[kClasses];
    std::size_t cached_bytes;
    bool closed;  // the thread is exiting: blocks go back to the system
};
thread_local FreeLists lists{};

std::size_t class_of(std::size_t bytes) { return (bytes - 1) / kGranule; }
std::size_t block_size(std::size_t cls) { return (cls + 1) * kGranule; }

void* from_system(std::size_t bytes) {
    void* p = std::aligned_alloc(kGranule, block_size(class_of(bytes)));
    // Nodes, tensor headers and tiny storages: no op to name at this depth.
    if (!p) out_of_memory(bytes, "tensor");
    return p;
}

}  // namespace

#ifdef RETROGRAD_SMALL_BLOCKS_FROM_SYSTEM
void* small_allocate(std::size_t bytes) { return from_system(bytes); }
void small_release(void* p, std::size_t) noexcept { std::free(p); }
#else
namespace {
// Drains the lists when the thread exits; made on the thread's first cached block.
struct Drain {
    ~Drain() {
        drop_small_blocks();
        lists.closed = true;
    }
};
void register_drain() { static thread_local Drain drain; }
}  // namespace

void* small_allocate(std::size_t bytes) {
    const std::size_t cls = class_of(bytes);
    if (FreeBlock* block = lists.heads[cls]) {
        lists.heads[cls] = block->next;
        lists.cached_bytes -= block_size(cls);
        return block;
    }
    return from_system(bytes);
}

void small_release(void* p, std::size_t bytes) noexcept {
    if (!p) return;
    const std::size_t cls = class_of(bytes);
    if (lists.closed || lists.cached_bytes + block_size(cls) > kSmallBlocksCachedPerThread) {
        std::free(p);
        return;
    }
    if (lists.cached_bytes == 0) register_drain();
    auto* block = static_cast<FreeBlock*>(p);
    block->next = lists.heads[cls];
    lists.heads[cls] = block;
    lists.cached_bytes += block_size(cls);
}
#endif

std::size_t small_blocks_cached() { return lists.cached_bytes; }

void drop_small_blocks() noexcept {
    for (FreeBlock*& head : lists.heads) {
        while (head) {
            FreeBlock* next = head->next;
            std::free(head);
            head = next;
        }
    }
    lists.cached_bytes = 0;
}

}  // namespace rg::detail
