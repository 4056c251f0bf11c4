"""eqlearn: Equation Learner networks and GNN+EQL force-law discovery."""
__version__ = "0.1.0"
__all__ = ["EQLRegressor"]


def __getattr__(name: str):
    """`from eqlearn import EQLRegressor`, imported on first use so `import eqlearn` (and the CLI's
    start-up) does not pay for torch and scikit-learn."""
    if name == "EQLRegressor":
        from eqlearn.eql.regressor import EQLRegressor

        return EQLRegressor
    raise AttributeError(f"module 'eqlearn' has no attribute {name!r}")
