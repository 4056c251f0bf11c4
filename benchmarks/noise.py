"""Laws from noisy observed positions: eqlearn's objectives and PySINDy's weak SINDy on the same files.

The methods: eqlearn on accelerations estimated from the positions (today's default), eqlearn
with its weak-form objective, and PySINDy's weak SINDy over pair features (benchmarks/weak_sindy.py).

Every file holds only what an observer has: `eqlearn simulate --positions-only --noise σ` (n = 4,
d = 2, 500 systems × 100 stored states at a tenth of the law's default spacing, σ in units of the
systems' size; `--no-masses` for the `masses` case), or DE421's solar system with Gaussian noise
of σ au on every position (`solar`). Each method reads the file and nothing else; only then is its
law judged, by eqlearn's verifier (`verify_law`, its "exact" rule included), with learned masses
judged against the true ones (within 2 %). One JSON line per run goes to results/noise.jsonl with
the commit (a rerun skips runs already there at that commit); results/noise.md is the table.

    python benchmarks/noise.py                       # spring, r1, r2, charge × σ 0, 1e-6 … 1e-2 × seeds 0-4
    python benchmarks/noise.py --cases masses        # r2, masses withheld, σ 1e-5
    python benchmarks/noise.py --cases solar --seeds 0   # DE421 1980 + 30 y daily, σ 0, 1e-9 … 1e-4 au
    python benchmarks/noise.py --smoke               # a toy size (about a minute), rows under out/
    python benchmarks/noise.py --table
"""
from __future__ import annotations

import argparse
import dataclasses
import functools
import statistics
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from discover_sweep import commit
from eqlearn.discovery.config import DiscoverConfig, parse_setting
from eqlearn.engines import ENGINES, run_tasks
from eqlearn.errors import UserInputError
from eqlearn.physics import get_potential, save_dataset
from eqlearn.physics.observation import observe
from eqlearn.readout.variables import evaluate
from eqlearn.readout.verify import parse_message, sample_pairs, true_force, verify_law
from observed import DT_FRACTION, SIMS, STEPS, discover_file, in_true_mass_units, learned_mass_errors, positions_only_file, true_masses_path
from results_log import append_rows, parse_seeds, read_rows, write_markdown

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "noise.jsonl"
SMOKE_RESULTS = HERE / "out" / "noise_smoke.jsonl"
FILES = HERE / "out" / "noise" / "files"
RUNS = HERE / "out" / "noise" / "runs"
CASES = ("positions", "masses", "solar")
DEFAULT_LAWS = {"positions": "spring,r1,r2,charge", "masses": "r2", "solar": "solar"}
DEFAULT_NOISE = {"positions": "0,1e-6,1e-5,1e-4,1e-3,1e-2", "masses": "1e-5", "solar": "0,1e-9,1e-8,1e-7,1e-6,1e-5,1e-4"}
#: eqlearn runs by training objective (None: the program's own choice), then PySINDy's weak SINDy.
EQLEARN_OBJECTIVES = {"accelerations": "accelerations", "weak": "weak", "default": None}
METHODS = (*EQLEARN_OBJECTIVES, "pysindy")
#: Newton's law, the truth the solar rows are judged by (masses relative to the Sun's, as DE421's).
NEWTON = "-m1*m2/r"
MASS_TOLERANCE = 0.02
#: The frontier: the largest σ at which at least this share of the runs is exact (4 of 5 seeds).
FRONTIER_SHARE = 0.8
SMOKE = dict(sims=50, laws="spring", noise="0,1e-3", seeds="0", eqlearn_options={"recipe": "central", "epochs": 2})


def objective_options(method: str) -> dict | None:
    """The DiscoverConfig settings of an eqlearn method, or None where this eqlearn lacks it. Until
    DiscoverConfig has `objective`, the acceleration path is the default and the weak form absent."""
    objective = EQLEARN_OBJECTIVES[method]
    field = {f.name: f for f in dataclasses.fields(DiscoverConfig)}.get("objective")
    if objective is None:
        return {}
    if field is None:
        return {} if method == "accelerations" else None
    choices = field.metadata.get("choices")
    return {"objective": objective} if choices is None or isinstance(choices, str) or objective in choices else None


def configuration(case: str, sims: int, solar: tuple) -> str:
    if case == "solar":
        start, years, step_days = solar
        return f"DE421 {start} +{years:g} y every {step_days:g} d"
    return f"n4 d2, {sims} systems x {STEPS} states at {DT_FRACTION:g} x the law's dt" + (", masses withheld" if case == "masses" else "")


def data_file(case: str, law: str, noise: float, seed: int, sims: int, solar: tuple) -> Path:
    """The observed file of one (case, law, σ, seed), made once and shared by every method."""
    if case == "solar":
        start, years, step_days = solar
        path = FILES / f"solar_{start}_{years:g}y_{step_days:g}d_s{seed}_{noise:g}.npz"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            save_dataset(path, observe(_solar_system(*solar), noise, seed, masses=True))
        return path
    path = FILES / f"{case}_{law}_{sims}x{STEPS}_s{seed}_{noise:g}.npz"
    return positions_only_file(path, get_potential(law), seed, noise, masses=case != "masses", sims=sims)


@functools.lru_cache(maxsize=1)
def _solar_system(start: str, years: float, step_days: float):
    from eqlearn.physics.ephemeris import solar_system

    return solar_system(start, years, step_days)


def run_item(item: dict) -> dict:
    """One run on an engine worker: the item's method on its file, judged; its results row."""
    row = {name: item[name] for name in ("key", "case", "configuration", "law", "noise", "seed", "method")}
    try:
        if item["method"] == "pysindy":
            row.update(_pysindy_run(item))
        else:
            row.update(_eqlearn_run(item))
    except Exception as error:  # one broken run is a row, not the end of the grid
        row.update(verdict="error", error=f"{type(error).__name__}: {error}", law_error=None, seconds=None)
    return {**row, "commit": item["version"]}


def _eqlearn_run(item: dict) -> dict:
    path, options = Path(item["path"]), item["options"]
    out = RUNS / item["key"].replace("|", "_").replace(" ", "").replace("/", "÷")
    equations, seconds = discover_file(path, out, item["seed"], **options)
    by_axis = sorted(equations["messages"], key=lambda m: m["index"])
    law = [m.get("refitted", m["expression"]) for m in by_axis]
    canonical, softening = equations.get("canonical") or None, equations["softening"]
    row = {"objective": options.get("objective"), "seconds": seconds,
           "law_found": [m["unit_vector_form"] for m in by_axis],
           "held_out_law_error": equations["truth_free"].get("law_force_error"),
           "network_error": equations["truth_free"].get("network_force_error"),
           "derivative_error": (equations.get("derivatives") or {}).get("relative_acceleration_error")}
    if item["case"] == "positions":  # masses known: the run's own verdict, as `eqlearn discover` prints it
        v = equations["verification"]
        verdict = None if v is None else ("exact" if all(v["exact"]) else "pass" if v["passed"] else "fail")
        return {**row, "verdict": verdict or "fail", "law_error": law_error(law, item["truth"], 2, softening)}
    if item["case"] == "masses":
        true = np.load(true_masses_path(path), allow_pickle=False)
        law = in_true_mass_units(law, true, equations)
        canonical = canonical and in_true_mass_units(canonical, true, equations)  # None stays None
        errors = learned_mass_errors(equations, true)
    else:  # solar: learned masses in the Sun's, beside DE421's
        errors = np.abs(np.array([r["ratio"] for r in equations["particles"]["table"]]) - 1)
    dim = 2 if item["case"] == "masses" else 3
    judged = judge(law, item["truth"], dim, softening, canonical)
    if judged["verdict"] == "exact" and errors.max() > MASS_TOLERANCE:
        judged["verdict"] = "pass"
    return {**row, **judged, "max_mass_error": float(errors.max()),
            "masses_within_2pct": float(np.mean(errors <= MASS_TOLERANCE))}


def _pysindy_run(item: dict) -> dict:
    from weak_sindy import fit_weak_sindy

    start = time.perf_counter()
    with np.load(item["path"], allow_pickle=False) as data:
        times, softening = data["times"], float(data["softening"]) if "softening" in data else 0.0
        charges = data["charges"] if "charges" in data else None
        dim = data["positions"].shape[-1]
        found = fit_weak_sindy(data["positions"], times, data["masses"], charges, softening, seed=item["seed"])
    seconds = round(time.perf_counter() - start, 1)
    law = found.messages(dim, softening)
    return {**judge(law, item["truth"], dim, softening), "seconds": seconds, "law_found": [str(e) for e in law],
            "terms": [list(t) for t in found.terms], "threshold": found.threshold, "weak_residual": found.residual}


def judge(law: list, potential: str, dim: int, softening: float, canonical: list | None = None) -> dict:
    """eqlearn's verifier on a law (the top-d messages), as a run is judged: exact, pass or fail."""
    if len(law) != dim:
        return {"verdict": "fail", "law_error": None}
    v = verify_law(law, potential, dim, canonical=canonical, softening=softening)
    return {"verdict": "exact" if all(v.exact) else "pass" if v.passed else "fail",
            "law_error": law_error(law, potential, dim, softening)}


def law_error(law: list, potential: str, dim: int, softening: float) -> float | None:
    """How far a law is from the true pair force whatever its units and scale: the relative RMS
    residual of the messages fitted by a linear map of the true force (or of F/m1, whichever
    fits better), on the verifier's fresh pairs. 0 for the exact law."""
    if len(law) != dim:
        return None
    values = sample_pairs(dim, 4000, 12345, "q1" in potential or "q2" in potential, softening)
    force = np.column_stack([evaluate(f, values) for f in true_force(potential, dim, softening=softening)])
    messages = np.column_stack([evaluate(parse_message(e), values) for e in law])
    if not np.all(np.isfinite(messages)) or not np.any(messages):
        return None
    errors = []
    for components in (force, force / values["m1"][:, None]):
        fitted = components @ np.linalg.lstsq(components, messages, rcond=None)[0]
        errors.append(float(np.linalg.norm(messages - fitted) / np.linalg.norm(messages)))
    return min(errors)


def plan(args, version: str) -> list[dict]:
    """The runs asked for, less those done at this commit and those a method cannot make here (one
    line says why); their files made here, once, before any run starts."""
    done = {row["key"] for row in read_rows(args.results) if row["commit"] == version}
    solar = (args.start, args.years, args.step_days)
    items, skipped = [], {}
    for case in args.cases.split(","):
        laws = DEFAULT_LAWS[case] if case == "solar" else args.laws or DEFAULT_LAWS[case]
        config = configuration(case, args.sims, solar)
        for law in laws.split(","):
            truth = NEWTON if case == "solar" else get_potential(law).expression
            for noise in map(float, (args.noise or DEFAULT_NOISE[case]).split(",")):
                for seed in parse_seeds(args.seeds):
                    for method in args.methods.split(","):
                        options = None if method == "pysindy" else objective_options(method)
                        if method == "pysindy" and case != "positions":
                            skipped[method, case] = "its pair library needs the masses, which these files withhold"
                            continue
                        if method != "pysindy" and options is None:
                            skipped[method, case] = (f"DiscoverConfig has no objective {EQLEARN_OBJECTIVES[method]!r} "
                                                     "yet; these runs start, with no change here, once it has")
                        if method != "pysindy" and options is not None and args.eqlearn_options:
                            options = {**options, **args.eqlearn_options}
                        key = "|".join([case, config, law, f"σ{noise:g}", f"s{seed}", method])
                        if options:
                            key += "|" + ",".join(f"{k}={v}" for k, v in sorted(options.items()) if k != "objective")
                        if (method, case) in skipped or key in done:
                            continue
                        path = data_file(case, law, noise, seed, args.sims, solar)
                        items.append({"key": key.rstrip("|"), "case": case, "configuration": config, "law": law,
                                      "noise": noise, "seed": seed, "method": method, "options": options or {},
                                      "truth": truth, "path": str(path), "version": version})
    for (method, case), why in skipped.items():
        print(f"{method} on {case}: skipped, {why}")
    return items


def write_table(results: Path) -> str:
    """The Markdown table of the newest row of every run in `results`, beside it as .md."""
    rows = list({row["key"]: row for row in read_rows(results)}.values())
    lines = ["# Laws from noisy observed positions", "",
             f"Generated by `python benchmarks/noise.py --table` from {results.name} (the newest row of every run; "
             "the commits each line comes from are listed). Each method reads the same positions-only file; "
             "verdicts are eqlearn's verifier's: **exact** (its exact rule; where masses are learned, every mass "
             "within 2 % of the true one too), **passed** (R² ≥ 0.99 against the true force, exact runs included). "
             "Law error: the relative RMS misfit of the law's messages by a linear map of the true pair force on the "
             "verifier's fresh pairs (0 for the exact law in any units). Seconds: wall time of one run, file "
             "loading included; they are results only from an otherwise idle machine.", ""]
    sections = defaultdict(list)
    for row in rows:
        sections[row["case"], row["configuration"]].append(row)
    for (case, config), chosen in sections.items():
        cells = defaultdict(list)
        for row in chosen:
            cells[row["law"], row["noise"], row["method"]].append(row)
        lines += [f"## {case}: {config}", "", "| law | σ | method | runs | exact | passed | median law error | median s | commits |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for (law, noise, method), runs in sorted(cells.items(), key=lambda c: (c[0][0], c[0][1], METHODS.index(c[0][2]))):
            errors = [r["law_error"] for r in runs if r.get("law_error") is not None]
            seconds = [r["seconds"] for r in runs if r.get("seconds") is not None]
            lines.append(f"| {law} | {noise:g} | {method} | {len(runs)} | {_count(runs, 'exact')} | "
                         f"{_count(runs, 'exact', 'pass')} | {_median(errors, '.2g')} | {_median(seconds, '.1f')} | "
                         f"{', '.join(sorted({r['commit'] for r in runs}))} |")
        lines += ["", f"Frontier: the largest σ with at least {FRONTIER_SHARE:.0%} of the runs exact (4 of 5 seeds), "
                      "with the exact runs there; none: not even the smallest σ tried.", ""]
        methods = [m for m in METHODS if any(k[2] == m for k in cells)]
        lines += ["| law | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
        for law in sorted({k[0] for k in cells}):
            lines.append(f"| {law} | " + " | ".join(frontier(cells, law, m) for m in methods) + " |")
        lines.append("")
    return write_markdown(results.with_suffix(".md"), lines)


def _count(runs: list[dict], *verdicts: str) -> int:
    return sum(r["verdict"] in verdicts for r in runs)


def _median(values: list[float], form: str) -> str:
    return format(statistics.median(values), form) if values else "–"


def frontier(cells: dict, law: str, method: str) -> str:
    exact = {noise: (_count(runs, "exact"), len(runs)) for (each, noise, m), runs in cells.items()
             if (each, m) == (law, method)}
    if not exact:
        return "–"
    good = [noise for noise, (k, n) in exact.items() if k >= FRONTIER_SHARE * n]
    return f"{max(good):g} ({exact[max(good)][0]}/{exact[max(good)][1]})" if good else "none"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="positions", help=f"comma-separated of {', '.join(CASES)}")
    parser.add_argument("--laws", help="comma-separated built-in laws (default: spring,r1,r2,charge; masses: r2)")
    parser.add_argument("--noise", help="comma-separated σ (default: positions " + DEFAULT_NOISE["positions"] +
                                        "; masses " + DEFAULT_NOISE["masses"] + "; solar, in au, " + DEFAULT_NOISE["solar"] + ")")
    parser.add_argument("--seeds", default="0-4")
    parser.add_argument("--methods", default="accelerations,weak,pysindy",
                        help="comma-separated: accelerations (eqlearn on estimated accelerations), weak (eqlearn's "
                             "weak-form objective), default (eqlearn, the objective left to the program), pysindy")
    parser.add_argument("--sims", type=int, default=SIMS, help=f"systems per simulated file (default: {SIMS})")
    parser.add_argument("--start", default="1980-01-01", help="solar: first day")
    parser.add_argument("--years", type=float, default=30, help="solar: span")
    parser.add_argument("--step-days", type=float, default=1.0, help="solar: days between positions")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a DiscoverConfig setting for every eqlearn run (repeatable; part of each run's key)")
    parser.add_argument("--smoke", action="store_true", help="a toy check of the harness (spring, 50 systems, σ 0 and "
                                                             "1e-3, seed 0, a short central recipe), rows to out/")
    parser.add_argument("--results", type=Path, help=f"results file (default: {RESULTS.relative_to(HERE)}; with "
                                                     f"--smoke {SMOKE_RESULTS.relative_to(HERE)})")
    parser.add_argument("--table", action="store_true", help="only rewrite the Markdown table")
    parser.add_argument("--engine", choices=ENGINES, help="ray (default where installed) or process")
    parser.add_argument("--workers", type=int, default=1, help="runs side by side (default: 1, so each run's wall "
                                                                "time is its own)")
    args = parser.parse_args()
    args.eqlearn_options = {}
    if args.smoke:
        args.sims, args.laws, args.noise, args.seeds, args.cases = SMOKE["sims"], SMOKE["laws"], SMOKE["noise"], SMOKE["seeds"], "positions"
        args.eqlearn_options = dict(SMOKE["eqlearn_options"])
    for pair in args.set:
        name, _, text = pair.partition("=")
        if name.strip() == "objective":
            parser.error("--set objective: choose the objective with --methods")
        try:
            args.eqlearn_options[name.strip()] = parse_setting(name.strip(), text, f"--set {pair}")
        except UserInputError as error:
            parser.error(str(error))
    args.results = args.results or (SMOKE_RESULTS if args.smoke else RESULTS)
    bad = sorted(set(args.methods.split(",")) - set(METHODS)) + sorted(set(args.cases.split(",")) - set(CASES))
    if bad:
        parser.error(f"unknown method or case {', '.join(bad)}; methods: {', '.join(METHODS)}; cases: {', '.join(CASES)}")
    if not args.table:
        if "pysindy" in args.methods.split(","):
            _check_pysindy(parser)
        items = plan(args, commit())
        finished = 0

        def record(_, row: dict) -> None:  # as each run finishes
            nonlocal finished
            finished += 1
            error = "–" if row.get("law_error") is None else f"{row['law_error']:.2g}"
            print(f"[{finished}/{len(items)}] {row['key']}: {row['verdict']}, law error {error}, {row['seconds']} s", flush=True)
            append_rows(args.results, [row])

        print(f"{len(items)} runs to do; rows to {args.results}", flush=True)
        run_tasks(run_item, items, engine=args.engine, workers=args.workers, on_result=record, progress=False)
    print(write_table(args.results))


def _check_pysindy(parser) -> None:
    from weak_sindy import PYSINDY_MISSING

    try:
        import pysindy  # noqa: F401
    except ImportError:
        parser.exit(2, f"noise.py: {PYSINDY_MISSING} (or leave pysindy out of --methods)\n")


if __name__ == "__main__":
    main()
