#pragma once
// Files replaced in one step (save_tensors, save_text): the new content goes to
// a temporary file beside the target, `<path>.tmp-<pid>-<hex>`, which is
// flushed to disk, closed and renamed over the target, every step checked. A
// reader, a crash or a kill sees the old file or the new one, never part of
// one; a failed or abandoned write removes its temporary file and leaves the
// old file as it was.
#include <cstddef>
#include <string>

namespace rg::nn::detail {

// The steps that can fail. Each caller words its own errors (the messages are
// part of its interface); the system's reason is appended after ": ".
enum class AtomicStep { create, write, flush, close, rename };
using AtomicWording = std::string (*)(AtomicStep step, const std::string& path, const std::string& temporary);

class AtomicFile {
public:
    // Creates the temporary file (never an existing one).
    AtomicFile(std::string path, AtomicWording wording);
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;
    // Without commit() (an exception on the way): removes the temporary file.
    ~AtomicFile();

    void write(const void* data, std::size_t size);
    // Flushes to disk, closes, and renames the temporary file over the target.
    void commit();

private:
    // Closes and removes the temporary file, then throws an rg::Error worded for `step`.
    [[noreturn]] void give_up(AtomicStep step);

    std::string path_, temporary_;
    AtomicWording wording_;
    int fd_ = -1;
};

// Removes the temporary files beside `file` that AtomicFile writes of
// processes no longer running left behind (a kill during a save); returns how
// many were removed.
std::size_t remove_stale_temporaries_of(const std::string& file);

}  // namespace rg::nn::detail
