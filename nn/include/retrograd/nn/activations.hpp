#pragma once
// The activation functions of the course's table (Poncelet's *Les réseaux de neurones*, "Choix de la fonction
// d'activation") as modules. Each wraps the op of the same name; PReLU owns its slope as a parameter.
#include <retrograd/composite.hpp>
#include <retrograd/nn/module.hpp>
#include <retrograd/ops.hpp>

#include <fmt/format.h>

namespace rg::nn {

// Parametric ReLU: x for x > 0, alpha x otherwise; alpha has one entry, or one
// per channel (axis 1). The gradient at 0 is alpha, as PyTorch.
/// Parametric ReLU: x for x > 0, alpha x otherwise, alpha one value or one per
/// channel (axis 1), as torch::nn::functional::prelu. The gradient at 0 is
/// alpha, as PyTorch; dalpha = g x where x <= 0.
/// @param x a float tensor; with several alphas, of rank >= 2 with alpha.numel() channels on axis 1
/// @param alpha a 1-D tensor of x's dtype: (1,) or (C,)
/// @throws rg::Error when alpha is not 1-D of size 1 or x's channel count
Tensor prelu(const Tensor& x, const Tensor& alpha);
/// x itself (the same tensor, not a copy), for Identity.
/// @param x any tensor
Tensor identity(const Tensor& x);

/// Declares an activation module (its forward and describe); undefined after the list.
#define RG_ACTIVATION(Name, expression, text)                                                       \
    class Name : public Module { /* NOLINT(bugprone-macro-parentheses): a class name takes no () */ \
    public:                                                                                         \
        /** The activation applied to x, elementwise. @param x a float tensor                       \
            @throws rg::Error when x is not floating */                                             \
        Tensor forward(const Tensor& x) override { return expression; }                             \
        /** Its title for printing, such as "ReLU()". */                                            \
        std::string describe() const override { return text; }                                      \
    }

/// Returns its input itself (torch::nn::Identity).
RG_ACTIVATION(Identity, identity(x), "Identity()");
/// The binary step of the course's table: 1 for x >= 0, else 0; gradient 0 (rg::step). Not in LibTorch.
RG_ACTIVATION(Step, step(x), "Step()");
/// 1 / (1 + e^-x) (rg::sigmoid, torch::nn::Sigmoid).
RG_ACTIVATION(Sigmoid, sigmoid(x), "Sigmoid()");
/// The hyperbolic tangent (rg::tanh, torch::nn::Tanh).
RG_ACTIVATION(Tanh, tanh(x), "Tanh()");
/// The arctangent of the course's table (rg::atan). Not a LibTorch module.
RG_ACTIVATION(Arctan, atan(x), "Arctan()");
/// log(1 + e^x) (rg::softplus; torch::nn::Softplus with beta 1, no threshold).
RG_ACTIVATION(SoftPlus, softplus(x), "SoftPlus()");
/// x σ(x) (rg::silu, torch::nn::SiLU).
RG_ACTIVATION(SiLU, silu(x), "SiLU()");
/// x tanh(softplus(x)) (rg::mish, torch::nn::Mish).
RG_ACTIVATION(Mish, mish(x), "Mish()");
/// x/6 + 1/2 limited to [0, 1] (rg::hardsigmoid, torch::nn::Hardsigmoid).
RG_ACTIVATION(Hardsigmoid, hardsigmoid(x), "Hardsigmoid()");
/// log σ(x) (rg::logsigmoid, torch::nn::LogSigmoid).
RG_ACTIVATION(LogSigmoid, logsigmoid(x), "LogSigmoid()");
/// x / (1 + |x|) (rg::softsign, torch::nn::Softsign).
RG_ACTIVATION(Softsign, softsign(x), "Softsign()");
/// x relu6(x + 3) / 6 (rg::hardswish, torch::nn::Hardswish).
RG_ACTIVATION(Hardswish, hardswish(x), "Hardswish()");
/// min(max(x, 0), 6), no gradient at 0 and 6 (rg::relu6, torch::nn::ReLU6).
RG_ACTIVATION(ReLU6, relu6(x), "ReLU6()");
/// scale elu(x, alpha) with PyTorch's constants (rg::selu, torch::nn::SELU).
RG_ACTIVATION(SELU, selu(x), "SELU()");
#undef RG_ACTIVATION

// approximate: "none" (exact, with erf) or "tanh", as torch.nn.GELU.
/// x Φ(x) (rg::gelu), as torch::nn::GELU.
class GELU : public Module {
public:
    /// @param approximate "none" (exact, with erf) or "tanh"
    /// @throws rg::Error for another string
    explicit GELU(std::string approximate = "none");
    /// gelu(x, approximate).
    /// @param x a float tensor
    /// @throws rg::Error when x is not floating
    Tensor forward(const Tensor& x) override { return gelu(x, approximate_); }
    /// "GELU(approximate='none')" or "GELU(approximate='tanh')".
    std::string describe() const override { return fmt::format("GELU(approximate='{}')", approximate_); }

private:
    std::string approximate_;
};

// x limited to [min_val, max_val]; no gradient at the corners (torch.nn.Hardtanh).
/// x limited to [min_val, max_val]; no gradient at the corners (rg::hardtanh, torch::nn::Hardtanh).
class Hardtanh : public Module {
public:
    /// @param min_val, max_val the bounds
    /// @throws rg::Error when min_val > max_val or one is NaN
    explicit Hardtanh(double min_val = -1.0, double max_val = 1.0);
    /// hardtanh(x, min_val, max_val).
    /// @param x a float tensor
    /// @throws rg::Error when x is not floating
    Tensor forward(const Tensor& x) override { return hardtanh(x, min_val_, max_val_); }
    /// "Hardtanh(min_val=..., max_val=...)".
    std::string describe() const override {
        return fmt::format("Hardtanh(min_val={}, max_val={})", min_val_, max_val_);
    }

private:
    double min_val_, max_val_;
};

/// ReLU's options (torch::nn::ReLUOptions).
struct ReLUOptions {
    /// Overwrite the input with the result (Tensor::relu_), as torch's
    /// ReLU(inplace=True): no new activation is allocated, and the input's
    /// old values are gone, so a layer that saved them for its backward
    /// (sigmoid, tanh) stops that backward with a version error.
    bool inplace = false;
};

/// max(x, 0), gradient 0 at 0 (rg::relu, torch::nn::ReLU).
class ReLU : public Module {
public:
    /// @param options whether it writes into its input
    explicit ReLU(ReLUOptions options = {}) : options_(options) {}
    /// relu(x), or x.relu_() (the input itself, written) with inplace.
    /// @param x a float tensor
    /// @throws rg::Error when x is not floating; with inplace, as Tensor::relu_
    Tensor forward(const Tensor& x) override {
        if (!options_.inplace) return relu(x);
        Tensor written = x;  // the same tensor: its values are overwritten
        return written.relu_();
    }
    /// "ReLU()", or "ReLU(inplace=true)".
    std::string describe() const override { return options_.inplace ? "ReLU(inplace=true)" : "ReLU()"; }

private:
    ReLUOptions options_;
};

/// x for x > 0, else slope x (rg::leaky_relu, torch::nn::LeakyReLU).
class LeakyReLU : public Module {
public:
    /// @param slope the slope for x <= 0 (PyTorch's negative_slope)
    explicit LeakyReLU(double slope = 0.01) : slope_(slope) {}
    /// leaky_relu(x, slope).
    /// @param x a float tensor
    /// @throws rg::Error when x is not floating
    Tensor forward(const Tensor& x) override { return leaky_relu(x, slope_); }
    /// "LeakyReLU(slope)".
    std::string describe() const override { return fmt::format("LeakyReLU({})", slope_); }

private:
    double slope_;
};

/// x for x > 0, else alpha (e^x - 1) (rg::elu, torch::nn::ELU).
class ELU : public Module {
public:
    /// @param alpha the scale of the negative part
    explicit ELU(double alpha = 1.0) : alpha_(alpha) {}
    /// elu(x, alpha).
    /// @param x a float tensor
    /// @throws rg::Error when x is not floating
    Tensor forward(const Tensor& x) override { return elu(x, alpha_); }
    /// "ELU(alpha)".
    std::string describe() const override { return fmt::format("ELU({})", alpha_); }

private:
    double alpha_;
};

// num_parameters = 1 shares the slope; = C learns one per channel.
/// Parametric ReLU with a learned slope (prelu, torch::nn::PReLU): one shared
/// slope (num_parameters = 1) or one per channel (= C).
class PReLU : public Module {
public:
    /// @param num_parameters 1, or the input's channel count C
    /// @param init the slopes' first value
    /// @throws rg::Error when num_parameters is 0
    explicit PReLU(std::size_t num_parameters = 1, double init = 0.25);
    /// prelu(x, alpha).
    /// @param x a float tensor of alpha's dtype
    /// @throws rg::Error as prelu
    Tensor forward(const Tensor& x) override { return prelu(x, alpha); }
    /// "PReLU(num_parameters)".
    std::string describe() const override { return fmt::format("PReLU({})", alpha.numel()); }
    /// The slopes (num_parameters,), a parameter.
    Tensor alpha;
};

/// softmax along an axis (torch::nn::Softmax); shown by explain as one step.
class Softmax : public Module {
public:
    /// @param axis the axis normalised (PyTorch's dim, which has no default there)
    explicit Softmax(int axis = -1) : axis_(axis) {}
    /// softmax(x, axis).
    /// @param x a float tensor
    /// @throws rg::Error as softmax
    Tensor forward(const Tensor& x) override {
        CompositeStep step("Softmax", "d{Z} = {A} ⊙ (d{A} − Σ(d{A} ⊙ {A})) along the axis", {{"Z", x}});
        return step.output(softmax(x, axis_), "A");
    }
    /// "Softmax(axis=...)".
    std::string describe() const override { return fmt::format("Softmax(axis={})", axis_); }

private:
    int axis_;
};

/// log_softmax along an axis (torch::nn::LogSoftmax).
class LogSoftmax : public Module {
public:
    /// @param axis the axis normalised
    explicit LogSoftmax(int axis = -1) : axis_(axis) {}
    /// log_softmax(x, axis).
    /// @param x a float tensor
    /// @throws rg::Error as log_softmax
    Tensor forward(const Tensor& x) override { return log_softmax(x, axis_); }
    /// "LogSoftmax(axis=...)".
    std::string describe() const override { return fmt::format("LogSoftmax(axis={})", axis_); }

private:
    int axis_;
};

}  // namespace rg::nn
