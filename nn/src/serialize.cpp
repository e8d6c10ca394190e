// safetensors reading and writing. Nothing in a file is trusted: every size
// and offset is checked against the file before it is used, and every error
// leaving this file is an rg::Error naming the file.
#include <retrograd/autograd.hpp>
#include <retrograd/nn/serialize.hpp>

#include <nlohmann/json.hpp>

#include "atomic_file.hpp"
#include "tensor_owner.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <functional>
#include <string_view>

namespace rg::nn {
namespace {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

constexpr std::uint64_t max_header = 100u << 20;  // as the reference implementation
// A shape may describe at most this many bytes, even when one of its sizes is
// 0: (0, 2^40, 2^40) has no values but strides no index type can hold.
constexpr std::uint64_t max_bytes = std::uint64_t{1} << 62;
constexpr std::size_t max_rank = 64;

const char* code_of(Dtype d) {
    switch (d) {
        case Dtype::float32: return "F32";
        case Dtype::float64: return "F64";
        case Dtype::int64: return "I64";
        case Dtype::bool_: return "BOOL";
        case Dtype::bfloat16: return "BF16";
    }
    fail("save: unknown dtype (enum value {})", static_cast<int>(d));
}

std::size_t item_size(Dtype d) { return dtype_size(d); }

// The caller holds a contiguous tensor.
const char* raw_bytes(const Tensor& t) { return static_cast<const char*>(t.data_ptr()); }

[[noreturn]] void system_error(const std::string& what, const std::string& path) {
    fail("{} '{}': {}", what, path, std::strerror(errno));
}

// save_tensors' errors name the temporary file it writes, except the final
// rename's, which names the target.
std::string save_wording(detail::AtomicStep step, const std::string& path, const std::string& temporary) {
    switch (step) {
        case detail::AtomicStep::create: return fmt::format("save: cannot create '{}'", temporary);
        case detail::AtomicStep::write:
        case detail::AtomicStep::close: return fmt::format("save: cannot write '{}'", temporary);
        case detail::AtomicStep::flush: return fmt::format("save: cannot flush '{}'", temporary);
        case detail::AtomicStep::rename: break;
    }
    return fmt::format("save: cannot move the new file over '{}'", path);
}

Tensor tensor_from_bytes(const char* data, Dtype dtype, const Shape& shape, std::size_t size) {
    Tensor t = empty(shape, {dtype});
    // A tensor with no values may have no storage at all: memcpy to or from
    // null is undefined even for 0 bytes.
    if (size != t.nbytes())
        fail("load: a tensor of shape {} ({}) needs {} bytes, the file gives {}", shape_str(shape), dtype_name(dtype),
             t.nbytes(), size);
    if (size > 0) std::memcpy(t.data_ptr(), data, size);
    return t;
}

// Runs `body`; any exception other than an rg::Error naming the file becomes
// one that does, so callers only ever see rg::Error from these functions.
template <class F> auto naming_the_file(const char* operation, const std::string& path, F&& body) {
    try {
        return body();
    } catch (const Error& e) {
        if (std::string_view(e.what()).find(path) != std::string_view::npos) throw;
        fail("{} '{}': {}", operation, path, e.what());
    } catch (const std::bad_alloc&) {
        fail("{} '{}': out of memory", operation, path);
    } catch (const std::exception& e) {
        fail("{} '{}': {}", operation, path, e.what());
    }
}

// JSON strings must be valid UTF-8 (nlohmann's dump() throws otherwise).
void require_utf8(const std::string& text, const std::string& path, const char* what) {
    try {
        (void)nlohmann::json(text).dump();
    } catch (const nlohmann::json::exception&) {
        fail("save '{}': {} {} is not valid UTF-8; safetensors headers are JSON, whose strings must be UTF-8", path,
             what, nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
}

struct Parsed {  // NOLINT(bugprone-exception-escape): seen in nlohmann::json's noexcept move, not here
    nlohmann::json header;
    std::string bytes;  // the whole file
    std::size_t data_start = 0;
};

// The whole file (a regular file: a directory or a device is refused).
std::string read_all(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);  // a FIFO must not block the reader
    if (fd < 0) system_error("load: cannot open", path);
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    struct stat info {};
    if (::fstat(fd, &info) != 0) system_error("load: cannot read", path);
    if (S_ISDIR(info.st_mode)) fail("load '{}': this is a directory, expected a safetensors file", path);
    if (!S_ISREG(info.st_mode)) fail("load '{}': this is not a regular file, expected a safetensors file", path);
    std::string bytes(static_cast<std::size_t>(info.st_size), '\0');
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) system_error("load: cannot read", path);
        if (n == 0) fail("load '{}': the file shrank while it was read ({} of {} bytes)", path, done, bytes.size());
        done += static_cast<std::size_t>(n);
    }
    return bytes;
}

Parsed read_file(const std::string& path) {
    Parsed p;
    p.bytes = read_all(path);
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

namespace {

void write_tensors(const TensorMap& tensors, const std::string& path,
                   const std::map<std::string, std::string>& metadata) {
    nlohmann::json header = nlohmann::json::object();
    std::size_t offset = 0;
    for (const auto& entry : tensors) {
        const std::string& name = entry.first;
        const Tensor& t = entry.second;
        require_utf8(name, path, "tensor name");
        if (!t.defined()) fail("save '{}': tensor '{}' is undefined", path, name);
        if (name == "__metadata__") fail("save '{}': '__metadata__' is reserved", path);
        const std::size_t size = t.numel() * item_size(t.dtype());
        header[name] = {{"dtype", code_of(t.dtype())},
                        {"shape", std::vector<std::size_t>(t.shape().begin(), t.shape().end())},
                        {"data_offsets", {offset, offset + size}}};
        offset += size;
    }
    for (const auto& entry : metadata) {
        require_utf8(entry.first, path, "metadata key");
        require_utf8(entry.second, path, "metadata value");
    }
    if (!metadata.empty()) header["__metadata__"] = metadata;
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned, as the reference does
    const std::uint64_t length = text.size();

    detail::AtomicFile file(path, save_wording);
    file.write(&length, 8);
    file.write(text.data(), text.size());
    for (const auto& entry : tensors) {
        const Tensor dense = entry.second.contiguous();
        if (dense.nbytes() > 0) file.write(raw_bytes(dense), dense.nbytes());
    }
    file.commit();
}

std::string byte_count(std::size_t n) { return n == 1 ? "1 byte" : fmt::format("{} bytes", n); }

Dtype dtype_of_code(const std::string& code, const std::function<void(const std::string&)>& bad) {
    if (code == "F32") return Dtype::float32;
    if (code == "F64") return Dtype::float64;
    if (code == "I64") return Dtype::int64;
    if (code == "BOOL") return Dtype::bool_;
    if (code == "BF16") return Dtype::bfloat16;
    bad(fmt::format("unsupported dtype {} (expected F32, F64, I64, BOOL or BF16)", code));
    return Dtype::float32;
}

TensorMap read_tensors(const std::string& path) {
    Parsed p = read_file(path);
    const std::size_t data_size = p.bytes.size() - p.data_start;
    struct Entry {
        std::string name;
        Dtype dtype;
        Shape shape;
        std::size_t begin, end;
    };
    std::vector<Entry> entries;
    for (auto item = p.header.cbegin(); item != p.header.cend(); ++item) {
        const std::string& name = item.key();
        const nlohmann::json& info = item.value();
        if (name == "__metadata__") continue;
        const std::function<void(const std::string&)> bad = [&](const std::string& problem) {
            fail("load '{}': tensor '{}': {}", path, name, problem);
        };
        if (!info.is_object() || !info.contains("dtype") || !info.contains("shape") || !info.contains("data_offsets"))
            bad("expected an object with dtype, shape and data_offsets");
        if (!info.at("dtype").is_string()) bad("dtype must be a string");
        const std::string code = info.at("dtype").get<std::string>();
        const Dtype dtype = dtype_of_code(code, bad);
        const auto& dims = info.at("shape");
        if (!dims.is_array()) bad("shape must be an array");
        if (dims.size() > max_rank)
            bad(fmt::format("shape has {} sizes; at most {} are supported", dims.size(), max_rank));
        Shape shape;
        std::uint64_t numel = 1, nonzero_bytes = item_size(dtype);
        for (const auto& d : dims) {
            if (!d.is_number_unsigned()) bad("shape entries must be non-negative integers");
            const auto size = d.get<std::uint64_t>();
            shape.push_back(size);
            numel *= size;  // cannot overflow: bounded by nonzero_bytes below
            if (size == 0) continue;
            if (nonzero_bytes > max_bytes / size)
                bad(fmt::format("shape {} describes more than 2^62 bytes (zero sizes aside)", shape_str(shape)));
            nonzero_bytes *= size;
        }
        const auto& off = info.at("data_offsets");
        if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
            bad("data_offsets must be two non-negative integers");
        const auto begin = off[0].get<std::uint64_t>(), end = off[1].get<std::uint64_t>();
        if (begin > end) bad(fmt::format("data_offsets [{}, {}] end before they begin", begin, end));
        if (end - begin != numel * item_size(dtype))
            bad(fmt::format("data_offsets span {} bytes but shape {} of {} needs {}", end - begin, shape_str(shape),
                            code, numel * item_size(dtype)));
        entries.push_back({name, dtype, shape, begin, end});
    }
    // A file cut short (a copy or a write interrupted): the header describes more data than there is.
    std::size_t described = 0;
    for (const Entry& e : entries) described = std::max(described, e.end);
    if (described > data_size)
        fail("load '{}': the file is truncated or corrupt: its header describes {} of tensor data but the file holds "
             "{} after the header ({} missing, {} bytes in all)",
             path, byte_count(described), byte_count(data_size), byte_count(described - data_size), p.bytes.size());
    // By start, then end: an empty tensor at the start of another one does not overlap it.
    std::sort(entries.begin(), entries.end(),
              [](const Entry& a, const Entry& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
    // Back to back from the first data byte to the last, as the reference
    // implementation requires (InvalidOffset, MetadataIncompleteBuffer): bytes
    // that belong to no tensor mean a damaged file or one with data appended.
    std::size_t expected = 0;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const Entry& e = entries[i];
        if (e.begin < expected)
            fail("load '{}': tensors '{}' and '{}' overlap in the data section", path, entries[i - 1].name, e.name);
        if (e.begin > expected && i == 0)
            fail("load '{}': the data section starts with {} belonging to no tensor (the first tensor, '{}', starts "
                 "at data byte {}, expected 0); safetensors stores tensors back to back, so the file is damaged",
                 path, byte_count(e.begin), e.name, e.begin);
        if (e.begin > expected)
            fail("load '{}': the data section has {} belonging to no tensor: tensor '{}' ends at data byte {} but the "
                 "next one, '{}', starts at {}; safetensors stores tensors back to back, so the file is damaged",
                 path, byte_count(e.begin - expected), entries[i - 1].name, expected, e.name, e.begin);
        expected = e.end;
    }
    if (expected != data_size && entries.empty())
        fail("load '{}': the header names no tensor but the data section has {}; a safetensors file ends with its "
             "last tensor, so the file is damaged or has bytes appended",
             path, byte_count(data_size));
    if (expected != data_size)
        fail("load '{}': the data section has {} after the last tensor ('{}' ends at data byte {} of {}); a "
             "safetensors file ends with its last tensor, so the file is damaged or has bytes appended",
             path, byte_count(data_size - expected), entries.back().name, expected, data_size);
    TensorMap out;
    for (const Entry& e : entries) {
        // A bool holds 0 or 1: any other byte would be undefined to read.
        const auto* first = reinterpret_cast<const unsigned char*>(p.bytes.data() + p.data_start + e.begin);
        for (std::size_t i = 0; e.dtype == Dtype::bool_ && i < e.end - e.begin; ++i)
            if (first[i] > 1)
                fail("load '{}': tensor '{}': BOOL element {} is the byte {}, expected 0 or 1; the file is damaged",
                     path, e.name, index_str(i, e.shape), first[i]);
    }
    for (const Entry& e : entries)
        out[e.name] = tensor_from_bytes(p.bytes.data() + p.data_start + e.begin, e.dtype, e.shape, e.end - e.begin);
    return out;
}

std::map<std::string, std::string> read_metadata(const std::string& path) {
    Parsed p = read_file(path);
    std::map<std::string, std::string> out;
    if (!p.header.contains("__metadata__")) return out;
    const auto& meta = p.header.at("__metadata__");
    if (!meta.is_object()) fail("load '{}': __metadata__ must be an object", path);
    for (auto item = meta.cbegin(); item != meta.cend(); ++item) {
        if (!item.value().is_string()) fail("load '{}': metadata '{}' must be a string", path, item.key());
        out[item.key()] = item.value().get<std::string>();
    }
    return out;
}

}  // namespace

void save_tensors(const TensorMap& tensors, const std::string& path,
                  const std::map<std::string, std::string>& metadata) {
    naming_the_file("save", path, [&] { write_tensors(tensors, path, metadata); });
}

TensorMap load_tensors(const std::string& path) {
    return naming_the_file("load", path, [&] { return read_tensors(path); });
}

std::map<std::string, std::string> load_metadata(const std::string& path) {
    return naming_the_file("load", path, [&] { return read_metadata(path); });
}

void save(const Module& module, const std::string& path) {
    TensorMap tensors;
    for (auto& [name, t] : module.named_parameters()) tensors[name] = t;
    for (auto& [name, t] : module.named_buffers()) tensors[name] = t;
    save_tensors(tensors, path, {{"format", "retrograd"}});
}

void load(Module& module, const std::string& path) {
    naming_the_file("load", path, [&] {
        const auto meta = read_metadata(path);
        const auto format = meta.find("format");
        if (format != meta.end() && format->second == "retrograd-checkpoint")
            fail("load '{}': this is a training checkpoint (model, optimizer and progress, its tensors named model.*, "
                 "optimizer.*), not a module's weights; read it with rg::nn::read_checkpoint(path) and load its "
                 ".model with rg::nn::load_weights(module, checkpoint.model, path), or load best.safetensors",
                 path);
        if (format != meta.end() && format->second == "retrograd-optimizer")
            fail("load '{}': this file holds an optimizer's state (saved by nn::save(optimizer, path)), not a "
                 "module's weights; load it with rg::nn::load(optimizer, path)",
                 path);
        TensorMap file = read_tensors(path);
        NamedTensors targets = module.named_parameters();
        for (auto& b : module.named_buffers()) targets.push_back(b);
        // Validate everything first, then write: a mismatch never half-loads.
        for (const auto& target : targets) {
            const std::string& name = target.first;
            const Tensor& t = target.second;
            auto it = file.find(name);
            if (it == file.end() && !module.buffer_required_in_files(name)) continue;
            if (it == file.end())
                fail("load '{}': the file has no tensor '{}' ({} expects {} {})", path, name,
                     detail::owner_of(module, name), shape_str(t.shape()), dtype_name(t.dtype()));
            if (it->second.shape() != t.shape())
                fail("load '{}': tensor '{}' has shape {} in the file but {} in the module ({})", path, name,
                     shape_str(it->second.shape()), shape_str(t.shape()), detail::owner_of(module, name));
            if (it->second.is_floating() != t.is_floating())
                fail("load '{}': tensor '{}' is {} in the file but {} in the module ({})", path, name,
                     dtype_name(it->second.dtype()), dtype_name(t.dtype()), detail::owner_of(module, name));
        }
        for (const auto& entry : file) {
            bool known = false;
            for (const auto& target : targets) known = known || target.first == entry.first;
            if (!known)
                fail("load '{}': the file has tensor '{}', which the module does not ({})", path, entry.first,
                     detail::owner_and_its_tensors(module, entry.first));
        }
        NoGrad off;
        for (auto& target : targets)
            if (const auto it = file.find(target.first); it != file.end()) target.second.copy_(it->second);
    });
}

void save(const optim::Optimizer& optimizer, const std::string& path) {
    naming_the_file("save", path, [&] {
        TensorMap tensors;
        for (auto& entry : optimizer.state_dict()) tensors[entry.first] = entry.second;
        write_tensors(tensors, path, {{"format", "retrograd-optimizer"}, {"optimizer", optimizer.name()}});
    });
}

void load(optim::Optimizer& optimizer, const std::string& path) {
    naming_the_file("load", path, [&] {
        const auto meta = read_metadata(path);
        const auto format = meta.find("format");
        if (format != meta.end() && format->second != "retrograd-optimizer")
            fail("load '{}': this file holds '{}' data, not an optimizer state (saved by nn::save(optimizer, path))",
                 path, format->second);
        TensorMap file = read_tensors(path);
        optim::StateDict dict(file.begin(), file.end());
        optimizer.load_state_dict(dict);
    });
}

}  // namespace rg::nn
