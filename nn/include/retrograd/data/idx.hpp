#pragma once
// The IDX format of MNIST and Fashion-MNIST: magic (0, 0, type, rank), the
// sizes as big-endian 32-bit integers, then the values. Plain and gzip files
// are both read (zlib).
#include <retrograd/tensor.hpp>

#include <string>

namespace rg::data {

// The array in `path`, converted to `dtype`. Everything is validated: the
// magic number, the type code, the rank, the sizes against the data length
// (a truncated file or trailing bytes is an error naming the file).
Tensor read_idx(const std::string& path, Dtype dtype = Dtype::float32);

}  // namespace rg::data
