"""Worked examples of an EQL inside a deep-learning architecture, each runnable as `eqlearn demo NAME`.

To add a demo, write a module with a config dataclass, `run(config, out, progress)` and
`summary(metrics)`, and register it in `DEMOS`.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from functools import partial
from pathlib import Path
from typing import Callable

from eqlearn.demos import digits, dynamics, solar
from eqlearn.errors import UserInputError


@dataclass(frozen=True)
class Demo:
    make_config: Callable[[], object]
    run: Callable[[object, Path, bool], dict]
    summary: Callable[[dict], list[str]]


DEMOS: dict[str, Demo] = {
    "digits": Demo(digits.DigitsConfig, digits.run, digits.summary),
    "kinematics": Demo(partial(dynamics.DynamicsConfig, system="kinematics"), dynamics.run, dynamics.summary),
    "sho": Demo(partial(dynamics.DynamicsConfig, system="sho"), dynamics.run, dynamics.summary),
    "solar-system": Demo(solar.SolarConfig, solar.run, solar.summary),
}


def demo_config(name: str, **overrides):
    """The default config of demo `name`, changed where an override is given (None means keep)."""
    if name not in DEMOS:
        raise UserInputError(f"unknown demo {name!r}; choose from {', '.join(DEMOS)}")
    config = DEMOS[name].make_config()
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
    metrics = DEMOS[name].run(config, out, progress)
    return metrics, DEMOS[name].summary(metrics)
