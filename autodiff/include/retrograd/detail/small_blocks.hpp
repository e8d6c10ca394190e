#pragma once
// Small blocks for the tape's own bookkeeping: every recorded op makes a node,
// its output tensor, a storage and often a tiny buffer, and backward frees
// them all at once. The system allocator handles that churn poorly (a freed
// graph of a thousand nodes overflows its per-thread cache and falls into
// consolidation), so blocks up to kSmallBlockMax bytes are kept on per-thread
// free lists, up to kSmallBlocksCachedPerThread bytes, for the next op. A block
// may be freed on another thread than the one that made it (it joins that
// thread's list). Under AddressSanitizer and ThreadSanitizer every block comes
// from the system, so they still see each allocation.
#include <cstddef>
#include <memory>
#include <new>

namespace rg::detail {

inline constexpr std::size_t kSmallBlockMax = 1024;
inline constexpr std::size_t kSmallBlocksCachedPerThread = std::size_t{16} << 20;

// `bytes` from 1 to kSmallBlockMax; the block is aligned to 64 bytes. Throws
// rg::Error when the system refuses.
void* small_allocate(std::size_t bytes);
void small_release(void* p, std::size_t bytes) noexcept;
// Bytes held on this thread's free lists; drop_small_blocks() frees them.
std::size_t small_blocks_cached();
void drop_small_blocks() noexcept;

// An std::allocator-compatible front, for allocate_shared and containers.
template <class T> struct SmallBlockAllocator {
    using value_type = T;
    SmallBlockAllocator() = default;
    template <class U>
    SmallBlockAllocator(const SmallBlockAllocator<U>&) {}  // NOLINT(google-explicit-constructor): rebinding
    T* allocate(std::size_t n) {
        if (n <= kSmallBlockMax / sizeof(T)) return static_cast<T*>(small_allocate(n * sizeof(T)));
        return std::allocator<T>().allocate(n);
    }
    void deallocate(T* p, std::size_t n) noexcept {
        if (n <= kSmallBlockMax / sizeof(T)) {
            small_release(p, n * sizeof(T));
        } else {
            std::allocator<T>().deallocate(p, n);
        }
    }
    template <class U> bool operator==(const SmallBlockAllocator<U>&) const { return true; }
};

// std::make_shared, with the object and its control block in one small block.
template <class T, class... Args> std::shared_ptr<T> make_small_shared(Args&&... args) {
    return std::allocate_shared<T>(SmallBlockAllocator<T>(), std::forward<Args>(args)...);
}

}  // namespace rg::detail
