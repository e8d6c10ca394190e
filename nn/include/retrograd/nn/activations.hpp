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
Tensor prelu(const Tensor& x, const Tensor& alpha);
Tensor identity(const Tensor& x);

#define RG_ACTIVATION(Name, expression, text)                                                       \
    class Name : public Module { /* NOLINT(bugprone-macro-parentheses): a class name takes no () */ \
    public:                                                                                         \
        Tensor forward(const Tensor& x) override { return expression; }                             \
        std::string describe() const override { return text; }                                      \
    }

RG_ACTIVATION(Identity, identity(x), "Identity()");
RG_ACTIVATION(Step, step(x), "Step()");
RG_ACTIVATION(Sigmoid, sigmoid(x), "Sigmoid()");
RG_ACTIVATION(Tanh, tanh(x), "Tanh()");
RG_ACTIVATION(Arctan, atan(x), "Arctan()");
RG_ACTIVATION(ReLU, relu(x), "ReLU()");
RG_ACTIVATION(SoftPlus, softplus(x), "SoftPlus()");
RG_ACTIVATION(SiLU, silu(x), "SiLU()");
RG_ACTIVATION(Mish, mish(x), "Mish()");
RG_ACTIVATION(Hardsigmoid, hardsigmoid(x), "Hardsigmoid()");
RG_ACTIVATION(LogSigmoid, logsigmoid(x), "LogSigmoid()");
RG_ACTIVATION(Softsign, softsign(x), "Softsign()");
#undef RG_ACTIVATION

// approximate: "none" (exact, with erf) or "tanh", as torch.nn.GELU.
class GELU : public Module {
public:
    explicit GELU(std::string approximate = "none");
    Tensor forward(const Tensor& x) override { return gelu(x, approximate_); }
    std::string describe() const override { return fmt::format("GELU(approximate='{}')", approximate_); }

private:
    std::string approximate_;
};

// x limited to [min_val, max_val]; no gradient at the corners (torch.nn.Hardtanh).
class Hardtanh : public Module {
public:
    explicit Hardtanh(double min_val = -1.0, double max_val = 1.0);
    Tensor forward(const Tensor& x) override { return hardtanh(x, min_val_, max_val_); }
    std::string describe() const override {
        return fmt::format("Hardtanh(min_val={}, max_val={})", min_val_, max_val_);
    }

private:
    double min_val_, max_val_;
};

class LeakyReLU : public Module {
public:
    explicit LeakyReLU(double slope = 0.01) : slope_(slope) {}
    Tensor forward(const Tensor& x) override { return leaky_relu(x, slope_); }
    std::string describe() const override { return fmt::format("LeakyReLU({})", slope_); }

private:
    double slope_;
};

class ELU : public Module {
public:
    explicit ELU(double alpha = 1.0) : alpha_(alpha) {}
    Tensor forward(const Tensor& x) override { return elu(x, alpha_); }
    std::string describe() const override { return fmt::format("ELU({})", alpha_); }

private:
    double alpha_;
};

// num_parameters = 1 shares the slope; = C learns one per channel.
class PReLU : public Module {
public:
    explicit PReLU(std::size_t num_parameters = 1, double init = 0.25);
    Tensor forward(const Tensor& x) override { return prelu(x, alpha); }
    std::string describe() const override { return fmt::format("PReLU({})", alpha.numel()); }
    Tensor alpha;
};

class Softmax : public Module {
public:
    explicit Softmax(int axis = -1) : axis_(axis) {}
    Tensor forward(const Tensor& x) override {
        CompositeStep step("Softmax", "d{Z} = {A} ⊙ (d{A} − Σ(d{A} ⊙ {A})) along the axis", {{"Z", x}});
        return step.output(softmax(x, axis_), "A");
    }
    std::string describe() const override { return fmt::format("Softmax(axis={})", axis_); }

private:
    int axis_;
};

class LogSoftmax : public Module {
public:
    explicit LogSoftmax(int axis = -1) : axis_(axis) {}
    Tensor forward(const Tensor& x) override { return log_softmax(x, axis_); }
    std::string describe() const override { return fmt::format("LogSoftmax(axis={})", axis_); }

private:
    int axis_;
};

}  // namespace rg::nn
