"""Discovery from observed trajectories: positions only, noise, withheld masses, the solar system.

Every case writes a data file with only what an observer has, runs the default `discover` on it,
and only then judges the result with what the benchmark knows (the law, the true masses, JPL's
masses). One JSON line per run goes to results/real_trajectories.jsonl with the commit; `--table`
rewrites results/real_trajectories.md.

    python benchmarks/real_trajectories.py --cases positions --laws spring,r2 --seeds 0-4 --noise 0,1e-6
    python benchmarks/real_trajectories.py --cases noise --laws spring,r2 --seeds 0-1 --noise 1e-5,1e-4,1e-3
    python benchmarks/real_trajectories.py --cases masses --laws r2 --seeds 0-4
    python benchmarks/real_trajectories.py --cases charges --laws charge --seeds 0-2
    python benchmarks/real_trajectories.py --cases solar --start 1980-01-01 --years 30
    python benchmarks/real_trajectories.py --table
"""
from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import sympy

from discover_sweep import commit
from eqlearn.discovery.result import reported_law
from eqlearn.engines import ENGINES, run_tasks
from eqlearn.physics import get_potential, save_dataset, simulate
from eqlearn.physics.observation import simulate_positions
from eqlearn.readout.verify import parse_message, verify_law
from observed import DT_FRACTION, SIMS, STEPS, discover_file, in_true_mass_units, learned_mass_errors
from results_log import append_rows, parse_seeds, read_rows

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "real_trajectories.jsonl"
TABLE = HERE / "results" / "real_trajectories.md"
RUNS = HERE / "out" / "real_trajectories"
#: Withheld masses: many short systems with exact accelerations (velocities kept).
MASS_SIMS, MASS_STEPS = 200, 100


def positions_case(law: str, seed: int, noise: float) -> dict:
    """A positions-only file (100 steps, Gaussian noise `noise`), judged by the verifier."""
    potential = get_potential(law)
    observed = simulate_positions(potential, 4, 2, SIMS, STEPS, dt=potential.default_dt * DT_FRACTION, seed=seed, noise=noise)
    path = RUNS / f"positions_{law}_{seed}_{noise:g}.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    save_dataset(path, observed)
    equations, seconds = discover_file(path, path.with_suffix(""), seed)
    v = equations["verification"]
    return {"case": "positions", "law": law, "seed": seed, "noise": noise, "recovered": v["passed"],
            "exact": all(v["exact"]), "law_found": reported_law(equations),
            "derivative_error": equations.get("derivatives", {}).get("relative_acceleration_error"),
            "law_error": equations["truth_free"].get("law_force_error"),
            "network_error": equations["truth_free"]["network_force_error"], "seconds": seconds}


def masses_case(law: str, seed: int) -> dict:
    """Exact accelerations, masses withheld: the law converted to true mass units with the
    reference particle's true mass, and every learned mass against the true one."""
    potential = get_potential(law)
    full = simulate(potential, 4, 2, MASS_SIMS, MASS_STEPS, seed=seed)
    path = RUNS / f"masses_{law}_{seed}.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    save_dataset(path, replace(full, masses=None), metadata=False)
    equations, seconds = discover_file(path, path.with_suffix(""), seed)
    true_masses = np.asarray(full.masses, dtype=float)
    error = learned_mass_errors(equations, true_masses)
    by_axis = sorted(equations["messages"], key=lambda m: m["index"])
    law_found = in_true_mass_units([m["refitted"] for m in by_axis], true_masses, equations)
    v = verify_law(law_found, potential.expression, 2, softening=equations["softening"])
    return {"case": "masses", "law": law, "seed": seed, "recovered": v.passed, "exact": all(v.exact),
            "law_found": reported_law(equations),
            "median_mass_error": float(np.median(error)), "max_mass_error": float(error.max()),
            "masses_within_2pct": float(np.mean(error <= 0.02)), "seconds": seconds}


def charges_case(law: str, seed: int) -> dict:
    """Exact accelerations, charges learned (`learn_charges`; the file keeps the true ones, which the
    run uses only to judge): the verifier on the law, and the learned charges against the true ones
    up to each system's overall sign (q → -q changes no force)."""
    full = simulate(get_potential(law), 4, 2, MASS_SIMS, MASS_STEPS, seed=seed)
    path = RUNS / f"charges_{law}_{seed}.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    save_dataset(path, full)
    equations, seconds = discover_file(path, path.with_suffix(""), seed, learn_charges=True)
    charges = equations["particles"]["charges"]
    learned = np.array([row["learned_charge"] for row in charges["table"]]).reshape(full.charges.shape)
    true = np.array([row["true_charge"] for row in charges["table"]]).reshape(full.charges.shape)
    aligned = learned * np.where((learned * true).sum(axis=1, keepdims=True) < 0, -1.0, 1.0)
    charged = true != 0
    v = equations["verification"]
    return {"case": "charges", "law": law, "seed": seed, "recovered": v is not None and v["passed"],
            "exact": v is not None and all(v["exact"]), "law_found": reported_law(equations),
            "signs_right": float(np.mean(np.sign(aligned[charged]) == np.sign(true[charged]))),
            "median_charge_error": float(np.median(np.abs(aligned - true))),
            "network_error": equations["truth_free"]["network_force_error"], "seconds": seconds}


def solar_case(start: str, years: float, step_days: float) -> dict:
    """DE421 positions, no masses: is the law m1*m2*u/r**2 up to scale, and how close are the masses to JPL's?"""
    from eqlearn.physics.ephemeris import solar_system

    path = RUNS / f"solar_{start}_{years:g}y_{step_days:g}d.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    save_dataset(path, solar_system(start, years, step_days))
    equations, seconds = discover_file(path, path.with_suffix(""), 0)
    r, m1, m2 = sympy.symbols("r m1 m2")
    newton = [sympy.Symbol(f"d{a}") * m1 * m2 / r**3 for a in "xyz"]
    by_axis = sorted(equations["messages"], key=lambda m: m["index"])
    ratios = [sympy.simplify(parse_message(m.get("refitted", m["expression"])) / newton[k]) for k, m in enumerate(by_axis)]
    newton_form = all(ratio.is_number and ratio != 0 for ratio in ratios)
    table = equations["particles"]["table"]
    return {"case": "solar", "window": f"{start} +{years:g} y every {step_days:g} d", "newton_form": bool(newton_form),
            "law_found": reported_law(equations),
            "mass_ratios": {row["name"]: round(row["ratio"], 6) for row in table},
            "max_mass_error": max(abs(row["ratio"] - 1) for row in table),
            "law_error": equations["truth_free"].get("law_force_error"),
            "network_error": equations["truth_free"]["network_force_error"], "seconds": seconds}


def write_table() -> None:
    rows = read_rows(RESULTS)
    lines = ["# Discovery from observed trajectories", "",
             "Generated by `python benchmarks/real_trajectories.py --table` from real_trajectories.jsonl; "
             "every row names the commit it ran at. Times are wall seconds of one run on 2 CPU cores.", ""]
    for case, header in (("positions", "| commit | law | noise σ | seed | recovered | exact | derivative error | law error | s |"),
                         ("masses", "| commit | law | seed | exact | median mass error | max mass error | masses within 2 % | s |"),
                         ("charges", "| commit | law | seed | exact | signs right (up to each system's sign) | "
                                     "median charge error | network error | s |"),
                         ("solar", "| commit | window | Newton's form | max mass error | network error | s |")):
        chosen = [row for row in rows if row["case"] in ((case, "noise") if case == "positions" else (case,))]
        if not chosen:
            continue
        lines += [f"## {case}", "", header, "|" + "---|" * (header.count("|") - 1)]
        for row in chosen:
            if case == "positions":
                lines.append(f"| {row['commit']} | {row['law']} | {row['noise']:g} | {row['seed']} | {row['recovered']} | "
                             f"{row['exact']} | {row['derivative_error']:.2g} | {row['law_error']:.3g} | {row['seconds']} |")
            elif case == "charges":
                lines.append(f"| {row['commit']} | {row['law']} | {row['seed']} | {row['exact']} | {row['signs_right']:.3f} | "
                             f"{row['median_charge_error']:.2g} | {row['network_error']:.3g} | {row['seconds']} |")
            elif case == "masses":
                lines.append(f"| {row['commit']} | {row['law']} | {row['seed']} | {row['exact']} | {row['median_mass_error']:.2g} | "
                             f"{row['max_mass_error']:.2g} | {row['masses_within_2pct']:.3f} | {row['seconds']} |")
            else:
                lines.append(f"| {row['commit']} | {row['window']} | {row['newton_form']} | {row['max_mass_error']:.2g} | "
                             f"{row['network_error']:.3g} | {row['seconds']} |")
                lines += ["", "mass ratios learned / JPL: " + ", ".join(f"{k} {v:.5f}" for k, v in row["mass_ratios"].items()),
                          "", "law found: " + "; ".join(row["law_found"]), ""]
        lines.append("")
    TABLE.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="positions", help="positions, noise, masses, charges or solar (comma-separated)")
    parser.add_argument("--laws", default="spring,r2")
    parser.add_argument("--seeds", default="0-4")
    parser.add_argument("--noise", default="0,1e-6")
    parser.add_argument("--start", default="1980-01-01")
    parser.add_argument("--years", type=float, default=30)
    parser.add_argument("--step-days", type=float, default=1.0)
    parser.add_argument("--table", action="store_true", help="only rewrite the markdown table")
    parser.add_argument("--engine", choices=ENGINES, help="ray (default where installed) or process")
    parser.add_argument("--workers", type=int, default=1, help="runs side by side (default: 1, so each run's wall "
                                                                "time is its own)")
    args = parser.parse_args()
    if not args.table:
        version = commit()
        items = []
        for case in args.cases.split(","):
            if case == "solar":
                items.append(("solar", (args.start, args.years, args.step_days), version))
            elif case in ("masses", "charges"):
                items += [(case, (law, seed), version) for law in args.laws.split(",")
                          for seed in parse_seeds(args.seeds)]
            else:
                items += [(case, (law, seed, noise), version) for law in args.laws.split(",")
                          for noise in map(float, args.noise.split(",")) for seed in parse_seeds(args.seeds)]

        def record(_, row: dict) -> None:  # as each run finishes
            print(json.dumps(row), flush=True)
            append_rows(RESULTS, [row])

        run_tasks(run_item, items, engine=args.engine, workers=args.workers, on_result=record, progress=False)
    write_table()


def run_item(item: tuple) -> dict:
    """One run on an engine worker: (case, its arguments, code version) → its results row."""
    case, arguments, version = item
    if case == "solar":
        row = solar_case(*arguments)
    elif case == "masses":
        row = masses_case(*arguments)
    elif case == "charges":
        row = charges_case(*arguments)
    else:
        row = {**positions_case(*arguments), "case": case}
    return {**row, "commit": version}


if __name__ == "__main__":
    main()
