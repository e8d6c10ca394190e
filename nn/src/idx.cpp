// IDX reading through zlib, which reads gzip and plain files alike. The header
// is never trusted: a plain file's claimed size is compared with its length on
// disk before anything is allocated, and a gzip file's data is read in chunks
// that grow only as the bytes actually arrive, so a few bytes claiming 16 GiB
// fail at once. The gzip trailer (CRC and length) is checked: a corrupt archive
// is an error, never silently read.
#include <retrograd/data/idx.hpp>

#include <zlib.h>

#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

namespace rg::data {
namespace {

struct GzCloser {
    void operator()(gzFile f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<std::remove_pointer_t<gzFile>, GzCloser>;

// The longest header: 4 bytes of magic number and 8 sizes of 4 bytes.
constexpr std::size_t max_header = 36;
// The sizes may describe at most this many bytes, even when one of them is 0:
// a (0, 2^32, 2^32) array has no values but strides no index type can hold.
constexpr std::size_t max_bytes = std::size_t{1} << 62;
// A gzip file's data buffer starts at this size and doubles as bytes arrive.
constexpr std::size_t first_chunk = std::size_t{1} << 16;

// zlib's message, without the path it puts in front.
std::string zlib_message(gzFile f, const std::string& path, int& code) {
    std::string message = gzerror(f, &code);
    if (code == Z_ERRNO) return std::strerror(errno);
    if (message.rfind(path + ": ", 0) == 0) message.erase(0, path.size() + 2);
    return message;
}

// A read failed: the archive is cut short (Z_BUF_ERROR, zlib's "unexpected end
// of file") or corrupt (a bad CRC or length in the trailer, or invalid deflate
// data: zlib may find it on any read, as it decompresses ahead).
[[noreturn]] void gz_failure(gzFile f, const std::string& path, const std::string& what, std::size_t done,
                             std::size_t size) {
    int code = Z_OK;
    const std::string message = zlib_message(f, path, code);
    if (code == Z_BUF_ERROR)
        fail("read_idx '{}': the gzip data ends after {} of the {} bytes of the {} (truncated file?)", path, done, size,
             what);
    fail("read_idx '{}': the gzip data is corrupt: {} (a damaged download? fetch the file again)", path, message);
}

// Reads up to `size` bytes into `out`; returns how many arrived before the end of the data.
std::size_t read_some(gzFile f, unsigned char* out, std::size_t size, const std::string& path, const std::string& what,
                      std::size_t done_before, std::size_t total) {
    std::size_t done = 0;
    while (done < size) {
        const auto chunk = static_cast<unsigned>(std::min<std::size_t>(size - done, std::size_t{1} << 30));
        const int n = gzread(f, out + done, chunk);
        if (n < 0) gz_failure(f, path, what, done_before + done, total);
        if (n == 0) {
            int code = Z_OK;
            gzerror(f, &code);
            if (code != Z_OK) gz_failure(f, path, what, done_before + done, total);
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    return done;
}

// Reads exactly `size` bytes, or says how many were there.
void read_exactly(gzFile f, unsigned char* out, std::size_t size, const std::string& path, const std::string& what) {
    const std::size_t done = read_some(f, out, size, path, what, 0, size);
    if (done < size)
        fail("read_idx '{}': the file ends after {} of the {} bytes of the {} (truncated?)", path, done, size, what);
}

// The data, `size` bytes, held in a buffer that never outgrows what has arrived
// by more than a factor of two (plus the first chunk).
std::vector<unsigned char> read_data(gzFile f, std::size_t size, const std::string& path, const std::string& what) {
    std::vector<unsigned char> bytes;
    std::size_t done = 0;
    while (done < size) {
        const std::size_t target = std::min(size, std::max(first_chunk, 2 * done));
        bytes.resize(target);
        const std::size_t n = read_some(f, bytes.data() + done, target - done, path, what, done, size);
        done += n;
        if (done < target)
            fail("read_idx '{}': the file ends after {} of the {} bytes of the {} (truncated?)", path, done, size,
                 what);
    }
    return bytes;
}

// After the data: the end of the file, and for gzip a trailer whose CRC and
// length match (zlib checks them when it reaches the end of the stream and
// reports a mismatch as -1, or as Z_BUF_ERROR when the trailer is cut off).
void expect_end(gzFile f, const std::string& path, std::size_t count, const Shape& shape) {
    unsigned char extra;
    const int n = gzread(f, &extra, 1);
    int code = Z_OK;
    const std::string message = zlib_message(f, path, code);
    if (n < 0 || (n == 0 && code != Z_OK)) {
        if (code == Z_BUF_ERROR)
            fail("read_idx '{}': the gzip file ends before its trailer, after the {} values of shape {} "
                 "(truncated file?)",
                 path, count, shape_str(shape));
        fail("read_idx '{}': the gzip data is corrupt: {} (a damaged download? fetch the file again)", path, message);
    }
    if (n > 0) fail("read_idx '{}': trailing bytes after the {} values of shape {}", path, count, shape_str(shape));
}

std::size_t type_size(unsigned char code) {
    switch (code) {
        case 0x08:
        case 0x09: return 1;
        case 0x0B: return 2;
        case 0x0C:
        case 0x0D: return 4;
        case 0x0E: return 8;
        default: return 0;
    }
}

bool is_float_code(unsigned char code) { return code == 0x0D || code == 0x0E; }

std::uint32_t big_endian32(const unsigned char* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}

double decode(const unsigned char* p, unsigned char code) {
    switch (code) {
        case 0x08: return p[0];
        case 0x09: return static_cast<signed char>(p[0]);
        case 0x0B: return static_cast<std::int16_t>(static_cast<std::uint16_t>((p[0] << 8) | p[1]));
        case 0x0C: return static_cast<std::int32_t>(big_endian32(p));
        case 0x0D: {
            const std::uint32_t bits = big_endian32(p);
            float f;
            std::memcpy(&f, &bits, 4);
            return f;
        }
        default: {
            std::uint64_t bits = 0;
            for (int i = 0; i < 8; ++i) bits = (bits << 8) | p[i];
            double d;
            std::memcpy(&d, &bits, 8);
            return d;
        }
    }
}

// Floating-point values stored as int64 must be whole numbers int64 can hold
// (casting NaN, infinities or out-of-range values is undefined behaviour).
void check_integral(double v, std::size_t i, const Shape& shape, const std::string& path) {
    constexpr double limit = 9223372036854775808.0;  // 2^63
    if (!(v >= -limit && v < limit) || v != std::trunc(v))
        fail("read_idx '{}': value {} at index {} is not an integer int64 can hold; read the file as float32 or "
             "float64",
             path, v, index_str(i, shape));
}

// The size of a plain (not gzip) file, or nothing for gzip data.
std::optional<std::size_t> plain_size(gzFile f, const std::string& path) {
    if (gzdirect(f) == 0) return std::nullopt;
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) return std::nullopt;
    return static_cast<std::size_t>(info.st_size);
}

// An open IDX file positioned at its data, and what its header says.
struct Opened {
    GzFile file;
    Shape shape;
    unsigned char code = 0;
    std::size_t item = 0, count = 0;
};

Opened open_idx(const std::string& path, const char* caller) {
    struct stat info {};
    if (::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode))
        fail("{}: '{}' is a directory, expected an IDX file", caller, path);
    // Opening a FIFO would block until someone writes to it.
    if (::stat(path.c_str(), &info) == 0 && !S_ISREG(info.st_mode))
        fail("{}: '{}' is not a regular file, expected an IDX file", caller, path);
    Opened o;
    o.file.reset(gzopen(path.c_str(), "rb"));
    if (!o.file) fail("{}: cannot open '{}': {}", caller, path, errno ? std::strerror(errno) : "out of memory");
    gzFile file = o.file.get();
    unsigned char magic[4];
    read_exactly(file, magic, 4, path, "magic number");
    o.code = magic[2];
    o.item = type_size(magic[2]);
    if (magic[0] != 0 || magic[1] != 0 || o.item == 0)
        fail("read_idx '{}': bad magic number {:02x} {:02x} {:02x} {:02x}; expected 00 00, a type code "
             "(08, 09, 0B, 0C, 0D or 0E) and a rank: this is not an IDX file",
             path, magic[0], magic[1], magic[2], magic[3]);
    const std::size_t rank = magic[3];
    if (rank == 0 || rank > 8) fail("read_idx '{}': rank {} is not supported (expected 1 to 8)", path, rank);
    unsigned char dims[max_header - 4];
    read_exactly(file, dims, 4 * rank, path, "sizes");
    std::size_t count = 1, nonzero_bytes = o.item;
    for (std::size_t d = 0; d < rank; ++d) {
        const std::size_t size = big_endian32(dims + 4 * d);
        o.shape.push_back(size);
        count *= size;  // cannot overflow: bounded by nonzero_bytes below
        if (size == 0) continue;
        if (nonzero_bytes > max_bytes / size)
            fail("read_idx '{}': the sizes {} describe more than 2^62 bytes (zero sizes aside); the header is corrupt",
                 path, shape_str(o.shape));
        nonzero_bytes *= size;
    }
    o.count = count;
    const std::size_t data_size = count * o.item;
    if (const auto on_disk = plain_size(file, path)) {
        const std::size_t header = 4 + 4 * rank, available = *on_disk - std::min(*on_disk, header);
        if (available < data_size)
            fail("read_idx '{}': the header claims {} bytes of data of shape {} but the file holds {} after the "
                 "header (truncated, or not an IDX file)",
                 path, data_size, shape_str(o.shape), available);
        if (available > data_size)
            fail("read_idx '{}': trailing bytes after the {} values of shape {}", path, count, shape_str(o.shape));
    }
    return o;
}

}  // namespace

IdxBytes read_idx_bytes(const std::string& path, std::size_t max_rows) {
    Opened o = open_idx(path, "read_idx_bytes");
    if (o.code != 0x08)
        fail("read_idx_bytes '{}': the values are of type code {:02x}, not unsigned bytes (08); read the file with "
             "read_idx",
             path, o.code);
    const std::size_t rows = o.shape[0], kept = max_rows == 0 ? rows : std::min(rows, max_rows);
    const std::size_t row_bytes = rows == 0 ? 0 : o.count / rows;
    IdxBytes out;
    out.shape = o.shape;
    out.shape[0] = kept;
    const std::string what = fmt::format("data of shape {}", shape_str(o.shape));
    out.values = read_data(o.file.get(), kept * row_bytes, path, what);
    // The rest of a gzip file is not read: its CRC, which covers every byte, is checked only when all are read.
    if (kept == rows) expect_end(o.file.get(), path, o.count, o.shape);
    return out;
}

Tensor read_idx(const std::string& path, Dtype dtype) {
    if (dtype != Dtype::float32 && dtype != Dtype::float64 && dtype != Dtype::int64)
        fail("read_idx: cannot read into dtype {} (enum value {}); expected float32, float64 or int64",
             dtype_name(dtype), static_cast<int>(dtype));
    Opened o = open_idx(path, "read_idx");
    const GzFile& file = o.file;
    const Shape& shape = o.shape;
    const std::size_t count = o.count, item = o.item, data_size = count * item;
    const std::string what = fmt::format("data of shape {}", shape_str(shape));
    const std::vector<unsigned char> bytes = read_data(file.get(), data_size, path, what);
    expect_end(file.get(), path, count, shape);
    if (dtype == Dtype::int64 && is_float_code(o.code))
        for (std::size_t i = 0; i < count; ++i) check_integral(decode(bytes.data() + i * item, o.code), i, shape, path);
    Tensor out = empty(shape, {dtype});
    auto fill = [&](auto* dst) {
        using T = std::remove_pointer_t<decltype(dst)>;
        for (std::size_t i = 0; i < count; ++i) dst[i] = static_cast<T>(decode(bytes.data() + i * item, o.code));
    };
    switch (dtype) {
        case Dtype::float32: fill(out.data_ptr<float>()); break;
        case Dtype::float64: fill(out.data_ptr<double>()); break;
        case Dtype::int64: fill(out.data_ptr<std::int64_t>()); break;
        case Dtype::bool_:
        case Dtype::bfloat16: break;  // refused above
    }
    return out;
}

}  // namespace rg::data
