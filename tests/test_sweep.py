"""Sweeps: the grid, the resume key, the results table, and small sweeps on both engines."""
import csv
import shutil
from dataclasses import replace

import pytest

from eqlearn.cli import main
from eqlearn.discovery.config import DiscoverConfig
from eqlearn.engines import check_engine, run_tasks
from eqlearn.errors import UserInputError
from eqlearn.sweep import (
    expand_grid,
    parse_settings,
    result_row,
    results_csv,
    results_markdown,
    run_key,
    run_sweep,
)

TINY = ["sims=40", "steps=2", "epochs=1", "batch_size=64"]
VERSION = "test"  # the code version of these sweeps' resume keys: a commit made while they run changes nothing


def tiny_grid():
    return expand_grid(laws=["spring", "r2"], n=[3], recipes=["central"], settings=parse_settings(TINY))


def read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def without_seconds(rows):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


def test_grid_is_sources_by_systems_by_seeds_by_recipes_by_settings(tmp_path):
    data = tmp_path / "orbits.npz"
    data.write_bytes(b"")
    runs = expand_grid(laws=["spring", "r2", "spring"], potentials=["-m1*m2/r**1.5"], data=[str(data)], n=[3, 5],
                       seeds=[0, 1], recipes=["central", "power-law"], settings=parse_settings(["lr=0.01", "lr=0.003", "epochs=2"]))
    assert len(runs) == (2 + 1) * 2 * 2 * 2 * 2 + 1 * 2 * 2 * 2
    assert [r.name for r in runs[:3]] == ["spring-n3-d2-s0-central-lr=0.01", "spring-n3-d2-s0-central-lr=0.003",
                                          "spring-n3-d2-s0-power-law-lr=0.01"]
    assert len({r.name for r in runs}) == len(runs)
    assert runs[-1].name == "orbits-s1-power-law-lr=0.003" and runs[-1].config.data == str(data.resolve())
    assert runs[-1].source == str(data)
    potential = [r for r in runs if r.source == "-m1*m2/r**1.5"]
    assert len(potential) == 16 and potential[0].config.potential == "-m1*m2/r**1.5" and "/" not in potential[0].name
    assert runs[0].config.epochs == 2 and runs[0].columns() == {"run": runs[0].name, "source": "spring", "n": 3, "dim": 2,
                                                                "seed": 0, "recipe": "central", "lr": 0.01, "epochs": 2}


def test_grid_refuses_what_cannot_run(tmp_path):
    for bad in (dict(laws=["sprung"]), dict(data=[str(tmp_path / "missing.npz")]), dict(), dict(laws=["spring"], dim=[4])):
        with pytest.raises(UserInputError):
            expand_grid(**bad)


def test_settings_are_read_with_their_field_types():
    settings = parse_settings(["epochs=2", "lr=1e-2", "lr=3e-3", "features=ux,uy,r", "prune_thresholds=[0.01, 0.05]",
                               "units={\"identity\": 2}", "antisymmetric=false", "node_model=none", "batch-size=32"])
    assert settings == {"epochs": [2], "lr": [0.01, 0.003], "features": [["ux", "uy", "r"]], "prune_thresholds": [[0.01, 0.05]],
                        "units": [{"identity": 2}], "antisymmetric": [False], "node_model": [None], "batch_size": [32]}
    for bad in ("badkey=1", "seed=1", "out=x", "epochs=two", "epochs"):
        with pytest.raises(UserInputError):
            parse_settings([bad])


def test_run_key_depends_on_settings_data_and_code_but_not_on_where_the_run_goes():
    config = DiscoverConfig(law="spring", n=3, out="a", progress=True)
    key = run_key(config, "0.1.0+abc")
    assert key == run_key(replace(config, out="b", progress=False), "0.1.0+abc")
    assert key != run_key(replace(config, seed=1), "0.1.0+abc")
    assert key != run_key(config, "0.1.0+def")
    on_file = DiscoverConfig(data="/x/a.npz")
    assert run_key(on_file, "v", "digest1") == run_key(replace(on_file, data="/y/b.npz"), "v", "digest1")
    assert run_key(on_file, "v", "digest1") != run_key(on_file, "v", "digest2")


def test_results_table_from_rows():
    run = tiny_grid()[0]
    equations = {"n": 3, "dim": 2, "verification": {"passed": True, "exact": [True, False]},
                 "truth_free": {"law_force_error": 2e-8, "network_force_error": 1e-3},
                 "messages": [{"expression": "a", "unit_vector_form": "-2*ux*(r - 1)"}, {"expression": "-2*uy*(r - 1)"}]}
    row = result_row(run, equations, 12.3, "runs/x")
    assert row["recovered"] is True and row["exact"] is False and row["law"] == "-2*ux*(r - 1); -2*uy*(r - 1)"
    failed = result_row(run, None, 1.0, "runs/y", error="training diverged: loss nan")
    text = results_csv([row, failed])
    header, first, second = text.splitlines()
    assert header.split(",")[:6] == ["run", "source", "n", "dim", "seed", "recipe"]
    assert header.endswith("recovered,exact,law,truth_free_error,network_error,error,seconds,directory")
    assert "2e-08" in first and first.endswith(",12.3,runs/x") and ",,training diverged: loss nan,1.0,runs/y" in second
    markdown = results_markdown([row, failed]).splitlines()
    assert len(markdown) == 4 and "| yes | no | `-2*ux*(r - 1); -2*uy*(r - 1)` | 2e-08 | 0.001 |" in markdown[2]
    assert "training diverged: loss nan" in markdown[3]


def test_run_tasks_keeps_the_input_order_and_raises_a_task_error():
    assert run_tasks(abs, [-3, 1, -2], engine="process", workers=2, progress=False) == [3, 1, 2]
    with pytest.raises(ValueError):
        run_tasks(int, ["1", "x"], engine="process", workers=1, progress=False)


def test_without_ray_the_process_pool_is_the_default_and_the_ray_engine_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr("eqlearn.engines.ray_installed", lambda: False)
    assert check_engine(None) == "process"
    with pytest.raises(UserInputError, match=r'pip install "eqlearn\[ray\]"'):
        check_engine("ray")


@pytest.fixture(scope="module")
def process_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "process"
    sweep = run_sweep(tiny_grid(), out, engine="process", workers=2, progress=False, log=lambda _: None, version=VERSION)
    return out, sweep


def test_a_sweep_writes_one_run_directory_and_one_row_per_run(process_sweep):
    out, sweep = process_sweep
    assert (sweep.ran, sweep.skipped) == (2, 0)
    rows = read_rows(out / "results.csv")
    assert [r["run"] for r in rows] == ["spring-n3-d2-s0-central", "r2-n3-d2-s0-central"]
    assert all(r["law"] and r["recovered"] in ("True", "False") and float(r["truth_free_error"]) >= 0 for r in rows)
    for row in rows:
        assert {"equations.json", "config.json", "row.json", "log.txt"} <= {p.name for p in (out / row["directory"]).iterdir()}
    assert (out / "results.md").read_text().count("\n") == 4


def test_the_same_sweep_again_runs_nothing(process_sweep, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("eqlearn.sweep.code_version", lambda: VERSION)
    out = tmp_path / "again"
    shutil.copytree(process_sweep[0], out)
    before = (out / "results.csv").read_text()
    assert main(["sweep", "--laws", "spring", "r2", "--n", "3", "--recipes", "central", *[a for s in TINY for a in ("--set", s)],
                 "--engine", "process", "--out", str(out), "--quiet"]) == 0
    assert "0 runs done, 2 already finished" in capsys.readouterr().out
    assert (out / "results.csv").read_text() == before


def test_a_run_killed_midway_is_done_again_and_nothing_else(process_sweep, tmp_path):
    out = tmp_path / "killed"
    shutil.copytree(process_sweep[0], out)
    killed = out / "runs" / "r2-n3-d2-s0-central"
    for name in ("row.json", "equations.json"):
        (killed / name).unlink()
    (killed / "partial.tmp").write_text("left by a killed run")
    before = read_rows(out / "results.csv")
    sweep = run_sweep(tiny_grid(), out, engine="process", workers=1, progress=False, log=lambda _: None, version=VERSION)
    assert (sweep.ran, sweep.skipped) == (1, 1)
    after = read_rows(out / "results.csv")
    assert after[0] == before[0] and without_seconds(after) == without_seconds(before)
    assert not (killed / "partial.tmp").exists()


def test_a_sweep_on_local_ray_gives_the_process_pool_rows(process_sweep, tmp_path):
    pytest.importorskip("ray")
    out = tmp_path / "ray"
    sweep = run_sweep(tiny_grid(), out, engine="ray", workers=2, progress=False, log=lambda _: None, version=VERSION)
    assert (sweep.ran, sweep.skipped) == (2, 0)
    assert without_seconds(read_rows(out / "results.csv")) == without_seconds(read_rows(process_sweep[0] / "results.csv"))
    again = run_sweep(tiny_grid(), out, engine="ray", workers=2, progress=False, log=lambda _: None, version=VERSION)
    assert (again.ran, again.skipped) == (0, 2)


@pytest.mark.parametrize("flags", [["--address", "127.0.0.1:1"], ["--set", "badkey=1"], ["--engine", "process", "--address", "127.0.0.1:1"]])
def test_bad_sweep_input_is_one_line_and_exit_2(tmp_path, capsys, flags):
    assert main(["sweep", "--laws", "spring", "--out", str(tmp_path / "sweep"), "--quiet", *flags]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "error" in err
    assert not (tmp_path / "sweep").exists()
