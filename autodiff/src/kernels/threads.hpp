#pragma once
// retrograd's parallel loops, on OpenMP's threads (kernels/threads.cpp is
// the one file compiled with OpenMP). Small loops stay on the calling thread,
// so small tensors keep the tape's overhead; results never depend on the
// thread count: elementwise loops write each element once, and reductions
// split their work into blocks fixed by the size alone, combined in order.
#include <retrograd/detail/parallel_thresholds.hpp>

#include <cstddef>
#include <type_traits>
#include <utility>

namespace rg::detail {

// A non-owning reference to a callable, cheap to pass to a non-template function.
template <class Signature> class FunctionRef;
template <class R, class... Args> class FunctionRef<R(Args...)> {
public:
    // Implicit, to take lambdas; the constraint leaves copies of a FunctionRef
    // to the copy constructor.
    template <class F>
    requires(!std::is_same_v<std::decay_t<F>, FunctionRef>)
        FunctionRef(F&& f)  // NOLINT(google-explicit-constructor, bugprone-forwarding-reference-overload): above
        : object_(const_cast<void*>(static_cast<const void*>(&f))), call_([](void* o, Args... args) -> R {
              return (*static_cast<std::remove_reference_t<F>*>(o))(std::forward<Args>(args)...);
          }) {}
    R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

private:
    void* object_;
    R (*call_)(void*, Args...);
};

// The kernels' own names for their thresholds (retrograd/detail/parallel_thresholds.hpp).
constexpr std::size_t reduce_parallel_work = parallel_threshold;
constexpr std::size_t arg_extreme_parallel_work = compute_parallel_threshold;
constexpr std::size_t softmax_parallel_work = compute_parallel_threshold;

// Calls body(begin, end) on sub-ranges covering [0, n) once, on several
// threads when n >= min_parallel and more than one thread is set. For loops
// whose elements are independent (the split is not fixed).
void parallel_for(std::size_t n, FunctionRef<void(std::size_t, std::size_t)> body,
                  std::size_t min_parallel = parallel_threshold);

// Calls body(i) for each block i in [0, blocks), several at a time when
// `work` (elements in all) reaches `min_work`. Each block is computed whole
// by one thread, so block-wise partial results do not depend on the thread
// count.
void parallel_blocks(std::size_t blocks, std::size_t work, FunctionRef<void(std::size_t)> body,
                     std::size_t min_work = parallel_threshold);

// Gives the calling thread OpenMP's thread count set by rg::set_num_threads
// (a thread started before or apart from that call has its own): call before
// handing work to oneDNN, which sizes its parallel regions by it.
void match_thread_count();

}  // namespace rg::detail
