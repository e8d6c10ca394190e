#pragma once
// A directory of its own for a test case, removed with everything in it at the
// end of the scope.
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <system_error>

#include <unistd.h>

namespace test {

struct TempDir {
    std::filesystem::path path;
    // Unique per process and call: ctest runs test cases in parallel processes,
    // whose rg generators all start from the same seed.
    explicit TempDir(const std::string& prefix = "retrograd-test") {
        std::random_device rd;
        path = std::filesystem::temp_directory_path() /
               (prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(rd()) + std::to_string(rd()));
        std::filesystem::create_directories(path);
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    // The path of `name` in the directory.
    std::string file(const std::string& name) const { return (path / name).string(); }
    // Writes `bytes` to `name` in the directory; returns its path.
    std::string write(const std::string& name, const std::string& bytes) const {
        std::ofstream(path / name, std::ios::binary) << bytes;
        return file(name);
    }
};

}  // namespace test
