#pragma once
/// @file
/// The IDX format of MNIST and Fashion-MNIST: magic (0, 0, type, rank), the
/// sizes as big-endian 32-bit integers, then the values. Plain and gzip files
/// are both read (zlib).
#include <retrograd/tensor.hpp>

#include <string>

namespace rg::data {

/// The array in an IDX file (plain or gzip), converted to `dtype`.
/// @param path the file
/// @param dtype the result's dtype (int64 only for integer values it can hold)
/// @throws rg::Error naming the file when it cannot be read or is not valid:
///         the magic number, the type code, the rank, the sizes against the data
///         length (a truncated file, trailing bytes, corrupt gzip data)
Tensor read_idx(const std::string& path, Dtype dtype = Dtype::float32);

}  // namespace rg::data
