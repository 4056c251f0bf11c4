"""The demos end to end on tiny budgets, plus the pieces they rest on (IDX reading, run folders)."""
from __future__ import annotations

import gzip
import json
import math

import numpy as np
import pytest
import sympy
import torch

from eqlearn.cli import main
from eqlearn.demos import demo_config, run_demo
from eqlearn.demos.digits import is_scaled_sum, random_shift
from eqlearn.demos.dynamics import (
    SYSTEMS,
    DynamicsConfig,
    HiddenParameterDynamics,
    simulate,
    update_equations,
)
from eqlearn.demos.heads import make_head
from eqlearn.demos.idx import load_mnist, read_idx
from eqlearn.demos.report import prepare_run_dir
from eqlearn.errors import UserInputError

TINY_DIGITS = dict(epochs=2, pairs_per_epoch=256, batch_size=64, test_pairs=64)
TINY_DYNAMICS = dict(epochs=2, train_systems=64, test_systems=16, test_horizon=25, batch_size=32)


def write_idx(path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    raw = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw) if path.suffix == ".gz" else raw)


def write_tiny_mnist(folder) -> None:
    rng = np.random.default_rng(0)
    for split, n in (("train", 60), ("t10k", 40)):
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 8, 8)))
        write_idx(folder / f"{split}-labels-idx1-ubyte", np.arange(n) % 10)


def finite_numbers(value) -> list[float]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in finite_numbers(v)]
    if isinstance(value, list):
        return [x for v in value for x in finite_numbers(v)]
    return [value] if isinstance(value, float) else []


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_read_idx_round_trips_plain_and_gzip(tmp_path, suffix):
    images = np.arange(3 * 4 * 5).reshape(3, 4, 5) % 256
    write_idx(tmp_path / f"images{suffix}", images)
    assert np.array_equal(read_idx(tmp_path / f"images{suffix}"), images)


def test_read_idx_rejects_a_file_that_is_not_idx(tmp_path):
    (tmp_path / "notes.txt").write_text("hello world")
    with pytest.raises(UserInputError, match="not an IDX file"):
        read_idx(tmp_path / "notes.txt")


def test_load_mnist_finds_the_four_files_and_names_a_missing_one(tmp_path):
    write_tiny_mnist(tmp_path)
    mnist = load_mnist(tmp_path)
    assert mnist["train"][0].shape == (60, 8, 8) and mnist["test"][1].shape == (40,)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(UserInputError, match="t10k-labels"):
        load_mnist(tmp_path)


def test_run_folder_is_reused_only_for_the_same_demo(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    with pytest.raises(UserInputError, match="not empty"):
        prepare_run_dir(tmp_path / "mine", "digits")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "metrics.json").write_text(json.dumps({"demo": "sho"}))
    assert prepare_run_dir(tmp_path / "run", "sho").is_dir()
    with pytest.raises(UserInputError):
        prepare_run_dir(tmp_path / "run", "kinematics")


def test_scaled_sum_check_accepts_only_equal_weights_on_both_latents():
    z_a, z_b = sympy.symbols("z_a z_b")
    assert is_scaled_sum(2.7 * z_a + 2.72 * z_b + 8)
    assert not is_scaled_sum(2.7 * z_a + 1.0 * z_b + 8)
    assert not is_scaled_sum(z_a * z_b + z_a + z_b)


def test_random_shift_moves_images_by_at_most_one_pixel():
    image = torch.zeros(1, 1, 8, 8)
    image[0, 0, 4, 4] = 1.0
    shifted = random_shift(image.repeat(50, 1, 1, 1), torch.Generator().manual_seed(0))
    rows, cols = shifted[:, 0].nonzero()[:, 1:].T
    assert shifted.sum() == 50 and rows.sub(4).abs().max() <= 1 and cols.sub(4).abs().max() <= 1
    assert len(set(zip(rows.tolist(), cols.tolist()))) > 1


@pytest.mark.parametrize("name", list(SYSTEMS))
def test_simulated_trajectories_follow_the_exact_solution(name):
    config = DynamicsConfig(system=name, encoder_steps=12)
    data = simulate(SYSTEMS[name], 8, 30, config, torch.Generator().manual_seed(0))
    x, v = data.target[..., 0], data.target[..., 1]
    acceleration = (v[:, 2:] - v[:, :-2]) / (2 * config.dt)
    p = data.parameter[:, None]
    expected = p.expand_as(acceleration) if name == "kinematics" else -p * x[:, 1:-1]
    assert torch.allclose(acceleration, expected, atol=2e-2)
    assert data.observed.shape == (8, 2, 12)


def test_printed_update_equals_the_trained_step():
    torch.manual_seed(0)
    model = HiddenParameterDynamics(make_head("eql", 3, 2, {"constant": 1, "identity": 2, "product": 2}), 12).eval()
    equations = update_equations(model, threshold=0.0)
    state, z = torch.randn(20, 2), torch.randn(20, 1)
    step = state + model.head(torch.cat([state, z], dim=1))
    x, v, zs = sympy.symbols("x v z")
    for column, expr in enumerate(equations):
        formula = sympy.lambdify((x, v, zs), expr)
        printed = np.array([float(formula(*row)) for row in torch.cat([state, z], 1).tolist()])
        assert np.allclose(printed, step[:, column].detach().numpy(), rtol=1e-2, atol=1e-2)


def test_digits_demo_writes_metrics_plots_and_a_formula(tmp_path):
    metrics, summary = run_demo("digits", tmp_path / "run", progress=False, **TINY_DIGITS)
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved["demo"] == "digits" and saved["config"]["epochs"] == 2
    assert {"predictions.png", "latent.png", "formula.txt"} <= {p.name for p in (tmp_path / "run").iterdir()}
    accuracies = finite_numbers(saved["accuracy"])
    assert len(accuracies) == 4 and all(0 <= a <= 1 for a in accuracies)
    assert sympy.sympify(metrics["formula"]).free_symbols <= set(sympy.symbols("z_a z_b"))
    assert any("formula" in line for line in summary)


def test_digits_demo_reads_mnist_idx_files(tmp_path):
    write_tiny_mnist(tmp_path)
    metrics, _ = run_demo("digits", tmp_path / "run", progress=False, mnist_dir=str(tmp_path), **TINY_DIGITS)
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["config"]["mnist_dir"] == str(tmp_path)
    assert all(math.isfinite(a) for a in finite_numbers(metrics["accuracy"]))


def test_digits_demo_with_a_missing_mnist_folder_fails_before_writing(tmp_path):
    with pytest.raises(UserInputError, match="does not exist"):
        run_demo("digits", tmp_path / "run", progress=False, mnist_dir=str(tmp_path / "nowhere"))
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("name", list(SYSTEMS))
def test_dynamics_demo_writes_metrics_plots_and_update_equations(tmp_path, name):
    metrics, summary = run_demo(name, tmp_path / "run", progress=False, **TINY_DYNAMICS)
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved["demo"] == name and len(saved["rmse_by_step"]["eql"]) == 25
    assert saved["config"]["train_horizon"] == SYSTEMS[name].train_horizon  # each system's own default
    assert {"latent.png", "rollout.png", "formula.txt"} <= {p.name for p in (tmp_path / "run").iterdir()}
    assert all(math.isfinite(x) for x in finite_numbers(saved["rmse"])) and math.isfinite(metrics["latent_correlation"])
    parameter = sympy.sympify(SYSTEMS[name].parameter).free_symbols
    for expr in metrics["update"].values():
        assert sympy.sympify(expr).free_symbols <= set(sympy.symbols("x v z"))
    for expr in metrics["update_in_parameter"].values():
        assert sympy.sympify(expr).free_symbols <= set(sympy.symbols("x v")) | parameter
    assert summary[0].startswith("corr(z")


def test_demo_options_are_checked_against_the_demo():
    assert demo_config("sho", seed=3, epochs=None).seed == 3
    with pytest.raises(UserInputError, match="mnist_dir"):
        demo_config("kinematics", mnist_dir="somewhere")
    with pytest.raises(UserInputError, match="unknown demo"):
        demo_config("pendulum")
    with pytest.raises(UserInputError, match="epochs"):
        demo_config("digits", epochs=0)


def test_cli_runs_a_demo_and_refuses_a_foreign_folder(tmp_path, capsys):
    assert main(["demo", "kinematics", "--out", str(tmp_path / "run"), "--epochs", "1"]) == 0
    assert "corr(z, a)" in capsys.readouterr().out
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "data.csv").write_text("x\n1\n")
    assert main(["demo", "sho", "--out", str(tmp_path / "other"), "--epochs", "1"]) == 2
    assert "not empty" in capsys.readouterr().err
    assert (tmp_path / "other" / "data.csv").read_text() == "x\n1\n"


def test_dynamics_demo_refuses_a_test_horizon_inside_the_trained_one(tmp_path):
    with pytest.raises(UserInputError, match="must exceed the trained horizon"):
        run_demo("sho", tmp_path / "run", progress=False, **{**TINY_DYNAMICS, "test_horizon": 20})
