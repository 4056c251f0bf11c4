"""`EQLRegressor`: symbolic regression of arrays with an EQL network, in the scikit-learn style."""
from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Iterator, Mapping, Sequence

import numpy as np
import sympy
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import NotFittedError

from eqlearn.errors import UserInputError
from eqlearn.eql.network import DEFAULT_UNITS, EQLNetwork
from eqlearn.eql.restarts import extract_copy, parallel_copies
from eqlearn.eql.selection import as_good_as_best, eliminate_output_terms, normalised_error
from eqlearn.eql.sparsity import PENALTIES, attach_gates, weight_penalty
from eqlearn.eql.units import get_unit
from eqlearn.symbolic import clean_expression, to_latex
from eqlearn.train import Phase, train


class EQLRegressor(RegressorMixin, BaseEstimator):
    """Fit a formula y = f(X) with an Equation Learner network and read it back with `sympy()`.

    Training runs three phases of full-batch Adam: a free fit, a fit with a sparsity `penalty`
    weighted by `regularization`, then pruning of weights below `prune_threshold` and a fine-tune.
    `restarts` random initialisations train side by side; in each, the output layer is refitted
    without the terms it can spare, and the shortest formula among those with the best validation
    error is kept; `init_scale` (a pair: a geometric spread over the restarts) sets the
    size of their initial weights. Inputs and targets are rescaled by powers of ten only, so the
    printed formula is exact in the original units.
    """

    def __init__(
        self,
        units: Mapping[str, int] | Sequence[Mapping[str, int]] | None = None,
        depth: int = 2,
        penalty: str = "l12",
        regularization: float = 1e-2,
        epochs: tuple[int, int, int] = (300, 1200, 500),
        lr: float = 3e-2,
        prune_threshold: float = 1e-2,
        init_scale: float | tuple[float, float] = (1.0, 3.0),
        restarts: int = 12,
        validation_fraction: float = 0.2,
        digits: int = 3,
        feature_names: Sequence[str] | None = None,
        random_state: int | None = None,
        verbose: bool = False,
    ):
        self.units = units
        self.depth = depth
        self.penalty = penalty
        self.regularization = regularization
        self.epochs = epochs
        self.lr = lr
        self.prune_threshold = prune_threshold
        self.init_scale = init_scale
        self.restarts = restarts
        self.validation_fraction = validation_fraction
        self.digits = digits
        self.feature_names = feature_names
        self.random_state = random_state
        self.verbose = verbose

    # ----------------------------------------------------------------------------------- fit
    def fit(self, X, y) -> "EQLRegressor":
        X = _as_matrix(X, "X")
        y_matrix = _as_matrix(y, "y", allow_vector=True)
        if len(X) != len(y_matrix):
            raise UserInputError(f"X has {len(X)} rows but y has {len(y_matrix)}; they must match")
        self._check_settings()
        self.feature_names_in_ = self._resolve_feature_names(X)
        self.n_features_in_ = X.shape[1]
        self.n_outputs_ = y_matrix.shape[1]
        self._y_was_vector = np.ndim(y) == 1
        self.x_scale_ = _power_of_ten(np.abs(X).max(axis=0))
        self.y_scale_ = _power_of_ten(np.abs(y_matrix).max(axis=0))

        rng = np.random.default_rng(self.random_state)
        train_rows, valid_rows = _split(len(X), self.validation_fraction, rng)
        inputs = torch.as_tensor(X / self.x_scale_, dtype=torch.float32)
        targets = torch.as_tensor(y_matrix / self.y_scale_, dtype=torch.float32)
        train_set = (inputs[train_rows], targets[train_rows])
        valid_set = (inputs[valid_rows], targets[valid_rows])
        with torch.random.fork_rng(devices=[]), _single_thread():
            torch.manual_seed(int(rng.integers(2**31)))
            parallel = self._train_parallel(*train_set)
            self._keep_best_restart(parallel, train_set, valid_set)
        return self

    def _keep_best_restart(self, parallel: EQLNetwork, train_set: tuple, valid_set: tuple) -> None:
        """Keep the shortest formula among the restarts as good as the best; only those are read
        out, since reading out a long failed fit can take minutes."""
        networks, errors = [], []
        for index in range(self.restarts):
            network = self._copy(parallel, index).eval()
            eliminate_output_terms(network, train_set, valid_set)
            networks.append(network)
            errors.append(normalised_error(network, *valid_set))
        formulas = {index: self._read_out(networks[index]) for index in as_good_as_best(errors)}
        sizes = {index: sum(sympy.count_ops(f) for f in fs) for index, fs in formulas.items()}
        self.best_restart_ = min(formulas, key=lambda index: (sizes[index], errors[index]))
        self.network_, self.expressions_ = networks[self.best_restart_], formulas[self.best_restart_]
        self.expression_ = self.expressions_[0]
        self.restart_errors_ = errors

    def _check_settings(self) -> None:
        for name in self._units_per_layer_names():
            get_unit(name)
        if self.penalty not in PENALTIES:
            raise UserInputError(f"unknown penalty {self.penalty!r}; choose from {', '.join(PENALTIES)}")
        if len(tuple(self.epochs)) != 3 or min(self.epochs) < 0:
            raise UserInputError(f"epochs must be three non-negative counts (fit, sparsify, fine-tune), got {self.epochs!r}")
        if self.restarts < 1 or self.depth < 1:
            raise UserInputError("restarts and depth must be at least 1")

    def _units_per_layer_names(self) -> list[str]:
        units = self._units()
        layers = [units] if isinstance(units, Mapping) else list(units)
        return [name for layer in layers for name in layer]

    def _units(self):
        return DEFAULT_UNITS if self.units is None else self.units

    def _train_parallel(self, inputs: torch.Tensor, targets: torch.Tensor) -> EQLNetwork:
        copies, outputs = self.restarts, targets.shape[1]
        network = parallel_copies(
            inputs.shape[1], outputs, copies, self._units(), self.depth, init_scales=self._init_scales()
        )
        if self.penalty == "l0":
            attach_gates(network)
        repeated = targets.repeat(1, copies)
        variance = targets.var(dim=0, unbiased=False).clamp_min(1e-12).repeat(copies)

        def objective(_batch, regularization: float):
            error = ((network(inputs) - repeated) ** 2).mean(dim=0) / variance
            loss = error.sum() / outputs
            metrics = {"nmse": float(error.detach().mean())}
            if regularization > 0:
                loss = loss + regularization * weight_penalty(network, self.penalty)
            return loss, {"loss": float(loss.detach()), **metrics}

        fit, sparsify, fine_tune = self.epochs
        phases = [
            Phase(fit, self.lr, 0.0, name="fit"),
            Phase(sparsify, self.lr, self.regularization, name="sparsify"),
            Phase(fine_tune, self.lr, 0.0, prune_threshold=self.prune_threshold, name="fine-tune"),
        ]
        # one restart blowing up must not stop the others: selection drops it (inf error)
        self.history_ = train(network, objective, lambda: [None], [p for p in phases if p.epochs > 0],
                              progress=self.verbose, divergence_factor=math.inf)
        return network

    def _init_scales(self) -> np.ndarray:
        """One initial weight scale per restart: a pair spreads them geometrically between its ends."""
        low, high = (self.init_scale, self.init_scale) if np.isscalar(self.init_scale) else self.init_scale
        return np.geomspace(low, high, self.restarts)

    def _copy(self, parallel: EQLNetwork, index: int) -> EQLNetwork:
        return extract_copy(parallel, index, self.restarts, self._units(), self.depth)

    def _read_out(self, network: EQLNetwork) -> list[sympy.Expr]:
        """The formulas in the user's units: read out on the scaled inputs, then rescaled exactly."""
        symbols = [sympy.Symbol(name) for name in self.feature_names_in_]
        scaled = network.to_sympy(symbols, threshold=self.prune_threshold, digits=self.digits)
        unscale = {s: s / _exact_power(k) for s, k in zip(symbols, self.x_scale_)}
        return [
            clean_expression(e.xreplace(unscale) * _exact_power(k), digits=self.digits, drop_below=0)
            for e, k in zip(scaled, self.y_scale_)
        ]

    def _resolve_feature_names(self, X: np.ndarray) -> list[str]:
        names = self.feature_names
        if names is None:
            return [f"x{i}" for i in range(X.shape[1])]
        names = [str(n) for n in names]
        if len(names) != X.shape[1]:
            raise UserInputError(f"{len(names)} feature names given for {X.shape[1]} columns of X")
        bad = [n for n in names if not n.isidentifier()]
        if bad or len(set(names)) != len(names):
            raise UserInputError(f"feature names must be distinct identifiers, got {names}")
        return names

    # ------------------------------------------------------------------------------- predict
    def predict(self, X) -> np.ndarray:
        self._check_fitted()
        X = _as_matrix(X, "X")
        if X.shape[1] != self.n_features_in_:
            raise UserInputError(f"X has {X.shape[1]} features but the model was fitted on {self.n_features_in_}")
        with torch.no_grad(), _single_thread():
            scaled = self.network_(torch.as_tensor(X / self.x_scale_, dtype=torch.float32))
        y = scaled.numpy().astype(np.float64) * self.y_scale_
        return y[:, 0] if self._y_was_vector else y

    def score(self, X, y, sample_weight=None) -> float:
        """R^2 of the predictions (averaged over outputs), with the same input checks as `fit`."""
        _as_matrix(y, "y", allow_vector=True)
        return super().score(X, y, sample_weight)

    def sympy(self):
        """The fitted formula (a list of formulas for a 2-D `y`)."""
        self._check_fitted()
        return self.expression_ if self._y_was_vector else list(self.expressions_)

    def latex(self):
        self._check_fitted()
        latex = [to_latex(e) for e in self.expressions_]
        return latex[0] if self._y_was_vector else latex

    def _check_fitted(self) -> None:
        if not hasattr(self, "network_"):
            raise NotFittedError("this EQLRegressor is not fitted yet; call fit(X, y) first")


@contextmanager
def _single_thread() -> Iterator[None]:
    """Tiny networks run fastest on one thread; extra threads only add synchronisation (>10x
    slower on a busy machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _as_matrix(values, name: str, allow_vector: bool = False) -> np.ndarray:
    """A finite float64 2-D array, or a `UserInputError` that says what is wrong."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise UserInputError(f"{name} must be numeric") from None
    if array.ndim == 1 and allow_vector:
        array = array[:, None]
    if array.ndim != 2:
        shape = "1-D or 2-D" if allow_vector else "2-D (samples x features)"
        raise UserInputError(f"{name} must be {shape}, got shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise UserInputError(f"{name} is empty (shape {array.shape})")
    if not np.isfinite(array).all():
        rows = np.flatnonzero(~np.isfinite(array).all(axis=1))
        raise UserInputError(f"{name} contains NaN or infinite values (first in row {rows[0]})")
    return array


def _power_of_ten(magnitude: np.ndarray) -> np.ndarray:
    """Per column, the power of ten nearest its largest |value| (1 for all-zero columns)."""
    safe = np.where(magnitude > 0, magnitude, 1.0)
    return 10.0 ** np.round(np.log10(safe))


def _exact_power(scale: float) -> sympy.Expr:
    return sympy.Integer(10) ** int(round(math.log10(scale)))


def _split(n: int, validation_fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation rows; tiny data sets validate on the training rows."""
    order = rng.permutation(n)
    n_valid = int(round(n * validation_fraction))
    if n_valid < 1 or n - n_valid < 1:
        return order, order
    return order[n_valid:], order[:n_valid]
