"""Infer a hidden physical parameter from one trajectory and learn the equation of motion around it.

A 1-D conv encoder reads one trajectory of a system and outputs a latent z; an EQL steps (x, v, z)
forward on another trajectory of the same system. Never told the parameter, z comes out proportional
to it (the acceleration a, or omega**2 of an oscillator), and the learned step is the true update.

    python examples/hidden_parameter_dynamics.py runs   # 1.5-4 minutes per system on 2 CPU cores
"""
import sys
from pathlib import Path

from eqlearn.demos import dynamics


def main(out: str = "runs", systems: tuple[str, ...] = ("kinematics", "sho"), **settings) -> dict[str, dict]:
    """One run per system with the demo's defaults, `settings` overriding any `DynamicsConfig` field;
    returns each system's metrics."""
    results = {}
    for system in systems:
        results[system] = dynamics.run(dynamics.DynamicsConfig(**{"system": system, "seed": 0, **settings}), Path(out) / system)
        print(f"--- {system}")
        print("\n".join(dynamics.summary(results[system])))
    return results


if __name__ == "__main__":
    main(*sys.argv[1:2])
