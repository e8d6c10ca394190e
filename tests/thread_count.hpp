#pragma once
// Sets retrograd's thread count for a scope, then restores it.
#include <retrograd/threads.hpp>

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
