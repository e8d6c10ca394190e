#pragma once
/// @file
/// The IDX format of MNIST and Fashion-MNIST: magic (0, 0, type, rank), the
/// sizes as big-endian 32-bit integers, then the values. Plain and gzip files
/// are both read (zlib).
#include <retrograd/tensor.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace rg::data {

/// The array in an IDX file (plain or gzip), converted to `dtype`.
/// @param path the file
/// @param dtype the result's dtype (int64 only for integer values it can hold)
/// @throws rg::Error naming the file when it cannot be read or is not valid:
///         the magic number, the type code, the rank, the sizes against the data
///         length (a truncated file, trailing bytes, corrupt gzip data)
Tensor read_idx(const std::string& path, Dtype dtype = Dtype::float32);

/// The values of an IDX file of unsigned bytes (type code 08, as MNIST's
/// images and labels), as stored: one byte per value, row-major.
struct IdxBytes {
    Shape shape;  ///< the sizes (the first one cut to the rows read)
    std::vector<std::uint8_t> values;  ///< shape's product of bytes
};

/// The first `max_rows` rows (along axis 0) of an IDX file of unsigned bytes,
/// without converting them: a quarter of the memory of float32. Only those rows
/// are decompressed; the gzip checksum, which covers the whole file, is checked
/// when every row is read.
/// @param path the file (plain or gzip)
/// @param max_rows how many rows to read at most (0: all)
/// @throws rg::Error as read_idx(), and when the values are not unsigned bytes
IdxBytes read_idx_bytes(const std::string& path, std::size_t max_rows = 0);

}  // namespace rg::data
