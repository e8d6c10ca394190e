#!/usr/bin/python3
"""Writes tests/parity/optim/references.txt: PyTorch 1.13's trajectories and
learning-rate sequences that tests/nn_optim_extra_test.cpp compares with
(float64, 17 significant digits). Run with the Python that has torch 1.13:
    /usr/bin/python3 tests/parity/make_optim_references.py
OpenBLAS picks its dot product by CPU, so L-BFGS's lines may come out different
in their last digits on another CPU (the committed ones came from an AVX-512
one); the tests' tolerance (1e-10) holds for either, so keep the committed lines
and add only new ones (git diff should show additions only).
Each line: <case> <step> <name> <values...>."""
import math
import os
import warnings

import torch

warnings.filterwarnings("ignore")
# float64 parameters, but torch's default dtype left at float32: NAdam keeps its
# mu_product in a tensor of the default dtype, and users run it so.
F64 = torch.float64
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "optim", "references.txt")
lines = []


def emit(case, step, name, values):
    lines.append(f"{case} {step} {name} " + " ".join(repr(float(v)) for v in values))


# ---- optimizers on a fixed quadratic, two parameter groups ----
# loss = sum(a * (w - c)^2) + sum(e * (b - d)^2)
A = torch.tensor([1.0, 10.0, 0.1], dtype=F64)
C = torch.tensor([1.0, -2.0, 0.5], dtype=F64)
E = torch.tensor([3.0, 0.5], dtype=F64)
D = torch.tensor([-1.0, 2.0], dtype=F64)


def quadratic(case, make, steps=25, state=(), saddle=False):
    """saddle: the w part of the loss negated, a saddle point that the groups
    reach together when w's maximizes and b's minimizes."""
    w = torch.tensor([0.3, 0.7, -1.2], dtype=F64, requires_grad=True)
    b = torch.tensor([0.25, -0.5], dtype=F64, requires_grad=True)
    opt = make(w, b)
    for s in range(1, steps + 1):
        opt.zero_grad()
        loss = (-1.0 if saddle else 1.0) * (A * (w - C) ** 2).sum() + (E * (b - D) ** 2).sum()
        loss.backward()
        opt.step()
        emit(case, s, "w", w.detach())
        emit(case, s, "b", b.detach())
        for name in state:  # per-parameter state worth comparing on its own (ASGD's average)
            emit(case, s, name + "_w", opt.state[w][name].reshape(-1))
            emit(case, s, name + "_b", opt.state[b][name].reshape(-1))


def groups(first, second):
    return lambda w, b: [dict(params=[w], **first), dict(params=[b], **second)]


O = torch.optim
quadratic("adam_amsgrad", lambda w, b: O.Adam(groups(dict(lr=0.05, weight_decay=0.01, amsgrad=True),
                                                      dict(lr=0.01, betas=(0.8, 0.99)))(w, b), foreach=False))
quadratic("adamw_amsgrad", lambda w, b: O.AdamW(groups(dict(lr=0.05, weight_decay=0.1, amsgrad=True),
                                                        dict(lr=0.01, betas=(0.8, 0.99)))(w, b), foreach=False))
quadratic("nadam", lambda w, b: O.NAdam(groups(dict(lr=0.05, weight_decay=0.01),
                                                dict(lr=0.01, betas=(0.8, 0.99), momentum_decay=0.1))(w, b),
                                         foreach=False))
quadratic("radam", lambda w, b: O.RAdam(groups(dict(lr=0.05, weight_decay=0.01),
                                                dict(lr=0.01, betas=(0.8, 0.99)))(w, b), foreach=False))
quadratic("adamax", lambda w, b: O.Adamax(groups(dict(lr=0.05, weight_decay=0.01),
                                                  dict(lr=0.01, betas=(0.8, 0.99), eps=1e-3))(w, b), foreach=False))

quadratic("adadelta", lambda w, b: O.Adadelta(groups(dict(lr=1.0, weight_decay=0.01),
                                                      dict(lr=0.5, rho=0.8, eps=1e-4))(w, b), foreach=False))
# Growing steps overshoot and flip signs (23 flips in 25 steps); the second group reaches step_size_max.
quadratic("rprop", lambda w, b: O.Rprop(groups(dict(lr=0.05),
                                                dict(lr=0.01, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2)))(w, b),
                                         foreach=False))
# t0 within the run, so that ax averages (mu < 1) after it; eta decays fast with these lambd.
quadratic("asgd", lambda w, b: O.ASGD(groups(dict(lr=0.05, lambd=0.1, weight_decay=0.01, t0=5),
                                              dict(lr=0.01, lambd=0.5, alpha=0.5, t0=10))(w, b), foreach=False),
          state=("ax", "eta", "mu"))

# maximize=True in the first group only, on the saddle: w climbs the negated
# quadratic while b descends its own, so ignoring the flag (or setting it for
# both groups) sends one of them away. The weight decay in the first group
# pins where PyTorch 1.13 negates: the gradient first, before the decay
# (SGD's too, despite its docstring's pseudocode).
def maximizing(case, optimizer, first, second, state=(), **defaults):
    quadratic(case, lambda w, b: optimizer(groups(dict(first, maximize=True), second)(w, b), foreach=False,
                                           **defaults), state=state, saddle=True)


maximizing("sgd_maximize", O.SGD, dict(lr=0.02, momentum=0.9, weight_decay=0.01),
           dict(lr=0.05, momentum=0.5, nesterov=True))
maximizing("adam_maximize", O.Adam, dict(lr=0.05, weight_decay=0.01, amsgrad=True), dict(lr=0.01, betas=(0.8, 0.99)))
maximizing("adamw_maximize", O.AdamW, dict(lr=0.05, weight_decay=0.1), dict(lr=0.01, betas=(0.8, 0.99), amsgrad=True))
maximizing("rmsprop_maximize", O.RMSprop, dict(lr=0.01, weight_decay=0.01, momentum=0.5, centered=True),
           dict(lr=0.01, alpha=0.9))
# initial_accumulator_value for both groups: PyTorch 1.13 fills every group's sum with
# the constructor's value, whatever a group's own says.
maximizing("adagrad_maximize", O.Adagrad, dict(lr=0.1, lr_decay=0.01, weight_decay=0.01), dict(lr=0.2),
           initial_accumulator_value=0.1)
maximizing("adamax_maximize", O.Adamax, dict(lr=0.05, weight_decay=0.01), dict(lr=0.01, betas=(0.8, 0.99), eps=1e-3))
maximizing("adadelta_maximize", O.Adadelta, dict(lr=1.0, weight_decay=0.01), dict(lr=0.5, rho=0.8, eps=1e-4))
maximizing("rprop_maximize", O.Rprop, dict(lr=0.05), dict(lr=0.01, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2)))
maximizing("asgd_maximize", O.ASGD, dict(lr=0.05, lambd=0.1, weight_decay=0.01, t0=5),
           dict(lr=0.01, lambd=0.5, alpha=0.5, t0=10), state=("ax", "eta", "mu"))

# ---- schedules: the lr (and momentum) after construction and after each step ----
def momentum_of(group):
    return group["betas"][0] if "betas" in group else group["momentum"]


def schedule(case, opt, make, steps, momentum=False, metrics=None):
    sched = make(opt)
    for s in range(0, steps + 1):
        if s > 0:
            opt.step()
            sched.step(metrics[s - 1]) if metrics is not None else sched.step()
        emit(case, s, "lr", [g["lr"] for g in opt.param_groups])
        if momentum:
            emit(case, s, "momentum", [momentum_of(g) for g in opt.param_groups])


def sgd(lr=0.1, momentum=0.9):
    p, q = torch.zeros(2, dtype=F64, requires_grad=True), torch.zeros(1, dtype=F64, requires_grad=True)
    return O.SGD([dict(params=[p]), dict(params=[q], lr=lr / 2)], lr=lr, momentum=momentum)


def adam():
    p = torch.zeros(2, dtype=F64, requires_grad=True)
    return O.Adam([p], lr=0.1)


S = O.lr_scheduler
schedule("multistep", sgd(), lambda o: S.MultiStepLR(o, milestones=[3, 7, 7, 12], gamma=0.5), 15)
schedule("cyclic_triangular", sgd(), lambda o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4,
                                                          step_size_down=6), 25, momentum=True)
schedule("cyclic_triangular2", sgd(), lambda o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3,
                                                           mode="triangular2", base_momentum=0.7,
                                                           max_momentum=0.95), 25, momentum=True)
schedule("cyclic_exp_range", sgd(), lambda o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3,
                                                         mode="exp_range", gamma=0.9, cycle_momentum=False), 25)
schedule("onecycle_cos", sgd(), lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=20), 20, momentum=True)
schedule("onecycle_linear_three_phase", adam(),
         lambda o: S.OneCycleLR(o, max_lr=0.1, epochs=4, steps_per_epoch=5, pct_start=0.25, anneal_strategy="linear",
                                three_phase=True, div_factor=10.0, final_div_factor=100.0), 20, momentum=True)
losses = [5.0, 4.0, 4.0, 3.9999, 4.1, 4.2, 3.0, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 2.0, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5]
schedule("plateau_min_rel", sgd(), lambda o: S.ReduceLROnPlateau(o, mode="min", factor=0.5, patience=2, cooldown=1,
                                                                 min_lr=0.004), 20, metrics=losses)
accuracies = [0.1, 0.2, 0.25, 0.28, 0.3, 0.31, 0.5, 0.55, 0.58, 0.6, 0.6, 0.9, 0.95, 0.95, 0.95, 0.96, 0.97, 0.98,
              0.99, 0.99]
schedule("plateau_max_abs", sgd(), lambda o: S.ReduceLROnPlateau(o, mode="max", factor=0.3, patience=1,
                                                                 threshold=0.05, threshold_mode="abs",
                                                                 eps=0.01), 20, metrics=accuracies)

schedule("lambda", sgd(), lambda o: S.LambdaLR(o, lr_lambda=lambda e: 1.0 / (1 + e) + 0.1 * (e % 3)), 12)
schedule("multiplicative", sgd(), lambda o: S.MultiplicativeLR(o, lr_lambda=lambda e: 0.8 if e % 2 else 0.95), 12)
schedule("constant", sgd(), lambda o: S.ConstantLR(o, factor=0.25, total_iters=4), 8)
schedule("linear", sgd(), lambda o: S.LinearLR(o, start_factor=0.25, end_factor=0.75, total_iters=4), 8)
schedule("polynomial", sgd(), lambda o: S.PolynomialLR(o, total_iters=6, power=2.0), 9)
schedule("warm_restarts", sgd(), lambda o: S.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.01), 25)
schedule("warm_restarts_same_period", sgd(), lambda o: S.CosineAnnealingWarmRestarts(o, T_0=4), 13)
schedule("sequential_warmup_cosine", sgd(),
         lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=4),
                                      S.CosineAnnealingLR(o, T_max=8, eta_min=0.001)], milestones=[4]), 12)
schedule("sequential_three", sgd(),
         lambda o: S.SequentialLR(o, [S.ConstantLR(o, factor=0.5, total_iters=2), S.ExponentialLR(o, gamma=0.9),
                                      S.StepLR(o, step_size=2, gamma=0.5)], milestones=[3, 7]), 12)
schedule("sequential_cyclic_momentum", sgd(),
         lambda o: S.SequentialLR(o, [S.ConstantLR(o, factor=0.5, total_iters=10),
                                      S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=2)], milestones=[3]), 10,
         momentum=True)
# ChainedScheduler steps every schedule at each step: their effects multiply.
schedule("chained_constant_exponential", sgd(),
         lambda o: S.ChainedScheduler([S.ConstantLR(o, factor=0.5, total_iters=3), S.ExponentialLR(o, gamma=0.9)]), 10)
schedule("chained_warmup_step", sgd(),
         lambda o: S.ChainedScheduler([S.LinearLR(o, start_factor=0.1, total_iters=4),
                                       S.StepLR(o, step_size=3, gamma=0.5)]), 12)
schedule("chained_warmup_multistep", sgd(),
         lambda o: S.ChainedScheduler([S.LinearLR(o, start_factor=0.25, end_factor=0.75, total_iters=5),
                                       S.MultiStepLR(o, milestones=[2, 6, 6, 9], gamma=0.5)]), 12)
schedule("chained_three", sgd(),
         lambda o: S.ChainedScheduler([S.LinearLR(o, start_factor=0.2, total_iters=4),
                                       S.MultiStepLR(o, milestones=[3, 7], gamma=0.5),
                                       S.ExponentialLR(o, gamma=0.95)]), 12)
# Polynomial reaches 0 at its 8th step and stays there.
schedule("chained_multiplicative_polynomial", sgd(),
         lambda o: S.ChainedScheduler([S.ConstantLR(o, factor=0.5, total_iters=2),
                                       S.MultiplicativeLR(o, lr_lambda=lambda e: 0.9 if e % 2 else 1.05),
                                       S.PolynomialLR(o, total_iters=8, power=2.0)]), 10)
# Within T_max: past it PyTorch's chained cosine restarts, retrograd's stays at its end.
schedule("chained_warmup_cosine", sgd(),
         lambda o: S.ChainedScheduler([S.LinearLR(o, start_factor=0.1, total_iters=3),
                                       S.CosineAnnealingLR(o, T_max=10)]), 10)
schedule("chained_nested", sgd(),
         lambda o: S.ChainedScheduler([S.ChainedScheduler([S.ConstantLR(o, factor=0.5, total_iters=3),
                                                           S.ExponentialLR(o, gamma=0.9)]),
                                       S.MultiStepLR(o, milestones=[4, 7], gamma=0.1)]), 9)

# ---- LBFGS on the Rosenbrock function ----
def lbfgs(case, steps, **options):
    x = torch.tensor([-1.5, 2.0], dtype=F64, requires_grad=True)
    opt = O.LBFGS([x], **options)
    evaluations = [0]

    def closure():
        evaluations[0] += 1
        opt.zero_grad()
        # Products, not powers, as the C++ test writes it: L-BFGS on Rosenbrock amplifies
        # a last-bit difference in the gradient to 1e-5 within a few dozen iterations.
        loss = (1.0 - x[0]) * (1.0 - x[0]) + 100.0 * (x[1] - x[0] * x[0]) * (x[1] - x[0] * x[0])
        loss.backward()
        return loss

    for s in range(1, steps + 1):
        loss = opt.step(closure)
        emit(case, s, "x", x.detach())
        emit(case, s, "loss", [loss.item()])
        emit(case, s, "evaluations", [evaluations[0]])


# Rosenbrock's valley makes L-BFGS sensitive: with the strong Wolfe search, a
# last-bit difference in a loss becomes 1e-6 in the step the cubic
# interpolation picks from the 12th iteration on. The exact comparisons stay
# within the first 10 iterations; a long run is compared loosely.
lbfgs("lbfgs_none", 4, lr=0.1, max_iter=5, history_size=3)
lbfgs("lbfgs_strong_wolfe", 2, lr=1, max_iter=5, history_size=3, line_search_fn="strong_wolfe")
lbfgs("lbfgs_strong_wolfe_max_eval", 1, max_iter=100, max_eval=8, tolerance_grad=1e-5, tolerance_change=1e-9,
      history_size=4, line_search_fn="strong_wolfe")
lbfgs("lbfgs_strong_wolfe_long", 5, lr=1, max_iter=20, history_size=10, line_search_fn="strong_wolfe")

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    f.write(f"# PyTorch {torch.__version__}, written by tests/parity/make_optim_references.py\n")
    f.write("\n".join(lines) + "\n")
print(OUT, len(lines))
