"""Per-particle properties the data do not carry, learned with the law (docs/design.md §1).

A system observed without masses still obeys Newton's third law: with pairwise forces the total
force vanishes, Σ_i m_i a_i = 0 at every instant. That is linear in the masses, so the observed
accelerations alone fix every system's mass ratios (up to one scale per system) before any law
is known; they start the learned masses, which then train jointly with the law. The law and the
masses are determined only up to one common scale: one reference particle's mass is fixed at 1.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from eqlearn.errors import UserInputError

#: The momentum estimate of a system is trusted when its null direction is this well separated:
#: smallest singular value below this fraction of the next one.
NULL_SEPARATION = 0.1
#: Weight of `LearnedMasses.drift` in the training loss: small against the force error, which it
#: biases by ~1e-4; the final joint fit has no such term.
MASS_DRIFT_PENALTY = 1e-3


def masses_from_momentum(accelerations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mass ratios [S, n], heaviest = 1 per system; trusted [S] bool) from accelerations [S, T, n, d]
    by Σ_i m_i a_i = 0.

    Per system, the masses are the null vector of the [T·d, n] matrix of accelerations (its
    smallest right singular vector). A system whose vector is not all of one sign, or whose null
    direction is not clearly separated (noise, too few states, external forces), is not trusted
    and starts from equal masses.
    """
    accelerations = np.asarray(accelerations, dtype=np.float64)
    systems, _, n, _ = accelerations.shape
    estimates, trusted = np.ones((systems, n)), np.zeros(systems, dtype=bool)
    for s in range(systems):
        matrix = np.moveaxis(accelerations[s], 1, -1).reshape(-1, n)  # rows (t, axis), columns particles
        if matrix.shape[0] < n - 1 or not np.all(np.isfinite(matrix)):
            continue
        columns = np.linalg.norm(matrix, axis=0).clip(1e-300)  # each particle's scale, for conditioning
        _, singular, right = np.linalg.svd(matrix / columns, full_matrices=False)
        null = right[-1] / columns
        null = null * np.sign(null.sum())
        if np.all(null > 0) and singular[-1] < NULL_SEPARATION * singular[-2]:
            estimates[s], trusted[s] = null / null.max(), True
    return estimates, trusted


class LearnedMasses(nn.Module):
    """One positive mass per particle of every system, learned with the law.

    log m[s, i] = log m0[s, i] + scale[s] + correction[s, i]: m0 the momentum estimate. Where it
    is trusted, training learns only each system's scale (which momentum cannot give) and the
    corrections stay 0: a law still wrong early in training would otherwise drag single masses
    towards zero, whence their gradient vanishes; the final joint fit (`eqlearn.readout.polish`) frees
    every mass once the law's form is known. Untrusted systems learn every mass.
    The law and the masses share one scale that the data cannot fix; it stays free in training (a
    flat direction the optimiser leaves alone) and is fixed only in the report: masses in units of
    the `reference` = (system, particle) mass (`in_reference_units`).
    """

    def __init__(self, initial: np.ndarray, reference: tuple[int, int], trusted: np.ndarray | None = None):
        super().__init__()
        initial = torch.as_tensor(np.asarray(initial, dtype=np.float64))
        if initial.ndim != 2 or not torch.all(initial > 0):
            raise UserInputError("initial masses must be a positive [systems, particles] array")
        trusted = np.zeros(initial.shape[0], dtype=bool) if trusted is None else np.asarray(trusted, dtype=bool)
        self.register_buffer("log_initial", initial.log().float())
        self.register_buffer("corrected", torch.as_tensor(~trusted, dtype=torch.float32).unsqueeze(-1))
        self.scale = nn.Parameter(torch.zeros(initial.shape[0], 1))
        self.correction = nn.Parameter(torch.zeros_like(self.log_initial))
        self.reference = reference

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
