#pragma once
// Sets retrograd's thread count for a scope, then restores it; and shapes
// large enough for the parallel loops the thread tests exercise.
#include <retrograd/tensor.hpp>
#include <retrograd/threads.hpp>

#include <cstddef>
#include <utility>

namespace test {

class ThreadCount {
public:
    explicit ThreadCount(int n) : previous_(rg::get_num_threads()) { rg::set_num_threads(n); }
    ~ThreadCount() { rg::set_num_threads(previous_); }
    ThreadCount(const ThreadCount&) = delete;
    ThreadCount& operator=(const ThreadCount&) = delete;

private:
    int previous_;
};

// The shape (Sizes...), whose element count is checked at compile time to
// reach `Threshold` (retrograd/detail/parallel_thresholds.hpp), so that a
// loop over it splits on two threads whatever the sizes are changed to.
template <std::size_t Threshold, std::size_t... Sizes> rg::Shape shape_reaching() {
    static_assert((Sizes * ...) >= Threshold, "too few elements for the loop to split");
    return rg::Shape{Sizes...};
}

// What run() returns on one thread, then on two: the pair to compare.
template <class Run> auto on_one_and_two_threads(Run run) {
    auto one = [&] {
        ThreadCount t(1);
        return run();
    }();
    auto two = [&] {
        ThreadCount t(2);
        return run();
    }();
    return std::pair{std::move(one), std::move(two)};
}

}  // namespace test
