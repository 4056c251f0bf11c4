"""EQLRegressor on a small table: fit a formula, print it, use it.

    python examples/regressor.py

A pendulum-like law, E = m g h + m v^2 / 2, from 200 noise-free rows: the regressor tries its
cheap candidates first (a power law, a library of monomial sums), and stops when one is exact on
the held-out rows, so this takes a few seconds.
"""
import numpy as np

from eqlearn import EQLRegressor


def main() -> None:
    rng = np.random.default_rng(0)
    m, h, v = rng.uniform(1, 5, size=(3, 200))
    energy = 9.81 * m * h + m * v**2 / 2
    model = EQLRegressor(feature_names=["m", "h", "v"], random_state=0)
    model.fit(np.column_stack([m, h, v]), energy)
    print("formula:", model.sympy())
    print("LaTeX:  ", model.latex())
    print("R^2:    ", model.score(np.column_stack([m, h, v]), energy))
    print(model.equations_[["size", "error", "equation", "source", "selected"]].to_string(index=False))
    print("E(m=2, h=1, v=3) =", model.predict(np.array([[2.0, 1.0, 3.0]]))[0])


if __name__ == "__main__":
    main()
