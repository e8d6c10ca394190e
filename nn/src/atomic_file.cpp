#include "atomic_file.hpp"

#include <retrograd/error.hpp>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <random>
#include <utility>

namespace rg::nn::detail {

AtomicFile::AtomicFile(std::string path, AtomicWording wording) : path_(std::move(path)), wording_(wording) {
    std::random_device rd;
    // remove_stale_temporaries_of reads the process id back from this name.
    temporary_ = fmt::format("{}.tmp-{}-{:x}", path_, ::getpid(), rd());
    fd_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ < 0) fail("{}: {}", wording_(AtomicStep::create, path_, temporary_), std::strerror(errno));
}

AtomicFile::~AtomicFile() {
    if (fd_ < 0) return;
    ::close(fd_);
    ::unlink(temporary_.c_str());
}

void AtomicFile::give_up(AtomicStep step) {
    const int reason = errno;
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    ::unlink(temporary_.c_str());
    fail("{}: {}", wording_(step, path_, temporary_), std::strerror(reason));
}

void AtomicFile::write(const void* data, std::size_t size) {
    const char* bytes = static_cast<const char*>(data);
    while (size > 0) {
        const ssize_t n = ::write(fd_, bytes, size);
        if (n < 0 && errno == EINTR) continue;
        if (n == 0) errno = EIO;  // no progress and no reason: do not loop forever
        if (n <= 0) give_up(AtomicStep::write);
        bytes += n;
        size -= static_cast<std::size_t>(n);
    }
}

void AtomicFile::commit() {
    if (::fsync(fd_) != 0) give_up(AtomicStep::flush);
    const int fd = fd_;
    fd_ = -1;  // closed below whatever happens: never twice
    if (::close(fd) != 0) give_up(AtomicStep::close);
    if (::rename(temporary_.c_str(), path_.c_str()) != 0) give_up(AtomicStep::rename);
}

std::size_t remove_stale_temporaries_of(const std::string& file) {
    namespace fs = std::filesystem;
    if (file.empty()) return 0;
    const fs::path path(file);
    const fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
    const std::string prefix = path.filename().string() + ".tmp-";
    std::size_t removed = 0;
    std::error_code error;
    for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
        const std::string name = it->path().filename().string();
        if (name.rfind(prefix, 0) != 0) continue;
        // <file>.tmp-<pid>-<hex>: only those of processes that are gone (or of
        // this one, which is not saving while it cleans up).
        const char* first = name.c_str() + prefix.size();
        const char* last = name.c_str() + name.size();
        long pid = 0;
        const auto [end_pid, parse_error] = std::from_chars(first, last, pid);
        if (parse_error != std::errc() || end_pid == last || *end_pid != '-' || pid <= 0) continue;
        const bool alive = pid != ::getpid() && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
        if (alive) continue;
        std::error_code ignored;
        if (fs::remove(it->path(), ignored)) ++removed;
    }
    return removed;
}

}  // namespace rg::nn::detail
