"""Hidden-parameter dynamics: an encoder infers a system's hidden parameter from one trajectory, and a
head steps (x, v, z) -> (x', v') = (x, v) + head(x, v, z) recurrently on another trajectory of the
same system. (Predicting the change keeps long rollouts of a freshly initialised head stable.)

Two systems share all of it and differ only in their exact solution: constant acceleration `a`
(kinematics) and the harmonic oscillator with hidden `omega**2` (sho). The EQL head should learn the
one-step update, so its rollouts stay right far beyond the horizon it was trained on; an MLP in the
same place is the comparison.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
import sympy
import torch
from matplotlib.figure import Figure
from torch import nn

from eqlearn.demos.heads import HEADS, HeadTraining, make_head, sparsity_loss
from eqlearn.demos.report import prepare_run_dir, write_run
from eqlearn.demos.threads import torch_threads
from eqlearn.eql.training import train
from eqlearn.errors import UserInputError
from eqlearn.symbolic import clean_expression, to_string
from eqlearn.vocabulary.formula import parse_formula

STATE = ("x", "v")
HEAD_INPUTS = (*STATE, "z")


@dataclass(frozen=True)
class HiddenParameterSystem:
    """A 1-D system with one hidden parameter `p ~ U(low, high)` per instance and an exact solution.

    `reference` is the true one-step update (to second order in dt) in `x, v, dt` and `parameter`.
    `train_horizon` is the default rollout length in training: an oscillator's phase error from a
    slightly wrong omega**2 grows with time, so longer rollouts make the encoder's estimate sharper
    (measured: with 10 steps the EQL lost to the MLP beyond the horizon in one seed of three).
    """

    parameter: str
    low: float
    high: float
    solve: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
    reference: tuple[str, str]
    train_horizon: int


def _constant_acceleration(x0, v0, a, t):
    return x0 + v0 * t + a * t**2 / 2, v0 + a * t


def _harmonic_oscillator(x0, v0, omega2, t):
    omega = omega2.sqrt()
    cos, sin = torch.cos(omega * t), torch.sin(omega * t)
    return x0 * cos + v0 / omega * sin, -x0 * omega * sin + v0 * cos


SYSTEMS = {
    "kinematics": HiddenParameterSystem("a", -1.0, 1.0, _constant_acceleration,
                                        ("x + dt*v + dt**2*a/2", "v + dt*a"), train_horizon=10),
    "sho": HiddenParameterSystem("omega**2", 0.5, 2.0, _harmonic_oscillator,
                                 ("x + dt*v - dt**2*omega**2*x/2", "v - dt*omega**2*x - dt**2*omega**2*v/2"),
                                 train_horizon=20),
}


#: The names the systems' formulas are written in.
_SYMBOLS = {name: sympy.Symbol(name) for name in ("x", "v", "dt", "a", "omega")}


def _formula(text: str) -> sympy.Expr:
    """A system's parameter or reference update, written as text above, as sympy."""
    return parse_formula(text, _SYMBOLS, what="system formula")


@dataclass
class DynamicsConfig(HeadTraining):
    """Everything that defines a run; saved in `metrics.json` so the run can be repeated."""

    epochs: int = 100
    sparsity: float = 1e-5
    prune_threshold: float = 1e-3
    system: str = "kinematics"
    train_systems: int = 4096
    test_systems: int = 512
    dt: float = 0.1
    encoder_steps: int = 32
    train_horizon: int | None = None  # rollout steps in training; None: the system's own (SYSTEMS)
    test_horizon: int = 60
    larger_start: float = 3.0
    units: dict[str, int] = field(default_factory=lambda: {"constant": 1, "identity": 3, "product": 3})
    init_scale: float = 0.3


@dataclass
class Trajectories:
    """Per system: the hidden parameter [n], the trajectory the encoder reads [n, 2, encoder_steps]
    and an independent trajectory to predict [n, horizon + 1, 2] (its first state is given)."""

    parameter: torch.Tensor
    observed: torch.Tensor
    target: torch.Tensor


def simulate(
    system: HiddenParameterSystem, n: int, steps: int, config: DynamicsConfig, generator: torch.Generator,
    start_scale: float = 1.0,
) -> Trajectories:
    """`n` systems with random hidden parameters and standard-normal initial states (those of the
    trajectory to predict multiplied by `start_scale`, to test states outside the trained range)."""
    parameter = system.low + (system.high - system.low) * torch.rand(n, 1, generator=generator)

    def trajectory(length: int, scale: float) -> torch.Tensor:
        x0, v0 = scale * torch.randn(2, n, 1, generator=generator)
        t = config.dt * torch.arange(length, dtype=torch.float32)
        return torch.stack(system.solve(x0, v0, parameter, t), dim=-1)  # [n, length, 2]

    observed = trajectory(config.encoder_steps, 1.0).transpose(1, 2)
    return Trajectories(parameter.squeeze(1), observed, trajectory(steps + 1, start_scale))


def trajectory_encoder(steps: int) -> nn.Module:
    """A 1-D CNN over the (x, v) channels of a trajectory to one standardised latent z."""
    return nn.Sequential(
        nn.Conv1d(2, 16, 5), nn.ReLU(),
        nn.Conv1d(16, 16, 5), nn.ReLU(), nn.Flatten(),
        nn.Linear(16 * (steps - 8), 64), nn.ReLU(),
        nn.Linear(64, 1), nn.BatchNorm1d(1, affine=False),
    )


class HiddenParameterDynamics(nn.Module):
    """Encoder gives z from one trajectory; the head applied recurrently rolls another one out."""

    def __init__(self, head: nn.Module, encoder_steps: int):
        super().__init__()
        self.encoder = trajectory_encoder(encoder_steps)
        self.head = head

    def forward(self, observed: torch.Tensor, initial_state: torch.Tensor, steps: int) -> torch.Tensor:
        """Predicted states [n, steps, 2] after `initial_state` [n, 2]."""
        z = self.encoder(observed)
        states, state = [], initial_state
        for _ in range(steps):
            state = state + self.head(torch.cat([state, z], dim=-1))
            states.append(state)
        return torch.stack(states, dim=1)


def train_dynamics(kind: str, data: Trajectories, config: DynamicsConfig, progress: bool = True) -> HiddenParameterDynamics:
    """Train encoder and `kind` head end-to-end on `train_horizon`-step rollouts."""
    torch.manual_seed(config.seed)
    model = HiddenParameterDynamics(make_head(kind, len(HEAD_INPUTS), len(STATE), config.units, config.init_scale), config.encoder_steps)
    generator = torch.Generator().manual_seed(config.seed)
    horizon = config.train_horizon

    def batches():
        return torch.randperm(len(data.parameter), generator=generator).split(config.batch_size)

    def objective(index, regularization):
        target = data.target[index]
        predicted = model(data.observed[index], target[:, 0], horizon)
        mse = torch.mean((predicted - target[:, 1: horizon + 1]) ** 2)
        return mse + sparsity_loss(model, config.sparsity, regularization), {"loss": mse.item()}

    phases = config.phases(kind)
    train(model, objective, batches, phases, progress=progress)
    return model.eval()


@torch.no_grad()
def rollout_error(model: HiddenParameterDynamics, data: Trajectories) -> np.ndarray:
    """Root-mean-square state error [steps] over all systems, at every step of the test horizon."""
    steps = data.target.shape[1] - 1
    predicted = model(data.observed, data.target[:, 0], steps)
    return (predicted - data.target[:, 1:]).pow(2).mean(dim=(0, 2)).sqrt().numpy()


@torch.no_grad()
def latents(model: HiddenParameterDynamics, data: Trajectories) -> np.ndarray:
    return model.encoder(data.observed).squeeze(1).numpy()


def update_equations(model: HiddenParameterDynamics, threshold: float) -> list[sympy.Expr]:
    """The learned step (x', v') as formulas of x, v and the latent z."""
    changes = model.head.to_sympy(list(HEAD_INPUTS), threshold=threshold)
    return [sympy.Symbol(name) + change for name, change in zip(STATE, changes)]


def in_physical_terms(equations: list[sympy.Expr], parameter: str, z: np.ndarray, p: np.ndarray, threshold: float) -> list[sympy.Expr]:
    """Replace z by the parameter through the least-squares line z = (p - c0) / c1 (for reading only)."""
    c1, c0 = np.polyfit(z, p, 1)
    substitution = {sympy.Symbol("z"): (_formula(parameter) - c0) / c1}
    return [clean_expression(e.subs(substitution), drop_below=threshold) for e in equations]


def run(config: DynamicsConfig, out: str | Path, progress: bool = True) -> dict:
    """Train EQL and MLP models, measure latent correlation and rollout error, write the run folder."""
    if config.system not in SYSTEMS:
        raise ValueError(f"unknown system {config.system!r}; choose from {', '.join(SYSTEMS)}")
    system = SYSTEMS[config.system]
    if config.train_horizon is None:
        config = replace(config, train_horizon=system.train_horizon)
    if config.test_horizon <= config.train_horizon:
        raise UserInputError(f"test_horizon ({config.test_horizon}) must exceed the trained horizon "
                             f"({config.train_horizon}): the error beyond it is what the demo measures")
    out = prepare_run_dir(out, config.system)
    generator = torch.Generator().manual_seed(config.seed)
    fit = simulate(system, config.train_systems, config.train_horizon, config, generator)
    test = simulate(system, config.test_systems, config.test_horizon, config, generator)
    larger = simulate(system, config.test_systems, config.test_horizon, config, generator, config.larger_start)
    with torch_threads(config.threads):
        models = {kind: train_dynamics(kind, fit, config, progress) for kind in HEADS}
    errors = {kind: rollout_error(model, test) for kind, model in models.items()}
    larger_errors = {kind: rollout_error(model, larger) for kind, model in models.items()}
    z, z_fit = latents(models["eql"], test), latents(models["eql"], fit)
    k = config.train_horizon
    equations = update_equations(models["eql"], config.prune_threshold)
    physical = in_physical_terms(equations, system.parameter, z_fit, fit.parameter.numpy(), config.prune_threshold)
    reference = [clean_expression(_formula(e).subs(_SYMBOLS["dt"], config.dt), drop_below=1e-6) for e in system.reference]
    metrics = {
        "hidden_parameter": system.parameter,
        "latent_correlation": float(np.corrcoef(z, test.parameter.numpy())[0, 1]),
        "update": _named(equations),
        "update_in_parameter": _named(physical),
        "true_update": _named(reference),
        "rmse": {kind: {"within_horizon": float(np.sqrt(np.mean(e[:k] ** 2))),
                        "beyond_horizon": float(np.sqrt(np.mean(e[k:] ** 2))),
                        "larger_start": float(np.sqrt(np.mean(larger_errors[kind] ** 2)))} for kind, e in errors.items()},
        "rmse_by_step": {kind: e.tolist() for kind, e in errors.items()},
    }
    figures = {
        "latent": _latent_figure(z, test.parameter.numpy(), system.parameter, metrics["latent_correlation"]),
        "rollout": _rollout_figure(models, test, errors, k, config.dt),
    }
    parts = {"update": "learned, in the latent z", "update_in_parameter": f"learned, z mapped to {system.parameter}",
             "true_update": "true (to second order in dt)"}
    lines = [f"{label}: {name} = {expr}" for part, label in parts.items() for name, expr in metrics[part].items()]
    write_run(out, config.system, config, metrics, lines, figures)
    return metrics


def _named(equations: list[sympy.Expr]) -> dict[str, str]:
    return {f"{name}'": to_string(e) for name, e in zip(STATE, equations)}


def summary(metrics: dict) -> list[str]:
    rmse = metrics["rmse"]
    return [
        f"corr(z, {metrics['hidden_parameter']}) = {metrics['latent_correlation']:.3f}",
        *[f"learned {name} = {expr}" for name, expr in metrics["update_in_parameter"].items()],
        f"rollout RMSE beyond the trained horizon (EQL / MLP): "
        f"{rmse['eql']['beyond_horizon']:.3g} / {rmse['mlp']['beyond_horizon']:.3g}",
        f"rollout RMSE from larger initial states (EQL / MLP): "
        f"{rmse['eql']['larger_start']:.3g} / {rmse['mlp']['larger_start']:.3g}",
    ]


def _latent_figure(z: np.ndarray, parameter: np.ndarray, name: str, correlation: float) -> Figure:
    figure = Figure(figsize=(4.5, 4))
    ax = figure.subplots()
    ax.scatter(parameter, z, s=5, alpha=0.6)
    ax.set(xlabel=f"hidden parameter ${sympy.latex(_formula(name))}$ (never shown in training)",
           ylabel="encoder latent z", title=f"correlation {correlation:.3f}")
    return figure


def _rollout_figure(models, test: Trajectories, errors, horizon: int, dt: float) -> Figure:
    figure = Figure(figsize=(10, 4))
    left, right = figure.subplots(1, 2)
    t = dt * np.arange(test.target.shape[1])
    left.plot(t, test.target[0, :, 0], "k", lw=2, label="true")
    for kind, model in models.items():
        with torch.no_grad():
            predicted = model(test.observed[:1], test.target[:1, 0], len(t) - 1)[0, :, 0]
        left.plot(t[1:], predicted, "--", label=kind.upper())
    left.set(xlabel="time", ylabel="position x", title="one test system")
    for kind, e in errors.items():
        right.semilogy(t[1:], e, label=kind.upper())
    right.set(xlabel="time", ylabel="state RMSE over test systems", title="rollout error")
    for ax in (left, right):
        ax.axvline(horizon * dt, color="0.5", ls=":", label="trained horizon")
        ax.legend()
    return figure
