"""Several initialisations of one discovery run, and the law chosen among them without the truth.

Training an EQL is not convex: one initialisation in a few settles on a wrong law (the truth-free
verdict then says so). `discover --restarts K` trains K initialisations side by side on the same
data and split (`eqlearn.engines.run_tasks`), each into `OUT/restarts/K`, and reports the law with
the smallest held-out law error, preferring the shortest law as good as it by the truth-free
verdict's own rule (`verdict.AS_GOOD_AS_NETWORK`, `verdict.ERROR_FLOOR`). The truth is never
consulted; the verifier's verdict on each restart is only recorded.
"""
from __future__ import annotations

import json
import logging
import shutil
from dataclasses import replace
from pathlib import Path

from eqlearn.engines import run_tasks
from eqlearn.physics.dataset import write_text_atomically
from eqlearn.pipeline import prepare_output, run_discovery
from eqlearn.verdict import AS_GOOD_AS_NETWORK, ERROR_FLOOR


def _run_one(config):
    return run_discovery(config, log=lambda _: None)


def summary(restart: int, discovery) -> dict:
    """One restart as the verdict lists it."""
    verdict = discovery.truth_free
    verification = discovery.verification
    return {"restart": restart, "law": [m.get("unit_vector_form", m["expression"]) for m in discovery.messages],
            "law_force_error": verdict.get("law_force_error"), "network_force_error": verdict["network_force_error"],
            "law_size": verdict.get("law_size"), "recovered": None if verification is None else verification["passed"],
            "directory": discovery.config.out}


def choose(summaries: list[dict]) -> int:
    """The index of the shortest law within AS_GOOD_AS_NETWORK of the smallest held-out law error (the
    network's error where the messages are no law of their own)."""
    error = lambda s: s["law_force_error"] if s["law_force_error"] is not None else s["network_force_error"]
    best = min(error(s) for s in summaries)
    good = [i for i, s in enumerate(summaries) if error(s) <= AS_GOOD_AS_NETWORK * best + ERROR_FLOOR]
    return min(good, key=lambda i: (summaries[i]["law_size"] or 0, error(summaries[i])))


def run_with_restarts(config, log=None, engine: str | None = None, workers: int | None = None):
    """`config.restarts` discovery runs differing only in their initialisation; the chosen one's
    files are copied to `config.out`, whose equations.json lists every restart."""
    log = log or logging.getLogger(__name__).info  # a library logs; the CLI passes print
    out = prepare_output(Path(config.out))
    runs = [replace(config, restarts=1, restart=k, out=str(out / "restarts" / str(k)), progress=False)
            for k in range(config.restarts)]
    log(f"training {len(runs)} initialisations side by side")
    discoveries = run_tasks(_run_one, runs, engine=engine, workers=workers, progress=config.progress,
                            description="restarts")
    summaries = [summary(k, d) for k, d in enumerate(discoveries)]
    chosen = choose(summaries)
    for s in summaries:
        s["chosen"] = s["restart"] == chosen
    discovery = discoveries[chosen]
    for item in Path(discovery.config.out).iterdir():
        if item.is_file():
            shutil.copy2(item, out / item.name)
    discovery.restarts = summaries
    discovery.config = replace(discovery.config, out=str(out), restarts=config.restarts)
    write_text_atomically(out / "equations.json", json.dumps(discovery.equations(), indent=2))
    return discovery
