#pragma once
// Optimizers and learning-rate schedules (namespace rg::optim). Updates follow
// PyTorch's definitions exactly, so the numbers match step for step. Each
// optimizer takes a parameter list with options, or several groups each with
// its own options.
#include <retrograd/error.hpp>
#include <retrograd/tensor.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace rg::optim {

// Per-parameter state (momentum buffers, moments...) plus step counters, by name.
/// An optimizer's or schedule's saved state: tensors by name (see Optimizer::state_dict).
using StateDict = std::map<std::string, Tensor>;

// One tensor an optimizer keeps per parameter, as load_state_dict validates it.
/// One tensor an optimizer keeps per parameter, as load_state_dict validates it.
struct StateSpec {
    /// Its name, e.g. "exp_avg_sq".
    std::string name;  // e.g. "exp_avg_sq"
    /// True for a running sum or average of squares, which must not be negative.
    bool non_negative = false;  // a running sum or average of squares
    /// True for one number per parameter (ASGD's eta and mu), a tensor of shape () rather
    /// than of the parameter's shape.
    bool scalar = false;
};

// The largest step count a loaded state may hold: 2^53, the last integer a
// double holds exactly (the bias corrections are computed in double).
/// The largest step count a loaded state may hold: 2^53, the last integer a
/// double holds exactly (the bias corrections are computed in double).
inline constexpr std::int64_t max_step_count = std::int64_t{1} << 53;
/// The base of optimizers (torch::optim::Optimizer): parameter groups, their
/// per-parameter state, and its saving and loading.
class Optimizer {
public:
    virtual ~Optimizer() = default;
    /// One update from the current .grad (parameters without a gradient are skipped).
    virtual void step() = 0;  // one update from the current .grad (parameters without a gradient are skipped)
    /// Drops every parameter's gradient (set_to_none, LibTorch's default).
    void zero_grad();
    /// The number of parameter groups.
    std::size_t group_count() const { return group_params_.size(); }
    /// A group's parameters.
    /// @param group the group, from 0
    /// @throws rg::Error when the group does not exist
    const TensorList& params(std::size_t group = 0) const;
    /// A group's learning rate.
    /// @param group the group, from 0
    virtual double lr(std::size_t group = 0) const = 0;
    /// Sets a group's learning rate (schedules call it).
    /// @param lr the new rate
    /// @param group the group, from 0
    virtual void set_lr(double lr, std::size_t group) = 0;
    /// Sets every group's learning rate.
    /// @param lr the new rate
    void set_lr(double lr);  // every group
    /// The optimizer's name: "SGD", "Adam", "AdamW"...
    const std::string& name() const { return name_; }  // "SGD", "Adam", "AdamW"...
    // "optimizer.<name>" (which optimizer wrote it; holds the format version, 1),
    // "state.<group>.<index>.<name>" tensors and "step.<group>.<index>" counters.
    /// The state, to save: "optimizer.<name>" (which optimizer wrote it; holds the
    /// format version, 1), "state.<group>.<index>.<name>" tensors and
    /// "step.<group>.<index>" counters. Not the options, unlike LibTorch's.
    StateDict state_dict() const;
    // Validates every entry before changing anything, and refuses: a state
    // written by another optimizer (or one that does not say), entries this
    // optimizer with these options does not keep or that are missing, wrong
    // shapes, integer dtypes, NaN or infinite values, negative sums of squares,
    // and step counts that are not whole numbers from 1 to max_step_count.
    // The tensors are copied, never shared with `state`.
    /// Loads a state_dict(), copying its tensors (never shared with `state`). Every
    /// entry is validated before anything changes.
    /// @param state what state_dict() returned, possibly read from a file
    /// @throws rg::Error for a state written by another optimizer (or one that does
    /// not say), entries this optimizer with these options does not keep or that are
    /// missing, wrong shapes, integer dtypes, NaN or infinite values, negative sums of
    /// squares, and step counts that are not whole numbers from 1 to max_step_count
    void load_state_dict(const StateDict& state);

protected:
    // Refuses an empty group, non-float or non-leaf tensors, and a parameter
    // passed twice (in one group or across groups), naming its index.
    /// Adds a parameter group.
    /// @param params its parameters
    /// @param optimizer the name in errors
    /// @throws rg::Error for an empty group, a non-float or non-leaf tensor, or a
    /// parameter passed twice (in one group or across groups), naming its index
    void add_group(TensorList params, const char* optimizer);
    // The tensors kept for each parameter of `group` with its current options,
    // which load_state_dict requires exactly. Optimizers defined outside
    // retrograd may leave the default (nothing declared: any names accepted).
    /// The tensors kept for each parameter of `group` with its current options,
    /// which load_state_dict requires exactly. Optimizers defined outside
    /// retrograd may leave the default (nothing declared: any names accepted).
    /// @param group the group
    virtual std::optional<std::vector<StateSpec>> state_specs(std::size_t group) const;
    // The named state tensor of a parameter, created as zeros on first use.
    /// The named state tensor of a parameter, created as zeros of its shape on first use.
    /// @param group the group
    /// @param index the parameter's position in the group
    /// @param name the state's name
    Tensor& state(std::size_t group, std::size_t index, const std::string& name);
    /// A parameter's named one-number state (StateSpec::scalar), a tensor of shape () and
    /// the parameter's dtype, created as 0 on first use.
    /// @param group the group
    /// @param index the parameter's position in the group
    /// @param name the state's name
    Tensor& scalar_state(std::size_t group, std::size_t index, const std::string& name);
    /// A parameter's step counter (0 before its first update).
    /// @param group the group
    /// @param index the parameter's position in the group
    std::int64_t& steps(std::size_t group, std::size_t index);

private:
    std::string name_;
    std::vector<TensorList> group_params_;
    std::map<std::string, Tensor> state_;
    std::map<std::string, std::int64_t> steps_;
};

/// A parameter group with its options (torch::optim::OptimizerParamGroup).
template <class Options> struct ParamGroup {
    /// The group's parameters.
    TensorList params;
    /// The group's options.
    Options options;
};

// A helper that stores the options of each group.
/// An Optimizer that stores each group's options (lr, betas...).
template <class Options> class GroupedOptimizer : public Optimizer {
public:
    /// A group's learning rate.
    /// @param group the group, from 0
    /// @throws rg::Error when the group does not exist
    double lr(std::size_t group = 0) const override { return options_[checked(group)].lr; }
    /// Sets a group's learning rate (not validated).
    /// @param lr the new rate
    /// @param group the group, from 0
    /// @throws rg::Error when the group does not exist
    void set_lr(double lr, std::size_t group) override { options_[checked(group)].lr = lr; }
    using Optimizer::set_lr;
    /// A group's options.
    /// @param group the group, from 0
    /// @throws rg::Error when the group does not exist
    const Options& options(std::size_t group = 0) const { return options_[checked(group)]; }
    // Replaces a group's options (validated first), as schedules that cycle the momentum do.
    /// Replaces a group's options, validated first, as schedules that cycle the momentum do.
    /// @param o the new options
    /// @param group the group, from 0
    /// @throws rg::Error when an option is invalid or the group does not exist
    void set_options(const Options& o, std::size_t group) {
        Options::validate(o, name().c_str());
        options_[checked(group)] = o;
    }

protected:
    /// Validates and adds each group.
    /// @param groups the groups
    /// @param name the optimizer's name
    /// @throws rg::Error as add_group and Options::validate
    GroupedOptimizer(std::vector<ParamGroup<Options>> groups, const char* name) {
        for (auto& g : groups) {
            Options::validate(g.options, name);
            add_group(g.params, name);
            options_.push_back(g.options);
        }
    }
    /// Each group's options.
    std::vector<Options> options_;

private:
    std::size_t checked(std::size_t group) const {
        if (group >= options_.size())
            fail("{}: parameter group {} does not exist (the optimizer has {} group{})", name(), group, options_.size(),
                 options_.size() == 1 ? "" : "s");
        return group;
    }
};

/// SGD's options, as torch.optim.SGD's (1.13).
struct SGDOptions {
    /// The learning rate, >= 0.
    double lr = 0.01;
    /// The momentum factor, >= 0.
    double momentum = 0.0;
    /// Dampening of the momentum (must be 0 with nesterov).
    double dampening = 0.0;
    /// L2 penalty added to the gradient, >= 0.
    double weight_decay = 0.0;
    /// Nesterov momentum (needs momentum > 0 and dampening 0).
    bool nesterov = false;
    /// Maximize the objective (PyTorch's maximize): the gradient is negated first,
    /// before the weight decay is added.
    bool maximize = false;
    /// Checks the options.
    /// @param o the options
    /// @param name the optimizer named in the error
    /// @throws rg::Error when lr, momentum or weight_decay is negative (or NaN),
    /// dampening is not finite, or nesterov is set without momentum or with dampening
    static void validate(const SGDOptions& o, const char* name);
};
/// Stochastic gradient descent with optional momentum, as torch::optim::SGD:
/// g = grad (-grad with maximize); g += weight_decay p; v = momentum v +
/// (1 - dampening) g (v = g at the first step); p -= lr (g + momentum v with
/// nesterov, else v).
class SGD : public GroupedOptimizer<SGDOptions> {
public:
    /// One group of parameters.
    /// @param params the parameters, float leaves
    /// @param options the group's options
    /// @throws rg::Error when params is empty, a parameter is not a defined float leaf or
    /// appears twice, or an option is invalid
    SGD(TensorList params, SGDOptions options = {})
        : SGD(std::vector<ParamGroup<SGDOptions>>{{std::move(params), options}}) {}
    /// Several groups, each with its own options.
    /// @param groups parameter groups, each with its options
    /// @throws rg::Error when a group is empty, a parameter is not a defined float leaf or
    /// appears twice, or an option is invalid
    explicit SGD(std::vector<ParamGroup<SGDOptions>> groups) : GroupedOptimizer(std::move(groups), "SGD") {}
    /// One SGD update of every parameter from its current .grad (parameters
    /// without a gradient are skipped), as PyTorch 1.13 computes it.
    void step() override;

protected:
    /// The state SGD keeps per parameter with the group's options.
    /// @param group the group
    std::optional<std::vector<StateSpec>> state_specs(std::size_t group) const override;
};

/// The options of Adam and AdamW, as torch::optim::AdamOptions (betas split in two).
struct AdamOptions {
    /// The learning rate, >= 0.
    double lr = 1e-3;
    /// The first moment's decay, in [0, 1).
    double beta1 = 0.9;
    /// The second moment's decay, in [0, 1).
    double beta2 = 0.999;
    /// Added to the denominator, >= 0.
    double eps = 1e-8;
    /// >= 0. Adam: an L2 penalty added to the gradient; AdamW: decoupled (p -= lr wd p).
    double weight_decay = 0.0;  // Adam: added to the gradient; AdamW: decoupled
    /// Divide by the largest second moment so far (Reddi et al., 2018).
    bool amsgrad = false;  // divide by the largest second moment so far (Reddi et al., 2018)
    /// Maximize the objective (PyTorch's maximize): the gradient is negated first,
    /// before the weight decay is added.
    bool maximize = false;
    /// Checks the options.
    /// @param o the options
    /// @param name the optimizer named in the error
    /// @throws rg::Error when lr, eps or weight_decay is negative, or a beta is outside [0, 1)
    static void validate(const AdamOptions& o, const char* name);
};
/// Adam (Kingma & Ba), as torch::optim::Adam, with bias-corrected moments.
class Adam : public GroupedOptimizer<AdamOptions> {
public:
    /// One group of parameters.
    /// @param params the parameters, float leaves
    /// @param options the group's options
    /// @throws rg::Error when params is empty, a parameter is not a defined float leaf or
    /// appears twice, or an option is invalid
    Adam(TensorList params, AdamOptions options = {})
        : Adam(std::vector<ParamGroup<AdamOptions>>{{std::move(params), options}}) {}
    /// Several groups, each with its own options.
    /// @param groups parameter groups, each with its options
    /// @param decoupled decoupled weight decay (AdamW)
    /// @throws rg::Error when a group is empty, a parameter is not a defined float leaf or
    /// appears twice, or an option is invalid
    explicit Adam(std::vector<ParamGroup<AdamOptions>> groups, bool decoupled = false)
        : GroupedOptimizer(std::move(groups), decoupled ? "AdamW" : "Adam"), decoupled_(decoupled) {}
    /// One Adam (or AdamW) update of every parameter from its current .grad
    /// (parameters without a gradient are skipped), as PyTorch 1.13 computes it.
    void step() override;

protected:
    /// exp_avg, exp_avg_sq, and max_exp_avg_sq with amsgrad.
    /// @param group the group
    std::optional<std::vector<StateSpec>> state_specs(std::size_t group) const override;

private:
    bool decoupled_;
};
// Adam with decoupled weight decay (Loshchilov & Hutter); default weight_decay 0.01.
/// Adam with decoupled weight decay (Loshchilov & Hutter), as torch::optim::AdamW;
/// default weight_decay 0.01.
class AdamW : public Adam {
public:
    /// One group of parameters.
    /// @param params the parameters, float leaves
    /// @param options the group's options (weight_decay 0.01 by default)
    /// @throws rg::Error as Adam
    AdamW(TensorList params, AdamOptions options = {.weight_decay = 0.01})
        : Adam(std::vector<ParamGroup<AdamOptions>>{{std::move(params), options}}, true) {}
    /// Several groups, each with its own options (a group's default weight_decay is then AdamOptions's, 0).
    /// @param groups parameter groups, each with its options
    /// @throws rg::Error when a group is empty, a parameter is not a defined float leaf or
    /// appears twice, or an option is invalid
    explicit AdamW(std::vector<ParamGroup<AdamOptions>> groups) : Adam(std::move(groups), true) {}
};

/// RMSprop's options, as torch::optim::RMSpropOptions.
struct RMSpropOptions {
    /// The learning rate, >= 0.
    double lr = 0.01;
    /// The squared gradients' average decay, in [0, 1].
    double alpha = 0.99;
    /// Added to the denominator, >= 0.
    double eps = 1e-8;
    /// L2 penalty added to the gradient, >= 0.
    double weight_decay = 0.0;
    /// The momentum factor, >= 0.
    double momentum = 0.0;
    /// Normalise by the gradient's estimated variance rather than its second moment.
    bool centered = false;
    /// Maximize the objective (PyTorch's maximize): the gradient is negated first,
    /// before the weight decay is added.
    bool maximize = false;
    /// Checks the options.
    /// @param o the options
    /// @param name the optimizer named in the error
    /// @throws rg::Error when lr, eps, momentum or weight_decay is negative, or alpha is outside [0, 1]
    static void validate(const RMSpropOptions& o, const char* name);
};
/// RMSprop (Hinton), as torch::optim::RMSprop.
class RMSprop : public GroupedOptimizer<RMSpropOptions> {
public:
    /// One group of parameters.
    /// @param params the parameters, float leaves
    /// @param options the group's options
    /// @throws rg::Error when params is empty, a parameter is not a defined float leaf or
    /// appears twice, or an option is invalid
    RMSprop(TensorList params, RMSpropOptions options = {})
        : RMSprop(std::vector<ParamGroup<RMSpropOptions>>{{std::move(params), options}}) {}
    /// Several groups, each with its own options.
    /// @param groups parameter groups, each with its options
    /// @throws rg::Error when a group is empty, a parameter is not a defined float leaf or
    /// appears twice, or an option is invalid
    explicit RMSprop(std::vector<ParamGroup<RMSpropOptions>> groups) : GroupedOptimizer(std::move(groups), "RMSprop") {}
    /// One RMSprop update of every parameter from its current .grad (parameters
    /// without a gradient are skipped), as PyTorch 1.13 computes it.
    void step() override;

protected:
    /// The state RMSprop keeps per parameter with the group's options.
    /// @param group the group
    std::optional<std::vector<StateSpec>> state_specs(std::size_t group) const override;
};

/// Adagrad's options, as torch::optim::AdagradOptions.
struct AdagradOptions {
    /// The learning rate, >= 0.
    double lr = 0.01;
    /// The rate's decay: lr / (1 + (step - 1) lr_decay), >= 0.
    double lr_decay = 0.0;
    /// L2 penalty added to the gradient, >= 0.
    double weight_decay = 0.0;
    /// The sum of squares' first value, >= 0.
    double initial_accumulator_value = 0.0;
    /// Added to the denominator, >= 0.
    double eps = 1e-10;
    /// Maximize the objective (PyTorch's maximize): the gradient is negated first,
    /// before the weight decay is added.
    bool maximize = false;
    /// Checks the options.
    /// @param o the options
    /// @param name the optimizer named in the error
    /// @throws rg::Error when an option is negative
    static void validate(const AdagradOptions& o, const char* name);
};
/// Adagrad (Duchi et al.), as torch::optim::Adagrad.
class Adagrad : public GroupedOptimizer<AdagradOptions> {
public:
    /// One group of parameters.
    /// @param params the parameters, float leaves
    /// @param options the group's options
    /// @throws rg::Error when params is empty, a parameter is not a defined float leaf or
    /// appears twice, or an option is invalid
    Adagrad(TensorList params, AdagradOptions options = {})
        : Adagrad(std::vector<ParamGroup<AdagradOptions>>{{std::move(params), options}}) {}
    /// Several groups, each with its own options.
    /// @param groups parameter groups, each with its options
    /// @throws rg::Error when a group is empty, a parameter is not a defined float leaf or
    /// appears twice, or an option is invalid
    explicit Adagrad(std::vector<ParamGroup<AdagradOptions>> groups) : GroupedOptimizer(std::move(groups), "Adagrad") {}
    /// One Adagrad update of every parameter from its current .grad (parameters
    /// without a gradient are skipped), as PyTorch 1.13 computes it.
    void step() override;

protected:
    /// The state Adagrad keeps per parameter with the group's options.
    /// @param group the group
    std::optional<std::vector<StateSpec>> state_specs(std::size_t group) const override;
};

// ---- more adaptive optimizers (nn/src/optim_adaptive.cpp) ----

// Adam with Nesterov momentum (Dozat, 2016) as PyTorch 1.13 computes it,
// including its mu_product, kept in float32.
/// NAdam's options, as torch.optim.NAdam's (1.13).
struct NAdamOptions {
    /// The learning rate, >= 0.
    double lr = 2e-3;
    /// The first moment's decay, in [0, 1).
    double beta1 = 0.9;
    /// The second moment's decay, in [0, 1).
    double beta2 = 0.999;
    /// Added to the denominator, >= 0.
    double eps = 1e-8;
    /// L2 penalty added to the gradient, >= 0.
    double weight_decay = 0.0;  // added to the gradient
    /// ψ of the momentum schedule μ_t = β1 (1 - 0.5 · 0.96^(t ψ)), >= 0.
    double momentum_decay = 4e-3;
    /// Checks the options.
    /// @param o the options
    /// @param name the optimizer named in the error
    /// @throws rg::Error when lr, eps, weight_decay or momentum_decay is negative, or a beta is outside [0, 1)
    static void validate(const NAdamOptions& o, const char* name);
};
/// Adam with Nesterov momentum (Dozat, 2016) as PyTorch 1.13 computes it,
/// including its mu_product, kept in float32 (not in LibTorch's C++ API).
class NAdam : public GroupedOptimizer<NAdamOptions> {
public:
    /// One group of parameters.
    /// @param params the parameters, float leaves
    /// @param options the group's options
    /// @throws rg::Error when params is empty, a parameter is not a defined float leaf or
    /// appears twice, or an option is invalid
    NAdam(TensorList params, NAdamOptions options = {})
        : NAdam(std::vector<ParamGroup<NAdamOptions>>{{std::move(params), options}}) {}
    /// Several groups, each with its own options.
    /// @param groups parameter groups, each with its options
    /// @throws rg::Error when a group is empty, a parameter is not a defined float leaf or
    /// appears twice, or an option is invalid
    explicit NAdam(std::vector<ParamGroup<NAdamOptions>> groups) : GroupedOptimizer(std::move(groups), "NAdam") {}
    /// One NAdam update of every parameter from its current .grad (parameters
    /// without a gradient are skipped), as PyTorch 1.13 computes it.
    void step() override;

protected:
    /// The state NAdam keeps per parameter with the group's options.
    /// @param group the group
    std::optional<std::vector<StateSpec>> state_specs(std::size_t group) const override;

private:
    // The product of the momentum coefficients up to a step count, per parameter: it follows
    // from the step count, so it is not saved, only recomputed after a loaded state.
    std::map<std::pair<std::size_t, std::size_t>, std::pair<std::int64_t, float>> mu_products_;
};

// Rectified Adam (Liu et al., 2019): plain momentum SGD while the variance estimate is unreliable.
/// RAdam's options, as torch.optim.RAdam's (1.13).
struct RAdamOptions {
    /// The learning rate, >= 0.
    double lr = 1e-3;
    /// The first moment's decay, in [0, 1).
    double beta1 = 0.9;
    /// The second moment's decay, in [0, 1).
    double beta2 = 0.999;
    /// Added to the denominator, >= 0.
    double eps = 1e-8;
    /// L2 penalty added to the gradient, >= 0.
    double weight_decay = 0.0;  // added to the gradient
    /// Checks the options.
    /// @param o the options
    /// @param name the optimizer named in the error
    /// @throws rg::Error when lr, eps or weight_decay is negative, or a beta is outside [0, 1)
    static void validate(const RAdamOptions& o, const char* name);
};
/// Rectified Adam (Liu et al., 2019), as torch.optim.RAdam: plain momentum SGD
/// while the variance estimate is unreliable (not in LibTorch's C++ API).
class RAdam : public GroupedOptimizer<RAdamOptions> {
public:
    /// One group of parameters.
    /// @param params the parameters, float leaves
    /// @param options the group's options
    /// @throws rg::Error when params is empty, a parameter is not a defined float leaf or
    /// appears twice, or an option is invalid
    RAdam(TensorList params, RAdamOptions options = {})
        : RAdam(std::vector<ParamGroup<RAdamOptions>>{{std::move(params), options}}) {}
    /// Several groups, each with its own options.
    /// @param groups parameter groups, each with its options
    /// @throws rg::Error when a group is empty, a parameter is not a defined float leaf or
    /// appears twice, or an option is invalid
    explicit RAdam(std::vector<ParamGroup<RAdamOptions>> groups) : GroupedOptimizer(std::move(groups), "RAdam") {}
    /// One RAdam update of every parameter from its current .grad (parameters
    /// without a gradient are skipped), as PyTorch 1.13 computes it.
    void step() override;

protected:
    /// The state RAdam keeps per parameter with the group's options.
    /// @param group the group
    std::optional<std::vector<StateSpec>> state_specs(std::size_t group) const override;
};

// Adam with the infinity norm in place of the second moment (Kingma & Ba, §7.1).
/// Adamax's options, as torch.optim.Adamax's (1.13).
struct AdamaxOptions {
    /// The learning rate, >= 0.
    double lr = 2e-3;
    /// The first moment's decay, in [0, 1).
    double beta1 = 0.9;
    /// The infinity norm's decay, in [0, 1).
    double beta2 = 0.999;
    /// Added to the denominator, >= 0.
    double eps = 1e-8;
    /// L2 penalty added to the gradient, >= 0.
    double weight_decay = 0.0;  // added to the gradient
    /// Maximize the objective (PyTorch's maximize): the gradient is negated first,
    /// before the weight decay is added.
    bool maximize = false;
    /// Checks the options.
    /// @param o the options
    /// @param name the optimizer named in the error
    /// @throws rg::Error when lr, eps or weight_decay is negative, or a beta is outside [0, 1)
    static void validate(const AdamaxOptions& o, const char* name);
};
/// Adam with the infinity norm in place of the second moment (Kingma & Ba, §7.1),
/// as torch.optim.Adamax (not in LibTorch's C++ API).
class Adamax : public GroupedOptimizer<AdamaxOptions> {
public:
    /// One group of parameters.
    /// @param params the parameters, float leaves
    /// @param options the group's options
    /// @throws rg::Error when params is empty, a parameter is not a defined float leaf or
    /// appears twice, or an option is invalid
    Adamax(TensorList params, AdamaxOptions options = {})
        : Adamax(std::vector<ParamGroup<AdamaxOptions>>{{std::move(params), options}}) {}
    /// Several groups, each with its own options.
    /// @param groups parameter groups, each with its options
    /// @throws rg::Error when a group is empty, a parameter is not a defined float leaf or
    /// appears twice, or an option is invalid
    explicit Adamax(std::vector<ParamGroup<AdamaxOptions>> groups) : GroupedOptimizer(std::move(groups), "Adamax") {}
    /// One Adamax update of every parameter from its current .grad (parameters
    /// without a gradient are skipped), as PyTorch 1.13 computes it.
    void step() override;

protected:
    /// The state Adamax keeps per parameter with the group's options.
    /// @param group the group
    std::optional<std::vector<StateSpec>> state_specs(std::size_t group) const override;
};

// ---- Adadelta, Rprop and ASGD (nn/src/optim_more.cpp) ----

/// Adadelta's options, as torch.optim.Adadelta's (1.13).
struct AdadeltaOptions {
    /// The learning rate scaling each delta, >= 0.
    double lr = 1.0;
    /// The decay of both running averages, in [0, 1].
    double rho = 0.9;
    /// Added inside both square roots, >= 0.
    double eps = 1e-6;
    /// L2 penalty added to the gradient, >= 0.
    double weight_decay = 0.0;
    /// Maximize the objective (PyTorch's maximize): the gradient is negated first,
    /// before the weight decay is added.
    bool maximize = false;
    /// Checks the options.
    /// @param o the options
    /// @param name the optimizer named in the error
    /// @throws rg::Error when lr, eps or weight_decay is negative, or rho is outside [0, 1]
    static void validate(const AdadeltaOptions& o, const char* name);
};
/// Adadelta (Zeiler, 2012), as torch.optim.Adadelta: the step is the gradient
/// scaled by the ratio of the running RMS of past steps to that of the gradients.
class Adadelta : public GroupedOptimizer<AdadeltaOptions> {
public:
    /// One group of parameters.
    /// @param params the parameters, float leaves
    /// @param options the group's options
    /// @throws rg::Error when params is empty, a parameter is not a defined float leaf or
    /// appears twice, or an option is invalid
    Adadelta(TensorList params, AdadeltaOptions options = {})
        : Adadelta(std::vector<ParamGroup<AdadeltaOptions>>{{std::move(params), options}}) {}
    /// Several groups, each with its own options.
    /// @param groups parameter groups, each with its options
    /// @throws rg::Error when a group is empty, a parameter is not a defined float leaf or
    /// appears twice, or an option is invalid
    explicit Adadelta(std::vector<ParamGroup<AdadeltaOptions>> groups)
        : GroupedOptimizer(std::move(groups), "Adadelta") {}
    /// One Adadelta update of every parameter from its current .grad (parameters
    /// without a gradient are skipped), as PyTorch 1.13 computes it.
    void step() override;

protected:
    /// square_avg and acc_delta.
    /// @param group the group
    std::optional<std::vector<StateSpec>> state_specs(std::size_t group) const override;
};

/// Rprop's options, as torch.optim.Rprop's (1.13), etas and step_sizes split in two.
struct RpropOptions {
    /// Every element's first step size, >= 0.
    double lr = 0.01;
    /// The step size's factor when the gradient changes sign, in (0, 1).
    double eta_minus = 0.5;
    /// The step size's factor when it keeps its sign, > 1.
    double eta_plus = 1.2;
    /// The smallest step size, >= 0.
    double step_size_min = 1e-6;
    /// The largest step size, >= step_size_min.
    double step_size_max = 50;
    /// Maximize the objective (PyTorch's maximize): the gradient is negated first.
    bool maximize = false;
    /// Checks the options.
    /// @param o the options
    /// @param name the optimizer named in the error
    /// @throws rg::Error when lr is negative, the etas are not 0 < eta_minus < 1 < eta_plus,
    /// or the step sizes are not 0 <= step_size_min <= step_size_max
    static void validate(const RpropOptions& o, const char* name);
};
/// Resilient backpropagation (Riedmiller & Braun, 1993), as torch.optim.Rprop:
/// each element moves by its own step size against the gradient's sign; the
/// size grows while the sign holds and shrinks when it flips (that step is skipped).
class Rprop : public GroupedOptimizer<RpropOptions> {
public:
    /// One group of parameters.
    /// @param params the parameters, float leaves
    /// @param options the group's options
    /// @throws rg::Error when params is empty, a parameter is not a defined float leaf or
    /// appears twice, or an option is invalid
    Rprop(TensorList params, RpropOptions options = {})
        : Rprop(std::vector<ParamGroup<RpropOptions>>{{std::move(params), options}}) {}
    /// Several groups, each with its own options.
    /// @param groups parameter groups, each with its options
    /// @throws rg::Error when a group is empty, a parameter is not a defined float leaf or
    /// appears twice, or an option is invalid
    explicit Rprop(std::vector<ParamGroup<RpropOptions>> groups) : GroupedOptimizer(std::move(groups), "Rprop") {}
    /// One Rprop update of every parameter from its current .grad (parameters
    /// without a gradient are skipped), as PyTorch 1.13 computes it.
    void step() override;

protected:
    /// prev and step_size.
    /// @param group the group
    std::optional<std::vector<StateSpec>> state_specs(std::size_t group) const override;
};

/// ASGD's options, as torch.optim.ASGD's (1.13).
struct ASGDOptions {
    /// The learning rate, >= 0.
    double lr = 0.01;
    /// The decay term: eta = lr / (1 + lambd lr step)^alpha, and p *= 1 - lambd eta.
    double lambd = 1e-4;
    /// The power of eta's decay.
    double alpha = 0.75;
    /// The step after which the average starts (before it, ax is the parameter).
    double t0 = 1e6;
    /// L2 penalty added to the gradient, >= 0.
    double weight_decay = 0.0;
    /// Maximize the objective (PyTorch's maximize): the gradient is negated first,
    /// before the weight decay is added.
    bool maximize = false;
    /// Checks the options.
    /// @param o the options
    /// @param name the optimizer named in the error
    /// @throws rg::Error when lr or weight_decay is negative (PyTorch's checks), or
    /// lambd, alpha or t0 is not finite
    static void validate(const ASGDOptions& o, const char* name);
};
/// Averaged SGD (Polyak & Juditsky, 1992), as torch.optim.ASGD's single-tensor
/// path: SGD with a decaying rate eta, keeping in ax the average of the
/// parameter over the steps after t0. eta and mu are kept rounded to float32, as
/// PyTorch's default-dtype scalar tensors hold them.
class ASGD : public GroupedOptimizer<ASGDOptions> {
public:
    /// One group of parameters.
    /// @param params the parameters, float leaves
    /// @param options the group's options
    /// @throws rg::Error when params is empty, a parameter is not a defined float leaf or
    /// appears twice, or an option is invalid
    ASGD(TensorList params, ASGDOptions options = {})
        : ASGD(std::vector<ParamGroup<ASGDOptions>>{{std::move(params), options}}) {}
    /// Several groups, each with its own options.
    /// @param groups parameter groups, each with its options
    /// @throws rg::Error when a group is empty, a parameter is not a defined float leaf or
    /// appears twice, or an option is invalid
    explicit ASGD(std::vector<ParamGroup<ASGDOptions>> groups) : GroupedOptimizer(std::move(groups), "ASGD") {}
    /// One ASGD update of every parameter from its current .grad (parameters
    /// without a gradient are skipped), as PyTorch 1.13 computes it.
    void step() override;

protected:
    /// ax, and the scalars eta and mu.
    /// @param group the group
    std::optional<std::vector<StateSpec>> state_specs(std::size_t group) const override;
};

// ---- L-BFGS (nn/src/lbfgs.cpp) ----

/// L-BFGS's line search.
enum class LineSearch {
    none,  ///< a fixed step lr (PyTorch's line_search_fn=None)
    strong_wolfe  ///< a line search satisfying the strong Wolfe conditions
};
/// L-BFGS's options, as torch::optim::LBFGSOptions.
struct LBFGSOptions {
    /// The step size, >= 0.
    double lr = 1.0;
    /// Iterations per step(), > 0.
    std::size_t max_iter = 20;  // iterations per step()
    /// Closure calls per step(); 0: max_iter * 5 / 4.
    std::size_t max_eval = 0;  // closure calls per step(); 0: max_iter * 5 / 4
    /// Stop when every gradient element is this small, >= 0.
    double tolerance_grad = 1e-7;  // stop when every gradient element is this small
    /// Stop when the loss or the parameters change less, >= 0.
    double tolerance_change = 1e-9;  // stop when the loss or the parameters change less
    /// Curvature pairs kept, > 0.
    std::size_t history_size = 100;  // curvature pairs kept
    /// The line search, none by default.
    LineSearch line_search_fn = LineSearch::none;
    /// Checks the options.
    /// @param o the options
    /// @param name the optimizer named in the error
    /// @throws rg::Error when lr or a tolerance is negative, or max_iter or history_size is 0
    static void validate(const LBFGSOptions& o, const char* name);
};
// Recomputes the loss (zero_grad, forward, backward) and returns it.
/// Recomputes the loss (zero_grad, forward, backward) and returns it.
using LossClosure = std::function<Tensor()>;
// Limited-memory BFGS (PyTorch's, after minFunc): one group; step(closure)
// calls the closure several times. Its history lives in memory only:
// state_dict() holds none of it, so a resumed LBFGS starts a new history.
/// Limited-memory BFGS (PyTorch's, after minFunc): one group; step(closure)
/// calls the closure several times. Its history lives in memory only:
/// state_dict() holds none of it, so a resumed LBFGS starts a new history.
class LBFGS : public GroupedOptimizer<LBFGSOptions> {
public:
    /// @param params the parameters, float leaves
    /// @param options the options
    /// @throws rg::Error when params is empty, a parameter is not a defined float leaf or
    /// appears twice, or an option is invalid
    LBFGS(TensorList params, LBFGSOptions options = {});
    /// Up to max_iter iterations, each evaluating the closure.
    /// @param closure recomputes the loss and its gradients
    /// @return the loss of the first evaluation
    /// @throws rg::Error when the closure does not return one number
    Tensor step(const LossClosure& closure);  // returns the loss of the first evaluation
    /// Always an error: L-BFGS needs the closure.
    /// @throws rg::Error always
    void step() override;  // an error: L-BFGS needs the closure

protected:
    /// None: L-BFGS saves no per-parameter state.
    /// @param group the group
    std::optional<std::vector<StateSpec>> state_specs(std::size_t group) const override;

private:
    std::vector<double> gather_flat_grad() const;
    void add_to_params(double step_size, const std::vector<double>& direction);
    std::vector<std::vector<double>> old_dirs_, old_stps_;
    std::vector<double> ro_, d_, prev_flat_grad_, al_;
    double t_ = 0, h_diag_ = 1, prev_loss_ = 0;
    std::size_t n_iter_ = 0, func_evals_ = 0;
};

// ---- schedules: call step() once per epoch (or per batch for warm-up) ----
/// The base of learning-rate schedules (torch::optim::LRScheduler): call step()
/// once per epoch (or per batch for warm-up and the cyclic schedules).
class LRScheduler {
public:
    /// Remembers each group's current rate as its base rate.
    /// @param optimizer the optimizer whose rates it sets; must outlive the schedule
    explicit LRScheduler(Optimizer& optimizer);
    virtual ~LRScheduler() = default;
    /// Advances one epoch and sets every group's learning rate.
    void step();  // advances one epoch and sets every group's learning rate
    /// The steps taken so far.
    std::size_t epoch() const { return epoch_; }
    /// A group's current rate.
    /// @param group the group
    double lr(std::size_t group = 0) const { return optimizer_.lr(group); }

protected:
    /// The learning rate at `epoch` for a group whose base rate is base_lr
    /// (a rate, despite the name).
    /// @param epoch the steps taken
    /// @param base_lr the group's base rate
    virtual double factor(std::size_t epoch, double base_lr) const = 0;  // the lr at `epoch`
    // Called by step() after the learning rates are set (the cyclic schedules set the momentum here).
    /// Called by step() after the learning rates are set (the cyclic schedules set the momentum here).
    virtual void after_step(std::size_t /*epoch*/) {}
    /// Whether ChainedScheduler can chain it: true when factor(epoch, base) is base
    /// times a function of the epoch alone, which is what PyTorch's chainable
    /// forms multiply the current rate by, step after step. False by default.
    virtual bool chainable() const { return false; }

private:
    friend class SequentialLR;  // runs its schedules' factor and after_step at its own epochs
    friend class ChainedScheduler;  // multiplies its schedules' factors
    Optimizer& optimizer_;
    std::vector<double> base_lrs_;
    std::size_t epoch_ = 0;
};

/// The rate times gamma every step_size epochs, as torch::optim::StepLR.
class StepLR : public LRScheduler {
public:
    /// @param optimizer the optimizer
    /// @param step_size epochs between decays, > 0
    /// @param gamma the decay factor
    /// @throws rg::Error when step_size is 0
    StepLR(Optimizer& optimizer, std::size_t step_size, double gamma = 0.1);

protected:
    /// base · gamma^⌊epoch / step_size⌋.
    /// @param epoch the steps taken
    /// @param base the base rate
    double factor(std::size_t epoch, double base) const override;
    /// True: base times a factor of the epoch.
    bool chainable() const override { return true; }

private:
    std::size_t step_size_;
    double gamma_;
};

/// The rate times gamma every epoch, as torch::optim::ExponentialLR.
class ExponentialLR : public LRScheduler {
public:
    /// @param optimizer the optimizer
    /// @param gamma the decay factor, > 0
    /// @throws rg::Error when gamma <= 0
    ExponentialLR(Optimizer& optimizer, double gamma);

protected:
    /// base · gamma^epoch.
    /// @param epoch the steps taken
    /// @param base the base rate
    double factor(std::size_t epoch, double base) const override;
    /// True: base times a factor of the epoch.
    bool chainable() const override { return true; }

private:
    double gamma_;
};

/// Cosine annealing to eta_min over t_max epochs, then constant (the closed form;
/// PyTorch's schedule restarts the cosine past t_max).
class CosineAnnealingLR : public LRScheduler {
public:
    /// @param optimizer the optimizer
    /// @param t_max the epochs of the descent, > 0
    /// @param eta_min the final rate
    /// @throws rg::Error when t_max is 0
    CosineAnnealingLR(Optimizer& optimizer, std::size_t t_max, double eta_min = 0.0);

protected:
    /// eta_min + (base - eta_min) (1 + cos(π min(epoch, t_max) / t_max)) / 2.
    /// @param epoch the steps taken
    /// @param base the base rate
    double factor(std::size_t epoch, double base) const override;
    /// With eta_min 0 only: then base times a factor of the epoch.
    bool chainable() const override { return eta_min_ == 0; }

private:
    std::size_t t_max_;
    double eta_min_;
};

// Linear warm-up from start_factor * lr to lr over `steps` steps, then constant.
/// Linear warm-up from start_factor · lr to lr over `steps` steps, then constant
/// (torch's LinearLR with end_factor 1). The rates are set at construction.
class LinearWarmup : public LRScheduler {
public:
    /// @param optimizer the optimizer
    /// @param steps the warm-up's length, > 0
    /// @param start_factor the first rate's fraction of lr, in [0, 1]
    /// @throws rg::Error when steps is 0 or start_factor is outside [0, 1]
    LinearWarmup(Optimizer& optimizer, std::size_t steps, double start_factor = 0.0);

protected:
    /// base (start_factor + (1 - start_factor) min(epoch, steps) / steps).
    /// @param epoch the steps taken
    /// @param base the base rate
    double factor(std::size_t epoch, double base) const override;
    /// True: base times a factor of the epoch.
    bool chainable() const override { return true; }

private:
    std::size_t steps_;
    double start_factor_;
};

// ---- more schedules (nn/src/schedules_extra.cpp) ----

// Multiplies the lr by gamma at each milestone epoch (a milestone listed twice counts twice).
/// The rate times gamma at each milestone epoch (a milestone listed twice counts
/// twice), as torch::optim::MultiStepLR.
class MultiStepLR : public LRScheduler {
public:
    /// @param optimizer the optimizer
    /// @param milestones the epochs at which the rate decays, in any order
    /// @param gamma the decay factor, > 0
    /// @throws rg::Error when gamma <= 0
    MultiStepLR(Optimizer& optimizer, std::vector<std::size_t> milestones, double gamma = 0.1);

protected:
    /// base · gamma^(milestones reached).
    /// @param epoch the steps taken
    /// @param base the base rate
    double factor(std::size_t epoch, double base) const override;
    /// True: base times a factor of the epoch.
    bool chainable() const override { return true; }

private:
    std::vector<std::size_t> milestones_;  // sorted
    double gamma_;
};

/// CyclicLR's amplitude policy, as PyTorch's mode.
enum class CyclicMode {
    triangular,  ///< the same amplitude every cycle
    triangular2,  ///< the amplitude halved each cycle
    exp_range  ///< the amplitude scaled by gamma^step
};
/// CyclicLR's options, as torch.optim.lr_scheduler.CyclicLR's arguments.
struct CyclicLROptions {
    /// The lowest rate (set on every group at construction), >= 0.
    double base_lr = 0.0;  // the lowest lr (set on every group at construction)
    /// The highest rate, >= base_lr.
    double max_lr = 0.0;  // the highest
    /// Steps from base_lr to max_lr, > 0.
    std::size_t step_size_up = 2000;  // steps from base_lr to max_lr
    /// Steps back down; 0: as step_size_up.
    std::size_t step_size_down = 0;  // steps back down; 0: as step_size_up
    /// The amplitude policy.
    CyclicMode mode = CyclicMode::triangular;
    /// exp_range: the amplitude is scaled by gamma^step (> 0).
    double gamma = 1.0;  // exp_range: the amplitude is scaled by gamma^step
    /// Momentum from max_momentum down to base_momentum as the rate rises (SGD, RMSprop).
    bool cycle_momentum = true;  // momentum from max_momentum down to base_momentum as the lr rises (SGD, RMSprop)
    /// The lowest momentum, >= 0.
    double base_momentum = 0.8;
    /// The highest momentum, >= base_momentum.
    double max_momentum = 0.9;
};
// The lr cycles between base_lr and max_lr (Smith, 2017), stepped once per batch.
/// The rate cycles between base_lr and max_lr (Smith, 2017), stepped once per batch.
class CyclicLR : public LRScheduler {
public:
    /// @param optimizer the optimizer (SGD or RMSprop with cycle_momentum)
    /// @param options the cycle
    /// @throws rg::Error when base_lr < 0, max_lr < base_lr, step_size_up is 0, gamma <= 0
    /// in exp_range mode, or cycle_momentum is set for an optimizer without momentum or
    /// with momenta out of order
    CyclicLR(Optimizer& optimizer, CyclicLROptions options);

protected:
    /// The rate at this step of the cycle.
    /// @param epoch the steps taken
    /// @param base unused: the cycle's rates come from the options
    double factor(std::size_t epoch, double base) const override;
    /// Sets the momentum, with cycle_momentum.
    /// @param epoch the steps taken
    void after_step(std::size_t epoch) override;

private:
    double scale(std::size_t epoch, double* phase) const;  // the amplitude's scale; *phase in [0, 1]
    Optimizer& optimizer_;
    CyclicLROptions o_;
};

/// How OneCycleLR moves between its phases' rates.
enum class AnnealStrategy {
    cos,  ///< cosine annealing
    linear  ///< linear annealing
};
/// OneCycleLR's options, as torch.optim.lr_scheduler.OneCycleLR's arguments.
struct OneCycleLROptions {
    /// The highest rate, >= 0.
    double max_lr = 0.0;
    /// The schedule's steps; when 0, epochs · steps_per_epoch.
    std::size_t total_steps = 0;  // or epochs * steps_per_epoch when 0
    /// Epochs, with steps_per_epoch, when total_steps is 0.
    std::size_t epochs = 0;
    /// Steps per epoch, with epochs, when total_steps is 0.
    std::size_t steps_per_epoch = 0;
    /// The share of the steps spent raising the rate, in [0, 1].
    double pct_start = 0.3;  // the share of the steps spent raising the lr
    /// Cosine or linear annealing.
    AnnealStrategy anneal_strategy = AnnealStrategy::cos;
    /// Cycle SGD's and RMSprop's momentum, or beta1 of the Adam family, inversely to the rate.
    bool cycle_momentum = true;  // SGD's and RMSprop's momentum, or beta1 of the Adam family
    /// The lowest momentum.
    double base_momentum = 0.85;
    /// The highest momentum.
    double max_momentum = 0.95;
    /// initial_lr = max_lr / div_factor, > 0.
    double div_factor = 25.0;  // initial_lr = max_lr / div_factor
    /// min_lr = initial_lr / final_div_factor, > 0.
    double final_div_factor = 1e4;  // min_lr = initial_lr / final_div_factor
    /// Up, back down to initial_lr, then down to min_lr.
    bool three_phase = false;  // up, back down to initial_lr, then down to min_lr
};
// The 1cycle policy (Smith & Topin, 2017), stepped once per batch, total_steps times at most.
/// The 1cycle policy (Smith & Topin, 2017), stepped once per batch, total_steps times at most.
class OneCycleLR : public LRScheduler {
public:
    /// @param optimizer the optimizer (with a momentum or beta1 for cycle_momentum)
    /// @param options the cycle
    /// @throws rg::Error when neither total_steps nor epochs and steps_per_epoch are given,
    /// max_lr < 0, pct_start is outside [0, 1], a div factor <= 0, a phase would have no
    /// steps, or cycle_momentum is set for an optimizer without momentum
    OneCycleLR(Optimizer& optimizer, OneCycleLROptions options);

protected:
    /// The rate at this step.
    /// @param epoch the steps taken
    /// @param base unused: the rates come from the options
    /// @throws rg::Error when stepped more than total_steps times
    double factor(std::size_t epoch, double base) const override;
    /// Sets the momentum, with cycle_momentum.
    /// @param epoch the steps taken
    void after_step(std::size_t epoch) override;

private:
    struct Phase {
        double end_step, start_lr, end_lr, start_momentum, end_momentum;
    };
    const Phase& phase_at(std::size_t epoch, double* pct) const;
    double anneal(double start, double end, double pct) const;
    Optimizer& optimizer_;
    OneCycleLROptions o_;
    std::vector<Phase> phases_;
};

// ---- the rest of torch 1.13's epoch schedules (nn/src/schedules_extra.cpp) ----

/// The rate base · lr_lambda(epoch), as torch.optim.lr_scheduler.LambdaLR with
/// one function for every group; the rate of epoch 0 is set at construction.
class LambdaLR : public LRScheduler {
public:
    /// @param optimizer the optimizer
    /// @param lr_lambda the factor of the base rate at each epoch (0 at construction)
    /// @throws rg::Error when lr_lambda is empty
    LambdaLR(Optimizer& optimizer, std::function<double(std::size_t)> lr_lambda);

protected:
    /// base · lr_lambda(epoch).
    /// @param epoch the steps taken
    /// @param base the base rate
    double factor(std::size_t epoch, double base) const override;

private:
    std::function<double(std::size_t)> lr_lambda_;
};

/// The rate multiplied by lr_lambda(epoch) at each step (epochs 1, 2, ...), as
/// torch.optim.lr_scheduler.MultiplicativeLR: base · Π lr_lambda(k) for k = 1..epoch.
class MultiplicativeLR : public LRScheduler {
public:
    /// @param optimizer the optimizer
    /// @param lr_lambda the factor applied at each step
    /// @throws rg::Error when lr_lambda is empty
    MultiplicativeLR(Optimizer& optimizer, std::function<double(std::size_t)> lr_lambda);

protected:
    /// base · Π lr_lambda(k), k = 1..epoch (kept as a running product).
    /// @param epoch the steps taken
    /// @param base the base rate
    double factor(std::size_t epoch, double base) const override;
    /// True: base times a factor of the epoch.
    bool chainable() const override { return true; }

private:
    std::function<double(std::size_t)> lr_lambda_;
    mutable std::size_t product_epoch_ = 0;
    mutable double product_ = 1.0;
};

/// The rate times `factor` for the first total_iters epochs, then the base
/// rate, as torch.optim.lr_scheduler.ConstantLR; set at construction.
class ConstantLR : public LRScheduler {
public:
    /// @param optimizer the optimizer
    /// @param factor the fraction of the base rate, in [0, 1]
    /// @param total_iters the epochs it lasts
    /// @throws rg::Error when factor is outside [0, 1]
    ConstantLR(Optimizer& optimizer, double factor = 1.0 / 3, std::size_t total_iters = 5);

protected:
    /// base · factor before total_iters, base from then on.
    /// @param epoch the steps taken
    /// @param base the base rate
    double factor(std::size_t epoch, double base) const override;
    /// True: base times a factor of the epoch.
    bool chainable() const override { return true; }

private:
    double factor_;
    std::size_t total_iters_;
};

/// The rate's factor going linearly from start_factor to end_factor over
/// total_iters epochs, then constant, as torch.optim.lr_scheduler.LinearLR
/// (LinearWarmup is its end_factor 1); set at construction.
class LinearLR : public LRScheduler {
public:
    /// @param optimizer the optimizer
    /// @param start_factor the factor at epoch 0, in (0, 1]
    /// @param end_factor the factor from total_iters on, in [0, 1]
    /// @param total_iters the epochs of the ramp, > 0
    /// @throws rg::Error when a factor is out of range or total_iters is 0
    LinearLR(Optimizer& optimizer, double start_factor = 1.0 / 3, double end_factor = 1.0, std::size_t total_iters = 5);

protected:
    /// base (start + (end - start) min(epoch, total_iters) / total_iters).
    /// @param epoch the steps taken
    /// @param base the base rate
    double factor(std::size_t epoch, double base) const override;
    /// True: base times a factor of the epoch.
    bool chainable() const override { return true; }

private:
    double start_factor_, end_factor_;
    std::size_t total_iters_;
};

/// The rate decaying as (1 - epoch / total_iters)^power to 0 at total_iters,
/// then 0, as torch.optim.lr_scheduler.PolynomialLR.
class PolynomialLR : public LRScheduler {
public:
    /// @param optimizer the optimizer
    /// @param total_iters the epochs of the decay, > 0
    /// @param power the polynomial's degree, >= 0
    /// @throws rg::Error when total_iters is 0 or power is negative
    PolynomialLR(Optimizer& optimizer, std::size_t total_iters = 5, double power = 1.0);

protected:
    /// base (1 - min(epoch, total_iters) / total_iters)^power.
    /// @param epoch the steps taken
    /// @param base the base rate
    double factor(std::size_t epoch, double base) const override;
    /// True: base times a factor of the epoch.
    bool chainable() const override { return true; }

private:
    std::size_t total_iters_;
    double power_;
};

/// Cosine annealing from the base rate to eta_min over t_0 epochs, then
/// restarting, each period t_mult times the last (SGDR), as
/// torch.optim.lr_scheduler.CosineAnnealingWarmRestarts stepped once per epoch.
class CosineAnnealingWarmRestarts : public LRScheduler {
public:
    /// @param optimizer the optimizer
    /// @param t_0 the first period's epochs, > 0
    /// @param t_mult each period's growth, >= 1
    /// @param eta_min the lowest rate
    /// @throws rg::Error when t_0 or t_mult is 0
    CosineAnnealingWarmRestarts(Optimizer& optimizer, std::size_t t_0, std::size_t t_mult = 1, double eta_min = 0.0);

protected:
    /// eta_min + (base - eta_min)(1 + cos(π t_cur / t_i)) / 2 in the current period.
    /// @param epoch the steps taken
    /// @param base the base rate
    double factor(std::size_t epoch, double base) const override;

private:
    std::size_t t_0_, t_mult_;
    double eta_min_;
};

/// Runs one schedule after another, as torch.optim.lr_scheduler.SequentialLR:
/// schedule i from milestone i - 1 (restarted at its epoch 0) until milestone i.
/// The schedules must outlive it and are stepped through it only; every one
/// starts from the rates the first schedule started from (PyTorch's
/// initial_lr), whichever rates a later one saw at its construction.
class SequentialLR : public LRScheduler {
public:
    /// @param optimizer the optimizer every schedule was built on
    /// @param schedules the schedules, in order (not null)
    /// @param milestones the epochs at which the next schedule starts, one fewer than the
    /// schedules, non-decreasing
    /// @throws rg::Error when a schedule is null or belongs to another optimizer, or the
    /// milestones do not fit the schedules
    SequentialLR(Optimizer& optimizer, std::vector<LRScheduler*> schedules, std::vector<std::size_t> milestones);

protected:
    /// The running schedule's rate at its own epoch.
    /// @param epoch the steps taken
    /// @param base the base rate
    double factor(std::size_t epoch, double base) const override;
    /// The running schedule's after_step (the cyclic schedules' momentum).
    /// @param epoch the steps taken
    void after_step(std::size_t epoch) override;

private:
    // The schedule running at `epoch`, and its own epoch.
    std::pair<LRScheduler*, std::size_t> running(std::size_t epoch) const;
    std::vector<LRScheduler*> schedules_;
    std::vector<std::size_t> milestones_;
};

/// Steps several schedules as one, as torch.optim.lr_scheduler.ChainedScheduler:
/// their effects compose, the rate at epoch e being the first schedule's base
/// rate (PyTorch's initial_lr) times every schedule's factor at e, which is
/// what PyTorch's chainable forms give. Only chainable() schedules qualify:
/// StepLR, MultiStepLR, ExponentialLR, ConstantLR, LinearLR, LinearWarmup,
/// MultiplicativeLR, PolynomialLR, CosineAnnealingLR with eta_min 0, and
/// chains of them. The schedules must outlive it, must not have been stepped,
/// and are stepped through it only.
class ChainedScheduler : public LRScheduler {
public:
    /// @param schedules the schedules, built on the same optimizer (not null, each once)
    /// @throws rg::Error when there is no schedule, one is null, belongs to another
    /// optimizer than the first, appears twice, has been stepped, or is not chainable
    explicit ChainedScheduler(std::vector<LRScheduler*> schedules);

protected:
    /// base · every schedule's factor at `epoch`.
    /// @param epoch the steps taken
    /// @param base the base rate
    double factor(std::size_t epoch, double base) const override;
    /// True: a chain is its base rate times a factor too, so chains chain.
    bool chainable() const override { return true; }

private:
    // The first schedule's optimizer, for the base class (which needs it before the checks).
    static Optimizer& first_optimizer(const std::vector<LRScheduler*>& schedules);
    std::vector<LRScheduler*> schedules_;
};

/// Whether ReduceLROnPlateau's metric should fall or rise.
enum class PlateauMode {
    min,  ///< the metric should fall (a loss)
    max  ///< the metric should rise (an accuracy)
};
/// How ReduceLROnPlateau's threshold measures an improvement.
enum class ThresholdMode {
    rel,  ///< relative: better than best · (1 ∓ threshold)
    abs  ///< absolute: better than best ∓ threshold
};
/// ReduceLROnPlateau's options, as torch::optim::ReduceLROnPlateauScheduler's.
struct ReduceLROnPlateauOptions {
    /// min: the metric should fall (a loss); max: rise (an accuracy).
    PlateauMode mode = PlateauMode::min;  // min: the metric should fall (a loss); max: rise (an accuracy)
    /// new lr = lr · factor, in [0, 1).
    double factor = 0.1;  // new lr = lr * factor
    /// Epochs without improvement tolerated.
    std::size_t patience = 10;  // epochs without improvement tolerated
    /// What counts as an improvement, >= 0.
    double threshold = 1e-4;  // what counts as an improvement
    /// Relative or absolute threshold.
    ThresholdMode threshold_mode = ThresholdMode::rel;
    /// Epochs after a reduction before counting again.
    std::size_t cooldown = 0;  // epochs after a reduction before counting again
    /// The lowest rate, >= 0.
    double min_lr = 0.0;
    /// Changes smaller than eps are not made, >= 0.
    double eps = 1e-8;  // changes smaller than eps are not made
};
// Lowers every group's lr when a metric stops improving; step(metric) once per epoch.
/// Lowers every group's rate when a metric stops improving; step(metric) once per
/// epoch (torch.optim.lr_scheduler.ReduceLROnPlateau).
class ReduceLROnPlateau {
public:
    /// @param optimizer the optimizer; must outlive the schedule
    /// @param options mode, factor, patience, threshold, cooldown, min_lr, eps
    /// @throws rg::Error when factor is outside [0, 1), or threshold, min_lr or eps is negative
    ReduceLROnPlateau(Optimizer& optimizer, ReduceLROnPlateauOptions options = {});
    /// Records one epoch's metric; after more than `patience` epochs without
    /// improvement, multiplies each rate by factor (not below min_lr).
    /// @param metric the epoch's validation loss or accuracy
    void step(double metric);
    /// The best metric so far (±inf before the first step).
    double best() const { return best_; }
    /// Epochs since the last improvement (reset by a reduction and during cooldown).
    std::size_t num_bad_epochs() const { return num_bad_epochs_; }
    /// The steps taken so far.
    std::size_t epoch() const { return last_epoch_; }
    // "best", "num_bad_epochs", "cooldown_counter", "last_epoch": float64 scalars.
    /// "best", "num_bad_epochs", "cooldown_counter", "last_epoch": float64 scalars.
    StateDict state_dict() const;
    /// Loads a state_dict(), validated before anything changes.
    /// @param state what state_dict() returned
    /// @throws rg::Error for a missing or unexpected entry, one not holding one number,
    /// a count that is not a whole number from 0 to 2^53, or a NaN best
    void load_state_dict(const StateDict& state);  // validated before anything changes

private:
    bool is_better(double a) const;
    Optimizer& optimizer_;
    ReduceLROnPlateauOptions o_;
    double best_;
    std::size_t num_bad_epochs_ = 0, cooldown_counter_ = 0, last_epoch_ = 0;
};

// Scales all gradients so their global norm is at most max_norm; returns the
// norm before clipping (as torch.nn.utils.clip_grad_norm_).
/// Scales all gradients so that their global norm is at most max_norm
/// (by max_norm / (norm + 1e-6) when it is above), as torch.nn.utils.clip_grad_norm_.
/// @param params the parameters (those without a gradient are skipped)
/// @param max_norm the largest norm, >= 0
/// @param norm_type p of the p-norm, > 0 (infinity: the largest element)
/// @return the norm before clipping
/// @throws rg::Error when max_norm < 0 or norm_type <= 0
double clip_grad_norm_(const TensorList& params, double max_norm, double norm_type = 2.0);
// Clamps every gradient element into [-clip, clip].
/// Clamps every gradient element into [-clip, clip], as torch.nn.utils.clip_grad_value_.
/// @param params the parameters (those without a gradient are skipped)
/// @param clip the bound, >= 0
/// @throws rg::Error when clip < 0
void clip_grad_value_(const TensorList& params, double clip);

}  // namespace rg::optim
