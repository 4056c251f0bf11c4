"""Where a model trains: `--device auto|cpu|cuda`, checked once, with a clear error.

Only training runs on the device; data live on the CPU and batches travel to the model. Read-out,
refit and verdicts work in float64 on the CPU, so a law does not depend on where it was trained
beyond float32 rounding.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

from eqlearn.errors import UserInputError

if TYPE_CHECKING:
    import torch

DEVICES = ("auto", "cpu", "cuda")


def check_device_name(name: str) -> str:
    """`name` if it names a device kind (auto, cpu, cuda, cuda:N), whether or not one is here."""
    if name not in DEVICES and not (name.startswith("cuda:") and name[5:].isdigit()):
        raise UserInputError(f"unknown device {name!r}; choose {', '.join(DEVICES)}")
    return name


def resolve_device(name: str) -> torch.device:
    """`auto` is CUDA where a GPU is visible, else the CPU; `cuda` without a GPU is an error."""
    import torch  # here, not at the top: the command line checks a device's name without loading torch

    check_device_name(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserInputError(f"--device {name}: no CUDA GPU is visible here (torch {torch.__version__}); use --device cpu")
    return torch.device(name)


@contextmanager
def one_cpu_thread() -> Iterator[None]:
    """Run a block on one CPU thread, in torch and in numpy's BLAS alike. Tiny networks and small
    least-squares problems run fastest that way; extra threads only add synchronisation (>10x
    slower on a busy machine), and parallel work comes from tasks side by side."""
    import torch
    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        torch.set_num_threads(threads)
