"""Sweeps: a grid of discovery runs, one run directory each, on an engine (`eqlearn.engines`).

The grid is sources (built-in laws, potential expressions, data files) × n × dim × seeds ×
recipes × any other `DiscoverConfig` setting (`--set key=value`, repeated for several values).
A sweep is resumable: every run's directory gets `row.json` (its results row and its key, a hash
of the run's settings, its data file's content and the code version) as the last thing written.
A run whose `row.json` carries the same key is skipped; any other directory (a run killed midway,
or one of other settings or code) is deleted and the run done again. `results.csv` and
`results.md` are built from the stored rows in grid order, so a rerun reproduces them exactly.

    out/results.csv, out/results.md      one row per run
    out/runs/<run>/                      the run directory of `eqlearn discover` + row.json, log.txt
"""
from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import logging
import re
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Sequence

from eqlearn.discovery.config import DiscoverConfig, parse_setting
from eqlearn.discovery.portfolio import run_discovery
from eqlearn.discovery.recipes import DEFAULT_RECIPE
from eqlearn.discovery.result import is_complete, reported_law
from eqlearn.engines import available_cpus, check_engine, run_tasks
from eqlearn.eql.training import TrainingDiverged
from eqlearn.errors import UserInputError
from eqlearn.physics.potentials import get_potential
from eqlearn.version import __version__
from eqlearn.vocabulary.files import atomic_output

#: Settings that have flags of their own (the grid's axes) or that the sweep sets itself.
GRID_FIELDS = {"law": "--laws", "potential": "--potential", "data": "--data", "n": "--n", "dim": "--dim",
               "seed": "--seeds", "recipe": "--recipes"}
SWEEP_FIELDS = ("out", "progress")
#: The columns of the results table after the run's configuration.
RESULT_COLUMNS = ("recovered", "exact", "law", "truth_free_error", "network_error", "error", "seconds", "directory")
ROW_FILE = "row.json"


@dataclass(frozen=True)
class SweepRun:
    """One point of the grid: a name (its directory), what it runs on and its full settings."""

    name: str
    source: str  # the law's name, the potential or the data file, as given
    config: DiscoverConfig  # `out` and `progress` are set when the run is placed in a sweep
    settings: dict  # the --set values of this run, by field name

    def columns(self) -> dict:
        """The configuration columns of the results table."""
        c = self.config
        return {"run": self.name, "source": self.source, "n": c.n, "dim": c.dim, "seed": c.seed, "recipe": c.recipe,
                **self.settings}


def parse_settings(pairs: Sequence[str]) -> dict[str, list]:
    """`["epochs=2", "lr=0.01", "lr=0.003"]` → `{"epochs": [2], "lr": [0.01, 0.003]}`: each value read
    with its `DiscoverConfig` field's type; a key given several times is one more axis of the grid."""
    names = {f.name for f in fields(DiscoverConfig)}
    settings: dict[str, list] = {}
    for pair in pairs:
        key, equals, text = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not equals:
            raise UserInputError(f"--set {pair!r}: expected KEY=VALUE")
        if key in GRID_FIELDS:
            raise UserInputError(f"--set {key}: use {GRID_FIELDS[key]} for this axis of the sweep")
        if key in SWEEP_FIELDS or key not in names:
            known = sorted(names - set(GRID_FIELDS) - set(SWEEP_FIELDS))
            raise UserInputError(f"--set {key}: not a discover setting; known: {', '.join(known)}")
        value = parse_setting(key, text, f"--set {pair}")
        values = settings.setdefault(key, [])
        if value not in values:
            values.append(value)
    return settings


def expand_grid(laws: Sequence[str] = (), potentials: Sequence[str] = (), data: Sequence[str] = (),
                n: Sequence[int] = (DiscoverConfig.n,), dim: Sequence[int] = (DiscoverConfig.dim,),
                seeds: Sequence[int] = (0,), recipes: Sequence[str] = (DEFAULT_RECIPE,),
                settings: dict[str, list] | None = None) -> list[SweepRun]:
    """Every run of the grid, in table order: sources (laws, then potentials, then data files) ×
    n × dim × seeds × recipes × the `settings` values. n and dim apply to simulated systems; a
    data file's own arrays decide them. Every run's settings are checked here, before anything runs."""
    settings = settings or {}
    for law in laws:
        get_potential(law)
    for expression in potentials:
        get_potential(expression=expression)
    for path in data:
        if not Path(path).is_file():
            raise UserInputError(f"--data {path}: no such file")
    sources = ([("law", law, law) for law in dict.fromkeys(laws)]
               + [("potential", e, "U_" + _slug(e)) for e in dict.fromkeys(potentials)]
               + [("data", path, label) for path, label in _data_labels(list(dict.fromkeys(data))).items()])
    if not sources:
        raise UserInputError("nothing to sweep: give --laws, --potential or --data")
    varying = [key for key, values in settings.items() if len(values) > 1]
    runs = []
    for kind, source, label in sources:
        systems = [(None, None)] if kind == "data" else itertools.product(dict.fromkeys(n), dict.fromkeys(dim))
        for (size, d), seed, recipe, values in itertools.product(systems, dict.fromkeys(seeds), dict.fromkeys(recipes),
                                                                 itertools.product(*settings.values())):
            chosen = dict(zip(settings, values))
            system = {} if kind == "data" else {"n": size, "dim": d}
            value = str(Path(source).resolve()) if kind == "data" else source
            config = DiscoverConfig(**{kind: value}, **system, seed=seed, recipe=recipe, **chosen, out="", progress=False)
            parts = [label, *([] if kind == "data" else [f"n{size}", f"d{d}"]), f"s{seed}", recipe,
                     *(_slug(f"{key}={_text(chosen[key])}") for key in varying)]
            runs.append(SweepRun("-".join(parts), source, config, chosen))
    return runs


def _slug(text: str) -> str:
    """A directory-name form of `text`; where characters had to go, a short hash keeps it unique."""
    slug = re.sub(r"[^A-Za-z0-9.=+-]+", "_", text).strip("_-.")
    return slug if slug == text else f"{slug}-{hashlib.sha1(text.encode()).hexdigest()[:6]}"


def _data_labels(paths: list[str]) -> dict[str, str]:
    """A data file is named by its stem, by its whole path where two files share a stem."""
    stems = [Path(p).stem for p in paths]
    return {p: _slug(s) if stems.count(s) == 1 else _slug(p) for p, s in zip(paths, stems)}


def _text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def code_version() -> str:
    """`eqlearn.__version__`, plus the git commit of the source where it is a checkout."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                                text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{__version__}+{commit[:12]}" if commit else __version__


def run_key(config: DiscoverConfig, version: str, data_digest: str | None = None) -> str:
    """What makes a finished run reusable: every setting except where it is written and whether it
    shows progress, the data file's content (not its path) and the code version."""
    settings = {k: v for k, v in asdict(config).items() if k not in SWEEP_FIELDS}
    if config.data is not None:
        settings["data"] = data_digest
    text = json.dumps({"settings": settings, "version": version}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def file_digest(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def result_row(run: SweepRun, equations: dict | None, seconds: float, directory: str, error: str | None = None) -> dict:
    """The results row of a finished run from its `equations.json` (None when the run failed)."""
    row = {**run.columns(), **dict.fromkeys(RESULT_COLUMNS), "error": error, "seconds": seconds, "directory": directory}
    if equations is not None:
        verification = equations["verification"]
        truth_free = equations["truth_free"]
        row.update(n=equations["n"], dim=equations["dim"],
                   recovered=verification["passed"] if verification else None,
                   exact=all(verification["exact"]) if verification else None,
                   law="; ".join(reported_law(equations)),
                   truth_free_error=truth_free.get("law_force_error"), network_error=truth_free.get("network_force_error"))
    return row


def results_csv(rows: Sequence[dict]) -> str:
    """The results table as CSV: empty cells for missing values, lists and dicts as JSON."""
    if not rows:
        return ""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v if isinstance(v, (str, int, float)) else json.dumps(v) for k, v in row.items()})
    return buffer.getvalue()


def results_markdown(rows: Sequence[dict]) -> str:
    """The results table in Markdown: yes/no verdicts, errors to 3 digits, a failed run's reason as its law."""
    if not rows:
        return ""
    columns = [c for c in rows[0] if c != "error"]

    def cell(row: dict, column: str) -> str:
        value = row[column]
        if column == "law" and row["error"]:
            return row["error"]
        if column == "law" and value:
            return f"`{value}`"
        if value is None:
            return "-"
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, float):
            return f"{value:.3g}"
        return _text(value).replace("|", "\\|")

    lines = ["| " + " | ".join(c.replace("_", " ") for c in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row, c) for c in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class RunTask:
    """What a worker needs to do one run: picklable, self-contained."""

    run: SweepRun
    key: str
    directory: str  # absolute
    label: str  # the directory as the results table shows it, relative to the sweep's folder
    candidate_workers: int = 1  # candidate models this run trains at a time (its share of the CPUs)


def execute_run(task: RunTask) -> dict:
    """Do one run in a fresh directory and store its row (with its key) as the last file written."""
    directory = Path(task.directory)
    if directory.exists():
        shutil.rmtree(directory)
    lines: list[str] = []
    start = time.perf_counter()
    equations = error = None
    try:
        equations = run_discovery(replace(task.run.config, out=str(directory), progress=False), log=lines.append,
                                  workers=task.candidate_workers).equations()
    except TrainingDiverged as diverged:
        error = f"training diverged: {diverged}"
    row = result_row(task.run, equations, round(time.perf_counter() - start, 1), task.label, error)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "log.txt").write_text("".join(f"{line}\n" for line in lines + ([error] if error else [])))
    with atomic_output(directory / ROW_FILE) as handle:
        handle.write(json.dumps({"key": task.key, "row": row}, indent=2).encode())
    return row


def finished_row(directory: Path, key: str) -> dict | None:
    """The stored row of a run finished with this key, else None; also None where the row says the
    run found a law but its directory holds no complete run (equations.json, written last)."""
    try:
        record = json.loads((directory / ROW_FILE).read_text())
    except (OSError, ValueError):
        return None
    row = record.get("row") if record.get("key") == key else None
    return None if row is not None and not row.get("error") and not is_complete(directory) else row


@dataclass
class Sweep:
    """A finished sweep: its rows in grid order and how many runs it did and found done."""

    rows: list[dict]
    ran: int
    skipped: int
    csv_path: Path
    markdown_path: Path


def run_sweep(runs: Sequence[SweepRun], out: str | Path, engine: str | None = None, workers: int | None = None,
              address: str | None = None, progress: bool = True, log=None, version: str | None = None) -> Sweep:
    """Do the runs not finished yet in `out/runs/` on `engine` (`eqlearn.engines.run_tasks`) and
    write `out/results.csv` and `out/results.md`, rewritten as runs finish. `version` is the code
    version finished runs must match (default: `code_version()`)."""
    log = log or logging.getLogger(__name__).info  # a library logs; the CLI passes print
    engine = check_engine(engine, address)  # a wrong engine or address fails before anything is written
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserInputError(f"{out} is a file; --out must be a directory")
    try:
        (out / "runs").mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserInputError(f"cannot create the sweep directory {out}: {error}") from None
    version = version or code_version()
    digests = {path: file_digest(path) for path in {run.config.data for run in runs} - {None}}
    keys = [run_key(run.config, version, digests.get(run.config.data)) for run in runs]
    rows = [finished_row((out / "runs" / run.name).resolve(), key) for run, key in zip(runs, keys)]
    pending = [index for index, row in enumerate(rows) if row is None]
    share = max(1, available_cpus() // max(1, min(workers or available_cpus(), len(pending))))
    tasks = [RunTask(run, key, str((out / "runs" / run.name).resolve()), f"runs/{run.name}", share)
             for run, key in zip(runs, keys)]
    skipped = len(runs) - len(pending)
    csv_path, markdown_path = out / "results.csv", out / "results.md"

    def write_tables() -> None:
        done = [row for row in rows if row is not None]
        for path, text in ((csv_path, results_csv(done)), (markdown_path, results_markdown(done))):
            with atomic_output(path) as handle:
                handle.write(text.encode())

    def record(index: int, row: dict) -> None:
        rows[pending[index]] = row
        write_tables()

    log(f"sweep of {len(runs)}: {skipped} finished already, {len(pending)} to run on {engine}")
    run_tasks(execute_run, [tasks[i] for i in pending], engine=engine, workers=workers, address=address,
              progress=progress, on_result=record, description="runs")
    write_tables()
    return Sweep(rows, len(pending), skipped, csv_path, markdown_path)
