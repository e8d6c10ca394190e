#pragma once
// Storage: one reference-counted buffer of one dtype that any number of
// tensors view, with the version counter that in-place writes bump and saved
// tensors check. Buffers of 64 KiB and more come from the caching allocator.
#include <retrograd/tensor.hpp>

#include <atomic>
#include <cstddef>
#include <memory>

namespace rg::detail {

// Raw bytes from the cache (or the system); `bytes` may be 0. Throws rg::Error
// naming `op` and the byte count when the system refuses.
void* allocate_bytes(std::size_t bytes, const char* op);
void release_bytes(void* p, std::size_t bytes) noexcept;
// The rg::Error for an allocation the system refused, naming `op` and the size.
[[noreturn]] void out_of_memory(std::size_t bytes, const char* op);

class Storage {
public:
    virtual ~Storage() = default;
    Storage(const Storage&) = delete;
    Storage& operator=(const Storage&) = delete;

    void* data() const { return data_; }
    std::size_t nbytes() const { return nbytes_; }
    Dtype dtype() const { return dtype_; }
    std::uint64_t version() const { return version_.load(std::memory_order_relaxed); }
    void bump_version() { version_.fetch_add(1, std::memory_order_relaxed); }

protected:
    Storage(void* data, std::size_t nbytes, Dtype dtype) : data_(data), nbytes_(nbytes), dtype_(dtype) {}

private:
    void* data_;
    std::size_t nbytes_;
    Dtype dtype_;
    std::atomic<std::uint64_t> version_{0};
};

// A storage that owns `nbytes` of uninitialised memory from the cache (or the
// system): what kernels write their results into.
class BufferStorage final : public Storage {
public:
    BufferStorage(std::size_t nbytes, Dtype dtype, const char* op)
        : Storage(allocate_bytes(nbytes, op), nbytes, dtype) {}
    ~BufferStorage() override { release_bytes(data(), nbytes()); }
    BufferStorage(const BufferStorage&) = delete;
    BufferStorage& operator=(const BufferStorage&) = delete;
};

// A storage of at most N bytes held in the same small block as its header and
// reference counts: the tape's tiny results cost one block, not three.
template <std::size_t N> class InlineStorage final : public Storage {
public:
    InlineStorage(std::size_t nbytes, Dtype dtype) : Storage(bytes_, nbytes, dtype) {}

private:
    alignas(16) std::byte bytes_[N];
};

// A fresh storage of `nbytes` (contents uninitialised); allocation errors name `op`.
std::shared_ptr<Storage> new_storage(std::size_t nbytes, Dtype dtype, const char* op);

// A storage that owns an xtensor container (a user's xt::xarray<T> moved in),
// so it is not copied. The container is a base so that it exists before
// Storage records its buffer.
template <class A> struct ArrayHolder { A array; };
template <class A> class ArrayStorage final : private ArrayHolder<A>, public Storage {
public:
    using value_type = typename A::value_type;
    explicit ArrayStorage(A&& array)
        : ArrayHolder<A>{std::move(array)},
          Storage(this->array.data(), this->array.size() * sizeof(value_type), dtype_of<value_type>()) {}
};

}  // namespace rg::detail
