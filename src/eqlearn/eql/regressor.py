"""`EQLRegressor`: symbolic regression of arrays with an EQL network, in the scikit-learn style."""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import scipy.sparse
import sympy
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import validate_data

from eqlearn.devices import one_cpu_thread, resolve_device
from eqlearn.eql.export import FormulaModule, numpy_function
from eqlearn.eql.library import fit_library, fit_library_ratio
from eqlearn.eql.network import DEFAULT_UNITS, EQLNetwork
from eqlearn.eql.ratio import RatioNetwork, ratio_residual, refit_ratio
from eqlearn.eql.restarts import extract_copy, keep_outputs, parallel_copies
from eqlearn.eql.selection import (
    as_good_as_best,
    eliminate_output_terms,
    fit_power_law,
    normalised_error,
    refit_terms,
    snap_to_halves,
)
from eqlearn.eql.sparsity import PENALTIES, attach_gates, weight_penalty
from eqlearn.eql.training import Phase, train
from eqlearn.eql.units import get_unit
from eqlearn.errors import UserInputError
from eqlearn.symbolic import clean_expression, to_latex, to_string

#: The default units when some input column is strictly positive (physical quantities): the
#: first layer's `monomial` units read only the logarithms of those columns, so each one is a
#: power law x1^a x2^b ... with any exponents; the others read the inputs themselves. The second
#: layer multiplies, divides and takes square roots of the first layer's outputs.
POSITIVE_INPUT_UNITS: list[dict[str, int]] = [
    {"constant": 1, "identity": 2, "monomial": 4, "square": 1, "sin": 1, "cos": 1},
    {"constant": 1, "identity": 3, "product": 2, "division": 1, "sqrt": 1},
]
#: Each read-out formula is refitted as read, with its numbers near multiples of 1/2 snapped,
#: and with every number snapped (exponents such as 0.175 and 0.825 that training left mixed).
SNAP_VARIANTS = {
    "as read": lambda e: e,
    "snapped": snap_to_halves,
    "all snapped": lambda e: snap_to_halves(e, tolerance=0.25),
}
#: Ratio restarts (`ratio_restarts=None`) when some input column is strictly positive.
DEFAULT_RATIO_RESTARTS = 6
#: Restarts whose network fits best (on held-out rows) that are read out as formulas and refitted,
#: per kind (plain networks, ratio networks).
READ_OUT_RESTARTS = {"network": 4, "ratio": 2}
#: Fewest rows a fit accepts: restarts and terms are chosen on held-out rows.
MIN_ROWS = 10


class EQLRegressor(RegressorMixin, BaseEstimator):
    """Fit a formula y = f(X) with an Equation Learner network and read it back with `sympy()`.

    Training runs three phases of full-batch Adam: a free fit, a fit with a sparsity `penalty`
    weighted by `regularization`, then pruning of weights below `prune_threshold` and a fine-tune.
    `restarts` random initialisations train side by side; `init_scale` (a pair: a geometric
    spread over the restarts) sets the size of their initial weights. The best restarts (on
    held-out rows) are read out as formulas in the user's units; each formula's additive terms
    are refitted by least squares, as read and with its numbers snapped to multiples of 1/2
    (`SNAP_VARIANTS`), and dropped while the held-out error stays as good. Every candidate lands
    in `equations_`; the shortest one as good as the best is the model, and `predict` evaluates
    that printed formula.
    `ratio_restarts` more restarts learn a numerator and a denominator per output and are read
    as N / D (`eqlearn.eql.ratio`, trained without dividing), for laws such as
    omega / (1 - v/c); their N and D terms are refitted by linear least squares on y D = N.
    `None` means `DEFAULT_RATIO_RESTARTS` where some column is strictly positive (physical
    quantities) and none otherwise: on Kim et al.'s U(-1, 1) functions they cost two of 12.
    With `power_law`, a power law c * x1^a1 * x2^a2 ... fitted by least squares in log space
    (strictly positive columns, a target of one sign) is one more candidate. With `library`, two
    more come from sparse regression over an enumerated library (`eqlearn.eql.library`): a sum
    of monomials (each times at most one sin, cos or log) and a ratio N / (1 + d m) of monomial
    sums; they find sums of several products, and ratios, that gradient descent misses.
    `source` in `equations_` says where each candidate came from.

    Inputs and targets are rescaled by powers of ten only, and the logarithms of strictly
    positive columns feed `monomial` units, so ranges such as U(1, 5) or targets near 1e4 train
    like U(-1, 1) and the formula is still exact in the original units. `units=None` picks
    `POSITIVE_INPUT_UNITS` when some column is strictly positive, else Kim et al.'s `DEFAULT_UNITS`.
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
        ratio_restarts: int | None = None,
        validation_fraction: float = 0.2,
        power_law: bool = True,
        library: bool = True,
        digits: int = 3,
        feature_names: Sequence[str] | None = None,
        random_state: int | None = None,
        verbose: bool = False,
        device: str = "auto",
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
        self.ratio_restarts = ratio_restarts
        self.validation_fraction = validation_fraction
        self.power_law = power_law
        self.library = library
        self.digits = digits
        self.feature_names = feature_names
        self.random_state = random_state
        self.verbose = verbose
        self.device = device

    # ----------------------------------------------------------------------------------- fit
    def fit(self, X, y) -> "EQLRegressor":
        self._check_settings()
        if y is None:
            raise UserInputError("EQLRegressor requires y to be passed, but the target y is None")
        column_names = _column_names(X)
        X_matrix = _as_matrix(X, "X")
        y_matrix = _as_matrix(y, "y", allow_vector=True)
        if len(X_matrix) != len(y_matrix):
            raise UserInputError(f"X has {len(X_matrix)} rows but y has {len(y_matrix)}; they must match")
        if len(X_matrix) < MIN_ROWS:
            raise UserInputError(f"got {len(X_matrix)} sample(s); EQLRegressor needs at least {MIN_ROWS} rows "
                                 "(restarts and terms are chosen on held-out rows)")
        constant = np.flatnonzero(np.ptp(y_matrix, axis=0) == 0)
        if len(constant):
            raise UserInputError(f"y{'' if y_matrix.shape[1] == 1 else f' column {constant[0]}'} is constant "
                                 f"({y_matrix[0, constant[0]]:g}): there is no formula to learn")
        validate_data(self, X, y, multi_output=True, ensure_min_samples=MIN_ROWS)  # n_features_in_, feature_names_in_
        X, self.feature_names_ = X_matrix, self._resolve_feature_names(X_matrix, column_names)
        self.n_outputs_ = y_matrix.shape[1]
        self._y_was_vector = np.asarray(y).ndim == 1
        self.x_scale_ = _power_of_ten(np.abs(X).max(axis=0))
        self.y_scale_ = _power_of_ten(np.abs(y_matrix).max(axis=0))
        self.units_ = self._resolve_units(X)
        self.log_columns_ = np.flatnonzero((X > 0).all(axis=0)) if self._uses_monomials() else np.array([], int)
        self.ratio_restarts_ = self.ratio_restarts if self.ratio_restarts is not None \
            else DEFAULT_RATIO_RESTARTS if _has_positive_column(X) else 0

        rng = np.random.default_rng(self.random_state)
        train_rows, valid_rows = _split(len(X), self.validation_fraction, rng)
        inputs = torch.as_tensor(self._network_inputs(X), dtype=torch.float32)
        targets = torch.as_tensor(y_matrix / self.y_scale_, dtype=torch.float32)
        with torch.random.fork_rng(devices=[]), one_cpu_thread():
            torch.manual_seed(int(rng.integers(2**31)))
            train_set = inputs[train_rows], targets[train_rows]
            valid_set = inputs[valid_rows], targets[valid_rows]
            parallel = self._train_parallel(*train_set)
            kinds = ["network"] * self.restarts + ["ratio"] * self.ratio_restarts_
            networks = [self._restart(parallel, index, kind, train_set, valid_set) for index, kind in enumerate(kinds)]
            errors = [normalised_error(network, *valid_set) for network in networks]
            self.restart_errors_ = errors
            data = (X[train_rows], y_matrix[train_rows]), (X[valid_rows], y_matrix[valid_rows])
            self._keep_best_formula(networks, errors, kinds, *data)
        return self

    def _restart(self, parallel: EQLNetwork, index: int, kind: str, train_set: tuple, valid_set: tuple):
        """Restart `index` as a stand-alone model: a ratio network, or the numerator heads alone."""
        network = extract_copy(parallel, index, self.restarts + self.ratio_restarts_, self.units_, self.depth)
        if kind == "ratio":
            return RatioNetwork(network).eval()
        network = keep_outputs(network, self.n_outputs_).eval()
        eliminate_output_terms(network, train_set, valid_set)
        return network

    def _keep_best_formula(self, networks, errors, kinds, train: tuple, valid: tuple) -> None:
        """Read out the restarts that fit best, refit each formula's terms (as read and with its
        numbers snapped) and keep the shortest candidate as good as the best. Only the best
        restarts of each kind are read out: reading out a long failed fit can take minutes. A
        power law fitted in log space (`fit_power_law`) competes on the same terms."""
        symbols = [sympy.Symbol(name) for name in self.feature_names_]
        sources = []
        for kind, count in READ_OUT_RESTARTS.items():
            ranked = sorted((i for i in range(len(errors)) if kinds[i] == kind), key=lambda i: errors[i])
            sources += [(f"{kind} {index}", index, self._read_out(networks[index], symbols))
                        for index in ranked[:count] if math.isfinite(errors[index])]
        positive = np.flatnonzero((train[0] > 0).all(axis=0))
        laws = [fit_power_law(train[0], train[1][:, o], positive, symbols) for o in range(self.n_outputs_)]
        if self.power_law and all(law is not None for law in laws):
            sources.append(("power law", None, laws))
        candidates = []
        for source, index, read_out in sources:
            ratio = index is not None and kinds[index] == "ratio"  # read out as (numerator, denominator)
            for variant, transform in SNAP_VARIANTS.items():
                formulas, output_errors = [], []
                for o, expression in enumerate(read_out):
                    output_rows = (train[0], train[1][:, o]), (valid[0], valid[1][:, o])
                    refitted, _ = refit_ratio(tuple(map(transform, expression)), symbols, *output_rows) if ratio \
                        else refit_terms(transform(expression), symbols, *output_rows)
                    formulas.append(self._clean(refitted))
                    output_errors.append(_formula_error(formulas[-1], symbols, valid[0], valid[1][:, o]))
                candidates.append({"source": source, "restart": index, "variant": variant, "formulas": formulas,
                                   "size": sum(_size(f) for f in formulas), "error": float(np.mean(output_errors))})
        if self.library:
            candidates += self._library_candidates(symbols, train, valid)
        if not candidates:
            raise UserInputError("every restart diverged; try a smaller lr or rescale the data")
        best = as_good_as_best([c["error"] for c in candidates])
        chosen = min(best, key=lambda i: (candidates[i]["size"], candidates[i]["error"]))
        self.best_restart_ = candidates[chosen]["restart"]
        self.network_ = networks[self.best_restart_] if self.best_restart_ is not None else None
        self.expressions_ = candidates[chosen]["formulas"]
        self.expression_ = self.expressions_[0]
        self.equations_ = _pareto_table(candidates, chosen, self._y_was_vector)

    def _library_candidates(self, symbols, train: tuple, valid: tuple) -> list[dict]:
        """Sparse sums and ratios of library terms (`eqlearn.eql.library`), one candidate per
        kind: per output, the shortest of its fits as good as the best."""
        candidates = []
        for source, fit in (("library", fit_library), ("library ratio", fit_library_ratio)):
            formulas, output_errors = [], []
            for o in range(self.n_outputs_):
                output_rows = (train[0], train[1][:, o]), (valid[0], valid[1][:, o])
                fits = [(self._clean(f), e) for f, e in fit(symbols, *output_rows) if math.isfinite(e)]
                if not fits:
                    break
                best = as_good_as_best([e for _, e in fits])
                formulas.append(min((fits[i][0] for i in best), key=_size))
                output_errors.append(_formula_error(formulas[-1], symbols, valid[0], valid[1][:, o]))
            if len(formulas) == self.n_outputs_:
                candidates.append({"source": source, "restart": None, "variant": "as read", "formulas": formulas,
                                   "size": sum(_size(f) for f in formulas), "error": float(np.mean(output_errors))})
        return candidates

    def _clean(self, formula: sympy.Expr) -> sympy.Expr:
        """Numbers rounded to `digits`; a ratio's numerator and denominator each expanded apart."""
        numerator, denominator = sympy.fraction(formula)
        clean = lambda part: clean_expression(part, digits=self.digits, drop_below=0)
        return clean(numerator) / clean(denominator)

    def _check_settings(self) -> None:
        resolve_device(self.device)
        for name in self._units_per_layer_names():
            get_unit(name)
        if self.penalty not in PENALTIES:
            raise UserInputError(f"unknown penalty {self.penalty!r}; choose from {', '.join(PENALTIES)}")
        if len(tuple(self.epochs)) != 3 or min(self.epochs) < 0:
            raise UserInputError(f"epochs must be three non-negative counts (fit, sparsify, fine-tune), got {self.epochs!r}")
        if self.restarts < 1 or self.depth < 1 or (self.ratio_restarts or 0) < 0:
            raise UserInputError("restarts and depth must be at least 1, ratio_restarts at least 0")

    def _units_per_layer_names(self) -> list[str]:
        units = [DEFAULT_UNITS, *POSITIVE_INPUT_UNITS] if self.units is None else self.units
        layers = [units] if isinstance(units, Mapping) else list(units)
        return [name for layer in layers for name in layer]

    def _resolve_units(self, X: np.ndarray) -> list[dict[str, int]]:
        """Units per hidden layer: the user's, or the default for these inputs."""
        if self.units is None:
            return [dict(layer) for layer in POSITIVE_INPUT_UNITS] if _has_positive_column(X) \
                else [dict(DEFAULT_UNITS)] * self.depth
        if isinstance(self.units, Mapping):
            return [dict(self.units)] * self.depth
        return [dict(layer) for layer in self.units]

    def _uses_monomials(self) -> bool:
        return self.units_[0].get("monomial", 0) > 0

    def _network_inputs(self, X: np.ndarray) -> np.ndarray:
        """The scaled inputs, then the logarithms of the positive ones (read by `monomial` units)."""
        scaled = X / self.x_scale_
        return np.column_stack([scaled, np.log(scaled[:, self.log_columns_])])

    def _train_parallel(self, inputs: torch.Tensor, targets: torch.Tensor) -> EQLNetwork:
        """Every restart trained side by side. With ratio restarts, each restart has a numerator
        and a denominator head per output: plain restarts fit y with the numerator alone (their
        denominators go unused and are pruned away), ratio restarts fit y = N / D through the
        pole-free residual of y D - N (`eqlearn.eql.ratio`). One network for both keeps it one
        training pass; without ratio restarts there is one head per output."""
        plain, copies, outputs = self.restarts, self.restarts + self.ratio_restarts_, targets.shape[1]
        heads = 2 if self.ratio_restarts_ else 1  # no ratio restarts: no denominator heads at all
        network = parallel_copies(
            inputs.shape[1], heads * outputs, copies, self.units_, self.depth,
            init_scales=np.concatenate([self._init_scales(plain), self._init_scales(self.ratio_restarts_)]),
        )
        self._restrict_first_layer(network)
        if self.penalty == "l0":
            attach_gates(network)
        device = resolve_device(self.device)  # training only: read-out and refit run on the CPU
        network.to(device)
        inputs, targets = inputs.to(device), targets.to(device)
        variance = targets.var(dim=0, unbiased=False).clamp_min(1e-12)

        def errors() -> torch.Tensor:
            parts = network(inputs).unflatten(-1, (copies, heads, outputs))
            numerator = parts[:, :, 0]
            fits = ((numerator[:, :plain] - targets[:, None]) ** 2).mean(dim=0) / variance
            if heads == 1:
                return fits.flatten()
            ratios = ratio_residual(numerator[:, plain:], parts[:, plain:, 1], targets[:, None])
            return torch.cat([fits, ratios]).flatten()

        def objective(_batch, regularization: float):
            error = errors()
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
        try:
            self.history_ = train(network, objective, lambda: [None], [p for p in phases if p.epochs > 0],
                                  progress=self.verbose, divergence_factor=math.inf)
        finally:
            network.cpu()
        return network

    def _restrict_first_layer(self, network: EQLNetwork) -> None:
        """`monomial` units read only the log columns, every other unit only the inputs themselves."""
        n, logs = self.n_features_in_, len(self.log_columns_)
        if not self._uses_monomials():
            return
        raw, log = [True] * n + [False] * logs, [False] * n + [True] * logs
        first = network.hidden[0]
        first.restrict_inputs({unit.name: log if unit.name == "monomial" else raw
                               for unit, _ in first.units if unit.arity > 0})

    def _init_scales(self, copies: int) -> np.ndarray:
        """One initial weight scale per restart: a pair spreads them geometrically between its ends."""
        low, high = (self.init_scale, self.init_scale) if np.isscalar(self.init_scale) else self.init_scale
        return np.geomspace(low, high, copies)

    def _read_out(self, network: EQLNetwork, symbols: list[sympy.Symbol]) -> list[sympy.Expr]:
        """The formulas in the user's units, at full precision: read out on the scaled inputs (and
        their logarithms), then rescaled exactly."""
        positive = {i: sympy.Symbol(s.name, positive=True) for i, s in enumerate(symbols)}
        scaled = [positive.get(i, s) if i in self.log_columns_ else s for i, s in enumerate(symbols)]
        inputs = [*scaled, *[sympy.log(scaled[i]) for i in self.log_columns_]]
        unscale = {s: s / _exact_power(k) for s, k in zip(scaled, self.x_scale_)}
        plain = {positive[i]: symbols[i] for i in self.log_columns_}

        def in_user_units(expression: sympy.Expr, factor: sympy.Expr = sympy.Integer(1)) -> sympy.Expr:
            return sympy.expand(expression.xreplace(unscale) * factor).xreplace(plain)

        if isinstance(network, RatioNetwork):  # (numerator, denominator) pairs, kept apart for the refit
            parts = network.parts_sympy(inputs, threshold=self.prune_threshold, digits=15)
            return [(in_user_units(n, _exact_power(k)), in_user_units(d)) for (n, d), k in zip(parts, self.y_scale_)]
        expressions = network.to_sympy(inputs, threshold=self.prune_threshold, digits=15)
        return [in_user_units(e, _exact_power(k)) for e, k in zip(expressions, self.y_scale_)]

    def _resolve_feature_names(self, X: np.ndarray, column_names: list[str] | None) -> list[str]:
        names = self.feature_names if self.feature_names is not None else column_names
        if names is None:
            return [f"x{i}" for i in range(X.shape[1])]
        names = [str(n) for n in names]
        if len(names) != X.shape[1]:
            raise UserInputError(f"{len(names)} feature names given for {X.shape[1]} columns of X")
        bad = [n for n in names if not n.isidentifier()]
        if bad or len(set(names)) != len(names):
            raise UserInputError(f"feature names must be distinct identifiers, got {names}")
        if column_names is not None and self.feature_names is not None and list(column_names) != names:
            raise UserInputError(f"feature_names {names} do not match the DataFrame's columns {list(column_names)}")
        return names

    # ------------------------------------------------------------------------------- predict
    def predict(self, X) -> np.ndarray:
        """The printed formula evaluated on `X`."""
        self._check_fitted()
        matrix = _as_matrix(X, "X")
        if matrix.shape[1] != self.n_features_in_:
            raise UserInputError(f"X has {matrix.shape[1]} features, but EQLRegressor is expecting "
                                 f"{self.n_features_in_} features as input")
        validate_data(self, X, reset=False)  # a DataFrame's columns must be the fitted ones
        X = matrix
        y = self.numpy()(X) if self._y_was_vector else numpy_function(self.expressions_, self._symbols())(X)
        return y

    def score(self, X, y, sample_weight=None) -> float:
        """R^2 of the predictions (averaged over outputs), with the same input checks as `fit`."""
        _as_matrix(y, "y", allow_vector=True)
        return super().score(X, y, sample_weight)

    # ------------------------------------------------------------------------------- exports
    def sympy(self, index: int | None = None):
        """The fitted formula (a list of formulas for a 2-D `y`); `index` picks row `index` of
        `equations_` instead of the selected one."""
        self._check_fitted()
        formulas = self.expressions_ if index is None else self.equations_["sympy"].iloc[index]
        formulas = formulas if isinstance(formulas, list) else [formulas]
        return formulas[0] if self._y_was_vector else list(formulas)

    def latex(self, index: int | None = None):
        formulas = self.sympy(index)
        return to_latex(formulas) if self._y_was_vector else [to_latex(f) for f in formulas]

    def numpy(self, index: int | None = None):
        """A callable `f(X)` evaluating the formula on a 2-D array with the training columns."""
        formulas = self.sympy(index)
        evaluate = numpy_function(formulas if isinstance(formulas, list) else [formulas], self._symbols())
        return (lambda X: evaluate(X)[:, 0]) if self._y_was_vector else evaluate

    def pytorch(self, index: int | None = None) -> FormulaModule:
        """A `torch.nn.Module` computing the formula: [..., n_features] -> [..., n_outputs]."""
        formulas = self.sympy(index)
        return FormulaModule(formulas if isinstance(formulas, list) else [formulas], self._symbols())

    def _symbols(self) -> list[sympy.Symbol]:
        return [sympy.Symbol(name) for name in self.feature_names_]

    def _check_fitted(self) -> None:
        if not hasattr(self, "expressions_"):
            raise NotFittedError("this EQLRegressor is not fitted yet; call fit(X, y) first")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags


def _formula_error(formula: sympy.Expr, symbols, X: np.ndarray, y: np.ndarray) -> float:
    """MSE / variance of `y` of the formula on (X, y); inf where it is not finite."""
    prediction = numpy_function([formula], symbols)(X)[:, 0]
    error = float(np.mean((prediction - y) ** 2) / max(float(y.var()), 1e-12))
    return error if math.isfinite(error) else math.inf


def _size(formula: sympy.Expr) -> int:
    """Nodes of the expression tree, numbers included: the complexity of `equations_`."""
    return sum(1 for _ in sympy.preorder_traversal(formula))


def _pareto_table(candidates: list[dict], chosen: int, vector: bool):
    """The candidates no other one beats in both size and error, by size: `equations_`."""
    import pandas as pd

    order = sorted(range(len(candidates)), key=lambda i: (candidates[i]["size"], candidates[i]["error"]))
    rows, best_error = [], math.inf
    for i in order:
        c = candidates[i]
        if c["error"] < best_error or i == chosen:
            best_error = min(best_error, c["error"])
            formulas = c["formulas"][0] if vector else c["formulas"]
            rows.append({"size": c["size"], "error": c["error"],
                         "equation": "; ".join(to_string(f) for f in c["formulas"]),
                         "sympy": formulas, "source": c["source"], "variant": c["variant"],
                         "selected": i == chosen})
    return pd.DataFrame(rows)


def _has_positive_column(X: np.ndarray) -> bool:
    """Some column strictly positive: physical quantities, read by `monomial` units and ratios."""
    return bool((X > 0).all(axis=0).any())


def _column_names(X) -> list[str] | None:
    """A DataFrame's column names when they are all strings (as scikit-learn reads them), else None."""
    columns = getattr(X, "columns", None)
    if columns is None or not all(isinstance(c, str) for c in columns):
        return None
    return list(columns)


def _as_matrix(values, name: str, allow_vector: bool = False) -> np.ndarray:
    """A finite float64 2-D array, or a `UserInputError` that says what is wrong (worded so
    scikit-learn's estimator checks recognise it)."""
    if scipy.sparse.issparse(values):
        raise UserInputError(f"Sparse data was passed for {name}, but dense data is required")
    try:
        array = np.asarray(values)
        if np.iscomplexobj(array):
            raise UserInputError(f"Complex data not supported: {name} holds complex values")
        array = array.astype(np.float64)
    except UserInputError:
        raise
    except (TypeError, ValueError):
        raise UserInputError(f"{name} must be numeric") from None
    if array.ndim == 1 and allow_vector:
        array = array[:, None]
    if array.ndim != 2:
        shape = "1-D or 2-D" if allow_vector else "2-D (samples x features)"
        raise UserInputError(f"{name} must be {shape}, got shape {array.shape}. Reshape your data, "
                             "e.g. with array.reshape(-1, 1) for a single feature")
    if array.shape[0] == 0 or array.shape[1] == 0:
        kind, count = ("sample(s)", array.shape[0]) if array.shape[0] == 0 else ("feature(s)", array.shape[1])
        raise UserInputError(f"{name} is empty: {count} {kind} (shape={array.shape}) while a minimum of 1 is required.")
    if not np.isfinite(array).all():
        rows = np.flatnonzero(~np.isfinite(array).all(axis=1))
        raise UserInputError(f"{name} contains NaN or infinite values (first in row {rows[0]})")
    return array


def _power_of_ten(magnitude: np.ndarray) -> np.ndarray:
    """Per column, a power of ten that brings its largest |value| into [0.63, 6.3) (1 for
    all-zero columns): U(1, 5) stays as it is, so sin(theta) needs no weight of 10."""
    safe = np.where(magnitude > 0, magnitude, 1.0)
    return 10.0 ** np.round(np.log10(safe) - 0.3)


def _exact_power(scale: float) -> sympy.Expr:
    return sympy.Integer(10) ** int(round(math.log10(scale)))


def _split(n: int, validation_fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation rows; tiny data sets validate on the training rows."""
    order = rng.permutation(n)
    n_valid = int(round(n * validation_fraction))
    if n_valid < 1 or n - n_valid < 1:
        return order, order
    return order[n_valid:], order[:n_valid]
