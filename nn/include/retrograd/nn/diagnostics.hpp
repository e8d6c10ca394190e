#pragma once
// Diagnosing training (Poncelet's *Les réseaux de neurones*: vanishing and exploding gradients, dead and
// saturated neurons): one forward and backward pass of a Sequential on a batch,
// reported layer by layer.
#include <retrograd/nn/module.hpp>
#include <retrograd/nn/trainer.hpp>

#include <string>
#include <vector>

namespace rg::nn {

struct LayerDiagnostics {
    std::string layer;  // "1: ReLU()"
    Shape output_shape;
    double output_mean = 0, output_std = 0;
    double dead_fraction = -1;  // ReLU-like layers: units at 0 for every sample of the batch (else -1)
    double saturated_fraction = -1;  // sigmoid/tanh layers: outputs within 1% of their bounds (else -1)
    double grad_norm = -1;  // layers with parameters: L2 norm of their parameters' gradient (else -1)
    double weight_norm = -1;
};

struct DiagnosticsOptions {
    double vanishing = 1e-6;  // a parameter gradient norm below this is reported as vanishing
    double exploding = 1e3;  // ... above this as exploding
    double dead = 0.5;  // warn when more than this fraction of a ReLU layer's units are dead
    double saturated = 0.5;  // warn when more than this fraction of a sigmoid/tanh layer's outputs saturate
};

struct Diagnostics {
    std::vector<LayerDiagnostics> layers;
    std::vector<std::string> warnings;
    double loss = 0;
    std::string text() const;  // a table, then the warnings
};

// Leaves the parameters' gradients from this pass in place (zero them before training on).
Diagnostics diagnose(Sequential& model, const Tensor& inputs, const Tensor& targets, const LossFn& loss,
                     DiagnosticsOptions options = {});

}  // namespace rg::nn
