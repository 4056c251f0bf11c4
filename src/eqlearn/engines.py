"""Where many independent tasks run: Ray (local or a running cluster) or a process pool.

`run_tasks` is the one entry point. Each task runs in a worker with one CPU thread (torch and
OpenMP), so `workers` tasks side by side use `workers` cores; results come back in input order.
Ray is optional (`pip install "eqlearn[ray]"`); the process pool needs nothing beyond Python.
"""
from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import socket
import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Callable, Sequence, TypeVar

from tqdm.auto import tqdm

from eqlearn.errors import UserInputError

Item = TypeVar("Item")
Result = TypeVar("Result")
ENGINES = ("ray", "process")
#: Seconds to wait for a Ray cluster's address to answer before giving up.
CONNECT_TIMEOUT = 5.0
RAY_MISSING = 'the ray engine needs Ray: pip install "eqlearn[ray]" (or use --engine process)'


def ray_installed() -> bool:
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


def default_engine() -> str:
    """Local Ray where it is installed, else the process pool."""
    return "ray" if ray_installed() else "process"


def available_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_tasks(function: Callable[[Item], Result], items: Sequence[Item], engine: str | None = None,
              workers: int | None = None, address: str | None = None, progress: bool = True,
              on_result: Callable[[int, Result], None] | None = None, description: str = "tasks") -> list[Result]:
    """`[function(item) for item in items]`, at most `workers` at a time (default: the CPUs here).

    `engine` is "ray" (default where installed: a local Ray instance, or the cluster at `address`,
    host:port) or "process" (a process pool). `function` must be picklable (a module-level
    function; Ray also takes one defined in a script). `on_result(index, result)` is called in
    this process as each task finishes; a task's exception is raised here and stops the rest.
    """
    engine = check_engine(engine, address)
    workers = workers or available_cpus()
    if workers < 1:
        raise UserInputError(f"workers = {workers}: need at least one")
    if not items:
        return []
    results: list = [None] * len(items)
    bar = tqdm(total=len(items), desc=description, unit="task", disable=not progress)

    def finished(index: int, result) -> None:
        results[index] = result
        if on_result is not None:
            on_result(index, result)
        bar.update()

    try:
        run = _run_on_ray if engine == "ray" else _run_in_processes
        run(function, list(items), workers, address, finished)
    finally:
        bar.close()
    return results


def check_engine(engine: str | None, address: str | None = None) -> str:
    """The engine to use (`default_engine()` for None), once it is known to work here: Ray
    installed, and the cluster at `address` answering (`check_reachable`)."""
    engine = engine or default_engine()
    if engine not in ENGINES:
        raise UserInputError(f"unknown engine {engine!r}; choose {' or '.join(ENGINES)}")
    if address is not None and engine != "ray":
        raise UserInputError("--address names a Ray cluster; it needs the ray engine")
    if engine == "ray" and not ray_installed():
        raise UserInputError(RAY_MISSING)
    if address is not None:
        check_reachable(address)
    return engine


def _single_threaded(function: Callable, item):
    """Run one task with one CPU thread: parallelism comes from running tasks side by side."""
    from eqlearn.devices import one_cpu_thread  # torch loads in the worker, not at CLI start

    with one_cpu_thread():  # numpy's BLAS was loaded before ONE_THREAD could apply
        return function(item)


#: The environment of every worker: OpenMP and BLAS pools of one thread.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def _one_thread_environment() -> None:
    os.environ.update(ONE_THREAD)


def _run_in_processes(function, items, workers, address, finished) -> None:
    # spawn, not fork: a forked child of a process that already ran torch can deadlock in OpenMP
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(workers, len(items)), mp_context=context, initializer=_one_thread_environment) as pool:
        futures = {pool.submit(_single_threaded, function, item): index for index, item in enumerate(items)}
        pending = set(futures)
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    finished(futures[future], future.result())
        except BaseException:
            for future in pending:
                future.cancel()
            raise


def _run_on_ray(function, items, workers, address, finished) -> None:
    import ray

    owned = not ray.is_initialized()  # a caller's own Ray session is used as it is and left running
    if owned:
        _start_ray(ray, workers, address)
    try:
        task = ray.remote(num_cpus=1, max_retries=0)(_single_threaded)
        function_ref = ray.put(function)
        queue = list(enumerate(items))
        running: dict = {}
        while queue or running:
            while queue and len(running) < workers:  # at most `workers` in flight, on a cluster too
                index, item = queue.pop(0)
                running[task.remote(function_ref, item)] = index
            done, _ = ray.wait(list(running), num_returns=1)
            for ref in done:
                index = running.pop(ref)
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayTaskError as error:
                    raise error.cause from None
                finished(index, result)
    except BaseException:
        if not owned:
            for ref in running:
                ray.cancel(ref, force=True)
        raise
    finally:
        if owned:
            ray.shutdown()


def _start_ray(ray, workers: int, address: str | None) -> None:
    """A local Ray instance with `workers` CPUs, or a connection to the cluster at `address`."""
    quiet = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
                 runtime_env={"env_vars": ONE_THREAD})
    if address is None:  # "local": a new instance even where RAY_ADDRESS or another instance exists
        ray.init(address="local", num_cpus=workers, **quiet)
        return
    try:
        ray.init(address=address, **quiet)
    except (ConnectionError, RuntimeError, TimeoutError) as error:
        raise UserInputError(f"cannot connect to the Ray cluster at {address}: {error}") from None


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT) -> str:
    """`address` (HOST:PORT of a Ray cluster) once a Ray head there answers within `timeout`
    seconds, so that a wrong address is one clear error instead of a long wait in `ray.init`."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise UserInputError(f"--address {address!r}: expected HOST:PORT of a running Ray cluster (ray start --head)")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as error:
        raise UserInputError(f"cannot reach the Ray cluster at {address}: {error.strerror or error}") from None
    _check_ray_head(address)
    return address


def _check_ray_head(address: str) -> None:
    """One call to the cluster's control service (GCS), as `ray.init` makes, but without its
    retries, so that something else at the address fails at once."""
    import ray

    with _stderr_silenced():  # Ray's C++ client logs each failed call on file descriptor 2
        try:
            ray._raylet.GcsClient(address=address)
        except ray.exceptions.AuthenticationError:
            raise UserInputError(f"the Ray cluster at {address} wants its token: set RAY_AUTH_MODE=token (the token in "
                                 "~/.ray/auth_token or RAY_AUTH_TOKEN)") from None
        except Exception:  # noqa: BLE001 - Ray raises its own RPC error types here
            raise UserInputError(f"cannot reach the Ray cluster at {address}: no Ray head answers there") from None


@contextlib.contextmanager
def _stderr_silenced():
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
