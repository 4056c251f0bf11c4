"""`EQLRegressor`: symbolic regression of arrays with an EQL network, in the scikit-learn style."""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import sympy
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import validate_data

from eqlearn.devices import one_cpu_thread, resolve_device
from eqlearn.eql.candidates import (
    choose,
    cross_validate,
    library_candidates,
    pareto_table,
    power_law_candidates,
    read_out_candidates,
)
from eqlearn.eql.exact_numbers import rewritten_exactly
from eqlearn.eql.export import FormulaExports, numpy_function
from eqlearn.eql.inputs import (
    as_matrix,
    column_names,
    cross_validation_folds,
    exact_power,
    has_positive_column,
    power_of_ten,
    resolve_feature_names,
    split_rows,
)
from eqlearn.eql.network import DEFAULT_UNITS, EQLNetwork
from eqlearn.eql.ratio import RatioNetwork
from eqlearn.eql.restarts import extract_copy, keep_outputs
from eqlearn.eql.selection import eliminate_output_terms, normalised_error
from eqlearn.eql.side_by_side import Schedule, train_side_by_side
from eqlearn.eql.sparsity import PENALTIES
from eqlearn.eql.units import get_unit
from eqlearn.errors import UserInputError
from eqlearn.symbolic import clean_expression

#: The default units when some input column is strictly positive (physical quantities): the
#: first layer's `monomial` units read only the logarithms of those columns, so each one is a
#: power law x1^a x2^b ... with any exponents; the others read the inputs themselves. The second
#: layer multiplies, divides and takes square roots of the first layer's outputs.
POSITIVE_INPUT_UNITS: list[dict[str, int]] = [
    {"constant": 1, "identity": 2, "monomial": 4, "square": 1, "sin": 1, "cos": 1},
    {"constant": 1, "identity": 3, "product": 2, "division": 1, "sqrt": 1},
]
#: Ratio restarts (`ratio_restarts=None`) when some input column is strictly positive.
DEFAULT_RATIO_RESTARTS = 6
#: Restarts whose network fits best (on held-out rows) that are read out as formulas and refitted,
#: per kind (plain networks, ratio networks).
READ_OUT_RESTARTS = {"network": 4, "ratio": 2}
#: Fewest rows a fit accepts: restarts and terms are chosen on held-out rows.
MIN_ROWS = 10


class EQLRegressor(FormulaExports, RegressorMixin, BaseEstimator):
    """Fit a formula y = f(X) with Equation Learner networks and read it back with `sympy()`.

    Cheap candidates come first: a power law fitted in log space, and sparse sums and ratios of
    an enumerated library (`eqlearn.eql.library`). When one of them is exact on held-out rows,
    the fit ends there. Otherwise `restarts` EQL networks (and `ratio_restarts` networks read as
    N / D, `eqlearn.eql.ratio`) train side by side in three phases of full-batch Adam (a free
    fit, a fit under a sparsity penalty, pruning and a fine-tune); the restarts that fit the
    held-out rows best are read out as formulas in the user's units, and each formula's
    additive terms are refitted by least squares, as read and with numbers snapped to multiples
    of 1/2, and dropped while the held-out error stays as good. The shortest candidate as good as
    the best one is the model; `predict` evaluates that printed formula. Inputs and targets are
    rescaled by powers of ten only, so the formula is exact in the original units.

    Parameters
    ----------
    units : dict or list of dict, default=None
        Units per hidden layer (a dict: the same for every layer), e.g. ``{"identity": 4,
        "product": 2}``; names from `eqlearn.eql.units.UNITS`. None: `POSITIVE_INPUT_UNITS`
        when some column is strictly positive (its first layer's `monomial` units read the
        logarithms of those columns, so each is a power law with free exponents), else Kim et
        al.'s `DEFAULT_UNITS` in every layer.
    depth : int, default=2
        Hidden layers, when `units` is None or one dict. With `POSITIVE_INPUT_UNITS`, the first
        layer is its first entry and every deeper one its second.
    penalty : {"l12", "l1", "l0"}, default="l12"
        Sparsity penalty of the second phase (`eqlearn.eql.sparsity`).
    regularization : float, default=1e-2
        Weight of the sparsity penalty.
    epochs : tuple of 3 int, default=(300, 1200, 500)
        Epochs of the fit, sparsify and fine-tune phases.
    lr : float, default=3e-2
        Peak learning rate (one-cycle schedule in each phase).
    prune_threshold : float, default=1e-2
        Weights below it are frozen at zero before the fine-tune, and dropped at read-out.
    init_scale : float or (float, float), default=(1.0, 3.0)
        Size of the initial weights; a pair spreads the restarts geometrically between its ends.
    restarts : int, default=12
        Networks trained side by side, each read as a formula y = f(X).
    ratio_restarts : int, default=None
        Networks whose two heads per output are read as N / D. None:
        `DEFAULT_RATIO_RESTARTS` when some column is strictly positive, else 0.
    validation_fraction : float, default=0.2
        Rows held out to choose restarts, terms and the formula. With fewer than
        `eqlearn.eql.inputs.MIN_HELD_OUT_ROWS` held-out rows (20 to 200 points), candidates are
        finally scored by 5-fold cross-validation over all rows.
    power_law : bool, default=True
        Try c * x1^a1 * x2^a2 ... fitted in log space (strictly positive columns).
    library : bool, default=True
        Try the library's sparse sums and ratios (`eqlearn.eql.library`).
    digits : int, default=3
        Significant digits of the printed numbers. A formula the held-out rows prove exact
        writes a number that needs more as the fraction or decimal it equals (14.2/3 as
        71/15, `eqlearn.eql.exact_numbers`).
    feature_names : list of str, default=None
        Names of the columns in the formula; None: a DataFrame's columns, else x0, x1, ...
    random_state : int, default=None
        Seed of the split, the initial weights and everything else random.
    verbose : bool, default=False
        Show a progress bar while the networks train.
    device : {"auto", "cpu", "cuda"}, default="auto"
        Where the networks train; read-out and refits run on the CPU in float64.

    Attributes
    ----------
    expression_ : sympy.Expr
        The fitted formula (of the first output).
    expressions_ : list of sympy.Expr
        One fitted formula per output.
    equations_ : pandas.DataFrame
        The candidates no other beats in both size and held-out error, by size: size, error,
        equation, sympy, source (network, ratio, power law, library, library ratio), variant,
        selected.
    network_ : EQLNetwork or RatioNetwork or None
        The network the chosen formula was read from; None for a power-law or library formula.
    restart_errors_ : list of float
        Held-out error of every trained network (empty when a cheap candidate was exact).
    n_features_in_ : int
        Number of columns seen in `fit`.
    feature_names_in_ : ndarray of str
        Column names of a DataFrame seen in `fit`.
    feature_names_ : list of str
        The names used in the formula.
    n_outputs_ : int
        Number of targets.
    x_scale_, y_scale_ : ndarray
        The powers of ten the columns and targets were divided by for training.

    Examples
    --------
    >>> import numpy as np
    >>> from eqlearn import EQLRegressor
    >>> X = np.random.default_rng(0).uniform(1, 5, size=(200, 2))
    >>> EQLRegressor(feature_names=["m", "v"], random_state=0).fit(X, X[:, 0] * X[:, 1] ** 2 / 2).sympy()
    0.5*m*v**2
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
        frame_columns = column_names(X)
        X_matrix = as_matrix(X, "X")
        y_matrix = as_matrix(y, "y", allow_vector=True)
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
        X, self.feature_names_ = X_matrix, resolve_feature_names(self.feature_names, frame_columns, X_matrix.shape[1])
        self.n_outputs_ = y_matrix.shape[1]
        self._y_was_vector = np.asarray(y).ndim == 1
        self.x_scale_ = power_of_ten(np.abs(X).max(axis=0))
        self.y_scale_ = power_of_ten(np.abs(y_matrix).max(axis=0))
        self.units_ = self._resolve_units(X)
        self.log_columns_ = np.flatnonzero((X > 0).all(axis=0)) if self._uses_monomials() else np.array([], int)
        self.ratio_restarts_ = self.ratio_restarts if self.ratio_restarts is not None \
            else DEFAULT_RATIO_RESTARTS if has_positive_column(X) else 0

        rng = np.random.default_rng(self.random_state)
        train_rows, valid_rows = split_rows(len(X), self.validation_fraction, rng)
        folds = cross_validation_folds(len(valid_rows), rng, len(X))
        data = (X[train_rows], y_matrix[train_rows]), (X[valid_rows], y_matrix[valid_rows])
        symbols = [sympy.Symbol(name) for name in self.feature_names_]
        self.network_, self.restart_errors_ = None, []
        with torch.random.fork_rng(devices=[]), one_cpu_thread():
            torch.manual_seed(int(rng.integers(2**31)))
            candidates = self._cheap_candidates(symbols, *data)
            if not any(c["exact"] for c in candidates):
                candidates += self._network_candidates(X, y_matrix, train_rows, valid_rows, symbols, *data)
        if not candidates:
            raise UserInputError("every restart diverged; try a smaller lr or rescale the data")
        if folds is not None:
            cross_validate(candidates, symbols, X, y_matrix, folds)
        chosen = choose(candidates)
        if candidates[chosen]["exact"]:  # printed as exactly as it fits: `predict` evaluates what is printed
            candidates[chosen] = rewritten_exactly(candidates[chosen], self._clean, self.digits, symbols, X, y_matrix, data[1])
            if folds is not None:
                cross_validate(candidates[chosen:chosen + 1], symbols, X, y_matrix, folds)
        if candidates[chosen]["restart"] is not None:
            self.network_ = self.networks_read_[candidates[chosen]["restart"]]
        del self.networks_read_
        self.expressions_ = candidates[chosen]["formulas"]
        self.expression_ = self.expressions_[0]
        self.equations_ = pareto_table(candidates, chosen, self._y_was_vector)
        return self

    def _cheap_candidates(self, symbols, train: tuple, valid: tuple) -> list[dict]:
        """The power law, then the library's sums and ratios, each only while none so far is exact."""
        self.networks_read_ = {}
        candidates = power_law_candidates(symbols, train, valid, self._clean) if self.power_law else []
        if self.library and not any(c["exact"] for c in candidates):
            candidates += library_candidates(symbols, train, valid, self._clean)
        return candidates

    def _network_candidates(self, X, y_matrix, train_rows, valid_rows, symbols, train: tuple, valid: tuple) -> list[dict]:
        """Train every restart side by side, then read out the best of each kind (on held-out
        rows), best first, until one read-out is exact: reading out a long failed fit can take
        minutes."""
        inputs = torch.as_tensor(self._network_inputs(X), dtype=torch.float32)
        targets = torch.as_tensor(y_matrix / self.y_scale_, dtype=torch.float32)
        train_set = inputs[train_rows], targets[train_rows]
        valid_set = inputs[valid_rows], targets[valid_rows]
        schedule = Schedule(tuple(self.epochs), self.lr, self.penalty, self.regularization, self.prune_threshold,
                            self.init_scale, self.device, self.verbose)
        parallel, self.history_ = train_side_by_side(*train_set, self.units_, self.restarts, self.ratio_restarts_,
                                                     schedule, self._first_layer_inputs())
        kinds = ["network"] * self.restarts + ["ratio"] * self.ratio_restarts_
        networks = [self._restart(parallel, index, kind, train_set, valid_set) for index, kind in enumerate(kinds)]
        self.restart_errors_ = errors = [normalised_error(network, *valid_set) for network in networks]
        ranked = []
        for kind, count in READ_OUT_RESTARTS.items():
            ranked += sorted((i for i in range(len(errors)) if kinds[i] == kind), key=lambda i: errors[i])[:count]
        candidates = []
        for index in sorted(ranked, key=lambda i: errors[i]):
            if not math.isfinite(errors[index]):
                continue
            self.networks_read_[index] = networks[index]
            read_out = self._read_out(networks[index], symbols)
            candidates += read_out_candidates(f"{kinds[index]} {index}", index, read_out, kinds[index] == "ratio",
                                              symbols, train, valid, self._clean)
            if any(c["exact"] for c in candidates):
                break
        return candidates

    def _restart(self, parallel: EQLNetwork, index: int, kind: str, train_set: tuple, valid_set: tuple):
        """Restart `index` as a stand-alone model: a ratio network, or the numerator heads alone."""
        network = extract_copy(parallel, index)
        if kind == "ratio":
            return RatioNetwork(network).eval()
        network = keep_outputs(network, self.n_outputs_).eval()
        eliminate_output_terms(network, train_set, valid_set)
        return network

    def _clean(self, formula: sympy.Expr, digits: int | None = None) -> sympy.Expr:
        """Numbers rounded to `digits` (the regressor's unless given); a ratio's numerator and
        denominator each expanded apart."""
        numerator, denominator = sympy.fraction(formula)
        clean = lambda part: clean_expression(part, digits=digits or self.digits, drop_below=0)
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
        if self.units is None and has_positive_column(X):
            first, deeper = POSITIVE_INPUT_UNITS
            return [dict(first)] + [dict(deeper) for _ in range(self.depth - 1)]
        if self.units is None:
            return [dict(DEFAULT_UNITS) for _ in range(self.depth)]
        if isinstance(self.units, Mapping):
            return [dict(self.units)] * self.depth
        return [dict(layer) for layer in self.units]

    def _uses_monomials(self) -> bool:
        return self.units_[0].get("monomial", 0) > 0

    def _network_inputs(self, X: np.ndarray) -> np.ndarray:
        """The scaled inputs, then the logarithms of the positive ones (read by `monomial` units)."""
        scaled = X / self.x_scale_
        return np.column_stack([scaled, np.log(scaled[:, self.log_columns_])])

    def _first_layer_inputs(self) -> dict[str, list[bool]] | None:
        """`monomial` units read only the log columns, every other unit only the inputs themselves."""
        if not self._uses_monomials():
            return None
        n, logs = self.n_features_in_, len(self.log_columns_)
        raw, log = [True] * n + [False] * logs, [False] * n + [True] * logs
        return {name: log if name == "monomial" else raw for name in self.units_[0]
                if self.units_[0][name] > 0 and get_unit(name).arity > 0}

    def _read_out(self, network: EQLNetwork, symbols: list[sympy.Symbol]) -> list[sympy.Expr]:
        """The formulas in the user's units, at full precision: read out on the scaled inputs (and
        their logarithms), then rescaled exactly."""
        positive = {i: sympy.Symbol(s.name, positive=True) for i, s in enumerate(symbols)}
        scaled = [positive.get(i, s) if i in self.log_columns_ else s for i, s in enumerate(symbols)]
        inputs = [*scaled, *[sympy.log(scaled[i]) for i in self.log_columns_]]
        unscale = {s: s / exact_power(k) for s, k in zip(scaled, self.x_scale_)}
        plain = {positive[i]: symbols[i] for i in self.log_columns_}

        def in_user_units(expression: sympy.Expr, factor: sympy.Expr = sympy.Integer(1)) -> sympy.Expr:
            return sympy.expand(expression.xreplace(unscale) * factor).xreplace(plain)

        if isinstance(network, RatioNetwork):  # (numerator, denominator) pairs, kept apart for the refit
            parts = network.parts_sympy(inputs, threshold=self.prune_threshold, digits=15)
            return [(in_user_units(n, exact_power(k)), in_user_units(d)) for (n, d), k in zip(parts, self.y_scale_)]
        expressions = network.to_sympy(inputs, threshold=self.prune_threshold, digits=15)
        return [in_user_units(e, exact_power(k)) for e, k in zip(expressions, self.y_scale_)]

    # ------------------------------------------------------------------------------- predict
    def predict(self, X) -> np.ndarray:
        """The printed formula evaluated on `X`."""
        self._check_fitted()
        matrix = as_matrix(X, "X")
        if matrix.shape[1] != self.n_features_in_:
            raise UserInputError(f"X has {matrix.shape[1]} features, but EQLRegressor is expecting "
                                 f"{self.n_features_in_} features as input")
        validate_data(self, X, reset=False)  # a DataFrame's columns must be the fitted ones
        X = matrix
        y = self.numpy()(X) if self._y_was_vector else numpy_function(self.expressions_, self._symbols())(X)
        return y

    def score(self, X, y, sample_weight=None) -> float:
        """R^2 of the predictions (averaged over outputs), with the same input checks as `fit`."""
        as_matrix(y, "y", allow_vector=True)
        return super().score(X, y, sample_weight)

    def _check_fitted(self) -> None:
        if not hasattr(self, "expressions_"):
            raise NotFittedError("this EQLRegressor is not fitted yet; call fit(X, y) first")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
