#pragma once
// Shared by the harnesses: the readers take a path, so each input is written
// to a file of this process's own first ($TMPDIR, else /tmp; removed at exit).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <unistd.h>

namespace fuzz {

struct ScratchFiles {
    std::set<std::string> paths;
    ~ScratchFiles() {
        for (const std::string& p : paths) std::remove(p.c_str());
    }
};

inline std::string scratch_path(const char* suffix) {
    static ScratchFiles files;
    const char* dir = std::getenv("TMPDIR");
    std::string path =
        std::string(dir && *dir ? dir : "/tmp") + "/retrograd-fuzz-" + std::to_string(::getpid()) + suffix;
    files.paths.insert(path);
    return path;
}

inline void write_file(const std::string& path, const void* data, std::size_t size) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) __builtin_trap();  // the harness itself is broken, not the library
    if (size > 0 && std::fwrite(data, 1, size, f) != size) __builtin_trap();
    std::fclose(f);
}

}  // namespace fuzz
