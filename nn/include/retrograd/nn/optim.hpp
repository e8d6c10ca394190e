#pragma once
// Optimizers and learning-rate schedules (namespace rg::optim). Updates follow
// PyTorch's definitions exactly, so the numbers match step for step. Each
// optimizer takes a parameter list with options, or several groups each with
// its own options.
#include <retrograd/tensor.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
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
    // Replaces a group's options (validated first), as schedules that cycle the momentum do.
    void set_options(const Options& o, std::size_t group) {
        Options::validate(o, name().c_str());
        options_.at(group) = o;
    }

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
    bool amsgrad = false;  // divide by the largest second moment so far (Reddi et al., 2018)
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

// ---- more adaptive optimizers (nn/src/optim_adaptive.cpp) ----

// Adam with Nesterov momentum (Dozat, 2016) as PyTorch 1.13 computes it,
// including its mu_product, kept in float32.
struct NAdamOptions {
    double lr = 2e-3;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double weight_decay = 0.0;  // added to the gradient
    double momentum_decay = 4e-3;
    static void validate(const NAdamOptions& o, const char* name);
};
class NAdam : public GroupedOptimizer<NAdamOptions> {
public:
    NAdam(TensorList params, NAdamOptions options = {})
        : NAdam(std::vector<ParamGroup<NAdamOptions>>{{std::move(params), options}}) {}
    explicit NAdam(std::vector<ParamGroup<NAdamOptions>> groups) : GroupedOptimizer(std::move(groups), "NAdam") {}
    void step() override;

protected:
    std::optional<std::vector<StateSpec>> state_specs(std::size_t group) const override;

private:
    // The product of the momentum coefficients up to a step count, per parameter: it follows
    // from the step count, so it is not saved, only recomputed after a loaded state.
    std::map<std::pair<std::size_t, std::size_t>, std::pair<std::int64_t, float>> mu_products_;
};

// Rectified Adam (Liu et al., 2019): plain momentum SGD while the variance estimate is unreliable.
struct RAdamOptions {
    double lr = 1e-3;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double weight_decay = 0.0;  // added to the gradient
    static void validate(const RAdamOptions& o, const char* name);
};
class RAdam : public GroupedOptimizer<RAdamOptions> {
public:
    RAdam(TensorList params, RAdamOptions options = {})
        : RAdam(std::vector<ParamGroup<RAdamOptions>>{{std::move(params), options}}) {}
    explicit RAdam(std::vector<ParamGroup<RAdamOptions>> groups) : GroupedOptimizer(std::move(groups), "RAdam") {}
    void step() override;

protected:
    std::optional<std::vector<StateSpec>> state_specs(std::size_t group) const override;
};

// Adam with the infinity norm in place of the second moment (Kingma & Ba, §7.1).
struct AdamaxOptions {
    double lr = 2e-3;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double weight_decay = 0.0;  // added to the gradient
    static void validate(const AdamaxOptions& o, const char* name);
};
class Adamax : public GroupedOptimizer<AdamaxOptions> {
public:
    Adamax(TensorList params, AdamaxOptions options = {})
        : Adamax(std::vector<ParamGroup<AdamaxOptions>>{{std::move(params), options}}) {}
    explicit Adamax(std::vector<ParamGroup<AdamaxOptions>> groups) : GroupedOptimizer(std::move(groups), "Adamax") {}
    void step() override;

protected:
    std::optional<std::vector<StateSpec>> state_specs(std::size_t group) const override;
};

// ---- L-BFGS (nn/src/lbfgs.cpp) ----

enum class LineSearch { none, strong_wolfe };
struct LBFGSOptions {
    double lr = 1.0;
    std::size_t max_iter = 20;  // iterations per step()
    std::size_t max_eval = 0;  // closure calls per step(); 0: max_iter * 5 / 4
    double tolerance_grad = 1e-7;  // stop when every gradient element is this small
    double tolerance_change = 1e-9;  // stop when the loss or the parameters change less
    std::size_t history_size = 100;  // curvature pairs kept
    LineSearch line_search_fn = LineSearch::none;
    static void validate(const LBFGSOptions& o, const char* name);
};
// Recomputes the loss (zero_grad, forward, backward) and returns it.
using LossClosure = std::function<Tensor()>;
// Limited-memory BFGS (PyTorch's, after minFunc): one group; step(closure)
// calls the closure several times. Its history lives in memory only:
// state_dict() holds none of it, so a resumed LBFGS starts a new history.
class LBFGS : public GroupedOptimizer<LBFGSOptions> {
public:
    LBFGS(TensorList params, LBFGSOptions options = {});
    Tensor step(const LossClosure& closure);  // returns the loss of the first evaluation
    void step() override;  // an error: L-BFGS needs the closure

protected:
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
class LRScheduler {
public:
    explicit LRScheduler(Optimizer& optimizer);
    virtual ~LRScheduler() = default;
    void step();  // advances one epoch and sets every group's learning rate
    std::size_t epoch() const { return epoch_; }
    double lr(std::size_t group = 0) const { return optimizer_.lr(group); }

protected:
    virtual double factor(std::size_t epoch, double base_lr) const = 0;  // the lr at `epoch`
    // Called by step() after the learning rates are set (the cyclic schedules set the momentum here).
    virtual void after_step(std::size_t /*epoch*/) {}

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

// ---- more schedules (nn/src/schedules_extra.cpp) ----

// Multiplies the lr by gamma at each milestone epoch (a milestone listed twice counts twice).
class MultiStepLR : public LRScheduler {
public:
    MultiStepLR(Optimizer& optimizer, std::vector<std::size_t> milestones, double gamma = 0.1);

protected:
    double factor(std::size_t epoch, double base) const override;

private:
    std::vector<std::size_t> milestones_;  // sorted
    double gamma_;
};

enum class CyclicMode { triangular, triangular2, exp_range };
struct CyclicLROptions {
    double base_lr = 0.0;  // the lowest lr (set on every group at construction)
    double max_lr = 0.0;  // the highest
    std::size_t step_size_up = 2000;  // steps from base_lr to max_lr
    std::size_t step_size_down = 0;  // steps back down; 0: as step_size_up
    CyclicMode mode = CyclicMode::triangular;
    double gamma = 1.0;  // exp_range: the amplitude is scaled by gamma^step
    bool cycle_momentum = true;  // momentum from max_momentum down to base_momentum as the lr rises (SGD, RMSprop)
    double base_momentum = 0.8;
    double max_momentum = 0.9;
};
// The lr cycles between base_lr and max_lr (Smith, 2017), stepped once per batch.
class CyclicLR : public LRScheduler {
public:
    CyclicLR(Optimizer& optimizer, CyclicLROptions options);

protected:
    double factor(std::size_t epoch, double base) const override;
    void after_step(std::size_t epoch) override;

private:
    double scale(std::size_t epoch, double* phase) const;  // the amplitude's scale; *phase in [0, 1]
    Optimizer& optimizer_;
    CyclicLROptions o_;
};

enum class AnnealStrategy { cos, linear };
struct OneCycleLROptions {
    double max_lr = 0.0;
    std::size_t total_steps = 0;  // or epochs * steps_per_epoch when 0
    std::size_t epochs = 0;
    std::size_t steps_per_epoch = 0;
    double pct_start = 0.3;  // the share of the steps spent raising the lr
    AnnealStrategy anneal_strategy = AnnealStrategy::cos;
    bool cycle_momentum = true;  // SGD's and RMSprop's momentum, or beta1 of the Adam family
    double base_momentum = 0.85;
    double max_momentum = 0.95;
    double div_factor = 25.0;  // initial_lr = max_lr / div_factor
    double final_div_factor = 1e4;  // min_lr = initial_lr / final_div_factor
    bool three_phase = false;  // up, back down to initial_lr, then down to min_lr
};
// The 1cycle policy (Smith & Topin, 2017), stepped once per batch, total_steps times at most.
class OneCycleLR : public LRScheduler {
public:
    OneCycleLR(Optimizer& optimizer, OneCycleLROptions options);

protected:
    double factor(std::size_t epoch, double base) const override;
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

enum class PlateauMode { min, max };
enum class ThresholdMode { rel, abs };
struct ReduceLROnPlateauOptions {
    PlateauMode mode = PlateauMode::min;  // min: the metric should fall (a loss); max: rise (an accuracy)
    double factor = 0.1;  // new lr = lr * factor
    std::size_t patience = 10;  // epochs without improvement tolerated
    double threshold = 1e-4;  // what counts as an improvement
    ThresholdMode threshold_mode = ThresholdMode::rel;
    std::size_t cooldown = 0;  // epochs after a reduction before counting again
    double min_lr = 0.0;
    double eps = 1e-8;  // changes smaller than eps are not made
};
// Lowers every group's lr when a metric stops improving; step(metric) once per epoch.
class ReduceLROnPlateau {
public:
    ReduceLROnPlateau(Optimizer& optimizer, ReduceLROnPlateauOptions options = {});
    void step(double metric);
    double best() const { return best_; }
    std::size_t num_bad_epochs() const { return num_bad_epochs_; }
    std::size_t epoch() const { return last_epoch_; }
    // "best", "num_bad_epochs", "cooldown_counter", "last_epoch": float64 scalars.
    StateDict state_dict() const;
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
double clip_grad_norm_(const TensorList& params, double max_norm, double norm_type = 2.0);
// Clamps every gradient element into [-clip, clip].
void clip_grad_value_(const TensorList& params, double clip);

}  // namespace rg::optim
