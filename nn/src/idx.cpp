// IDX reading through zlib, which reads gzip and plain files alike.
#include <retrograd/data/idx.hpp>

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

namespace rg::data {
namespace {

struct GzCloser {
    void operator()(gzFile f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<std::remove_pointer_t<gzFile>, GzCloser>;

// Reads exactly `size` bytes, or says how many were there.
void read_exactly(gzFile f, unsigned char* out, std::size_t size, const std::string& path, const char* what) {
    std::size_t done = 0;
    while (done < size) {
        const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(size - done, 1u << 30));
        const int n = gzread(f, out + done, chunk);
        if (n < 0) {
            int code = 0;
            fail("read_idx '{}': cannot read the {}: {}", path, what, gzerror(f, &code));
        }
        if (n == 0) fail("read_idx '{}': the file ends after {} of the {} bytes of the {} (truncated?)", path, done, size, what);
        done += static_cast<std::size_t>(n);
    }
}

std::size_t type_size(unsigned char code) {
    switch (code) {
        case 0x08: case 0x09: return 1;
        case 0x0B: return 2;
        case 0x0C: case 0x0D: return 4;
        case 0x0E: return 8;
        default: return 0;
    }
}

double decode(const unsigned char* p, unsigned char code) {
    switch (code) {
        case 0x08: return p[0];
        case 0x09: return static_cast<signed char>(p[0]);
        case 0x0B: return static_cast<std::int16_t>((p[0] << 8) | p[1]);
        case 0x0C: return static_cast<std::int32_t>((std::uint32_t(p[0]) << 24) | (p[1] << 16) | (p[2] << 8) | p[3]);
        case 0x0D: {
            const std::uint32_t bits = (std::uint32_t(p[0]) << 24) | (p[1] << 16) | (p[2] << 8) | p[3];
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

}  // namespace

Tensor read_idx(const std::string& path, Dtype dtype) {
    GzFile file(gzopen(path.c_str(), "rb"));
    if (!file) fail("read_idx: cannot open '{}': {}", path, std::strerror(errno));
    unsigned char magic[4];
    read_exactly(file.get(), magic, 4, path, "magic number");
    const std::size_t item = type_size(magic[2]);
    if (magic[0] != 0 || magic[1] != 0 || item == 0)
        fail("read_idx '{}': bad magic number {:02x} {:02x} {:02x} {:02x}; expected 00 00, a type code "
             "(08, 09, 0B, 0C, 0D or 0E) and a rank: this is not an IDX file",
             path, magic[0], magic[1], magic[2], magic[3]);
    const std::size_t rank = magic[3];
    if (rank == 0 || rank > 8) fail("read_idx '{}': rank {} is not supported (expected 1 to 8)", path, rank);
    std::vector<unsigned char> dims(4 * rank);
    read_exactly(file.get(), dims.data(), dims.size(), path, "sizes");
    Shape shape;
    std::size_t count = 1;
    for (std::size_t d = 0; d < rank; ++d) {
        const std::size_t size = (std::size_t(dims[4 * d]) << 24) | (dims[4 * d + 1] << 16) | (dims[4 * d + 2] << 8) | dims[4 * d + 3];
        if (size != 0 && count > (std::size_t{1} << 34) / size)
            fail("read_idx '{}': the sizes describe more than 16 GiB of data", path);
        count *= size;
        shape.push_back(size);
    }
    std::vector<unsigned char> bytes(count * item);
    read_exactly(file.get(), bytes.data(), bytes.size(), path, fmt::format("data of shape {}", shape_str(shape)).c_str());
    unsigned char extra;
    if (gzread(file.get(), &extra, 1) > 0)
        fail("read_idx '{}': trailing bytes after the {} values of shape {}", path, count, shape_str(shape));
    Tensor out = empty(shape, {dtype});
    auto fill = [&](auto* dst) {
        using T = std::remove_pointer_t<decltype(dst)>;
        for (std::size_t i = 0; i < count; ++i) dst[i] = static_cast<T>(decode(bytes.data() + i * item, magic[2]));
    };
    switch (dtype) {
        case Dtype::float32: fill(out.data_ptr<float>()); break;
        case Dtype::float64: fill(out.data_ptr<double>()); break;
        case Dtype::int64: fill(out.data_ptr<std::int64_t>()); break;
    }
    return out;
}

}  // namespace rg::data
