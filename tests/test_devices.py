"""Devices: training goes where it is told, the edge list follows the model, clear errors without a GPU."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from eqlearn.devices import resolve_device
from eqlearn.discovery.config import DiscoverConfig, resolve_config
from eqlearn.discovery.model import build_model
from eqlearn.discovery.recipes import DataSpec
from eqlearn.eql.regressor import EQLRegressor
from eqlearn.errors import UserInputError

no_gpu = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown where no GPU is visible")


def test_auto_and_cpu_resolve_and_unknown_names_are_refused():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(UserInputError, match="unknown device"):
        resolve_device("tpu")


def test_the_edge_list_is_part_of_the_model_and_follows_it():
    model = build_model(resolve_config(DiscoverConfig(), DataSpec(4, 2)))
    buffers = dict(model.named_buffers())
    assert {"receivers", "senders", "reverse"} <= set(buffers)
    assert model.edges.receivers is buffers["receivers"]
    model.to(resolve_device("auto"))
    assert model.edges.receivers.device.type == next(model.parameters()).device.type


@no_gpu
def test_cuda_without_a_gpu_is_one_line_and_exit_2(tmp_path):
    from eqlearn.discovery.portfolio import run_discovery

    with pytest.raises(UserInputError, match="no CUDA GPU"):
        run_discovery(DiscoverConfig(device="cuda", out=str(tmp_path / "api")))
    assert not (tmp_path / "api").exists()
    with pytest.raises(UserInputError, match="no CUDA GPU"):
        EQLRegressor(device="cuda").fit(np.ones((20, 1)) * np.arange(20)[:, None], np.arange(20.0))
    result = subprocess.run([sys.executable, "-m", "eqlearn", "discover", "--device", "cuda", "--out", str(tmp_path / "r")],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "no CUDA GPU" in result.stderr
    assert not (tmp_path / "r").exists()


def test_training_on_the_cpu_device_matches_the_default(tmp_path):
    from eqlearn.discovery.portfolio import run_discovery

    runs = [run_discovery(DiscoverConfig(law="spring", n=3, sims=60, epochs=2, out=str(tmp_path / device), device=device,
                                         progress=False, recipe="central"), log=lambda _: None) for device in ("cpu", "auto")]
    if resolve_device("auto").type == "cpu":
        assert runs[0].test_loss == runs[1].test_loss
    else:  # on a GPU: the same law to float tolerance
        assert runs[0].test_loss == pytest.approx(runs[1].test_loss, rel=1e-3)


def test_a_gpu_runs_config_loads_and_reruns_on_the_cpu(tmp_path):
    """A config.json written on a GPU machine names device cuda; it loads anywhere, and
    `--config FILE --device cpu` reruns it here (the device is resolved where training starts)."""
    config = DiscoverConfig(law="spring", n=3, sims=60, epochs=1, recipe="central", device="cuda",
                            out=str(tmp_path / "gpu-run"))
    path = tmp_path / "config.json"
    path.write_text(config.to_json())
    assert DiscoverConfig.from_json(path.read_text()).device == "cuda"
    result = subprocess.run([sys.executable, "-m", "eqlearn", "discover", "--config", str(path), "--device", "cpu",
                             "--out", str(tmp_path / "cpu-run"), "--quiet"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "cpu-run" / "config.json").read_text())["run"]["device"] == "cpu"
