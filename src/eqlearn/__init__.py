"""eqlearn: Equation Learner networks and GNN+EQL force-law discovery.

The public API, each name imported on first use, so `import eqlearn` (and the command line's
start-up) does not pay for torch and scikit-learn:

    discover(data=None, **settings)   find the force law of particle data (or of a simulation): a Discovery
    DiscoverConfig                    every setting of a discovery run (the fields `discover` takes)
    EQLRegressor                      a scikit-learn estimator that fits a formula to a table
    simulate(potential, n, dim, ...)  simulate n-body systems of a pair potential: Trajectories
    get_potential(law, expression)    a built-in law by name, or a potential of your own
    load_dataset(path)                an .npz or long-form .csv data file, checked: Trajectories
    verify(law, potential, dim, ...)  check a law against a known potential (R², rotation, exactness)

For example:

    from eqlearn import discover
    discovery = discover(data="r2.npz", out="runs/r2")   # the same run as `eqlearn discover --data r2.npz`
    discovery.found["law"]       # the law per axis, e.g. {"F_x": "-m1*m2*ux/r**2", "F_y": "-m1*m2*uy/r**2"}
    discovery.equations()        # everything runs/r2/equations.json holds
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
    recipe, restarts, device, out, ...); returns the `Discovery`: `.found` is the law found,
    `.equations()` the run's equations.json."""
    from eqlearn.discovery.config import DiscoverConfig
    from eqlearn.discovery.portfolio import run_discovery

    return run_discovery(DiscoverConfig(data=data, **settings), log=log or (lambda _: None))


def __getattr__(name: str):
    if name in _LOCATIONS:
        import importlib

        module, attribute = _LOCATIONS[name]
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module 'eqlearn' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The lazy names too, so `dir(eqlearn)` and `help(eqlearn)` show the whole public API."""
    return sorted(set(globals()) | set(__all__))
