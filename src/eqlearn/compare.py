"""GNN+EQL against the established route (MLP-GNN, then symbolic regression), side by side.

Both pipelines are `run_discovery` runs that differ only in the edge model (and, when asked, the
baseline's node model): they read the same simulated data set, use the same seed, loss and
verifier, and make the same number of passes over the training graphs (the equalised budget).
On top of the verifier's verdict, each trained model is scored on systems outside the training
distribution, where a recovered law should keep working and a black box need not.
"""
from __future__ import annotations

import json
import logging
import statistics
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from eqlearn.discovery.config import DEFAULT_LAW, DiscoverConfig, resolve_config
from eqlearn.discovery.data import data_spec
from eqlearn.discovery.model import build_model, training_phases
from eqlearn.discovery.portfolio import run_discovery
from eqlearn.discovery.rundir import prepare_output
from eqlearn.gnn.catalog import mlp_variant
from eqlearn.gnn.model import ParticleGNN
from eqlearn.gnn.training import GraphSet
from eqlearn.physics import get_potential, pair_accelerations, save_dataset, simulate
from eqlearn.physics.simulator import initial_conditions
from eqlearn.readout.law import PairLaw
from eqlearn.readout.verify import parse_message
from eqlearn.vocabulary.files import write_text_atomically

#: Test systems per shift: (factor on positions, factor on masses). 3x positions puts particles
#: 3x farther apart than in training; 3x masses makes every particle heavier than typical.
SHIFTS = {"in-distribution": (1.0, 1.0), "3x distance": (3.0, 1.0), "3x mass": (1.0, 3.0)}
EXTRAPOLATION_SYSTEMS = 2000
#: Offset of the test systems' seed, so they never repeat the training systems' initial states.
EXTRAPOLATION_SEED_OFFSET = 1_000_003
#: Canonical laws longer than this are cut short in the markdown table; comparison.json keeps them whole.
TABLE_LAW_CHARS = 120
BUDGET = "same epochs: both pipelines make the same number of passes over the same training graphs"


def total_epochs(config: DiscoverConfig) -> int:
    return sum(phase.epochs for phase in training_phases(config))


def pipeline_configs(base: DiscoverConfig, variants: list[str], data: str, out: Path, spec,
                     baseline_nodes: str = "newtonian") -> dict[str, DiscoverConfig]:
    """The GNN+EQL with its defaults, then the baseline in each variant behind `baseline_nodes`,
    given the EQL's total epochs and the same loss (the EQL's default, unless the base config names one)."""
    told = dict(law=None, potential=None)  # the data file carries its law; the runs are not told it
    eql = resolve_config(replace(base, edge_model="eql", data=data, out=str(out / "eql"), **told), spec)
    configs = {"GNN+EQL": eql}
    nodes = "" if baseline_nodes == "newtonian" else f", {baseline_nodes} nodes"
    for variant in variants:
        configs[f"MLP-{variant}{nodes} + SR"] = replace(
            base, edge_model="mlp", node_model=baseline_nodes, variant=variant, data=data,
            out=str(out / f"mlp-{variant}"), epochs=total_epochs(eql), loss=eql.loss, **told)
    return configs


def load_trained_model(run: str | Path) -> ParticleGNN:
    """The model a discovery run left in its directory, ready for evaluation."""
    run = Path(run)
    config = DiscoverConfig.from_json((run / "config.json").read_text())
    units = json.loads((run / "equations.json").read_text()).get("units") or {}
    model = build_model(config, units.get("length", 1.0))
    model.load_state_dict(torch.load(run / "checkpoint.pt", weights_only=True)["state_dict"])
    return model.eval()


def shifted_systems(potential, n: int, dim: int, systems: int, seed: int, distance: float, mass: float) -> GraphSet:
    """Fresh systems from the simulator's distribution with positions and masses scaled; exact targets."""
    x, v, m, q = (a.astype(np.float64) for a in initial_conditions(potential, n, dim, systems, seed))
    x, m = x * distance, m * mass
    accelerations = pair_accelerations(x, v, m, q, potential)
    tensor = lambda a: torch.as_tensor(a, dtype=torch.float32)
    return GraphSet(tensor(x), tensor(m), tensor(q), tensor(accelerations), tensor(v))


def extrapolation_errors(predict, potential, n: int, dim: int, seed: int,
                         systems: int = EXTRAPOLATION_SYSTEMS) -> dict[str, float]:
    """Relative acceleration error, mean |a_pred - a_true| / mean |a_true|, per shift in SHIFTS;
    `predict(graphs)` gives the accelerations [G, n, d] of a trained model or of a law."""
    errors = {}
    for name, (distance, mass) in SHIFTS.items():
        graphs = shifted_systems(potential, n, dim, systems, seed + EXTRAPOLATION_SEED_OFFSET, distance, mass)
        truth = graphs.accelerations.double().numpy()
        errors[name] = round(float(np.mean(np.abs(predict(graphs) - truth)) / np.mean(np.abs(truth))), 4)
    return errors


def network_predictor(model: ParticleGNN):
    def predict(graphs: GraphSet) -> np.ndarray:
        with torch.no_grad():
            return model(*graphs.inputs)[0].double().numpy()
    return predict


def law_predictor(discovery, edges):
    """The reported law as a model of its own (where message k is the force along axis k)."""
    by_axis = sorted(discovery.messages, key=lambda m: m["index"])
    law = PairLaw([parse_message(m.get("refitted", m["expression"])) for m in by_axis], edges, discovery.config.softening)
    return lambda graphs: law.accelerations(*graphs.inputs)


@dataclass
class Comparison:
    """One row per (seed, pipeline), the budget that was equalised, and the shared simulation times."""

    law: str
    n: int
    dim: int
    budget: str
    rows: list[dict]
    simulate_seconds: dict[int, float]

    def to_dict(self) -> dict:
        return {"law": self.law, "n": self.n, "dim": self.dim, "budget": self.budget,
                "simulate_seconds": self.simulate_seconds, "rows": self.rows, "summary": self.summary()}

    def summary(self) -> list[dict]:
        """Per pipeline over seeds: recoveries, and medians of time, test loss and extrapolation error."""
        result = []
        for pipeline in dict.fromkeys(row["pipeline"] for row in self.rows):
            rows = [row for row in self.rows if row["pipeline"] == pipeline]
            median = lambda values: round(statistics.median(values), 4)
            laws = [row["law_extrapolation"] for row in rows if row.get("law_extrapolation")]
            result.append({
                "pipeline": pipeline, "recovered": sum(row["recovered"] for row in rows), "seeds": len(rows),
                "train_seconds": median([row["seconds"]["train"] for row in rows]),
                "test_loss": median([row["test_loss"] for row in rows]),
                **{name: median([row["extrapolation"][name] for row in rows]) for name in SHIFTS},
                "law_extrapolation": {name: median([e[name] for e in laws]) for name in SHIFTS} if laws else None,
            })
        return result

    def to_markdown(self) -> str:
        shifts = " / ".join(SHIFTS)
        lines = [
            f"# {self.law} (n={self.n}, d={self.dim}): GNN+EQL vs MLP-GNN + symbolic regression", "",
            f"Budget: {self.budget}. Same data set and seed per row pair; same verifier (docs/design.md §4).",
            "Simulation (shared by both pipelines): " + ", ".join(f"seed {s}: {t:.1f} s" for s, t in self.simulate_seconds.items()),
            "", f"| seed | pipeline | epochs | recovered | canonical law | min R² | non-zero messages | "
            f"train s | read-out s | test MAE | relative error of the network ({shifts}) | of the law alone |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in self.rows:
            verdict = f"yes ({row['form']})" if row["recovered"] else "no"
            lines.append(
                f"| {row['seed']} | {row['pipeline']} | {row['epochs']} | {verdict} | `{_table_law(row['canonical'])}` | "
                f"{row['r2']:.4f} | {row['nonzero_messages']} | {row['seconds']['train']:.1f} | "
                f"{row['seconds']['read_out']:.1f} | {row['test_loss']:.4g} | {_errors(row['extrapolation'])} | "
                f"{_errors(row.get('law_extrapolation'))} |")
        lines += ["", f"Summary (medians over seeds; relative error {shifts}; the law alone is a model only "
                      "where each message is the force along one axis):", "",
                  "| pipeline | recovered | train s | test MAE | relative error of the network | of the law alone |",
                  "|---|---|---|---|---|---|"]
        for s in self.summary():
            lines.append(f"| {s['pipeline']} | {s['recovered']}/{s['seeds']} | {s['train_seconds']:.1f} | "
                         f"{s['test_loss']:.4g} | {_errors(s)} | {_errors(s['law_extrapolation'])} |")
        return "\n".join(lines) + "\n"


def _errors(by_shift: dict | None) -> str:
    return " / ".join(f"{by_shift[name]:.3g}" for name in SHIFTS) if by_shift else "–"


def _table_law(canonical: list[str]) -> str:
    text = "; ".join(canonical)
    return text if len(text) <= TABLE_LAW_CHARS else text[:TABLE_LAW_CHARS] + " …"


def compare_pipelines(base: DiscoverConfig, seeds: list[int], variants: list[str], out: str | Path,
                      log=None, baseline_nodes: str = "newtonian") -> Comparison:
    """Simulate once per seed into `out`, run GNN+EQL and the baseline in each of `variants` (behind
    `baseline_nodes`) on that data, score them; writes comparison.json and comparison.md into `out`
    (a new or empty directory)."""
    log = log or logging.getLogger(__name__).info  # a library logs; the CLI passes print
    for variant in variants:
        mlp_variant(variant)  # fail before any work is done
    potential = get_potential(base.law or (None if base.potential else DEFAULT_LAW), base.potential)
    out = prepare_output(Path(out))
    rows, simulate_seconds = [], {}
    for seed in seeds:
        start = time.perf_counter()
        data = out / f"data_seed{seed}.npz"
        trajectories = simulate(potential, base.n, base.dim, base.sims, base.steps, seed=seed, progress=base.progress)
        save_dataset(data, trajectories)
        simulate_seconds[seed] = round(time.perf_counter() - start, 2)
        seed_dir = out / f"seed{seed}"
        seed_dir.mkdir()
        configs = pipeline_configs(replace(base, seed=seed), variants, str(data), seed_dir, data_spec(trajectories),
                                   baseline_nodes)
        for pipeline, config in configs.items():
            log(f"seed {seed}: {pipeline}")
            discovery = run_discovery(config, log=log)
            config = discovery.config  # resolved: the recipe's choices filled in
            model = load_trained_model(config.out)
            rows.append({
                "seed": seed, "pipeline": pipeline, "edge_model": config.edge_model, "node_model": config.node_model,
                "variant": config.variant if config.edge_model == "mlp" else None, "epochs": total_epochs(config),
                "recovered": bool(discovery.verification["passed"]), "form": discovery.verification["form"],
                "canonical": discovery.canonical, "r2": min(discovery.verification["r2"]),
                "nonzero_messages": discovery.nonzero_messages, "seconds": discovery.seconds,
                "test_loss": discovery.test_loss,
                "extrapolation": extrapolation_errors(network_predictor(model), potential, base.n, base.dim, seed),
                "law_extrapolation": (extrapolation_errors(law_predictor(discovery, model.edges), potential, base.n,
                                                           base.dim, seed) if config.messages_are_forces else None),
                "run": config.out,
            })
    comparison = Comparison(potential.name, base.n, base.dim, BUDGET, rows, simulate_seconds)
    write_text_atomically(out / "comparison.json", json.dumps(comparison.to_dict(), indent=2))
    write_text_atomically(out / "comparison.md", comparison.to_markdown())
    return comparison
