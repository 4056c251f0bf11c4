"""Worked examples of an EQL inside a deep-learning architecture, each runnable as `eqlearn demo NAME`.

To add a demo, write a module here with a config dataclass, `run(config, out, progress)` and
`summary(metrics)`, and register it in `DEMOS`. The table names each demo's module instead of
importing it, so `eqlearn demo -h` lists the demos without loading torch; a demo's module is
imported when it runs.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from eqlearn.errors import UserInputError


@dataclass(frozen=True)
class Demo:
    """A demo: its module in `eqlearn.demos`, that module's config class, fixed settings of that
    config, and one line for `eqlearn demo -h`."""

    module: str
    config: str
    summary: str
    settings: dict = field(default_factory=dict)

    def load(self):
        return importlib.import_module(f"eqlearn.demos.{self.module}")


DEMOS: dict[str, Demo] = {
    "digits": Demo("digits", "DigitsConfig", "add two MNIST digits with an EQL head; test on sums never seen"),
    "kinematics": Demo("dynamics", "DynamicsConfig", "constant acceleration with a hidden a, inferred per system",
                       {"system": "kinematics"}),
    "sho": Demo("dynamics", "DynamicsConfig", "a harmonic oscillator with a hidden omega**2, inferred per system",
                {"system": "sho"}),
    "solar-system": Demo("solar", "SolarConfig", "Newton's law and every body's mass from DE421 positions "
                                                 "(needs eqlearn[astro])"),
}


def demo_config(name: str, **overrides):
    """The default config of demo `name`, changed where an override is given (None means keep)."""
    if name not in DEMOS:
        raise UserInputError(f"unknown demo {name!r}; choose from {', '.join(DEMOS)}")
    demo = DEMOS[name]
    config = getattr(demo.load(), demo.config)(**demo.settings)
    overrides = {key: value for key, value in overrides.items() if value is not None}
    unknown = sorted(set(overrides) - {f.name for f in fields(config)})
    if unknown:
        raise UserInputError(f"demo {name!r} takes no option {', '.join(unknown)}")
    if overrides.get("epochs", 1) < 1:
        raise UserInputError("epochs must be at least 1")
    return replace(config, **overrides)


def run_demo(name: str, out: str | Path, progress: bool = True, **overrides) -> tuple[dict, list[str]]:
    """Run demo `name` into folder `out`; returns its metrics and a few summary lines."""
    config = demo_config(name, **overrides)
    module = DEMOS[name].load()
    metrics = module.run(config, out, progress)
    return metrics, module.summary(metrics)
