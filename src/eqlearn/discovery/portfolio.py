"""Several candidate models of one discovery run, and the law chosen among them without the truth.

Training an EQL is not convex: one initialisation in a few settles on a wrong law (the truth-free
verdict then says so), and one model's family does not hold every law. A run trains every
recipe of its portfolio (`recipes.candidate_recipes`: the default `auto` is central and screened)
times `--restarts K` initialisations on the same data and split, each into `OUT/restarts/LABEL`,
and reports the law with the smallest held-out law error, preferring the shortest law as good as
it by the truth-free verdict's own rule (`verdict.AS_GOOD_AS_NETWORK`, `verdict.ERROR_FLOOR`).
With K > 1 the candidates run side by side on an engine (`eqlearn.engines.run_tasks`); a
portfolio alone trains its members side by side, one process and CPU thread each, as many at a
time as `workers` allows (default: the CPUs here; a sweep that runs several discoveries at once
gives each one fewer), and trains the portfolio's fallback recipes (`Recipe.fallbacks`) and one
more initialisation of each member when no law explains the held-out data (`RETRY_ABOVE`). A
candidate whose law is exact on held-out data makes every later one unnecessary
(`needed_until_exact`). The truth is never consulted; the verifier's verdict on each candidate is
only recorded.
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
from eqlearn.discovery.early_stop import is_exact
from eqlearn.discovery.recipes import candidate_recipes, fallback_recipes
from eqlearn.discovery.result import EQUATIONS_FILE, Discovery, is_complete, reported_law
from eqlearn.discovery.rundir import describe_progress, prepare_output, refuse_nonempty
from eqlearn.discovery.side_by_side import train_candidates
from eqlearn.discovery.stages import run_candidate
from eqlearn.discovery.verdict import AS_GOOD_AS_NETWORK, ERROR_FLOOR, NETWORK_FITS
from eqlearn.engines import available_cpus, run_tasks
from eqlearn.errors import RunInterrupted, UserInputError
from eqlearn.sr import require_engine
from eqlearn.vocabulary.files import write_text_atomically

#: A portfolio run whose best law leaves a held-out relative force error above this trains one more
#: initialisation of every member and chooses among all: training sometimes collapses (all
#: messages zero) or settles on a wrong law, and a second start is the cheapest cure. An exact
#: law's error is ~1e-8, so runs that found one never pay for the second round.
RETRY_ABOVE = NETWORK_FITS
#: The settings a portfolio run was started with, in its run directory: what `--resume` continues.
REQUEST = "restarts/request.json"


def _run_one(task: tuple):
    config, resume = task
    return run_candidate(config, log=lambda _: None, resume=resume)


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


def needed_until_exact(index: int, finished: dict[int, Discovery]) -> bool:
    """Whether candidate `index` must still train: not once an earlier one's law is exact on held-out
    data (`early_stop.is_exact`), which no later candidate can better. Earlier candidates always
    finish, so which law a run reports does not depend on which process happened to finish first."""
    exact = [i for i, discovery in finished.items() if is_exact(discovery.truth_free.get("law_force_error"))]
    return not exact or index <= min(exact)


def _train_round(runs: list, loaded, workers: int, log, resume: bool) -> list[Discovery]:
    """The candidates `runs` needs (`needed_until_exact`), in their order; the directories of those
    it did not need are removed."""
    finished = train_candidates(runs, loaded, workers, needed_until_exact, log, resume)
    finished = {i: d for i, d in finished.items() if needed_until_exact(i, finished)}  # not those done by chance
    for index, run in enumerate(runs):
        if index not in finished:
            log(f"candidate {run.recipe} {run.restart} not needed: an earlier candidate's law is exact")
            shutil.rmtree(run.out, ignore_errors=True)
    return [finished[i] for i in sorted(finished)]


def side_by_side(workers: int | None, candidates: int) -> int:
    """How many candidates train at once: `workers`, else one per CPU here, at most `candidates`."""
    return max(1, min(workers or available_cpus(), candidates))


def run_with_restarts(config, log=None, engine: str | None = None, workers: int | None = None, resume: bool = False):
    """Every candidate of `config` (its portfolio's recipes × `config.restarts`); the chosen one's
    files are copied to `config.out`, whose equations.json lists every candidate. With `resume`,
    finished candidates are read back and a candidate killed midway continues from its checkpoint."""
    log = log or logging.getLogger(__name__).info  # a library logs; the CLI passes print
    start = time.perf_counter()
    if not resume:
        refuse_nonempty(Path(config.out))
    loaded = load_or_simulate(config)  # bad data stop here, before anything is written
    out = Path(config.out) if resume else prepare_output(Path(config.out))
    if not resume:
        (out / "restarts").mkdir()
        write_text_atomically(out / REQUEST, config.to_json())  # what --resume continues
    runs = candidate_configs(config)
    if config.restarts > 1:
        log(f"training {len(runs)} candidate models side by side")
        discoveries = run_tasks(_run_one, [(run, resume) for run in runs], engine=engine, workers=workers,
                                progress=config.progress, description="candidates")
    else:
        discoveries = _train_round(runs, loaded, side_by_side(workers, len(runs)), log, resume)
        best = min(law_error(summary(d)) for d in discoveries)
        noise = max(summary(d)["target_noise_error"] or 0.0 for d in discoveries)  # what no law can explain
        if best > math.hypot(RETRY_ABOVE, noise):
            fallbacks = fallback_recipes(config.recipe)
            log(f"no candidate's law explains the held-out data (best error {best:.2g} > {RETRY_ABOVE:g}): "
                f"{''.join(f'recipe {name}, ' for name in fallbacks)}and one more initialisation of each")
            retries = candidate_configs(config, range(1), fallbacks) + candidate_configs(config, range(1, 2))
            discoveries += _train_round(retries, loaded, side_by_side(workers, len(retries)), log, resume)
    summaries = [summary(d) for d in discoveries]
    chosen = choose(summaries)
    for s in summaries:
        s["chosen"] = s is summaries[chosen]
    discovery = discoveries[chosen]
    log(f"chosen: recipe {discovery.config.recipe}, restart {discovery.config.restart} (held-out error and size)")
    for item in Path(discovery.config.out).iterdir():
        if item.is_file() and item.name != EQUATIONS_FILE:
            shutil.copy2(item, out / item.name)
    discovery.restarts = summaries
    discovery.seconds = {**discovery.seconds, "all candidates": round(time.perf_counter() - start, 2)}
    # the chosen candidate's settings, from this directory: --config reruns the reported law's model
    discovery.config = replace(discovery.config, out=str(out), restarts=config.restarts)
    write_text_atomically(out / "config.json", discovery.config.to_json())
    write_text_atomically(out / EQUATIONS_FILE, json.dumps(discovery.equations(), indent=2))  # last: complete
    return discovery


def run_discovery(config: DiscoverConfig, log=None, engine: str | None = None, workers: int | None = None,
                  resume: bool = False) -> Discovery:
    """Force-law discovery, end to end: config in, run directory `config.out` out. A portfolio
    recipe or `config.restarts` > 1 trains several candidates and reports one (`run_with_restarts`,
    `workers` at a time, restarts on `engine`); otherwise the stages run once (`stages.run_candidate`).
    With `resume`, a run killed midway continues in `config.out` (`resume_discovery`). Ctrl-C
    stops with a `RunInterrupted` that says what was saved."""
    log = log or logging.getLogger(__name__).info  # a library logs; the CLI passes print
    resolve_device(config.device)  # a device that is not here stops the run before any work, not its config
    if config.edge_model != "eql":
        require_engine()  # the read-out of an MLP edge model is a symbolic regression: fail before any work
    try:
        if config.restarts > 1 or len(candidate_recipes(config.recipe)) > 1:
            return run_with_restarts(config, log, engine, workers, resume)
        return run_candidate(config, log, resume=resume)
    except KeyboardInterrupt:
        raise RunInterrupted(interrupted_message(Path(config.out))) from None


def resume_discovery(out: str | Path, log=None, engine: str | None = None, workers: int | None = None,
                     progress: bool | None = None) -> Discovery:
    """Continue the run killed midway in `out` with the settings it was started with: finished
    candidates are read back from their directories, one killed while training continues from its
    last checkpoint (weights, optimiser, schedule and batch order), so the law is the one an
    uninterrupted run reports."""
    out = Path(out)
    if is_complete(out):
        raise UserInputError(f"{out} holds a complete run already ({EQUATIONS_FILE}); nothing to resume")
    request = out / REQUEST if (out / REQUEST).is_file() else out / "config.json"
    if not request.is_file():
        raise UserInputError(f"{out} holds no run to resume (no config.json)")
    config = DiscoverConfig.from_json(request.read_text())
    config = replace(config, out=str(out), progress=config.progress if progress is None else progress)
    return run_discovery(config, log, engine, workers, resume=True)


def interrupted_message(out: Path) -> str:
    """One line: what an interrupted run left in `out` and how to continue it."""
    directories = sorted(p for p in (out / "restarts").iterdir() if p.is_dir()) if (out / "restarts").is_dir() else [out]
    states = [f"{'' if d == out else d.name + ' '}{describe_progress(d)}" for d in directories]
    return (f"interrupted: {'; '.join(states) or 'nothing trained yet'} (saved in {out}); "
            f"continue with: eqlearn discover --resume --out {out}")
