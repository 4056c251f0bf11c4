"""A portfolio's candidate models trained side by side, each in a process of its own on one CPU thread.

Candidates are independent until one is chosen, so on k cores k of them train at once. The
processes come from a fork server that imported eqlearn once: a candidate starts in milliseconds
instead of the seconds an import takes, and never inherits a parent's OpenMP threads (a fork of a
process that ran torch can deadlock in OpenMP). A candidate that is no longer needed (`needed`
says so once an earlier one found an exact law), and every candidate of a run interrupted by
Ctrl-C, has its process stopped: everything a candidate writes is written atomically, so its
directory holds its last finished epoch's checkpoint and nothing half-written.
"""
from __future__ import annotations

import multiprocessing
import queue
import signal
import sys
import threading
from typing import Callable

from eqlearn.devices import one_cpu_thread
from eqlearn.discovery.config import DiscoverConfig
from eqlearn.discovery.result import Discovery
from eqlearn.discovery.stages import run_candidate

#: Seconds between looks at the candidates' processes while none reports (a process that died
#: without reporting, e.g. killed for memory, is an error rather than a hang).
POLL_SECONDS = 1.0


def train_candidates(runs: list[DiscoverConfig], loaded: tuple, workers: int,
                     needed: Callable[[int, dict[int, Discovery]], bool], log, resume: bool = False,
                     ) -> dict[int, Discovery]:
    """{index: discovery} of the candidates `runs` trained, at most `workers` at a time (in this
    process, one after another, for one worker), in their order; candidate i is started, and kept
    running, only while `needed(i, finished so far)`."""
    if workers <= 1:
        finished = {}
        for index, run in enumerate(runs):
            if needed(index, finished):
                log(f"candidate {index + 1}/{len(runs)}: recipe {run.recipe}, restart {run.restart}")
                finished[index] = run_candidate(run, log=log, loaded=loaded, resume=resume)
        return finished
    return _in_processes(runs, loaded, workers, needed, log, resume)


def _in_processes(runs, loaded, workers, needed, log, resume) -> dict[int, Discovery]:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])  # the server imports eqlearn once; candidates fork from it
    reports = context.Queue()
    running: dict[int, multiprocessing.Process] = {}
    finished: dict[int, Discovery] = {}
    pending = list(range(len(runs)))
    try:
        while True:
            for index in [i for i in running if not needed(i, finished)]:
                _stop(running.pop(index))
            pending = [i for i in pending if needed(i, finished)]
            while pending and len(running) < workers:
                index = pending.pop(0)
                log(f"candidate {index + 1}/{len(runs)}: recipe {runs[index].recipe}, restart {runs[index].restart} "
                    f"({workers} side by side)")
                running[index] = context.Process(target=_train_one, args=(index, runs[index], loaded, resume, reports))
                _start_holding_ctrl_c(running[index])
            if not running:
                return finished
            index, discovery, error = _next_report(reports, running)
            running.pop(index).join()
            if error is not None:
                raise error
            finished[index] = discovery
    finally:
        for process in running.values():
            _stop(process)


def _next_report(reports, running: dict) -> tuple:
    while True:
        try:
            return reports.get(timeout=POLL_SECONDS)
        except queue.Empty:
            dead = [index for index, process in running.items() if process.exitcode is not None]
            if dead:
                raise RuntimeError(f"the process of candidate {dead[0] + 1} ended without a result "
                                   f"(exit code {running[dead[0]].exitcode})")


def _start_holding_ctrl_c(process) -> None:
    """Start `process`, holding a Ctrl-C back until it has started: one halfway through a start leaves
    a child that cannot be stopped, or one that trains on unseen and keeps the terminal's pipes open."""
    if threading.current_thread() is not threading.main_thread():  # Ctrl-C reaches the main thread only
        process.start()
        return
    pressed = []
    handler = signal.signal(signal.SIGINT, lambda *_: pressed.append(True))
    try:
        process.start()
    finally:
        signal.signal(signal.SIGINT, handler)
    if pressed and callable(handler):
        handler(signal.SIGINT, None)  # the Ctrl-C, now: KeyboardInterrupt under Python's own handler


def _stop(process) -> None:
    if process.pid is None:  # never started
        return
    process.terminate()  # SIGTERM: the candidate exits through its `finally` blocks (_train_one)
    process.join()


def _train_one(index: int, config: DiscoverConfig, loaded: tuple, resume: bool, reports) -> None:
    """One candidate in its own process: Ctrl-C is the parent's to handle, SIGTERM ends it cleanly."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # unwinds, so temporary files are removed
    try:
        with one_cpu_thread():
            reports.put((index, run_candidate(config, log=lambda _: None, loaded=loaded, resume=resume), None))
    except Exception as error:  # noqa: BLE001 - reported to the parent, which raises it there
        reports.put((index, None, error))
