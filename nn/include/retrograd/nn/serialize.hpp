#pragma once
/// @file
/// Checkpoints in the safetensors format: 8-byte little-endian header length,
/// a JSON header {name: {dtype, shape, data_offsets}}, then the raw data. Python's
/// `safetensors` reads our files and we read its (F32, F64 and I64 tensors).
///
/// Writes are atomic (temporary file, fsync, rename): an interrupted save leaves
/// the previous file intact. Reads validate everything and never half-load.
#include <retrograd/nn/module.hpp>
#include <retrograd/nn/optim.hpp>

#include <map>
#include <string>

namespace rg::nn {

/// Named tensors, as a safetensors file holds them.
using TensorMap = std::map<std::string, Tensor>;

/// Writes tensors to a safetensors file, atomically.
/// @param tensors the tensors by name
/// @param path the file to write (replaced whole, or left as it was)
/// @param metadata strings stored in the header's `__metadata__`
/// @throws rg::Error when a tensor is undefined, a name is `__metadata__`, a
///         string is not UTF-8, or the file cannot be written (naming the reason)
void save_tensors(const TensorMap& tensors, const std::string& path,
                  const std::map<std::string, std::string>& metadata = {});
/// Reads every tensor of a safetensors file. Every entry is validated: header
/// size, JSON, dtypes, shapes, offsets in bounds and non-overlapping.
/// @param path the file
/// @throws rg::Error naming the file, the tensor and the problem
TensorMap load_tensors(const std::string& path);
/// The `__metadata__` strings of a safetensors file (empty when it has none).
/// @param path the file
/// @throws rg::Error when the file is not a valid safetensors file
std::map<std::string, std::string> load_metadata(const std::string& path);

/// Saves a module's parameters and buffers, by their dotted names.
/// @param module the module
/// @param path the file to write, atomically
/// @throws rg::Error when the file cannot be written
void save(const Module& module, const std::string& path);
/// Loads a module's parameters and buffers. Checks that the file has exactly
/// the module's tensors with the same shapes (float dtypes are converted)
/// before writing any of them.
/// @param module the module to fill
/// @param path a file written by save(const Module&, const std::string&)
/// @throws rg::Error naming the missing, extra or mismatched tensors, or the file's problem
void load(Module& module, const std::string& path);

/// Saves an optimizer's state (moments, buffers, step counts).
/// @param optimizer the optimizer
/// @param path the file to write, atomically
/// @throws rg::Error when the file cannot be written
void save(const optim::Optimizer& optimizer, const std::string& path);
/// Loads an optimizer's state saved by save(const optim::Optimizer&, const std::string&).
/// @param optimizer an optimizer of the same type over the same parameters
/// @param path the file
/// @throws rg::Error when the state does not fit this optimizer, or the file's problem
void load(optim::Optimizer& optimizer, const std::string& path);

}  // namespace rg::nn
