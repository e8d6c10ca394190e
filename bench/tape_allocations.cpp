// Heap allocations and time per recorded op in the tape-overhead loop
// (y = tanh(y * 0.5 + 0.1), 1000 times on 4 elements), split into forward,
// backward and freeing the graph. Every operator new of the process is
// counted, so this runs alone, outside the side-by-side suite. Blocks the
// library takes from its own free lists (small blocks, the caching allocator)
// are not operator new calls and are not counted.
//
//   tape_allocations [passes]      (default 40; prints the median of each part)
#include <retrograd/retrograd.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

namespace {
std::size_t allocations = 0;
void* counted(std::size_t bytes, std::size_t alignment) {
    ++allocations;
    bytes = std::max<std::size_t>(bytes, 1);
    void* p = alignment <= alignof(std::max_align_t)
                  ? std::malloc(bytes)
                  : std::aligned_alloc(alignment, (bytes + alignment - 1) / alignment * alignment);
    if (!p) throw std::bad_alloc();
    return p;
}
double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}
}  // namespace

void* operator new(std::size_t bytes) { return counted(bytes, alignof(std::max_align_t)); }
void* operator new(std::size_t bytes, std::align_val_t a) { return counted(bytes, static_cast<std::size_t>(a)); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

int main(int argc, char** argv) {
    const int passes = argc > 1 ? std::max(1, std::atoi(argv[1])) : 40;
    constexpr int steps = 1000, ops = 3 * steps;
    using clock = std::chrono::steady_clock;
    auto ns = [](clock::duration d) { return std::chrono::duration<double, std::nano>(d).count() / ops; };
    auto x = rg::randn({4}, {.requires_grad = true});
    std::vector<double> forward, backward, teardown;
    double forward_allocations = 0, backward_allocations = 0;
    for (int pass = 0; pass < passes; ++pass) {
        rg::Tensor y = x;
        const std::size_t a0 = allocations;
        const auto t0 = clock::now();
        for (int i = 0; i < steps; ++i) y = rg::tanh(y * 0.5 + 0.1);
        const auto t1 = clock::now();
        const std::size_t a1 = allocations;
        rg::sum(y).backward();
        const auto t2 = clock::now();
        const std::size_t a2 = allocations;
        x.zero_grad();
        y = rg::Tensor{};
        const auto t3 = clock::now();
        forward.push_back(ns(t1 - t0));
        backward.push_back(ns(t2 - t1));
        teardown.push_back(ns(t3 - t2));
        forward_allocations = static_cast<double>(a1 - a0) / ops;
        backward_allocations = static_cast<double>(a2 - a1) / ops;
    }
    fmt::print("per op, median of {} passes: forward {:.0f} ns ({:.1f} allocations), backward {:.0f} ns "
               "({:.1f} allocations), freeing the graph {:.0f} ns\n",
               passes, median(forward), forward_allocations, median(backward), backward_allocations, median(teardown));
}
