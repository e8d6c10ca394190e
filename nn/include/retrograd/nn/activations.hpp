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

// ---- torch.nn.functional's other activations, composed from ops ----
/// x for x > 0, else alpha (e^(x / alpha) - 1), as torch::nn::functional::celu.
/// @param x a float tensor
/// @param alpha the scale, not 0
/// @throws rg::Error when alpha is 0 or NaN, or x is not floating
Tensor celu(const Tensor& x, double alpha = 1.0);
/// The gated linear unit: x split in halves a, b along dim, a σ(b), as torch::nn::functional::glu.
/// @param x a float tensor whose size along dim is even
/// @param dim the axis split
/// @throws rg::Error when dim is out of range or its size is odd
Tensor glu(const Tensor& x, int dim = -1);
/// softmax(-x) along dim, as torch::nn::functional::softmin.
/// @param x a float tensor
/// @param dim the axis normalised
/// @throws rg::Error as softmax
Tensor softmin(const Tensor& x, int dim);
/// x - lambda for x > lambda, x + lambda for x < -lambda, else 0 (gradient 0 on [-lambda, lambda]),
/// as torch::nn::functional::softshrink.
/// @param x a float tensor
/// @param lambda the half-width of the dead zone, >= 0
/// @throws rg::Error when lambda is negative or NaN, or x is not floating
Tensor softshrink(const Tensor& x, double lambda = 0.5);
/// x where |x| > lambda, else 0 (gradient 0 on [-lambda, lambda]), as torch::nn::functional::hardshrink.
/// @param x a float tensor
/// @param lambda the half-width of the dead zone
/// @throws rg::Error when x is not floating
Tensor hardshrink(const Tensor& x, double lambda = 0.5);
/// x - tanh(x), as torch::nn::functional::tanhshrink.
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor tanhshrink(const Tensor& x);
/// x where x > threshold, else value, as torch::nn::functional::threshold.
/// @param x a float tensor
/// @param threshold the bound, exclusive
/// @param value what replaces x at or below it
/// @throws rg::Error when x is not floating
Tensor threshold(const Tensor& x, double threshold, double value);
/// The randomized leaky ReLU, as torch::nn::functional::rrelu: in training
/// each negative x times a slope drawn uniformly from [lower, upper) (rg's
/// generator), in evaluation times (lower + upper) / 2.
/// @param x a float tensor
/// @param lower the smallest slope
/// @param upper the largest slope, >= lower
/// @param training draw the slopes (else their mean)
/// @throws rg::Error when lower > upper or either is NaN, or x is not floating
Tensor rrelu(const Tensor& x, double lower = 1.0 / 8, double upper = 1.0 / 3, bool training = false);

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
/// slope (num_parameters = 1) or one per channel (= C). The slopes are the
/// parameter `weight`, PyTorch's name, so its state dicts load unchanged.
class PReLU : public Module {
public:
    /// @param num_parameters 1, or the input's channel count C
    /// @param init the slopes' first value
    /// @throws rg::Error when num_parameters is 0
    explicit PReLU(std::size_t num_parameters = 1, double init = 0.25);
    /// prelu(x, weight).
    /// @param x a float tensor of weight's dtype
    /// @throws rg::Error as prelu
    Tensor forward(const Tensor& x) override { return prelu(x, weight); }
    /// "PReLU(num_parameters)".
    std::string describe() const override { return fmt::format("PReLU({})", weight.numel()); }
    /// The slopes (num_parameters,), the course's α: a parameter named "weight", as PyTorch's.
    Tensor weight;
};

/// celu(x, alpha) as a module (torch::nn::CELU).
class CELU : public Module {
public:
    /// @param alpha the scale, not 0
    /// @throws rg::Error when alpha is 0 or NaN
    explicit CELU(double alpha = 1.0);
    /// celu(x, alpha).
    /// @param x a float tensor
    /// @throws rg::Error when x is not floating
    Tensor forward(const Tensor& x) override { return celu(x, alpha_); }
    /// "CELU(alpha=...)".
    std::string describe() const override { return fmt::format("CELU(alpha={})", alpha_); }

private:
    double alpha_;
};

/// glu(x, dim) as a module (torch::nn::GLU).
class GLU : public Module {
public:
    /// @param dim the axis split in halves
    explicit GLU(int dim = -1) : dim_(dim) {}
    /// glu(x, dim).
    /// @param x a float tensor, even along dim
    /// @throws rg::Error as glu
    Tensor forward(const Tensor& x) override { return glu(x, dim_); }
    /// "GLU(dim=...)".
    std::string describe() const override { return fmt::format("GLU(dim={})", dim_); }

private:
    int dim_;
};

/// softmin(x, dim) as a module (torch::nn::Softmin).
class Softmin : public Module {
public:
    /// @param dim the axis normalised
    explicit Softmin(int dim) : dim_(dim) {}
    /// softmin(x, dim).
    /// @param x a float tensor
    /// @throws rg::Error as softmax
    Tensor forward(const Tensor& x) override { return softmin(x, dim_); }
    /// "Softmin(dim=...)".
    std::string describe() const override { return fmt::format("Softmin(dim={})", dim_); }

private:
    int dim_;
};

/// softmax over the channels of (N, C, H, W) or (C, H, W), axis -3 (torch::nn::Softmax2d).
class Softmax2d : public Module {
public:
    /// softmax(x, -3).
    /// @param x a float tensor of rank 3 or 4
    /// @throws rg::Error when x has another rank
    Tensor forward(const Tensor& x) override;
    /// "Softmax2d()".
    std::string describe() const override { return "Softmax2d()"; }
};

/// softshrink(x, lambda) as a module (torch::nn::Softshrink).
class Softshrink : public Module {
public:
    /// @param lambda the half-width of the dead zone, >= 0
    /// @throws rg::Error when lambda is negative or NaN
    explicit Softshrink(double lambda = 0.5);
    /// softshrink(x, lambda).
    /// @param x a float tensor
    /// @throws rg::Error when x is not floating
    Tensor forward(const Tensor& x) override { return softshrink(x, lambda_); }
    /// "Softshrink(lambda)".
    std::string describe() const override { return fmt::format("Softshrink({})", lambda_); }

private:
    double lambda_;
};

/// hardshrink(x, lambda) as a module (torch::nn::Hardshrink).
class Hardshrink : public Module {
public:
    /// @param lambda the half-width of the dead zone
    explicit Hardshrink(double lambda = 0.5) : lambda_(lambda) {}
    /// hardshrink(x, lambda).
    /// @param x a float tensor
    /// @throws rg::Error when x is not floating
    Tensor forward(const Tensor& x) override { return hardshrink(x, lambda_); }
    /// "Hardshrink(lambda)".
    std::string describe() const override { return fmt::format("Hardshrink({})", lambda_); }

private:
    double lambda_;
};

/// tanhshrink(x) as a module (torch::nn::Tanhshrink).
class Tanhshrink : public Module {
public:
    /// tanhshrink(x).
    /// @param x a float tensor
    /// @throws rg::Error when x is not floating
    Tensor forward(const Tensor& x) override { return tanhshrink(x); }
    /// "Tanhshrink()".
    std::string describe() const override { return "Tanhshrink()"; }
};

/// threshold(x, threshold, value) as a module (torch::nn::Threshold).
class Threshold : public Module {
public:
    /// @param threshold the bound, exclusive
    /// @param value what replaces x at or below it
    Threshold(double threshold, double value) : threshold_(threshold), value_(value) {}
    /// threshold(x, threshold, value).
    /// @param x a float tensor
    /// @throws rg::Error when x is not floating
    Tensor forward(const Tensor& x) override { return rg::nn::threshold(x, threshold_, value_); }
    /// "Threshold(threshold=..., value=...)".
    std::string describe() const override {
        return fmt::format("Threshold(threshold={}, value={})", threshold_, value_);
    }

private:
    double threshold_, value_;
};

/// rrelu(x, lower, upper, is_training()) as a module (torch::nn::RReLU): random
/// slopes in training, their mean in evaluation.
class RReLU : public Module {
public:
    /// @param lower the smallest slope
    /// @param upper the largest slope, >= lower
    /// @throws rg::Error when lower > upper or either is NaN
    explicit RReLU(double lower = 1.0 / 8, double upper = 1.0 / 3);
    /// rrelu(x, lower, upper, is_training()).
    /// @param x a float tensor
    /// @throws rg::Error when x is not floating
    Tensor forward(const Tensor& x) override { return rrelu(x, lower_, upper_, is_training()); }
    /// "RReLU(lower=..., upper=...)".
    std::string describe() const override { return fmt::format("RReLU(lower={}, upper={})", lower_, upper_); }

private:
    double lower_, upper_;
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
