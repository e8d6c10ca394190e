// Heap tuning for training loops. Every step allocates and frees the same
// large tensors (activations, im2col columns, gradients). With glibc's
// defaults, blocks of a few MiB are mmap'ed and returned on free, or trimmed
// from the heap top, so each step page-faults freshly zeroed pages: on the
// convolution benchmark that is more than half the time. Keeping freed memory
// in the heap lets the next step reuse it. The resident size then stays at the
// peak of one step (the memory test checks it does not grow).
// Set RETROGRAD_SYSTEM_MALLOC=1 in the environment to keep glibc's defaults.
#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace rg::detail {

bool tune_heap() {
#if defined(__GLIBC__)
    const char* opt_out = std::getenv("RETROGRAD_SYSTEM_MALLOC");
    if (opt_out && std::strcmp(opt_out, "0") != 0) return false;
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    return true;
#else
    return false;
#endif
}

}  // namespace rg::detail
