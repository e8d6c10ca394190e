#pragma once
// Whether this test binary runs under AddressSanitizer or another sanitizer
// (the RETROGRAD_SANITIZE build): their allocators and shadow memory make
// resident-size measurements meaningless, so tests that measure memory skip
// that part and say so.
#include <sys/resource.h>

namespace test {

#if defined(RETROGRAD_SANITIZED) || defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool under_sanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
inline constexpr bool under_sanitizer = true;
#else
inline constexpr bool under_sanitizer = false;
#endif
#else
inline constexpr bool under_sanitizer = false;
#endif

// The process's peak resident size so far, in KiB (Linux: ru_maxrss).
inline long peak_resident_kib() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

}  // namespace test
