"""The tables of docs/results.md, one builder per benchmark, each from that benchmark's stored rows.

A builder returns `Group`s: the rows of one commit and one configuration in one table, whose caption
names both, newest first. `results_page.py` lays them out; nothing here runs a benchmark.
"""
from __future__ import annotations

import csv
import json
import statistics
import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the benchmark scripts import each other by module name

import demos  # noqa: E402
import discover_sweep  # noqa: E402
import large_systems  # noqa: E402
import noise as noise_benchmark  # noqa: E402
import real_trajectories  # noqa: E402
import seed_config  # noqa: E402
from results_log import read_rows  # noqa: E402

RESULTS = HERE / "results"
LINK = "../benchmarks/results/"  # from docs/ to the result files
NOT_RECORDED = "Commit not recorded in the rows"


@dataclass
class Group:
    """One table: rows of one commit and configuration, the caption that says which, and a one-line
    summary for the list of earlier runs."""

    caption: str
    table: list[str]
    summary: str = ""
    config: object = None  # the newest group of each configuration is shown, the others are folded away
    earlier: bool = False  # folded away whatever its configuration (an earlier recipe)


# ----------------------------------------------------------------------------------------- helpers
def rows_of(name: str, unique: tuple[str, ...] = ("key", "commit")) -> list[dict]:
    return read_rows(RESULTS / name, unique)


def newest_first(rows: list[dict], identity: Callable[[dict], tuple]) -> list[tuple[tuple, list[dict]]]:
    """Rows grouped by `identity`, the group whose last row was appended last first."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    last: dict[tuple, int] = {}
    for number, row in enumerate(rows):
        groups[identity(row)].append(row)
        last[identity(row)] = number
    return [(key, groups[key]) for key in sorted(groups, key=last.get, reverse=True)]


def header(*columns: str) -> list[str]:
    return ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]


def cells(*values) -> str:
    return "| " + " | ".join(str(value) for value in values) + " |"


def g3(value) -> str:
    return "–" if value is None else f"{value:.3g}"


def span(values: list[float], digits: str = ".3g") -> str:
    low, high = min(values), max(values)
    return f"{low:{digits}}" if f"{low:{digits}}" == f"{high:{digits}}" else f"{low:{digits}}–{high:{digits}}"


def count(rows: list[dict], field: str) -> str:
    return f"{sum(bool(row[field]) for row in rows)}/{len(rows)}"


def short(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[:limit] + " …"


def link(name: str) -> str:
    return f"[`{name}`]({LINK}{name})"


# ----------------------------------------------------------------------------------------- discovery
def discovery_groups(rows: list[dict]) -> list[Group]:
    """discover_sweep.py's own table per commit and recipe; earlier ones summarised per law."""
    groups = []
    for (version, recipe), group in newest_first(rows, lambda row: (row["commit"], row["recipe"])):
        per_law = defaultdict(list)
        for row in group:
            per_law[(row["law"], row["n"], row["dim"])].append(row)
        laws = ", ".join(f"`{law}`{'' if (n, dim) == (4, 2) else f' (n={n}, d={dim})'} {count(runs, 'exact')}"
                         for (law, n, dim), runs in per_law.items())
        summary = f"commit `{version}`, recipe `{recipe}`, {len(group)} runs; exact per law: {laws}"
        text = discover_sweep.table(group).rstrip("\n").split("\n")
        groups.append(Group(text[0], text[2:], summary))
    return groups


def issue_set(row: dict) -> bool:
    """The issue's laws at n = 4, d = 2."""
    return row["law"] in discover_sweep.ISSUE_SET and (row["n"], row["dim"]) == (4, 2)


def unlisted_set(row: dict) -> bool:
    return row["law"] in discover_sweep.UNLISTED_SET


def switching_set(row: dict) -> bool:
    """Laws that switch at a distance (a force switched on, a spring that breaks, a cutoff Coulomb)."""
    return row["law"] in discover_sweep.SWITCHING_SET and (row["n"], row["dim"]) == (4, 2)


def larger_systems(row: dict) -> bool:
    """The issue's laws at eight particles or in three dimensions."""
    return row["law"] in discover_sweep.ISSUE_SET and (row["n"], row["dim"]) != (4, 2)


def discover_rows(keep: Callable[[dict], bool], name: str = "discover.jsonl") -> list[dict]:
    return [row for row in rows_of(name) if keep(row)]


# ----------------------------------------------------------------------------------------- large systems
def large_system_groups() -> list[Group]:
    memory = [row for row in rows_of("large_systems.jsonl") if row["key"].startswith("memory")]
    groups = []
    setting = lambda row: (row["commit"], row["recipe"], row["n"], row["dim"], row["sims"], row["spread"],
                           row["cutoff"], row["graph"], row["batch_size"])
    for (version, recipe, n, dim, sims, spread, cutoff, graph, batch), group in newest_first(large_system_runs(), setting):
        caption = (f"Commit `{version}`: n = {n}, d = {dim}, {sims} systems of one state, positions N(0, {spread:g}²), "
                   f"potential truncated at |Δ| = {cutoff:g}, `--graph \"{graph}\" --batch-size {batch}`, recipe "
                   f"`{recipe}`; `python benchmarks/large_systems.py`.")
        table = header("law", "seed", "verifier pass", "exact", "law / network error", "wall s", "peak memory MB",
                       "law (u = Δ/|Δ|)")
        table += [cells(f"`{r['law']}`", r["seed"], r["passed"], r["exact"],
                        f"{r['law_force_error']:.2g} / {r['network_force_error']:.2g}", r["wall_seconds"],
                        r["peak_memory_mb"], f"`{short('; '.join(r['law_found']))}`") for r in group]
        groups.append(Group(caption, table))
    for (version,), group in newest_first(memory, lambda row: (row["commit"],)):
        caption = (f"Commit `{version}`: memory of one training step (forward and backward of "
                   f"{large_systems.BATCH} graphs, the default model, the same density at every n); "
                   "`python benchmarks/large_systems.py --memory`.")
        table = header("n", "graph", "edges per graph", "edge slots per graph", "tensors kept for backward, MB", "step s")
        table += [cells(r["n"], r["graph"], r["edges_per_graph"], r["slots_per_graph"], r["saved_for_backward_mb"],
                        r["step_seconds"]) for r in group]
        groups.append(Group(caption, table))
    return groups


# ----------------------------------------------------------------------------------------- observed data
def large_system_runs() -> list[dict]:
    return [row for row in rows_of("large_systems.jsonl") if not row["key"].startswith("memory")]


def trajectory_rows(*cases: str) -> list[dict]:
    return [row for row in rows_of("real_trajectories.jsonl") if row["case"] in cases]


def positions_groups() -> list[Group]:
    groups = []
    for (version,), group in newest_first(trajectory_rows("positions", "noise"), lambda row: (row["commit"],)):
        caption = (f"Commit `{version}`: positions only, n = 4, d = 2, {real_trajectories.SIMS} systems × "
                   f"{real_trajectories.STEPS} stored states at {real_trajectories.DT_FRACTION:g} of the law's "
                   "default spacing, Gaussian position noise σ, accelerations estimated from the positions; "
                   "`python benchmarks/real_trajectories.py --cases positions,noise`.")
        table = header("law", "noise σ", "runs", "verifier pass", "exact", "estimated acceleration error",
                       "law error", "wall s")
        by_setting = defaultdict(list)
        for row in group:
            by_setting[(row["law"], row["noise"])].append(row)
        for (law, noise), runs in sorted(by_setting.items()):
            table.append(cells(law, f"{noise:g}", len(runs), count(runs, "recovered"), count(runs, "exact"),
                               span([r["derivative_error"] for r in runs], ".2g"),
                               span([r["law_error"] for r in runs], ".2g"), span([r["seconds"] for r in runs], ".1f")))
        groups.append(Group(caption, table))
    return groups


def solar_groups() -> list[Group]:
    groups = []
    for (version, window), group in newest_first(trajectory_rows("solar"), lambda row: (row["commit"], row["window"])):
        caption = (f"Commit `{version}`: JPL DE421 positions of the Sun, planets and Moon, {window}, no masses, the "
                   "default recipe; the law and every mass learned; JPL's masses used only to judge; "
                   "`python benchmarks/real_trajectories.py --cases solar`.")
        table = header("window", "Newton's form", "law found", "law error", "network error", "max mass error",
                       "masses learned / JPL", "wall s")
        table += [cells(r["window"], r["newton_form"], f"`{short('; '.join(r['law_found']), 240)}`", g3(r.get("law_error")),
                        g3(r["network_error"]), f"{r['max_mass_error']:.2g}",
                        ", ".join(f"{name} {ratio:.5f}" for name, ratio in r["mass_ratios"].items()), r["seconds"])
                  for r in group]
        groups.append(Group(caption, table, config=window))
    return groups


def masses_groups() -> list[Group]:
    groups = []
    for (version, law), group in newest_first(trajectory_rows("masses"), lambda row: (row["commit"], row["law"])):
        caption = (f"Commit `{version}`: masses withheld, n = 4, d = 2, {real_trajectories.MASS_SIMS} systems × "
                   f"{real_trajectories.MASS_STEPS} states with accelerations, the default recipe; "
                   "`python benchmarks/real_trajectories.py --cases masses`.")
        table = header("law", "seed", "exact", "median mass error", "max mass error", "masses within 2 %", "wall s")
        table += [cells(r["law"], r["seed"], r["exact"], f"{r['median_mass_error']:.2g}", f"{r['max_mass_error']:.2g}",
                        f"{r['masses_within_2pct']:.3f}", r["seconds"]) for r in group]
        groups.append(Group(caption, table, config=law))
    return groups


def charges_groups() -> list[Group]:
    groups = []
    for (version,), group in newest_first(trajectory_rows("charges"), lambda row: (row["commit"],)):
        caption = (f"Commit `{version}`: `--learn-charges`, n = 4, d = 2, {real_trajectories.MASS_SIMS} systems × "
                   f"{real_trajectories.MASS_STEPS} states; charges in the file used only to judge; "
                   "`python benchmarks/real_trajectories.py --cases charges`.")
        table = header("law", "seed", "exact", "law found", "signs right (up to each system's sign)",
                       "median charge error", "network error", "wall s")
        table += [cells(r["law"], r["seed"], r["exact"], f"`{short('; '.join(r['law_found']), 120)}`", f"{r['signs_right']:.4f}",
                        f"{r['median_charge_error']:.2g}", g3(r["network_error"]), r["seconds"]) for r in group]
        groups.append(Group(caption, table))
    return groups


# ----------------------------------------------------------------------------------------- baseline
EXTRAPOLATION = ("in-distribution", "3x distance", "3x mass")


def medians(dicts: list[dict | None]) -> str:
    dicts = [d for d in dicts if d]
    return " / ".join(g3(statistics.median(d[k] for d in dicts)) for k in EXTRAPOLATION) if dicts else "–"


def baseline_groups(name: str, command: str, earlier: bool = False) -> list[Group]:
    groups = []
    setting = lambda row: (row["law"], row["n"], row["dim"], row["sims"], row["steps"], row["epochs"])
    for (law, n, dim, sims, steps, epochs), group in sorted(newest_first(rows_of(name, ("key", "pipeline", "seed")),
                                                                         setting)):
        nodes = ", ".join(sorted({row["node_model"] for row in group if row["edge_model"] == "mlp"}))
        seeds = sorted({row["seed"] for row in group})
        caption = (f"{NOT_RECORDED} ({link(name)}): `{law}`, n = {n}, d = {dim}, {sims} systems × {steps} states, "
                   f"{epochs} epochs for both pipelines, baseline node model `{nodes}`, seeds {seeds[0]}–{seeds[-1]}; "
                   f"`{command}`. Medians over seeds; relative acceleration error in distribution / 3× distance / 3× mass.")
        table = header("pipeline", "recovered", "train s", "test MAE", "error of the network", "error of the law alone")
        pipelines = defaultdict(list)
        for row in group:
            pipelines[row["pipeline"]].append(row)
        table += [cells(pipeline, count(runs, "recovered"), g3(statistics.median(r["seconds"]["train"] for r in runs)),
                        g3(statistics.median(r["test_loss"] for r in runs)), medians([r["extrapolation"] for r in runs]),
                        medians([r.get("law_extrapolation") for r in runs])) for pipeline, runs in pipelines.items()]
        groups.append(Group(caption, table, config=(name, law), earlier=earlier))
    return groups


def all_baseline_groups() -> list[Group]:
    command = "python benchmarks/baseline_compare.py"
    return (baseline_groups("baseline.jsonl", command)
            + baseline_groups("baseline_mlp_nodes.jsonl", command + " --baseline-nodes mlp")
            + baseline_groups("baseline_huber_loss.jsonl", "an earlier recipe: Huber loss, no refit, MLP nodes", earlier=True))


# ----------------------------------------------------------------------------------------- regressor
def feynman_groups(name: str, earlier: bool = False) -> list[Group]:
    """Solution counts per method, per commit, noise and seed (a key written twice counts once, its first row)."""
    groups = []
    for (version, noise, seed), group in newest_first(rows_of(name, ("key",)),
                                                      lambda row: (row["commit"], row["noise"], row["seed"])):
        caption = (f"Commit `{version}`: AI Feynman equations with at most 5 variables, noise {noise:g}, seed {seed}, "
                   "1,000 training points; every method given the EQL's wall time per equation; SRBench's "
                   f"symbolic-solution rule ({link(name)}, `python benchmarks/feynman.py`).")
        table = header("method", "equations", "symbolic solutions", "median R²", "median extrapolation NRMSE (1.5× range)",
                       "median s")
        methods = defaultdict(list)
        for row in group:
            methods[row["method"]].append(row)
        summary = []
        for method, runs in methods.items():
            solved = sum(r["solved"] for r in runs)
            r2 = [r["r2"] if r["r2"] is not None else -float("inf") for r in runs]
            nrmse = [r["extrapolation_nrmse"] if r["extrapolation_nrmse"] is not None else float("inf") for r in runs]
            table.append(cells(method, len(runs), f"{solved} ({100 * solved / len(runs):.0f} %)", g3(statistics.median(r2)),
                               g3(statistics.median(nrmse)), f"{statistics.median(r['seconds'] for r in runs):.1f}"))
            summary.append(f"{method} {solved}/{len(runs)}")
        summary = f"commit `{version}`, noise {noise:g} ({link(name)}): solved " + ", ".join(summary)
        groups.append(Group(caption, table, summary, config=(name, version, noise), earlier=earlier))
    return groups


def all_feynman_groups() -> list[Group]:
    return (feynman_groups("feynman.jsonl") + feynman_groups("feynman_e8c607b.jsonl", earlier=True)
            + feynman_groups("feynman_6b31240.jsonl", earlier=True))


#: Kim et al.'s functions: the result files, the newest set-up first (the rows record no commit).
KIM_FILES = [("eql_functions_5seeds.csv", "--seeds 5 --jobs 1 --stem eql_functions_5seeds"),
             ("eql_sigmoid_tanh.csv", '--functions "1/(1+e^(-10x))" --seeds 5 --jobs 1 --stem eql_sigmoid_tanh'),
             ("eql_functions_sigmoid_5seeds.csv", "--functions \"1/(1+e^(-10x))\" --seeds 5"),
             ("eql_functions.csv", "--seeds 3")]


def kim_functions(name: str) -> dict[str, list[dict]]:
    """A result file of eql_functions.py: its rows per function."""
    functions = defaultdict(list)
    with open(RESULTS / name, newline="") as handle:
        for row in csv.DictReader(handle):
            functions[row["function"]].append(row)
    return functions


def majority_exact(functions: dict[str, list[dict]]) -> int:
    return sum(2 * sum(r["exact"] == "True" for r in runs) > len(runs) for runs in functions.values())


def kim_groups() -> list[Group]:
    groups = []
    for name, options in KIM_FILES:
        functions = kim_functions(name)
        caption = (f"{NOT_RECORDED} ({link(name)}): `python benchmarks/eql_functions.py {options}`; 256 training points "
                   "on U(-1,1)^k, RMSE on U(-2,2)^k, medians over seeds; `EQLRegressor` with the defaults of its time.")
        table = header("function", "exact", "EQL RMSE", "MLP RMSE", "fit wall s")
        for function, runs in functions.items():
            exact = sum(r["exact"] == "True" for r in runs)
            table.append(cells(function, f"{exact}/{len(runs)}", g3(statistics.median(float(r["eql_rmse"]) for r in runs)),
                               g3(statistics.median(float(r["mlp_rmse"]) for r in runs)),
                               f"{statistics.median(float(r['seconds']) for r in runs):.0f}"))
        table += ["", f"Exact in a majority of seeds: {majority_exact(functions)} of {len(functions)}."]
        groups.append(Group(caption, table, earlier=name != KIM_FILES[0][0]))
    return groups


def fit_time_groups() -> list[Group]:
    groups = []
    for (version,), group in newest_first(rows_of("regressor_fit_time.jsonl"), lambda row: (row["commit"],)):
        seconds = [r["seconds"] for r in group]
        caption = (f"Commit `{version}`: one `EQLRegressor` fit at a time with its defaults, on the Feynman benchmark's "
                   "samples (1,000 points, seed 0) of the equations slowest there; `python benchmarks/regressor_fit_time.py`.")
        table = header("equation", "variables", "seconds", "formula")
        table += [cells(r["equation"], r["n_variables"], r["seconds"], f"`{short(r['formula'], 80)}`") for r in group]
        table += ["", f"{len(seconds)} fits: median {statistics.median(seconds):.1f} s, slowest {max(seconds):.1f} s."]
        groups.append(Group(caption, table))
    return groups


def sr_suite_groups() -> list[Group]:
    """Exact recoveries per suite and method (SRBench's rule), one table per commit, the newest of each
    set of methods shown; rows measured before the regressor's current defaults
    (`sr_suites_before.jsonl`) folded away."""
    groups = []
    for name, earlier in (("sr_suites.jsonl", False), ("sr_suites_before.jsonl", True)):
        for (version,), group in newest_first(rows_of(name), lambda row: (row["commit"],)):
            commit, _, note = str(version).partition(" ")  # a note may follow the hash
            caption = (f"Commit `{commit}`{' ' + note if note else ''} ({link(name)}): `python benchmarks/sr_suites.py`, one seed per problem; "
                       "pyoperon and gplearn get the EQL's wall time on each problem.")
            table = header("suite", "method", "problems", "exact", "median s")
            for (suite, method), runs in sorted(by_fields(group, ("suite", "method")).items()):
                table.append(cells(suite, method, len(runs), count(runs, "exact"),
                                   f"{statistics.median(r['seconds'] for r in runs):.1f}"))
            summary = f"commit `{commit}`: " + ", ".join(
                f"{suite} {method} {count(runs, 'exact')}" for (suite, method), runs in by_fields(group, ("suite", "method")).items())
            methods = tuple(sorted({row["method"] for row in group}))  # a baselines-only rerun hides no EQL table
            groups.append(Group(caption, table, summary, config=(name, methods), earlier=earlier))
    return groups


def by_fields(rows: list[dict], fields: tuple[str, ...]) -> dict[tuple, list[dict]]:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        groups[tuple(row[f] for f in fields)].append(row)
    return groups


def noise_groups() -> list[Group]:
    """Exact runs per law, position noise σ and method (eqlearn's objectives, PySINDy's weak SINDy),
    one table per commit and case."""
    groups = []
    for (version, case), group in newest_first(rows_of("noise.jsonl"), lambda row: (row["commit"], row["case"])):
        caption = (f"Commit `{version}`, case `{case}`: `python benchmarks/noise.py` (500 systems × 100 stored states at a "
                   "tenth of the law's default spacing, n = 4, d = 2; σ in units of the systems' size; `default` is "
                   "the objective the program chose from the file, the others are forced).")
        cells_by_law = by_fields(group, ("law", "noise", "method"))
        methods = sorted({method for _, _, method in cells_by_law})
        caption += " Largest σ run with at least 4/5 of the runs exact (of the σ run): " + "; ".join(
            f"{law}: " + ", ".join(f"{method} {noise_benchmark.frontier(cells_by_law, law, method)}" for method in methods)
            for law in sorted({law for law, _, _ in cells_by_law})) + "."
        table = header("law", "σ", "method", "runs", "exact", "median s")
        for (law, noise, method), runs in sorted(cells_by_law.items()):
            seconds = [r["seconds"] for r in runs if r.get("seconds") is not None]
            table.append(cells(law, f"{noise:g}", method, len(runs), f"{sum(r['verdict'] == 'exact' for r in runs)}/{len(runs)}",
                               f"{statistics.median(seconds):.1f}" if seconds else "–"))
        groups.append(Group(caption, table, config=case))
    return groups


# ----------------------------------------------------------------------------------------- demos, seed set-up
def demo_rows() -> list[dict]:
    return json.loads((RESULTS / "demos.json").read_text())


def demo_groups() -> list[Group]:
    rows = demo_rows()
    groups = []
    for name in dict.fromkeys(row["demo"] for row in rows):
        mine = [row for row in rows if row["demo"] == name]
        table = demos.digits_table(mine) if name == "digits" else demos.dynamics_table(mine)
        seconds = [row["seconds"] for row in mine]
        caption = (f"{NOT_RECORDED} ({link('demos.json')}): `eqlearn demo {name}` with its defaults, one run at a time; "
                   "`nice python benchmarks/demos.py`.")
        table += ["", f"Bar met in {sum(map(demos.passes, mine))} of {len(mine)} seeds; "
                      f"{statistics.mean(seconds):.0f} s a run on average (slowest {max(seconds):.0f} s)."]
        groups.append(Group(caption, table, config=name))
    return groups


def seed_config_groups() -> list[Group]:
    groups = []
    for (version,), group in newest_first(rows_of("seed_config.jsonl"), lambda row: (row["commit"],)):
        caption = (f"Commit `{version}`: `--recipe seed`, n = 4, d = 2, {group[0]['training_graphs']:,} training graphs "
                   "(the seed report: about a million), the epochs in the table; `python benchmarks/seed_config.py`.")
        table = header("law", "the seed report", "seed", "epochs", "verifier (form)", "canonical per axis", "exact",
                       "m1 in read-out", "live messages")
        table += [cells(r["law"], seed_config.SEED_REPORT[r["law"]], r["seed"], r["epochs"],
                        f"{'recovered' if r['recovered'] else 'not recovered'} ({r['form']})", r["canonical_per_axis"],
                        r["exact"], r["m1_in_read_out"], r["live_messages"]) for r in group]
        groups.append(Group(caption, table))
    return groups


