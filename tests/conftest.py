"""Fixtures shared by several test files, and one CPU per test worker.

The suite runs on as many pytest-xdist workers as there are CPUs (`-n auto` in pyproject.toml);
each worker keeps to a CPU of its own and one torch thread, so workers never compete for cores and
a discovery run inside a test trains its candidates one after another, as on a one-CPU machine.
"""
import os

import pytest


def pytest_configure(config):
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # "gw0", "gw1", ... inside a worker
    if worker is None or not hasattr(os, "sched_setaffinity"):
        return
    import torch

    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpus[int(worker.removeprefix("gw")) % len(cpus)]})
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def sr_engine():
    """Skips a test that fits formulas by symbolic regression where the optional engines are missing
    (CI installs them); the fits are tuned to pyoperon, whose Pareto front gplearn does not keep."""
    pytest.importorskip("pyoperon.sklearn", reason='symbolic regression needs pip install "eqlearn[sr]"')
