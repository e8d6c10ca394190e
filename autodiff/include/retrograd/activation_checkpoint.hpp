#pragma once
/// @file
/// Activation checkpointing, as torch.utils.checkpoint: a function's
/// intermediate tensors are not kept for backward but computed again when
/// backward reaches it, trading one more forward for the memory of every
/// activation inside. (Training checkpoints, which save a model to a file, are
/// rg::nn's checkpoint.hpp.)
#include <retrograd/autograd.hpp>
#include <retrograd/tensor.hpp>

#include <functional>

namespace rg {

/// The function a checkpoint runs: its inputs to one output.
using CheckpointFunction = std::function<Tensor(const TensorList& inputs)>;

/// Runs `fn(inputs)` keeping none of its intermediate tensors: backward runs
/// fn again (with recording on, the random generator set back to its state at
/// the first call, so dropout inside draws the same mask) and backpropagates
/// through that second run. The inputs, and every tensor requiring grad that
/// fn reads without receiving it (a module's parameters), get the same
/// gradients as without the checkpoint; first and second order (with
/// create_graph the second run is recorded too). Checkpoints nest.
///
/// fn must compute the same thing when run again: it may read parameters and
/// draw random numbers, but not depend on state that changes in between. The
/// checkpoint keeps a copy of fn until backward: what fn captures by
/// reference must live until then.
/// Under rg::NoGrad, or when nothing requires grad, fn simply runs.
/// @param fn the function; its output must be defined
/// @param inputs its inputs, passed to it as they are
/// @return fn's output, whose history is one `checkpoint` node
/// @throws rg::Error when an input is undefined, when fn returns an undefined
///   tensor, when grad mode is on but neither an input nor a tensor fn reads
///   requires grad (the checkpoint would save nothing: PyTorch warns "None of
///   the inputs have requires_grad=True"), or when fn reads a tensor that
///   requires grad and was computed outside fn without being passed in
///   `inputs` (its history cannot be reached from the second run)
Tensor checkpoint(const CheckpointFunction& fn, const TensorList& inputs);

}  // namespace rg
