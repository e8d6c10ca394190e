#pragma once
// Writes cut short as a full disk would cut them: a file size limit
// (RLIMIT_FSIZE) for the duration of one call.
#include <doctest/doctest.h>
#include <retrograd/error.hpp>

#include <csignal>
#include <string>
#include <sys/resource.h>

namespace test {

// The message of the rg::Error that f throws while no file may grow beyond
// `bytes` bytes ("" if f returns). SIGXFSZ is ignored meanwhile, so the write
// fails with EFBIG instead of killing the process; both are restored after.
template <class F> std::string error_with_file_size_limit(rlim_t bytes, F&& f) {
    struct rlimit saved {};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
    struct Restore {
        rlimit limit;
        void (*handler)(int);
        ~Restore() {
            ::setrlimit(RLIMIT_FSIZE, &limit);
            std::signal(SIGXFSZ, handler);
        }
    } restore{saved, std::signal(SIGXFSZ, SIG_IGN)};
    struct rlimit small = saved;
    small.rlim_cur = bytes;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
    try {
        f();
    } catch (const rg::Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace test
