#pragma once
// Checkpoints in the safetensors format: 8-byte little-endian header length,
// a JSON header {name: {dtype, shape, data_offsets}}, then the raw data. Python's
// `safetensors` reads our files and we read its (F32, F64 and I64 tensors).
//
// Writes are atomic (temporary file, fsync, rename): an interrupted save leaves
// the previous file intact. Reads validate everything and never half-load.
#include <retrograd/nn/module.hpp>
#include <retrograd/nn/optim.hpp>

#include <map>
#include <string>

namespace rg::nn {

using TensorMap = std::map<std::string, Tensor>;

void save_tensors(const TensorMap& tensors, const std::string& path,
                  const std::map<std::string, std::string>& metadata = {});
// Every entry validated: header size, JSON, dtypes, shapes, offsets in bounds and
// non-overlapping. Errors name the file, the tensor and the problem.
TensorMap load_tensors(const std::string& path);
std::map<std::string, std::string> load_metadata(const std::string& path);

// A module's parameters and buffers, by their dotted names.
void save(const Module& module, const std::string& path);
// Checks that the file has exactly the module's tensors with the same shapes
// (float dtypes are converted) before writing any of them.
void load(Module& module, const std::string& path);

// An optimizer's state (moments, buffers, step counts).
void save(const optim::Optimizer& optimizer, const std::string& path);
void load(optim::Optimizer& optimizer, const std::string& path);

}  // namespace rg::nn
