"""eqlearn: Equation Learner networks and GNN+EQL force-law discovery.

The public API, each name imported on first use so `import eqlearn` (and the CLI's start-up) does
not pay for torch and scikit-learn:

    from eqlearn import discover, simulate, verify, load_dataset, EQLRegressor
    law = discover(data="r2.npz", out="runs/r2")         # the same run as `eqlearn discover --data r2.npz`
"""
from eqlearn.version import __version__ as __version__  # re-exported: eqlearn.__version__

__all__ = ["EQLRegressor", "DiscoverConfig", "discover", "simulate", "verify", "load_dataset", "get_potential"]

_LOCATIONS = {
    "EQLRegressor": ("eqlearn.eql.regressor", "EQLRegressor"),
    "DiscoverConfig": ("eqlearn.discovery.config", "DiscoverConfig"),
    "simulate": ("eqlearn.physics.simulator", "simulate"),
    "get_potential": ("eqlearn.physics.potentials", "get_potential"),
    "load_dataset": ("eqlearn.physics.dataset", "load_dataset"),
    "verify": ("eqlearn.readout.verify", "verify_law"),
}


def discover(data: str | None = None, *, log=None, **settings):
    """Run force-law discovery: `settings` are `DiscoverConfig` fields (law, potential, n, dim, seed,
    recipe, restarts, device, out, ...); returns the `Discovery` (see `.equations()`)."""
    from eqlearn.discovery.config import DiscoverConfig
    from eqlearn.discovery.portfolio import run_discovery

    return run_discovery(DiscoverConfig(data=data, **settings), log=log or (lambda _: None))


def __getattr__(name: str):
    if name in _LOCATIONS:
        import importlib

        module, attribute = _LOCATIONS[name]
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module 'eqlearn' has no attribute {name!r}")
