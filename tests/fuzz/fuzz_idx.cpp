// libFuzzer harness for the IDX reader (rg::data::read_idx), plain and gzip.
// The first input byte chooses how the rest is read: bit 0 set, gzip-compress
// it first (so mutations of the IDX header and data reach the reader through
// zlib intact); clear, write it as it is (plain IDX, or gzip bytes whose
// corruption zlib must catch). Bits 1-2 choose the dtype asked for. An
// rg::Error is the expected answer to a bad file; any other exception, a crash,
// a leak, an allocation beyond libFuzzer's -malloc_limit_mb or undefined
// behaviour is a finding.
#include <retrograd/data/idx.hpp>

#include <zlib.h>

#include "fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::uint8_t mode = data[0];
    const std::string path = fuzz::scratch_path(".idx");
    if (mode & 1) {
        gzFile f = gzopen(path.c_str(), "wb1");
        if (!f) __builtin_trap();
        if (size > 1 && gzwrite(f, data + 1, static_cast<unsigned>(size - 1)) != static_cast<int>(size - 1))
            __builtin_trap();
        gzclose(f);
    } else {
        fuzz::write_file(path, data + 1, size - 1);
    }
    const rg::Dtype dtypes[] = {rg::Dtype::float32, rg::Dtype::float64, rg::Dtype::int64, rg::Dtype::int64};
    try {
        const rg::Tensor t = rg::data::read_idx(path, dtypes[(mode >> 1) & 3]);
        // What loads is no bigger than the input could describe (deflate expands at most ~1032 times).
        if (t.numel() > 1100 * size) __builtin_trap();
    } catch (const rg::Error&) {
    }
    return 0;
}
