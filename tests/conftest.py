"""Fixtures shared by several test files, and one CPU per test worker.

The suite runs on as many pytest-xdist workers as there are CPUs (`-n auto` in pyproject.toml);
each worker keeps to a CPU of its own, one torch thread and one BLAS thread, so workers never compete
for cores and a discovery run inside a test trains its candidates one after another, as on a one-CPU
machine.
"""
import os

import pytest


def pytest_configure(config):
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # "gw0", "gw1", ... inside a worker
    if worker is None or not hasattr(os, "sched_setaffinity"):
        return
    import torch
    from threadpoolctl import threadpool_limits

    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpus[int(worker.removeprefix("gw")) % len(cpus)]})
    torch.set_num_threads(1)
    threadpool_limits(limits=1)  # numpy's BLAS too: its threads, all on this one CPU, would spin against each other


@pytest.fixture(scope="session")
def sr_engine():
    """Skips a test that fits formulas by symbolic regression where the optional engines are missing
    (CI installs them); the fits are tuned to pyoperon, whose Pareto front gplearn does not keep."""
    pytest.importorskip("pyoperon.sklearn", reason='symbolic regression needs pip install "eqlearn[sr]"')
