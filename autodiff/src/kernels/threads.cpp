// The thread count and the parallel loops (see threads.hpp). The loops run
// on GCC's OpenMP runtime (libgomp), the pool oneDNN already uses, through
// its C entry points rather than `#pragma omp`: clang's OpenMP would bring
// its own runtime, a second pool beside oneDNN's, and the sanitizer builds
// would need it instrumented.
#include "threads.hpp"

#include <retrograd/error.hpp>
#include <retrograd/threads.hpp>

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>

extern "C" {  // libgomp's ABI (GCC's omp.h and libgomp.map)
int omp_get_max_threads();
void omp_set_num_threads(int n);
int omp_in_parallel();
int omp_get_thread_num();
int omp_get_num_threads();
void GOMP_parallel(void (*fn)(void*), void* data, unsigned num_threads, unsigned flags);
}

// libgomp is not built with ThreadSanitizer, so the hand-over of work to its
// threads and back is invisible to it: these annotations tell it (a release
// before the work is shared, an acquire where each thread takes it, and the
// same on the way back) so that a TSan build checks the kernels' own
// accesses instead of reporting the pool's hand-over as a race.
#if defined(__SANITIZE_THREAD__)
#define RG_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RG_TSAN 1
#endif
#endif
#ifdef RG_TSAN
// TSan's interface, whose names are reserved ones.
#ifdef __clang__
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wreserved-identifier"
#endif
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#ifdef __clang__
#pragma clang diagnostic pop
#endif
#define RG_TSAN_ACQUIRE(p) __tsan_acquire(p)
#define RG_TSAN_RELEASE(p) __tsan_release(p)
#else
#define RG_TSAN_ACQUIRE(p) (void)(p)
#define RG_TSAN_RELEASE(p) (void)(p)
#endif

namespace rg {
namespace {
std::atomic<int> chosen{0};  // 0: never set; OpenMP's own default holds
}  // namespace

void set_num_threads(int n) {
    if (n < 1) fail("set_num_threads: the thread count must be at least 1, got {}", n);
    chosen.store(n);
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
}

int get_num_threads() {
    const int n = chosen.load(std::memory_order_relaxed);
    return n > 0 ? n : omp_get_max_threads();
}

namespace detail {

void match_thread_count() {
    const int n = chosen.load(std::memory_order_relaxed);
    if (n > 0 && omp_get_max_threads() != n) omp_set_num_threads(n);
}

namespace {
// Runs `run(i)` for i in [0, count) on `threads` threads, each taking one
// contiguous share; the first exception thrown is rethrown on the calling
// thread (none may leave a parallel region).
template <class F> void run_parallel(std::size_t count, int threads, F& run) {
    struct Shared {
        F* run = nullptr;
        std::size_t count = 0;
        std::mutex mutex;
        std::exception_ptr error;
        std::atomic<bool> failed{false};
    } shared;
    shared.run = &run;
    shared.count = count;
    RG_TSAN_RELEASE(&shared);
    GOMP_parallel(
        [](void* data) {
            auto& s = *static_cast<Shared*>(data);
            RG_TSAN_ACQUIRE(data);
            const auto team = static_cast<std::size_t>(omp_get_num_threads());
            const auto me = static_cast<std::size_t>(omp_get_thread_num());
            const std::size_t begin = s.count * me / team, end = s.count * (me + 1) / team;
            for (std::size_t i = begin; i < end && !s.failed.load(std::memory_order_relaxed); ++i) {
                try {
                    (*s.run)(i);
                } catch (...) {
                    std::lock_guard lock(s.mutex);
                    if (!s.error) s.error = std::current_exception();
                    s.failed.store(true);
                }
            }
            RG_TSAN_RELEASE(data);
        },
        &shared, static_cast<unsigned>(threads), 0);
    RG_TSAN_ACQUIRE(&shared);
    if (shared.error) std::rethrow_exception(shared.error);
}
}  // namespace

void parallel_for(std::size_t n, FunctionRef<void(std::size_t, std::size_t)> body, std::size_t min_parallel) {
    const int threads = n >= min_parallel ? get_num_threads() : 1;
    if (threads <= 1 || omp_in_parallel()) {
        if (n > 0) body(0, n);
        return;
    }
    // A few pieces per thread, each at least half the threshold and a whole
    // number of cache lines.
    const std::size_t pieces =
        std::min<std::size_t>(static_cast<std::size_t>(threads) * 4, std::max<std::size_t>(1, n / (min_parallel / 2)));
    const std::size_t step = ((n + pieces - 1) / pieces + 15) / 16 * 16;
    auto piece = [&](std::size_t i) { body(i * step, std::min(n, (i + 1) * step)); };
    run_parallel((n + step - 1) / step, threads, piece);
}

void parallel_blocks(std::size_t blocks, std::size_t work, FunctionRef<void(std::size_t)> body, std::size_t min_work) {
    const int threads = work >= min_work && blocks > 1 ? get_num_threads() : 1;
    if (threads <= 1 || omp_in_parallel()) {
        for (std::size_t i = 0; i < blocks; ++i) body(i);
        return;
    }
    auto block = [&](std::size_t i) { body(i); };
    run_parallel(blocks, std::min<int>(threads, static_cast<int>(std::min<std::size_t>(blocks, 1 << 20))), block);
}

}  // namespace detail
}  // namespace rg
