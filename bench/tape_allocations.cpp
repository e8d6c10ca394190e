// Heap allocations and time per recorded op in the tape-overhead loop
// (y = tanh(y * 0.5 + 0.1), 1000 times on 4 elements), split into forward,
// backward and freeing the graph; then the allocations (not the time) of
// chains of the other ops, shape ops, reductions, products and indexing, one
// line per chain. Every operator new of the process is counted, so this runs
// alone, outside the side-by-side suite. Blocks the library takes from its own
// free lists (small blocks, the caching allocator) are not operator new calls
// and are not counted.
//
//   tape_allocations [passes]      (default 40; prints the median of each part)
#include <retrograd/retrograd.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <new>
#include <functional>
#include <string>
#include <utility>
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

// operator new calls per call of `step` on a (4, 4) float32 tensor, in the
// forward (1000 chained calls) and in the backward through them, and the
// nodes one call records.
void count_chain(const std::string& name, const std::function<rg::Tensor(const rg::Tensor&)>& step) {
    constexpr int steps = 1000;
    auto x = rg::randn({4, 4}, {.requires_grad = true});
    // The first pass grows the library's per-thread state (backward's
    // scratch, the free lists) to this graph's size; the second is counted.
    for (int pass = 0; pass < 2; ++pass) {
        rg::Tensor y = x;
        const std::uint64_t start = rg::sum(x).grad_fn()->sequence();
        const std::size_t a0 = allocations;
        for (int i = 0; i < steps; ++i) y = step(y);
        const std::size_t a1 = allocations;
        const std::uint64_t end = y.grad_fn()->sequence();
        rg::Tensor loss = rg::sum(y);
        const std::size_t a2 = allocations;
        loss.backward();
        const std::size_t a3 = allocations;
        x.zero_grad();
        if (pass == 1)
            fmt::print("{:<52} {:>4.1f} nodes {:>6.2f} {:>6.2f}\n", name, static_cast<double>(end - start) / steps,
                       static_cast<double>(a1 - a0) / steps, static_cast<double>(a3 - a2) / steps);
    }
}

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

    const auto w = rg::uniform({4, 4}, -0.5, 0.5, {.requires_grad = true});
    const auto index = rg::from_indices({3, 2, 1, 0});
    const auto where = rg::from_indices({0, 1, 2, 3, 1, 2, 3, 0, 2, 3, 0, 1, 3, 0, 1, 2}, {4, 4});
    using rg::Tensor;
    const std::vector<std::pair<std::string, std::function<Tensor(const Tensor&)>>> chains{
        {"reshape(reshape(y, {16}), {4, 4})",
         [](const Tensor& y) {
             return rg::reshape(rg::reshape(y, {16}), {4, 4});
         }},
        {"view(view(y, {2, 8}), {4, 4})",
         [](const Tensor& y) {
             return rg::view(rg::view(y, {2, 8}), {4, 4});
         }},
        {"squeeze(unsqueeze(y, 0), 0)", [](const Tensor& y) { return rg::squeeze(rg::unsqueeze(y, 0), 0); }},
        {"broadcast_to(slice(y, 0, 1, 2), {4, 4})",
         [](const Tensor& y) {
             return rg::broadcast_to(rg::slice(y, 0, 1, 2), {4, 4});
         }},
        {"broadcast_to(select(y, 0, 1), {4, 4})",
         [](const Tensor& y) {
             return rg::broadcast_to(rg::select(y, 0, 1), {4, 4});
         }},
        {"broadcast_to(diagonal(y), {4, 4})",
         [](const Tensor& y) {
             return rg::broadcast_to(rg::diagonal(y), {4, 4});
         }},
        {"transpose(y)", [](const Tensor& y) { return rg::transpose(y); }},
        {"broadcast_to(sum(y, {0}, true), {4, 4})",
         [](const Tensor& y) {
             return rg::broadcast_to(rg::sum(y, {0}, true), {4, 4});
         }},
        {"broadcast_to(max(y, {0}, true), {4, 4})",
         [](const Tensor& y) {
             return rg::broadcast_to(rg::max(y, {0}, true), {4, 4});
         }},
        {"matmul(y, w)", [&](const Tensor& y) { return rg::matmul(y, w); }},
        {"gemm_sum(unsqueeze(y, 0), unsqueeze(w, 0))",
         [&](const Tensor& y) { return rg::gemm_sum(rg::unsqueeze(y, 0), rg::unsqueeze(w, 0), false, false); }},
        {"index_select(y, 0, index)", [&](const Tensor& y) { return rg::index_select(y, 0, index); }},
        {"index_add(y, {4, 4}, 0, index)",
         [&](const Tensor& y) {
             return rg::index_add(y, {4, 4}, 0, index);
         }},
        {"gather(y, 1, where)", [&](const Tensor& y) { return rg::gather(y, 1, where); }},
        {"scatter_add(y, {4, 4}, 1, where)",
         [&](const Tensor& y) {
             return rg::scatter_add(y, {4, 4}, 1, where);
         }},
        {"concat({slice(y, 0, 0, 2), slice(y, 0, 2, 4)}, 0)",
         [](const Tensor& y) {
             return rg::concat({rg::slice(y, 0, 0, 2), rg::slice(y, 0, 2, 4)}, 0);
         }},
        {"slice_scatter(slice(y, 0, 0, 2), {4, 4}, 0, 0, 2)",
         [](const Tensor& y) {
             return rg::slice_scatter(rg::slice(y, 0, 0, 2), {4, 4}, 0, 0, 2);
         }},
        {"diagonal_scatter(diagonal(y), {4, 4})",
         [](const Tensor& y) {
             return rg::diagonal_scatter(rg::diagonal(y), {4, 4});
         }},
        {"addcmul(y, y, w, 0.5)", [&](const Tensor& y) { return rg::addcmul(y, y, w, 0.5); }},
        {"y.clone()", [](const Tensor& y) { return y.clone(); }},
        {"transpose(y).contiguous()", [](const Tensor& y) { return rg::transpose(y).contiguous(); }},
        {"y.to(float64).to(float32)", [](const Tensor& y) { return y.to(rg::float64).to(rg::float32); }},
    };
    fmt::print("\noperator new calls per call of each chain (forward, backward; 1000 chained calls)\n");
    for (const auto& [name, step] : chains) count_chain(name, step);
}
