#pragma once
/// @file
/// Diagnosing training (Poncelet's *Les réseaux de neurones*: vanishing and exploding gradients, dead and
/// saturated neurons): one forward and backward pass of a Sequential on a batch,
/// reported layer by layer.
#include <retrograd/nn/module.hpp>
#include <retrograd/nn/trainer.hpp>

#include <string>
#include <vector>

namespace rg::nn {

/// What diagnose() measured at one layer of the Sequential.
struct LayerDiagnostics {
    std::string layer;  ///< position and description, e.g. "1: ReLU()"
    Shape output_shape;  ///< the layer's output shape on the batch
    double output_mean = 0;  ///< mean of the layer's output
    double output_std = 0;  ///< standard deviation of the layer's output
    double dead_fraction = -1;  ///< ReLU-like layers: units at 0 for every sample of the batch (else -1)
    double saturated_fraction = -1;  ///< sigmoid/tanh layers: outputs within 1% of their bounds (else -1)
    double grad_norm = -1;  ///< layers with parameters: L2 norm of their parameters' gradient (else -1)
    double weight_norm = -1;  ///< layers with parameters: L2 norm of their parameters (else -1)
};

/// The thresholds above or below which diagnose() warns.
struct DiagnosticsOptions {
    double vanishing = 1e-6;  ///< a parameter gradient norm below this is reported as vanishing
    double exploding = 1e3;  ///< a parameter gradient norm above this is reported as exploding
    double dead = 0.5;  ///< warn when more than this fraction of a ReLU layer's units are dead
    double saturated = 0.5;  ///< warn when more than this fraction of a sigmoid/tanh layer's outputs saturate
};

/// The outcome of diagnose(): one row per layer, and the warnings.
struct Diagnostics {
    std::vector<LayerDiagnostics> layers;  ///< in the Sequential's order
    std::vector<std::string> warnings;  ///< one sentence per problem found, naming the layer
    double loss = 0;  ///< the batch's loss
    /// A table of the layers, then the warnings.
    std::string text() const;
};

/// One forward and backward pass of `model` on a batch, measured layer by layer.
/// Leaves the parameters' gradients from this pass in place (zero them before training on).
/// @param model the network, run in its current mode
/// @param inputs a batch of inputs
/// @param targets their targets, as `loss` takes them
/// @param loss the loss, e.g. rg::nn::cross_entropy
/// @param options the warning thresholds
/// @throws rg::Error when a layer or the loss rejects the batch (its own message)
Diagnostics diagnose(Sequential& model, const Tensor& inputs, const Tensor& targets, const LossFn& loss,
                     DiagnosticsOptions options = {});

}  // namespace rg::nn
