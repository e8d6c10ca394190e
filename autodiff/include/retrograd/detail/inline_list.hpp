#pragma once
// InlineList<T, N>: a vector that keeps up to N elements inside itself and
// more in a small block. A node's edges and saved inputs and a VJP's
// gradients are one to four items made for every recorded op; kept inline,
// they cost no allocation of their own and sit in the node's cache lines.
#include <retrograd/detail/small_blocks.hpp>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <new>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

namespace rg::detail {

template <class T, std::size_t N> class InlineList {
public:
    using value_type = T;
    using iterator = T*;
    using const_iterator = const T*;

    InlineList() = default;
    InlineList(std::initializer_list<T> items) : InlineList(items.begin(), items.end()) {}
    // Implicit, so that a VJP written to return a std::vector (a TensorList) still compiles.
    InlineList(std::vector<T>&& items)
        : InlineList(std::make_move_iterator(items.begin()), std::make_move_iterator(items.end())) {}
    InlineList(const std::vector<T>& items) : InlineList(items.begin(), items.end()) {}
    InlineList(InlineList&& other) noexcept { take(std::move(other)); }
    InlineList& operator=(InlineList&& other) noexcept {
        if (this != &other) {
            release();
            take(std::move(other));
        }
        return *this;
    }
    InlineList(const InlineList& other) : InlineList(other.begin(), other.end()) {}
    InlineList& operator=(const InlineList& other) {
        if (this != &other) *this = InlineList(other);
        return *this;
    }
    ~InlineList() { release(); }

    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    T* data() { return data_; }
    const T* data() const { return data_; }
    T* begin() { return data_; }
    T* end() { return data_ + size_; }
    const T* begin() const { return data_; }
    const T* end() const { return data_ + size_; }
    T& operator[](std::size_t i) { return data_[i]; }
    const T& operator[](std::size_t i) const { return data_[i]; }
    T& back() { return data_[size_ - 1]; }

    // Grows with default-constructed elements or shrinks to n.
    void resize(std::size_t n) {
        reserve(n);
        while (size_ < n) {
            new (data_ + size_) T();
            ++size_;
        }
        while (size_ > n) data_[--size_].~T();
    }
    void push_back(T item) {
        if (size_ == capacity_) reserve(2 * std::size_t{capacity_});
        new (data_ + size_) T(std::move(item));
        ++size_;
    }
    void clear() { resize(0); }

private:
    template <class It> InlineList(It first, It last) {
        // A constructor that throws runs no destructor: release what was made.
        try {
            reserve(static_cast<std::size_t>(std::distance(first, last)));
            for (; first != last; ++first) {
                new (data_ + size_) T(*first);
                ++size_;  // counted once made, so a throw never destroys an unmade element
            }
        } catch (...) {
            release();
            throw;
        }
    }
    T* inline_data() { return std::launder(reinterpret_cast<T*>(inline_)); }
    void reserve(std::size_t n) {
        if (n <= capacity_) return;
        if (n > UINT32_MAX) throw std::length_error("InlineList: more than 2^32 - 1 elements");
        T* bigger = SmallBlockAllocator<T>().allocate(n);
        for (std::size_t i = 0; i < size_; ++i) {
            new (bigger + i) T(std::move(data_[i]));
            data_[i].~T();
        }
        if (data_ != inline_data()) SmallBlockAllocator<T>().deallocate(data_, capacity_);
        data_ = bigger;
        capacity_ = static_cast<std::uint32_t>(n);
    }
    void release() noexcept {
        while (size_ > 0) data_[--size_].~T();
        if (data_ != inline_data()) SmallBlockAllocator<T>().deallocate(data_, capacity_);
        data_ = inline_data();
        capacity_ = N;
    }
    // Leaves `other` empty.
    void take(InlineList&& other) noexcept {
        if (other.data_ != other.inline_data()) {
            data_ = other.data_;
            capacity_ = other.capacity_;
            size_ = other.size_;
            other.data_ = other.inline_data();
            other.capacity_ = N;
            other.size_ = 0;
            return;
        }
        for (std::size_t i = 0; i < other.size_; ++i) {
            new (data_ + size_) T(std::move(other.data_[i]));
            ++size_;
            other.data_[i].~T();
        }
        other.size_ = 0;
    }

    // The pointer and sizes first: they are read before any element.
    T* data_ = inline_data();
    std::uint32_t size_ = 0;
    std::uint32_t capacity_ = N;
    alignas(T) std::byte inline_[N * sizeof(T)];
};

}  // namespace rg::detail
