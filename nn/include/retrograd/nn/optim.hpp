#pragma once
// Optimizers and learning-rate schedules (namespace rg::optim). Updates follow
// PyTorch's definitions exactly, so the numbers match step for step. Each
// optimizer takes a parameter list with options, or several groups each with
// its own options.
#include <retrograd/tensor.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rg::optim {

// Per-parameter state (momentum buffers, moments...) plus step counters, by name.
using StateDict = std::map<std::string, Tensor>;

// One tensor an optimizer keeps per parameter, as load_state_dict validates it.
struct StateSpec {
    std::string name;  // e.g. "exp_avg_sq"
    bool non_negative = false;  // a running sum or average of squares
};

// The largest step count a loaded state may hold: 2^53, the last integer a
// double holds exactly (the bias corrections are computed in double).
inline constexpr std::int64_t max_step_count = std::int64_t{1} << 53;
class Optimizer {
public:
    virtual ~Optimizer() = default;
    virtual void step() = 0;  // one update from the current .grad (parameters without a gradient are skipped)
    void zero_grad();
    std::size_t group_count() const { return group_params_.size(); }
    const TensorList& params(std::size_t group = 0) const;
    virtual double lr(std::size_t group = 0) const = 0;
    virtual void set_lr(double lr, std::size_t group) = 0;
    void set_lr(double lr);  // every group
    const std::string& name() const { return name_; }  // "SGD", "Adam", "AdamW"...
    // "optimizer.<name>" (which optimizer wrote it; holds the format version, 1),
    // "state.<group>.<index>.<name>" tensors and "step.<group>.<index>" counters.
    StateDict state_dict() const;
    // Validates every entry before changing anything, and refuses: a state
    // written by another optimizer (or one that does not say), entries this
    // optimizer with these options does not keep or that are missing, wrong
    // shapes, integer dtypes, NaN or infinite values, negative sums of squares,
    // and step counts that are not whole numbers from 1 to max_step_count.
    // The tensors are copied, never shared with `state`.
    void load_state_dict(const StateDict& state);

protected:
    // Refuses an empty group, non-float or non-leaf tensors, and a parameter
    // passed twice (in one group or across groups), naming its index.
    void add_group(TensorList params, const char* optimizer);
    // The tensors kept for each parameter of `group` with its current options,
    // which load_state_dict requires exactly. Optimizers defined outside
    // retrograd may leave the default (nothing declared: any names accepted).
    virtual std::optional<std::vector<StateSpec>> state_specs(std::size_t group) const;
    // The named state tensor of a parameter, created as zeros on first use.
    Tensor& state(std::size_t group, std::size_t index, const std::string& name);
    std::int64_t& steps(std::size_t group, std::size_t index);

private:
    std::string name_;
    std::vector<TensorList> group_params_;
    std::map<std::string, Tensor> state_;
    std::map<std::string, std::int64_t> steps_;
};

template <class Options> struct ParamGroup {
    TensorList params;
    Options options;
};

// A helper that stores the options of each group.
template <class Options> class GroupedOptimizer : public Optimizer {
public:
    double lr(std::size_t group = 0) const override { return options_.at(group).lr; }
    void set_lr(double lr, std::size_t group) override { options_.at(group).lr = lr; }
    using Optimizer::set_lr;
    const Options& options(std::size_t group = 0) const { return options_.at(group); }

protected:
    GroupedOptimizer(std::vector<ParamGroup<Options>> groups, const char* name) {
        for (auto& g : groups) {
            Options::validate(g.options, name);
            add_group(g.params, name);
            options_.push_back(g.options);
        }
    }
    std::vector<Options> options_;
};

struct SGDOptions {
    double lr = 0.01;
    double momentum = 0.0;
    double dampening = 0.0;
    double weight_decay = 0.0;
    bool nesterov = false;
    static void validate(const SGDOptions& o, const char* name);
};
class SGD : public GroupedOptimizer<SGDOptions> {
public:
    SGD(TensorList params, SGDOptions options = {})
        : SGD(std::vector<ParamGroup<SGDOptions>>{{std::move(params), options}}) {}
    explicit SGD(std::vector<ParamGroup<SGDOptions>> groups) : GroupedOptimizer(std::move(groups), "SGD") {}
    void step() override;

protected:
    std::optional<std::vector<StateSpec>> state_specs(std::size_t group) const override;
};

struct AdamOptions {
    double lr = 1e-3;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double weight_decay = 0.0;  // Adam: added to the gradient; AdamW: decoupled
    static void validate(const AdamOptions& o, const char* name);
};
class Adam : public GroupedOptimizer<AdamOptions> {
public:
    Adam(TensorList params, AdamOptions options = {})
        : Adam(std::vector<ParamGroup<AdamOptions>>{{std::move(params), options}}) {}
    explicit Adam(std::vector<ParamGroup<AdamOptions>> groups, bool decoupled = false)
        : GroupedOptimizer(std::move(groups), decoupled ? "AdamW" : "Adam"), decoupled_(decoupled) {}
    void step() override;

protected:
    std::optional<std::vector<StateSpec>> state_specs(std::size_t group) const override;

private:
    bool decoupled_;
};
// Adam with decoupled weight decay (Loshchilov & Hutter); default weight_decay 0.01.
class AdamW : public Adam {
public:
    AdamW(TensorList params, AdamOptions options = {.weight_decay = 0.01})
        : Adam(std::vector<ParamGroup<AdamOptions>>{{std::move(params), options}}, true) {}
    explicit AdamW(std::vector<ParamGroup<AdamOptions>> groups) : Adam(std::move(groups), true) {}
};

struct RMSpropOptions {
    double lr = 0.01;
    double alpha = 0.99;
    double eps = 1e-8;
    double weight_decay = 0.0;
    double momentum = 0.0;
    bool centered = false;
    static void validate(const RMSpropOptions& o, const char* name);
};
class RMSprop : public GroupedOptimizer<RMSpropOptions> {
public:
    RMSprop(TensorList params, RMSpropOptions options = {})
        : RMSprop(std::vector<ParamGroup<RMSpropOptions>>{{std::move(params), options}}) {}
    explicit RMSprop(std::vector<ParamGroup<RMSpropOptions>> groups) : GroupedOptimizer(std::move(groups), "RMSprop") {}
    void step() override;

protected:
    std::optional<std::vector<StateSpec>> state_specs(std::size_t group) const override;
};

struct AdagradOptions {
    double lr = 0.01;
    double lr_decay = 0.0;
    double weight_decay = 0.0;
    double initial_accumulator_value = 0.0;
    double eps = 1e-10;
    static void validate(const AdagradOptions& o, const char* name);
};
class Adagrad : public GroupedOptimizer<AdagradOptions> {
public:
    Adagrad(TensorList params, AdagradOptions options = {})
        : Adagrad(std::vector<ParamGroup<AdagradOptions>>{{std::move(params), options}}) {}
    explicit Adagrad(std::vector<ParamGroup<AdagradOptions>> groups) : GroupedOptimizer(std::move(groups), "Adagrad") {}
    void step() override;

protected:
    std::optional<std::vector<StateSpec>> state_specs(std::size_t group) const override;
};

// ---- schedules: call step() once per epoch (or per batch for warm-up) ----
class LRScheduler {
public:
    explicit LRScheduler(Optimizer& optimizer);
    virtual ~LRScheduler() = default;
    void step();  // advances one epoch and sets every group's learning rate
    std::size_t epoch() const { return epoch_; }
    double lr(std::size_t group = 0) const { return optimizer_.lr(group); }

protected:
    virtual double factor(std::size_t epoch, double base_lr) const = 0;  // the lr at `epoch`

private:
    Optimizer& optimizer_;
    std::vector<double> base_lrs_;
    std::size_t epoch_ = 0;
};

class StepLR : public LRScheduler {
public:
    StepLR(Optimizer& optimizer, std::size_t step_size, double gamma = 0.1);

protected:
    double factor(std::size_t epoch, double base) const override;

private:
    std::size_t step_size_;
    double gamma_;
};

class ExponentialLR : public LRScheduler {
public:
    ExponentialLR(Optimizer& optimizer, double gamma);

protected:
    double factor(std::size_t epoch, double base) const override;

private:
    double gamma_;
};

class CosineAnnealingLR : public LRScheduler {
public:
    CosineAnnealingLR(Optimizer& optimizer, std::size_t t_max, double eta_min = 0.0);

protected:
    double factor(std::size_t epoch, double base) const override;

private:
    std::size_t t_max_;
    double eta_min_;
};

// Linear warm-up from start_factor * lr to lr over `steps` steps, then constant.
class LinearWarmup : public LRScheduler {
public:
    LinearWarmup(Optimizer& optimizer, std::size_t steps, double start_factor = 0.0);

protected:
    double factor(std::size_t epoch, double base) const override;

private:
    std::size_t steps_;
    double start_factor_;
};

// Scales all gradients so their global norm is at most max_norm; returns the
// norm before clipping (as torch.nn.utils.clip_grad_norm_).
double clip_grad_norm_(const TensorList& params, double max_norm, double norm_type = 2.0);
// Clamps every gradient element into [-clip, clip].
void clip_grad_value_(const TensorList& params, double clip);

}  // namespace rg::optim
