"""Per-particle properties the data do not carry, learned with the law (docs/design.md §1).

A system observed without masses still obeys Newton's third law: with pairwise forces the total
force vanishes, Σ_i m_i a_i = 0 at every instant. That is linear in the masses, so the observed
accelerations alone fix every system's mass ratios (up to one scale per system) before any law
is known; they start the learned masses, which then train jointly with the law. The law and the
masses are determined only up to one common scale: one reference particle's mass is fixed at 1.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from eqlearn.errors import UserInputError

#: A particle's momentum estimate is trusted (kept through training, up to its system's scale) when
#: its estimated relative error is below this; the others are learned with the law from the start
#: (a moon beside its planet: the momentum balance holds it only as well as the noise on the
#: heaviest body's tiny motion allows). Not 1 %: on DE421 with noise of 1e-9 au, training then took
#: the Moon and Neptune from 23 % and 0.1 % off to 4x and 3x, which the final fit did not undo.
MASS_UNCERTAINTY = 0.1
#: Weight of `LearnedMasses.drift` in the training loss: small against the force error, which it
#: biases by ~1e-4; the final joint fit has no such term.
MASS_DRIFT_PENALTY = 1e-3


@dataclass
class MomentumEstimate:
    """Mass ratios from momentum conservation, and how far each is to be believed."""

    masses: np.ndarray  # [S, n], the heaviest of each system 1 (1 for all where momentum fixes none)
    errors: np.ndarray  # [S, n] estimated relative standard errors (inf: momentum says nothing)

    @property
    def trusted(self) -> np.ndarray:
        """[S, n] bool: the estimates training keeps (up to each system's scale)."""
        return self.errors < MASS_UNCERTAINTY


def masses_from_momentum(accelerations: np.ndarray) -> MomentumEstimate:
    """Mass ratios [S, n] and their relative errors from accelerations [S, T, n, d] by Σ_i m_i a_i = 0
    (or weak targets in units of their error, `weak_form.momentum_targets`).

    Per system, the masses are the null vector of the [T·d, n] matrix of accelerations (its
    smallest right singular vector), each entry with its first-order standard error
    (`_null_vector_errors`), which grows where the null direction is not separated from the next
    (noise, too few states, external forces, or two bodies whose split the noise hides, as a planet
    and its moon). Positive entries known to MASS_UNCERTAINTY are trusted; other positive entries
    keep their estimate and its error; a non-positive one starts at the geometric mean of the
    trusted ones, error inf. A system with fewer than two trusted entries starts from equal masses.
    """
    accelerations = np.asarray(accelerations, dtype=np.float64)
    systems, _, n, _ = accelerations.shape
    estimate = MomentumEstimate(np.ones((systems, n)), np.full((systems, n), np.inf))
    for s in range(systems):
        matrix = np.moveaxis(accelerations[s], 1, -1).reshape(-1, n)  # rows (t, axis), columns particles
        if matrix.shape[0] < n or not np.all(np.isfinite(matrix)):
            continue
        columns = np.linalg.norm(matrix, axis=0).clip(1e-300)  # each particle's scale, for conditioning
        _, singular, right = np.linalg.svd(matrix / columns, full_matrices=False)
        null = right[-1] * np.sign(right[-1].sum())
        positive = null > 0
        errors = np.where(positive, _null_vector_errors(singular, right, matrix.shape[0]) / np.abs(null), np.inf)
        trusted = errors < MASS_UNCERTAINTY
        if trusted.sum() < 2:
            continue
        masses = null / columns
        masses[~positive] = np.exp(np.log(masses[trusted]).mean())
        estimate.masses[s], estimate.errors[s] = masses / masses.max(), errors
    return estimate


def _null_vector_errors(singular: np.ndarray, right: np.ndarray, rows: int) -> np.ndarray:
    """First-order standard errors [n] of the entries of the null vector right[-1] of a [rows, n]
    matrix whose entries carry independent noise of one size σ (total least squares): the smallest
    eigenvector of MᵀM moves by Σ_k v_k s_k N(0, σ²) / (s_k² - s_min²) over the other singular
    pairs, with σ² ≈ s_min² / (rows - n + 1). A next singular value close to the smallest makes
    the entries it touches uncertain."""
    variance = singular[-1] ** 2 / max(rows - len(singular) + 1, 1)
    gaps = np.clip(singular[:-1] ** 2 - singular[-1] ** 2, 1e-300, None)
    spread = (right[:-1] ** 2 * (singular[:-1] ** 2 / gaps**2)[:, None]).sum(axis=0)
    return np.sqrt(variance * spread)


class LearnedMasses(nn.Module):
    """One positive mass per particle of every system, learned with the law.

    log m[s, i] = log m0[s, i] + scale[s] + correction[s, i]: m0 the momentum estimate. Where it
    is trusted, training learns only each system's scale (which momentum cannot give) and the
    corrections stay 0: a law still wrong early in training would otherwise drag single masses
    towards zero, whence their gradient vanishes; the final joint fit (`eqlearn.readout.polish`) frees
    every mass once the law's form is known, each held to the momentum estimate as firmly as its
    `errors` allow. Particles whose estimate is not trusted (relative error ≥ MASS_UNCERTAINTY, or
    untrusted systems: errors inf, the default) learn their masses with the law.
    The law and the masses share one scale that the data cannot fix; it stays free in training (a
    flat direction the optimiser leaves alone) and is fixed only in the report: masses in units of
    the `reference` = (system, particle) mass (`in_reference_units`).
    """

    def __init__(self, initial: np.ndarray, reference: tuple[int, int], errors: np.ndarray | None = None):
        super().__init__()
        initial = torch.as_tensor(np.asarray(initial, dtype=np.float64))
        if initial.ndim != 2 or not torch.all(initial > 0):
            raise UserInputError("initial masses must be a positive [systems, particles] array")
        errors = np.full(initial.shape, np.inf) if errors is None else np.asarray(errors, dtype=np.float64)
        self.register_buffer("log_initial", initial.log().float())
        self.register_buffer("momentum_errors", torch.as_tensor(np.broadcast_to(errors, initial.shape).copy()))
        self.register_buffer("corrected", (self.momentum_errors >= MASS_UNCERTAINTY).float())
        self.scale = nn.Parameter(torch.zeros(initial.shape[0], 1))
        self.correction = nn.Parameter(torch.zeros_like(self.log_initial))
        self.reference = reference

    def momentum_prior(self) -> tuple[np.ndarray, np.ndarray]:
        """(log mass ratios [S, n] of the momentum estimate, their relative errors [S, n]; inf where
        momentum says nothing): what the data say of the masses before any law, for the final
        joint fit (`readout.polish`) to weigh against what the law's fit says."""
        return self.log_initial.double().numpy(), self.momentum_errors.numpy()

    def drift(self) -> torch.Tensor:
        """Mean square departure of the log-masses from the momentum estimate. A weak pull back
        (`MASS_DRIFT_PENALTY`): a system whose forces the early, wrong law overshoots can otherwise
        shrink its masses to where the loss no longer changes with them, and never return."""
        return (self.scale**2).mean() + ((self.correction * self.corrected) ** 2).mean()

    @property
    def log_mass(self) -> torch.Tensor:
        return self.log_initial + self.scale + self.correction * self.corrected

    def forward(self, system: torch.Tensor) -> torch.Tensor:
        """Masses [..., n] of the given systems, in the training unit."""
        return torch.exp(self.log_mass)[system]

    @property
    def unit(self) -> float:
        """The reference particle's mass in the training unit: training mass = unit × reported mass."""
        return float(torch.exp(self.log_mass.detach()[self.reference].double()))

    def in_reference_units(self) -> np.ndarray:
        """All masses [S, n] as float64, the reference exactly 1."""
        with torch.no_grad():
            log_mass = self.log_mass.double()
            return torch.exp(log_mass - log_mass[self.reference]).numpy()


def choose_reference(initial: np.ndarray, names: list[str] | None, wanted: str | None) -> tuple[int, int]:
    """(system 0, particle) whose mass is 1: `wanted` (a name or an index) or the heaviest of the
    first system by the momentum estimate."""
    n = initial.shape[1]
    if wanted is None:
        return 0, int(np.argmax(initial[0]))
    if names is not None and wanted in list(names):
        return 0, list(names).index(wanted)
    if wanted.lstrip("-").isdigit() and -n <= int(wanted) < n:
        return 0, int(wanted) % n
    known = f"names {', '.join(map(str, names))} or " if names is not None else ""
    raise UserInputError(f"--reference-particle {wanted!r} is not a particle; use {known}an index 0..{n - 1}")


class LearnedCharges(nn.Module):
    """One charge per particle of every system, sign included, learned with the law.

    Nothing like momentum conservation fixes charges before the law is known, so they start at
    ±1 with seeded random signs (not 0: a product q1 q2 has no gradient there). A law k q1 q2 f(r)
    and the charges share a scale and a sign that the data cannot fix (q → s q, k → k / s²); the
    report fixes them by one reference particle, whose charge is +1 (`in_reference_units`): by
    default the most strongly charged of the first system (`choose_reference` on |q|), as a
    neutral particle cannot fix a scale.
    """

    def __init__(self, systems: int, n: int, seed: int = 0):
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        signs = torch.randint(0, 2, (systems, n), generator=generator).float() * 2 - 1
        self.value = nn.Parameter(signs)

    def forward(self, system: torch.Tensor) -> torch.Tensor:
        """Charges [..., n] of the given systems, in the training unit."""
        return self.value[system]

    def unit(self, reference: tuple[int, int]) -> float:
        """The reference particle's charge in the training unit (signed): training charge = unit × reported charge."""
        return float(self.value.detach()[reference].double())

    def in_reference_units(self, reference: tuple[int, int]) -> np.ndarray:
        """All charges [S, n] as float64, the reference exactly +1."""
        values = self.value.detach().double().numpy()
        if values[reference] == 0:
            raise UserInputError("the reference particle's learned charge is 0: choose a charged particle with "
                                 "--reference-particle")
        return values / values[reference]


#: Particles per system up to which `choose_charge_signs` tries every sign pattern (2^(n-1) each).
SIGN_SEARCH_PARTICLES = 10


@torch.no_grad()
def choose_charge_signs(charges: LearnedCharges, error_per_graph: Callable[[torch.Tensor], torch.Tensor],
                        system: torch.Tensor) -> int:
    """Give every system the signs of its charges that the current law explains best; returns how
    many systems changed.

    A charge cannot change sign by small steps without passing through 0, where the forces it
    feels and exerts vanish; started with random signs, gradient descent leaves half of them wrong.
    So the magnitudes stay as trained and each system tries every sign pattern (the first
    particle's sign kept: flipping all changes no force). `error_per_graph(charges [S, n])` is the
    force error of each graph [G] with those charges; `system` [G] says whose graph it is.
    """
    systems, n = charges.value.shape
    if n > SIGN_SEARCH_PARTICLES:
        return 0
    value = charges.value.detach()
    patterns = torch.tensor([(1.0, *rest) for rest in itertools.product((1.0, -1.0), repeat=n - 1)], device=value.device)
    keep = torch.where(value[:, :1] < 0, -1.0, 1.0)
    counts = torch.zeros(systems, device=value.device).index_add_(0, system, torch.ones_like(system, dtype=value.dtype))
    errors = torch.stack([torch.zeros(systems, device=value.device).index_add_(
        0, system, error_per_graph(value.abs() * pattern * keep).to(value.dtype)) for pattern in patterns], dim=1)
    errors = errors / counts.clamp(min=1).unsqueeze(-1)
    chosen = value.abs() * patterns[errors.argmin(dim=1)] * keep
    changed = int((torch.sign(chosen) != torch.sign(value)).any(dim=1).sum())
    charges.value.copy_(chosen)
    return changed
