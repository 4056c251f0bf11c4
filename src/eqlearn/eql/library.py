"""Library candidates: sparse sums of products of simple factors (their ratios: `library_ratio`).

A trained network reaches a sum of three monomials such as m v^2 + m u^2 + m w^2 only if
gradient descent finds every exponent; a sparse regression over an enumerated library of such
products finds it directly (FFX, McConaghy 2011; SINDy, Brunton et al. 2016). Terms are chosen
by forward regression on the training rows and pruned by backward elimination on held-out
rows, like the networks' read-outs, and the results compete with them on held-out error and size.
"""
from __future__ import annotations

import functools
import itertools
import math

import numpy as np
import sympy

from eqlearn.eql.inputs import one_sign_columns
from eqlearn.eql.library_rates import rate_factors
from eqlearn.eql.library_tails import shortened
from eqlearn.eql.selection import as_good_as, refit_terms, scaled_lstsq

#: Largest total |exponent| of a library monomial (x0 x1^2, x0 x1 / x2^2, ...); lowered for
#: many inputs until there are at most `MAX_MONOMIALS` (681 for five inputs of one sign).
MAX_DEGREE = 4
MAX_MONOMIALS = 1_000
#: Up to this degree while the library keeps at most `SMALL_LIBRARY` monomials: x^6 + x^5 + ...
#: in one variable (10 monomials at degree 9), degree 6 for two variables of one sign.
HIGH_DEGREE = 9
SMALL_LIBRARY = 100
#: With at most `COMPOSITION_INPUTS` inputs the factors also hold functions of a square or a
#: product (sin(x^2), exp(-x y), log(1 + x^2)) and exponentials of the inputs; with at most
#: `POWER_INPUTS`, the powers x_i^x_j of a positive base. More inputs would multiply the runs.
COMPOSITION_INPUTS = 2
POWER_INPUTS = 3
#: The best factors are tried again in pairs (with their product) and in threes, for terms with
#: different factors: sin(x) + sin(y^2), sin(x) cos(y), log(x) + log(x + 1) + log(x^2 + 1).
#: "Best" takes turns between two rankings: the held-out error of a factor's full forward run,
#: and how much of the target its first `SCREEN_TERMS` terms explain on the training rows. On
#: 20 rows a full run interpolates and its held-out error on four rows ranks factors by chance;
#: a few terms cannot interpolate, so the factors of the law explain the most. At least the
#: best `COMBINED_FACTORS`; more while the runs stay within `COMBINATION_BUDGET` (rows x columns
#: per run, summed), so small data sets try most combinations. The `FACTOR_REFITS` combinations
#: that fit the held-out rows best are refitted.
COMBINED_FACTORS = 3
COMBINATION_BUDGET = 3e6
#: In those combinations a factor multiplies monomials of at most this degree (1, x, 1/x, y).
COMBINED_DEGREE = 1
#: Factors (sin x2, log x0, ...) given a full forward run each; with more (many inputs), the ones
#: whose first `SCREEN_TERMS` terms explain most of the target (`_ForwardRuns.few_terms_residual`).
MAX_FACTOR_RUNS = 16
SCREEN_TERMS = 4
#: Terms forward regression picks before backward elimination prunes them.
FORWARD_TERMS = 20
#: Factors (sin x2, log x0, ...) whose sums are refitted, besides the monomials alone.
FACTOR_REFITS = 3
#: Forward regression reads at most this many training rows (the refit reads them all).
MAX_FORWARD_ROWS = 2_000
#: A column that forward regression would add must keep this share of its norm once the chosen
#: columns are projected out; below it, it is a numerical copy of them.
INDEPENDENCE = 1e-6
#: Forward regression stops once the residual's squared norm is below this share of the
#: target's: the chosen terms reproduce it to rounding error, and further terms would only fit
#: that rounding (with huge coefficients on columns such as x^-6 near 0).
RESOLVED = 1e-24


def monomial_exponents(signed: np.ndarray, degree: int) -> np.ndarray:
    """Integer exponent vectors with total |exponent| <= `degree`, lowest degree first (the
    constant first); negative exponents only on the `signed` columns (one sign, never zero)."""
    def vectors(columns: list[bool], budget: int):
        if not columns:
            yield ()
            return
        for e in (range(-budget, budget + 1) if columns[0] else range(budget + 1)):
            for rest in vectors(columns[1:], budget - abs(e)):
                yield (e, *rest)

    found = sorted(vectors([bool(s) for s in signed], degree), key=lambda v: (sum(map(abs, v)), [-e for e in v]))
    return np.array(found, dtype=float).reshape(len(found), len(signed))


def largest_degree(signed: np.ndarray, per_monomial: int, limit: int, top: int = MAX_DEGREE) -> int:
    """The largest degree <= `top` whose monomials, `per_monomial` columns each, fit in `limit`
    columns (0: the constant alone)."""
    for degree in range(1, top + 1):
        if count_monomials(int(np.sum(signed)), len(signed) - int(np.sum(signed)), degree) * per_monomial > limit:
            return degree - 1
    return top


def count_monomials(signed: int, unsigned: int, degree: int) -> int:
    """How many exponent vectors `monomial_exponents` gives, without listing them."""
    # vectors of total |exponent| exactly k: choose the nonzero entries' places, sizes and signs
    total = 1  # the constant
    for k in range(1, degree + 1):
        for nonzero in range(1, k + 1):
            for among_signed in range(0, nonzero + 1):
                places = math.comb(signed, among_signed) * math.comb(unsigned, nonzero - among_signed)
                total += places * math.comb(k - 1, nonzero - 1) * 2**among_signed
    return total


class Library:
    """Monomials of the inputs, and the factors a monomial may be multiplied by: 1, sin and cos
    of every column, log of every strictly positive one, and log|x| and sqrt|x| of a column of
    both signs (the protected log and square root of symbolic regression: on such a column
    log x and sqrt x are undefined, and the data may still follow log|x|); then `extra` factors
    (rates read from the data: `library_rates`)."""

    def __init__(self, x: np.ndarray, symbols, degree: int | None = None, extra: list[sympy.Expr] = ()):
        self.symbols = list(symbols)
        self.signed = one_sign_columns(x)
        self.factors = [sympy.Integer(1)]
        for i, s in enumerate(self.symbols):
            self.factors += [sympy.sin(s), sympy.cos(s)] + ([sympy.log(s)] if (x[:, i] > 0).all() else [])
            if (x[:, i] < 0).any() and (x[:, i] > 0).any():
                self.factors += [f for f in (sympy.log(sympy.Abs(s)), sympy.sqrt(sympy.Abs(s)))
                                 if _usable_factor(self.symbols, f, x)]
        self.factors += [f for f in [*composed_factors(self.symbols, x), *extra] if _usable_factor(self.symbols, f, x)]
        if degree is None:
            degree = max(largest_degree(self.signed, 1, MAX_MONOMIALS),
                         largest_degree(self.signed, 1, SMALL_LIBRARY, top=HIGH_DEGREE))
        self.exponents = monomial_exponents(self.signed, degree)
        self.degrees = np.abs(self.exponents).sum(axis=1)
        self.monomials = [sympy.Mul(*[s ** int(e) for s, e in zip(self.symbols, v)]) for v in self.exponents]
        self._compiled: dict[int, object] = {}

    def sum(self, terms: list[int]) -> sympy.Expr:
        """The sum of the monomials `terms`."""
        return sympy.Add(*[self.monomials[i] for i in terms])

    def monomial_columns(self, x: np.ndarray) -> np.ndarray:
        """One column per monomial, in `monomials` order."""
        with np.errstate(all="ignore"):
            return np.prod(x[:, None, :] ** self.exponents[None], axis=2)

    def factor_values(self, x: np.ndarray, k: int) -> np.ndarray:
        """Factor `k` on the rows of `x`."""
        with np.errstate(all="ignore"):
            values = self._factor_function(k)(*x.T)
        return np.broadcast_to(np.asarray(values, dtype=float), x.shape[:1])

    def _factor_function(self, k: int):
        """Factor `k` as a numpy function, compiled once: a fit evaluates each factor thousands of
        times, and `sympy.lambdify` costs far more than the evaluation."""
        if k not in self._compiled:
            self._compiled[k] = sympy.lambdify(self.symbols, self.factors[k], "numpy")
        return self._compiled[k]


def composed_factors(symbols, x: np.ndarray) -> list[sympy.Expr]:
    """Factors beyond sin, cos and log of one input, for few inputs: sin and cos of squares,
    products and sums or differences of two of those or the inputs (sin(x + x^2)); exp(a),
    exp(-a) and log(1 + a) of the inputs, squares and products; for one input, sin and cos of
    its cube; x_i^x_j for a positive x_i."""
    found: list[sympy.Expr] = []
    if len(symbols) <= COMPOSITION_INPUTS:
        quadratic = [a * b for i, a in enumerate(symbols) for b in symbols[i:]]
        cube = [symbols[0] ** 3] if len(symbols) == 1 else []  # one input: its cube too (sin x^3), not in sums
        arguments = [*symbols, *quadratic]
        sums = [a + sign * b for i, a in enumerate(arguments) for b in arguments[i + 1:] for sign in (1, -1)]
        found += [f(q) for q in [*quadratic, *cube, *sums] for f in (sympy.sin, sympy.cos)]
        found += [f for a in arguments for f in (sympy.exp(a), sympy.exp(-a), sympy.log(1 + a))]
    if len(symbols) <= POWER_INPUTS:
        found += [a**b for i, a in enumerate(symbols) for b in symbols if b != a and (x[:, i] > 0).all()]
    return found


def _usable_factor(symbols, factor: sympy.Expr, x: np.ndarray) -> bool:
    """Finite on every row and not constant there."""
    with np.errstate(all="ignore"):
        values = np.asarray(sympy.lambdify(symbols, factor, "numpy")(*x.T), dtype=float)
    return bool(np.isfinite(values).all() and np.ptp(values) > 0)


def forward_regression(columns: np.ndarray, target: np.ndarray, steps: int = FORWARD_TERMS,
                       first: int | None = None) -> list[int]:
    """Greedy orthogonal forward regression: each step adds the column that lowers the
    least-squares residual most, with the chosen columns projected out of the rest; `first`
    is taken first, whatever its gain."""
    norms = np.linalg.norm(columns, axis=0)
    usable = np.isfinite(norms) & (norms > 0) & np.isfinite(columns).all(axis=0)
    basis = np.where(usable, columns / np.where(usable, norms, 1.0), 0.0)
    residual = target.astype(float).copy()
    resolved = RESOLVED * float(residual @ residual)
    chosen: list[int] = []
    if first is not None and not usable[first]:
        return chosen
    for _ in range(min(steps, int(usable.sum()))):
        if chosen and residual @ residual <= resolved:
            break
        remaining = np.einsum("ij,ij->j", basis, basis)
        open_ = usable & (remaining > INDEPENDENCE)
        open_[chosen] = False
        if not open_.any():
            break
        gain = np.where(open_, (basis.T @ residual) ** 2 / np.where(open_, remaining, 1.0), -np.inf)
        best = first if first is not None and not chosen else int(np.argmax(gain))
        direction = basis[:, best] / math.sqrt(remaining[best])
        residual -= direction * (direction @ residual)
        basis -= np.outer(direction, direction @ basis)
        chosen.append(best)
    return chosen


def fit_library(symbols, train: tuple[np.ndarray, np.ndarray],
                valid: tuple[np.ndarray, np.ndarray]) -> list[tuple[sympy.Expr, float]]:
    """Sparse sums of monomials and of monomials times one factor f (sin x2, log x0, ...): per
    f, forward regression over the monomials and the monomials times f, then over the
    monomials times pairs and threes of factors (`_combinations`). The monomials alone, the
    `FACTOR_REFITS` best single factors and the `FACTOR_REFITS` best combinations are refitted
    by `refit_terms` (least squares, backward elimination on the held-out rows); "best" is the
    held-out error of the forward run's least-squares fit (the training residual says nothing
    when there are barely more rows than terms). Each fit is (formula, held-out error). One
    factor at a time: in one library of every product, forward regression drifts among hundreds
    of near-copies and misses m v^2 + q sin(theta). Fits as good as the best are also tried
    with a Taylor tail replaced by its function (`library_tails`)."""
    x, y = forward_rows(train)
    library = Library(x, symbols, extra=rate_factors(symbols, x, y))
    run = _ForwardRuns(library, x, y, valid)
    steps = min(FORWARD_TERMS, max(1, len(y) - 1))  # more terms than rows fit anything
    runs = list(range(1, len(library.factors)))
    few_terms = functools.cache(run.few_terms_residual)
    if len(runs) > MAX_FACTOR_RUNS and len(library.monomials) > SMALL_LIBRARY:
        runs = sorted(runs, key=few_terms)[:MAX_FACTOR_RUNS]
    sums = []
    for k in [0, *runs]:
        _, held_out, shape = run([()] if k == 0 else [(), (k,)], steps)
        if shape is not None:
            sums.append((held_out if k else -math.inf, k, shape))
    sums.sort(key=lambda s: s[0])
    singles = [k for _, k, _ in sums if k]
    singles = _alternate(singles, sorted(singles, key=few_terms))
    together = sorted(((held_out, shape) for group in _combinations(singles, len(y) * len(library.monomials))
                       for low in (True, "all") for _, held_out, shape in [run(group, steps, low)] if shape is not None),
                      key=lambda t: t[0])
    shapes = [shape for _, _, shape in sums[:1 + FACTOR_REFITS]] + [shape for _, shape in together[:FACTOR_REFITS]]
    fits = [refit_terms(expression, symbols, train, valid) for expression in shapes]
    limit = as_good_as(min((e for _, e in fits), default=math.inf))
    return fits + [fit for formula, error in fits if error <= limit
                   for fit in shortened(formula, error, library, symbols, train, valid)]


def _alternate(first: list[int], second: list[int]) -> list[int]:
    """The two rankings taken in turns, each factor once: [a1, b1, a2, b2, ...]."""
    merged = [k for pair in itertools.zip_longest(first, second) for k in pair if k is not None]
    return list(dict.fromkeys(merged))


def _combinations(ranked: list[int], cells: int) -> list[list[tuple[int, ...]]]:
    """Pairs of factors with their product ([1, a, b, a b]) and threes of the best ([1, a, b, c]),
    as many as `COMBINATION_BUDGET` allows for two runs (`_ForwardRuns` with low degrees in the
    factor blocks, and in every block) of `cells` (rows x monomials) per block. Pairs go by the
    product of their ranks: the best factor with every other, the second with half of them, ...
    The best factor is usually one of the law's, and its partner, which explains little alone
    (cos y beside sin x in sin x cos y), may rank anywhere."""
    limit = max(math.comb(COMBINED_FACTORS, 2), int(COMBINATION_BUDGET // (8 * cells)))
    pairs = sorted(itertools.combinations(range(len(ranked)), 2), key=lambda p: ((p[0] + 1) * (p[1] + 1), p))
    groups = [[(), (ranked[i],), (ranked[j],), (ranked[i], ranked[j])] for i, j in pairs[:limit]]
    top = min(COMBINED_FACTORS, len(ranked))
    while top < len(ranked) and math.comb(top + 1, 3) <= limit:
        top += 1
    groups += [[(), *[(k,) for k in three]] for three in itertools.combinations(ranked[:top], 3)]
    return groups


class _ForwardRuns:
    """Forward regression over blocks of columns, each a product of factors (a tuple of factor
    indices; () is the factor 1) times monomials (all, or those of degree <= 1), scored on
    held-out rows."""

    def __init__(self, library: Library, x: np.ndarray, y: np.ndarray, valid: tuple[np.ndarray, np.ndarray]):
        self.library, self.x, self.y, (self.x_valid, self.y_valid) = library, x, y, valid
        self.monomials, self.valid_monomials = library.monomial_columns(x), library.monomial_columns(self.x_valid)
        self.low = np.flatnonzero(library.degrees <= COMBINED_DEGREE)

    def __call__(self, factors: list[tuple[int, ...]], steps: int,
                 low_degree: bool | str = False) -> tuple[np.ndarray | None, float, sympy.Expr | None]:
        """The training residual, the held-out mean squared error and the sum of the chosen
        terms (None, inf, None when nothing was chosen). With `low_degree`, the blocks other
        than the monomials themselves hold only monomials of degree <= `COMBINED_DEGREE` (with
        `"all"`, every block): with several factors, the full set gives greedy selection too many
        near-copies to choose from."""
        every = np.arange(len(self.library.monomials))
        blocks = [(product, self.low if low_degree and (product or low_degree == "all") else every)
                  for product in factors]
        columns = self._columns(self.x, self.monomials, blocks)
        chosen = forward_regression(columns, self.y, steps)
        if not chosen:
            return None, math.inf, None
        coefficients = np.linalg.lstsq(columns[:, chosen], self.y, rcond=None)[0]
        residual = self.y - columns[:, chosen] @ coefficients
        with np.errstate(all="ignore"):
            valid_columns = self._columns(self.x_valid, self.valid_monomials, blocks)[:, chosen]
            held_out = float(np.mean((valid_columns @ coefficients - self.y_valid) ** 2))
        columns_of = [(product, m) for product, monomials in blocks for m in monomials]
        terms = [self.library.monomials[m] * sympy.Mul(*[self.library.factors[k] for k in product])
                 for product, m in (columns_of[i] for i in chosen)]  # only the chosen: sympy products are slow
        return residual, held_out if math.isfinite(held_out) else math.inf, sympy.Add(*terms)

    def few_terms_residual(self, factor: int) -> float:
        """The smaller training residual of two runs of `SCREEN_TERMS` terms over the monomials and
        their products with `factor`: greedy from the start, and started from the product that
        explains most of the target. A greedy start may take a monomial that a Taylor series of
        the factor shares; a forced one may take a product that explains only the target's
        largest values."""
        every = np.arange(len(self.library.monomials))
        columns = self._columns(self.x, self.monomials, [((), every), ((factor,), every)])
        own = np.arange(len(every), 2 * len(every))
        first = int(own[np.argmax((unit_columns(columns)[:, own].T @ self.y) ** 2)])
        left = math.inf
        for start in (None, first):
            chosen = forward_regression(columns, self.y, SCREEN_TERMS, first=start)
            if chosen:
                fitted = columns[:, chosen] @ scaled_lstsq(columns[:, chosen], self.y)
                left = min(left, float(np.sum((self.y - fitted) ** 2)))
        return left

    def _columns(self, x: np.ndarray, monomials: np.ndarray, blocks: list) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.concatenate([monomials[:, kept] * np.prod([self.library.factor_values(x, k) for k in product],
                                                                 axis=0)[:, None] if product else monomials[:, kept]
                                   for product, kept in blocks], axis=1)


def unit_columns(columns: np.ndarray) -> np.ndarray:
    """Columns scaled to unit norm; a column that is not finite or is zero becomes all zeros."""
    norms = np.linalg.norm(columns, axis=0)
    usable = np.isfinite(norms) & (norms > 0) & np.isfinite(columns).all(axis=0)
    return np.where(usable, columns / np.where(usable, norms, 1.0), 0.0)


def forward_rows(train: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The training rows forward regression reads (already in random order: `_split`)."""
    x, y = train
    return x[:MAX_FORWARD_ROWS], y[:MAX_FORWARD_ROWS]
