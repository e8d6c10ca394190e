#pragma once
// Sets retrograd's thread count for a scope, then restores it.
#include <retrograd/threads.hpp>

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

}  // namespace test
