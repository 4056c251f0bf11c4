"""Sweep scaling and resume on local Ray: 1 against 2 workers, and a sweep killed halfway.

1. The sweep spring, r1, r2, charge x seeds 0-4 (default recipe and budget, 20 runs) on local Ray,
   into fresh folders with `--workers 1` and `--workers 2`: wall times and their ratio (bar: <= 0.6).
2. The same sweep with 2 workers, killed with SIGKILL (its whole process group) once half of the
   runs have finished, then run again. Its results.csv must equal the uninterrupted 2-worker one
   row for row, the seconds column aside (every run in either folder was timed on its own); the
   runs finished before the kill must keep their rows exactly, and the rerun must do only the rest.

    python benchmarks/sweep_scaling.py           # on an otherwise idle machine; writes results/sweep_scaling.md
    python benchmarks/sweep_scaling.py --quick   # 4 tiny runs: checks the script, measures nothing
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from discover_sweep import commit
from eqlearn.engines import available_cpus
from eqlearn.sweep import results_csv

HERE = Path(__file__).parent
OUT = HERE / "out" / "sweep_scaling"
RESULTS = HERE / "results" / "sweep_scaling.md"
FULL = dict(laws=["spring", "r1", "r2", "charge"], seeds=[0, 1, 2, 3, 4], settings=[])
QUICK = dict(laws=["spring", "r2"], seeds=[0, 1], settings=["sims=200", "steps=2", "epochs=2", "batch_size=64"])
RATIO_BAR = 0.6


def sweep_command(grid: dict, out: Path, workers: int) -> list[str]:
    return [sys.executable, "-m", "eqlearn", "sweep", "--laws", *grid["laws"], "--seeds", *map(str, grid["seeds"]),
            *[a for s in grid["settings"] for a in ("--set", s)], "--engine", "ray", "--workers", str(workers),
            "--out", str(out), "--quiet"]


def timed_sweep(grid: dict, out: Path, workers: int) -> tuple[float, str]:
    """(wall seconds, the command's last line: how many runs it did and found finished)."""
    start = time.perf_counter()
    done = subprocess.run(sweep_command(grid, out, workers), capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"sweep into {out} failed:\n{done.stderr}")
    return time.perf_counter() - start, done.stdout.strip().splitlines()[-1].split(";")[0]


def finished_rows(out: Path) -> dict[str, dict]:
    rows = {}
    for path in (out / "runs").glob("*/row.json"):
        rows[path.parent.name] = json.loads(path.read_text())["row"]
    return rows


def kill_halfway(grid: dict, out: Path, runs: int) -> tuple[float, int]:
    """Start the 2-worker sweep, SIGKILL its process group once half the runs are finished;
    (seconds until the kill, runs finished then)."""
    start = time.perf_counter()
    process = subprocess.Popen(sweep_command(grid, out, 2), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    while len(finished_rows(out)) < runs // 2:
        if process.poll() is not None:
            sys.exit("the sweep finished before it could be killed")
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    return time.perf_counter() - start, len(finished_rows(out))


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 tiny runs: check that the script works")
    args = parser.parse_args()
    grid = QUICK if args.quick else FULL
    runs = len(grid["laws"]) * len(grid["seeds"])
    shutil.rmtree(OUT, ignore_errors=True)
    one, one_line = timed_sweep(grid, OUT / "workers1", 1)
    two, two_line = timed_sweep(grid, OUT / "workers2", 2)
    print(f"1 worker {one:.1f} s, 2 workers {two:.1f} s, ratio {two / one:.2f}", flush=True)

    killed = OUT / "killed"
    kill_after, before_kill = kill_halfway(grid, killed, runs)
    kept = finished_rows(killed)
    rerun, rerun_line = timed_sweep(grid, killed, 2)
    reference, resumed = read_csv(OUT / "workers2" / "results.csv"), read_csv(killed / "results.csv")
    same_rows = [{k: v for k, v in r.items() if k != "seconds"} for r in reference] == \
                [{k: v for k, v in r.items() if k != "seconds"} for r in resumed]
    by_run = {row["run"]: row for row in resumed}
    kept_exactly = all(read_csv_row(kept[name]) == by_run[name] for name in kept)
    print(f"killed after {kill_after:.1f} s with {before_kill} of {runs} runs finished; rerun: {rerun_line}; "
          f"rows identical (seconds aside): {same_rows}; rows finished before the kill kept exactly: {kept_exactly}")

    lines = [f"# Sweep scaling and resume{' (--quick: a check of the script, not a measurement)' if args.quick else ''}",
             "",
             f"`python benchmarks/sweep_scaling.py{' --quick' if args.quick else ''}` at commit `{commit()}`, "
             f"{datetime.now(timezone.utc):%Y-%m-%d}, {available_cpus()} CPU cores; local Ray, one CPU thread per worker. "
             f"Grid: {', '.join(grid['laws'])} x seeds {grid['seeds'][0]}-{grid['seeds'][-1]} ({runs} runs), default recipe"
             f"{', ' + ' '.join(grid['settings']) if grid['settings'] else ' and budget'}.",
             "",
             "| workers | wall s | ratio to 1 worker |", "|---|---|---|",
             f"| 1 | {one:.1f} | 1.00 |", f"| 2 | {two:.1f} | {two / one:.2f} (bar ≤ {RATIO_BAR}: "
             f"{'met' if two / one <= RATIO_BAR else 'NOT met'}) |",
             "",
             f"Killed with SIGKILL (process group) after {kill_after:.1f} s, {before_kill} of {runs} runs finished; "
             f"the rerun took {rerun:.1f} s: \"{rerun_line}\".",
             f"- results.csv rows identical to the uninterrupted 2-worker sweep (seconds column aside): **{same_rows}**",
             f"- rows of the runs finished before the kill unchanged, seconds included: **{kept_exactly}**",
             "", f"Sweep outputs: 1 worker \"{one_line}\"; 2 workers \"{two_line}\".", ""]
    path = OUT / "sweep_scaling_quick.md" if args.quick else RESULTS
    path.write_text("\n".join(lines))
    print(f"written to {path}")
    if not (same_rows and kept_exactly):
        sys.exit(1)


def read_csv_row(row: dict) -> dict:
    """A stored row as results.csv shows it."""
    return next(csv.DictReader(results_csv([row]).splitlines()))


if __name__ == "__main__":
    main()
