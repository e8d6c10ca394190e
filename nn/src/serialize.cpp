// safetensors reading and writing.
#include <retrograd/autograd.hpp>
#include <retrograd/nn/serialize.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <random>
#include <unistd.h>

namespace rg::nn {
namespace {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

constexpr std::uint64_t max_header = 100u << 20;  // as the reference implementation

const char* code_of(Dtype d) {
    switch (d) {
        case Dtype::float32: return "F32";
        case Dtype::float64: return "F64";
        case Dtype::int64: return "I64";
    }
    return "?";
}

std::size_t item_size(Dtype d) { return d == Dtype::float32 ? 4 : 8; }

// The caller holds a contiguous tensor.
const char* raw_bytes(const Tensor& t) { return static_cast<const char*>(t.data_ptr()); }

[[noreturn]] void system_error(const std::string& what, const std::string& path) {
    fail("{} '{}': {}", what, path, std::strerror(errno));
}

void write_all(int fd, const char* data, std::size_t size, const std::string& path) {
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            system_error("save: cannot write", path);
        }
        data += n;
        size -= static_cast<std::size_t>(n);
    }
}

Tensor tensor_from_bytes(const char* data, Dtype dtype, const Shape& shape) {
    Tensor t = empty(shape, {dtype});
    if (t.nbytes() > 0) std::memcpy(t.data_ptr(), data, t.nbytes());
    return t;
}

struct Parsed {
    nlohmann::json header;
    std::string bytes;  // the whole file
    std::size_t data_start = 0;
};

Parsed read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) system_error("load: cannot open", path);
    Parsed p;
    p.bytes.assign(std::istreambuf_iterator<char>(in), {});
    if (p.bytes.size() < 8)
        fail("load '{}': the file has {} bytes, too few for the 8-byte header length", path, p.bytes.size());
    std::uint64_t n = 0;
    std::memcpy(&n, p.bytes.data(), 8);
    if (n > max_header || n > p.bytes.size() - 8)
        fail("load '{}': the header claims {} bytes but the file has {} after the length field; "
             "the file is truncated or not safetensors",
             path, n, p.bytes.size() - 8);
    try {
        p.header = nlohmann::json::parse(p.bytes.begin() + 8, p.bytes.begin() + 8 + static_cast<long>(n));
    } catch (const nlohmann::json::exception& e) {
        fail("load '{}': the header is not valid JSON ({})", path, e.what());
    }
    if (!p.header.is_object()) fail("load '{}': the header must be a JSON object", path);
    p.data_start = 8 + n;
    return p;
}

}  // namespace

void save_tensors(const TensorMap& tensors, const std::string& path, const std::map<std::string, std::string>& metadata) {
    nlohmann::json header = nlohmann::json::object();
    std::size_t offset = 0;
    for (const auto& [name, t] : tensors) {
        if (!t.defined()) fail("save '{}': tensor '{}' is undefined", path, name);
        if (name == "__metadata__") fail("save '{}': '__metadata__' is reserved", path);
        const std::size_t size = t.numel() * item_size(t.dtype());
        header[name] = {{"dtype", code_of(t.dtype())},
                        {"shape", std::vector<std::size_t>(t.shape().begin(), t.shape().end())},
                        {"data_offsets", {offset, offset + size}}};
        offset += size;
    }
    if (!metadata.empty()) header["__metadata__"] = metadata;
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned, as the reference does
    const std::uint64_t length = text.size();

    std::random_device rd;
    const std::string temp = fmt::format("{}.tmp-{}-{:x}", path, ::getpid(), rd());
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) system_error("save: cannot create", temp);
    try {
        write_all(fd, reinterpret_cast<const char*>(&length), 8, temp);
        write_all(fd, text.data(), text.size(), temp);
        for (const auto& [name, t] : tensors) {
            const Tensor dense = t.contiguous();
            write_all(fd, raw_bytes(dense), dense.nbytes(), temp);
        }
        if (::fsync(fd) != 0) system_error("save: cannot flush", temp);
    } catch (...) {
        ::close(fd);
        ::unlink(temp.c_str());
        throw;
    }
    ::close(fd);
    if (::rename(temp.c_str(), path.c_str()) != 0) {
        const int saved = errno;
        ::unlink(temp.c_str());
        errno = saved;
        system_error("save: cannot move the new file over", path);
    }
}

TensorMap load_tensors(const std::string& path) {
    Parsed p = read_file(path);
    const std::size_t data_size = p.bytes.size() - p.data_start;
    struct Entry {
        std::string name;
        Dtype dtype;
        Shape shape;
        std::size_t begin, end;
    };
    std::vector<Entry> entries;
    for (const auto& [name, info] : p.header.items()) {
        if (name == "__metadata__") continue;
        auto bad = [&](const std::string& problem) { fail("load '{}': tensor '{}': {}", path, name, problem); };
        if (!info.is_object() || !info.contains("dtype") || !info.contains("shape") || !info.contains("data_offsets"))
            bad("expected an object with dtype, shape and data_offsets");
        if (!info["dtype"].is_string()) bad("dtype must be a string");
        const std::string code = info["dtype"];
        Dtype dtype;
        if (code == "F32") {
            dtype = Dtype::float32;
        } else if (code == "F64") {
            dtype = Dtype::float64;
        } else if (code == "I64") {
            dtype = Dtype::int64;
        } else {
            bad(fmt::format("unsupported dtype {} (expected F32, F64 or I64)", code));
        }
        Shape shape;
        if (!info["shape"].is_array()) bad("shape must be an array");
        std::size_t numel = 1;
        for (const auto& d : info["shape"]) {
            if (!d.is_number_unsigned()) bad("shape entries must be non-negative integers");
            const auto size = d.get<std::uint64_t>();
            if (size != 0 && numel > (std::uint64_t{1} << 40) / size) bad("shape is too large");
            numel *= size;
            shape.push_back(size);
        }
        const auto& off = info["data_offsets"];
        if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
            bad("data_offsets must be two non-negative integers");
        const auto begin = off[0].get<std::uint64_t>(), end = off[1].get<std::uint64_t>();
        if (begin > end || end > data_size)
            bad(fmt::format("data_offsets [{}, {}] fall outside the {} data bytes", begin, end, data_size));
        if (end - begin != numel * item_size(dtype))
            bad(fmt::format("data_offsets span {} bytes but shape {} of {} needs {}", end - begin, shape_str(shape), code,
                            numel * item_size(dtype)));
        entries.push_back({name, dtype, shape, begin, end});
    }
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.begin < b.begin; });
    for (std::size_t i = 1; i < entries.size(); ++i)
        if (entries[i].begin < entries[i - 1].end)
            fail("load '{}': tensors '{}' and '{}' overlap in the data section", path, entries[i - 1].name,
                 entries[i].name);
    TensorMap out;
    for (const Entry& e : entries) out[e.name] = tensor_from_bytes(p.bytes.data() + p.data_start + e.begin, e.dtype, e.shape);
    return out;
}

std::map<std::string, std::string> load_metadata(const std::string& path) {
    Parsed p = read_file(path);
    std::map<std::string, std::string> out;
    if (!p.header.contains("__metadata__")) return out;
    const auto& meta = p.header["__metadata__"];
    if (!meta.is_object()) fail("load '{}': __metadata__ must be an object", path);
    for (const auto& [k, v] : meta.items()) {
        if (!v.is_string()) fail("load '{}': metadata '{}' must be a string", path, k);
        out[k] = v.get<std::string>();
    }
    return out;
}

void save(const Module& module, const std::string& path) {
    TensorMap tensors;
    for (auto& [name, t] : module.named_parameters()) tensors[name] = t;
    for (auto& [name, t] : module.named_buffers()) tensors[name] = t;
    save_tensors(tensors, path, {{"format", "retrograd"}});
}

void load(Module& module, const std::string& path) {
    TensorMap file = load_tensors(path);
    NamedTensors targets = module.named_parameters();
    for (auto& b : module.named_buffers()) targets.push_back(b);
    // Validate everything first, then write: a mismatch never half-loads.
    for (const auto& [name, t] : targets) {
        auto it = file.find(name);
        if (it == file.end()) fail("load '{}': the file has no tensor '{}' (the module expects {} {})", path, name,
                                   shape_str(t.shape()), dtype_name(t.dtype()));
        if (it->second.shape() != t.shape())
            fail("load '{}': tensor '{}' has shape {} in the file but {} in the module", path, name,
                 shape_str(it->second.shape()), shape_str(t.shape()));
        if (it->second.is_floating() != t.is_floating())
            fail("load '{}': tensor '{}' is {} in the file but {} in the module", path, name,
                 dtype_name(it->second.dtype()), dtype_name(t.dtype()));
    }
    if (file.size() != targets.size()) {
        for (const auto& [name, t] : file) {
            bool known = false;
            for (const auto& target : targets) known = known || target.first == name;
            if (!known) fail("load '{}': the file has tensor '{}', which the module does not", path, name);
        }
    }
    NoGrad off;
    for (auto& [name, t] : targets) t.copy_(file.at(name));
}

void save(const optim::Optimizer& optimizer, const std::string& path) {
    TensorMap tensors;
    for (auto& [k, v] : optimizer.state_dict()) tensors[k] = v;
    save_tensors(tensors, path, {{"format", "retrograd-optimizer"}});
}

void load(optim::Optimizer& optimizer, const std::string& path) {
    TensorMap file = load_tensors(path);
    optim::StateDict dict(file.begin(), file.end());
    optimizer.load_state_dict(dict);
}

}  // namespace rg::nn
