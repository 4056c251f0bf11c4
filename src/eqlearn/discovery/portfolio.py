"""Several candidate models of one discovery run, and the law chosen among them without the truth.

Training an EQL is not convex: one initialisation in a few settles on a wrong law (the truth-free
verdict then says so), and one model's family does not hold every law. A run trains every
recipe of its portfolio (`recipes.candidate_recipes`: the default `auto` is central and screened)
times `--restarts K` initialisations on the same data and split, each into `OUT/restarts/LABEL`,
and reports the law with the smallest held-out law error, preferring the shortest law as good as
it by the truth-free verdict's own rule (`verdict.AS_GOOD_AS_NETWORK`, `verdict.ERROR_FLOOR`).
With K > 1 the candidates run side by side (`eqlearn.engines.run_tasks`); a portfolio alone runs
its members one after another in this process, so a run stays one CPU's work wherever it is
placed (a sweep, a benchmark), and trains one more initialisation of each member, and the
portfolio's fallback recipes (`Recipe.fallbacks`), when no law explains the held-out data
(`RETRY_ABOVE`). The truth is never consulted; the verifier's verdict
on each candidate is only recorded.
"""
from __future__ import annotations

import json
import logging
import math
import shutil
import time
from dataclasses import replace
from pathlib import Path

from eqlearn.devices import resolve_device
from eqlearn.discovery.config import DiscoverConfig
from eqlearn.discovery.data import load_or_simulate
from eqlearn.discovery.recipes import candidate_recipes, fallback_recipes
from eqlearn.discovery.result import Discovery, reported_law
from eqlearn.discovery.rundir import prepare_output, refuse_nonempty
from eqlearn.discovery.stages import run_candidate
from eqlearn.discovery.verdict import AS_GOOD_AS_NETWORK, ERROR_FLOOR, NETWORK_FITS
from eqlearn.engines import run_tasks
from eqlearn.sr import require_engine
from eqlearn.vocabulary.files import write_text_atomically

#: A portfolio run whose best law leaves a held-out relative force error above this trains one more
#: initialisation of every member and chooses among all: training sometimes collapses (all
#: messages zero) or settles on a wrong law, and a second start is the cheapest cure. An exact
#: law's error is ~1e-8, so runs that found one never pay for the second round.
RETRY_ABOVE = NETWORK_FITS


def _run_one(config):
    return run_candidate(config, log=lambda _: None)


def summary(discovery) -> dict:
    """One candidate as the verdict lists it."""
    verdict = discovery.truth_free
    verification = discovery.verification
    return {"restart": discovery.config.restart, "recipe": discovery.config.recipe,
            "law": reported_law(discovery.equations()),
            "law_force_error": verdict.get("law_force_error"), "network_force_error": verdict["network_force_error"],
            "law_size": verdict.get("law_size"), "target_noise_error": verdict.get("target_noise_error"),
            "recovered": None if verification is None else verification["passed"],
            "directory": discovery.config.out}


def law_error(summary: dict) -> float:
    """A candidate's held-out law error (the network's where the messages are no law of their own)."""
    return summary["law_force_error"] if summary["law_force_error"] is not None else summary["network_force_error"]


def choose(summaries: list[dict]) -> int:
    """The index of the shortest law within AS_GOOD_AS_NETWORK of the smallest held-out law error."""
    best = min(law_error(s) for s in summaries)
    good = [i for i, s in enumerate(summaries) if law_error(s) <= AS_GOOD_AS_NETWORK * best + ERROR_FLOOR]
    return min(good, key=lambda i: (summaries[i]["law_size"] or 0, law_error(summaries[i])))


def candidate_configs(config, restarts: range | None = None, recipes: tuple[str, ...] | None = None) -> list:
    """One config per recipe (default: of the portfolio) and initialisation (`restarts`, default
    all of `config.restarts`), each with its own directory under OUT/restarts: the restart's
    number, the recipe's name, or both."""
    recipes = candidate_recipes(config.recipe) if recipes is None else recipes
    restarts = range(config.restarts) if restarts is None else restarts
    numbered = list(restarts) != [0]
    named = len(candidate_recipes(config.recipe) + fallback_recipes(config.recipe)) > 1  # the run trains several
    label = lambda recipe, k: "-".join(([recipe] if named else []) + ([str(k)] if numbered else []))
    return [replace(config, recipe=recipe, restarts=1, restart=k, out=str(Path(config.out) / "restarts" / label(recipe, k)),
                    progress=False)
            for recipe in recipes for k in restarts]


def _one_after_another(runs: list, progress: bool, log, loaded) -> list:
    discoveries = []
    for number, run in enumerate(runs, 1):
        log(f"candidate {number}/{len(runs)}: recipe {run.recipe}, restart {run.restart}")
        discoveries.append(run_candidate(replace(run, progress=progress), log=log, loaded=loaded))
    return discoveries


def run_with_restarts(config, log=None, engine: str | None = None, workers: int | None = None):
    """Every candidate of `config` (its portfolio's recipes × `config.restarts`); the chosen one's
    files are copied to `config.out`, whose equations.json lists every candidate."""
    log = log or logging.getLogger(__name__).info  # a library logs; the CLI passes print
    start = time.perf_counter()
    refuse_nonempty(Path(config.out))
    loaded = load_or_simulate(config)  # bad data stop here, before anything is written
    out = prepare_output(Path(config.out))
    runs = candidate_configs(config)
    if config.restarts > 1:
        log(f"training {len(runs)} candidate models side by side")
        discoveries = run_tasks(_run_one, runs, engine=engine, workers=workers, progress=config.progress,
                                description="candidates")
    else:
        discoveries = _one_after_another(runs, config.progress, log, loaded)
        best = min(law_error(summary(d)) for d in discoveries)
        noise = max(summary(d)["target_noise_error"] or 0.0 for d in discoveries)  # what no law can explain
        if best > math.hypot(RETRY_ABOVE, noise):
            fallbacks = fallback_recipes(config.recipe)
            log(f"no candidate's law explains the held-out data (best error {best:.2g} > {RETRY_ABOVE:g}): "
                f"one more initialisation of each{''.join(f', recipe {name}' for name in fallbacks)}")
            retries = candidate_configs(config, range(1, 2)) + candidate_configs(config, range(1), fallbacks)
            discoveries += _one_after_another(retries, config.progress, log, loaded)
    summaries = [summary(d) for d in discoveries]
    chosen = choose(summaries)
    for s in summaries:
        s["chosen"] = s is summaries[chosen]
    discovery = discoveries[chosen]
    log(f"chosen: recipe {discovery.config.recipe}, restart {discovery.config.restart} (held-out error and size)")
    for item in Path(discovery.config.out).iterdir():
        if item.is_file():
            shutil.copy2(item, out / item.name)
    discovery.restarts = summaries
    discovery.seconds = {**discovery.seconds, "all candidates": round(time.perf_counter() - start, 2)}
    # the chosen candidate's settings, from this directory: --config reruns the reported law's model
    discovery.config = replace(discovery.config, out=str(out), restarts=config.restarts)
    write_text_atomically(out / "config.json", discovery.config.to_json())
    write_text_atomically(out / "equations.json", json.dumps(discovery.equations(), indent=2))
    return discovery


def run_discovery(config: DiscoverConfig, log=None, engine: str | None = None, workers: int | None = None) -> Discovery:
    """Force-law discovery, end to end: config in, run directory `config.out` out. A portfolio
    recipe or `config.restarts` > 1 trains several candidates and reports one (`run_with_restarts`,
    restarts on `engine` with `workers`); otherwise the stages run once (`stages.run_candidate`)."""
    log = log or logging.getLogger(__name__).info  # a library logs; the CLI passes print
    resolve_device(config.device)  # a device that is not here stops the run before any work, not its config
    if config.edge_model != "eql":
        require_engine()  # the read-out of an MLP edge model is a symbolic regression: fail before any work
    if config.restarts > 1 or len(candidate_recipes(config.recipe)) > 1:
        return run_with_restarts(config, log, engine, workers)
    return run_candidate(config, log)
