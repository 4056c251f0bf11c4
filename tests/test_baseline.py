"""The baseline pipeline (MLP-GNN + symbolic regression) and `eqlearn compare`, on tiny budgets."""
import json
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from eqlearn.cli import main
from eqlearn.compare import SHIFTS, extrapolation_errors, law_predictor, load_trained_model, pipeline_configs
from eqlearn.discovery.config import DiscoverConfig, resolve_config
from eqlearn.discovery.model import build_model
from eqlearn.discovery.portfolio import run_discovery
from eqlearn.discovery.recipes import DataSpec
from eqlearn.errors import UserInputError
from eqlearn.gnn.catalog import MLP_VARIANTS
from eqlearn.gnn.graph import EdgeList
from eqlearn.gnn.training import GraphObjective, GraphSet
from eqlearn.physics import get_potential, simulate
from eqlearn.readout.messages import read_top_messages
from eqlearn.readout.verify import parse_message, verify_law

TINY = dict(sims=60, steps=2, epochs=2, batch_size=64, progress=False)


def resolved(**settings) -> DiscoverConfig:
    """A config as a run on simulated n=4, d=2 data would resolve it."""
    return resolve_config(DiscoverConfig(**settings), DataSpec(4, 2, velocities=True, charges=True, softening=0.01))


def random_graphs(count: int = 16, n: int = 4, dim: int = 2) -> GraphSet:
    generator = torch.Generator().manual_seed(0)
    draw = lambda *shape: torch.randn(*shape, generator=generator)
    return GraphSet(draw(count, n, dim), draw(count, n).exp(), draw(count, n).sign(), draw(count, n, dim),
                    draw(count, n, dim))


@pytest.mark.parametrize("variant", list(MLP_VARIANTS))
def test_variant_forward_backward(variant):
    config = resolved(edge_model="mlp", variant=variant, progress=False)
    model = build_model(config)
    batch = random_graphs()
    loss, metrics = GraphObjective(model, config.message_l1_weight, config.weight_penalty)(batch, 1.0)
    loss.backward()
    _, messages = model(*batch.inputs)
    assert messages.shape == (16, 12, 2 if variant == "bottleneck" else 100)
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())
    assert ("message_penalty" in metrics) == (variant == "kl")
    assert (config.message_l1_weight > 0) == (variant == "l1")


def test_variational_messages_are_sampled_in_training_and_the_mean_at_evaluation():
    model = build_model(resolved(edge_model="mlp", variant="kl"))
    batch = random_graphs()
    draw = lambda: model.messages(*batch.inputs)
    assert not torch.equal(draw(), draw())
    model.eval()
    assert torch.equal(draw(), draw())


def test_every_edge_model_defaults_to_newtonian_nodes_and_messages_are_forces_only_at_size_d():
    assert resolved().node_model == resolved(edge_model="mlp").node_model == "newtonian"
    bottleneck = resolved(edge_model="mlp", variant="bottleneck")
    assert bottleneck.message_size == 2 and bottleneck.messages_are_forces
    l1 = resolved(edge_model="mlp", variant="l1")
    assert l1.message_size == 100 and not l1.messages_are_forces and l1.message_l1_weight > 0
    assert not resolved(edge_model="mlp", node_model="mlp", variant="bottleneck").messages_are_forces


def test_newtonian_nodes_read_the_force_linearly_from_many_messages():
    """Behind Newton's law, 100 messages are mapped to the force by a learned d x 100 matrix."""
    model = build_model(resolved(edge_model="mlp", variant="l1"))
    batch = random_graphs()
    accelerations, messages = model(*batch.inputs)
    summed = model.edges.aggregate(messages)
    force = summed @ model.node_model.read_force.weight.T
    torch.testing.assert_close(accelerations, force / batch.masses.unsqueeze(-1))


class SpringForce(nn.Module):
    """An edge model whose first two messages are the exact spring force (inputs ux, uy, r, ...)."""

    n_messages = 4

    def forward(self, features):
        force = -2 * (features[..., 2:3] - 1) * features[..., :2]
        return torch.cat([force, torch.zeros_like(force)], dim=-1)


@pytest.mark.usefixtures("sr_engine")
def test_symbolic_regression_of_the_top_messages_recovers_a_known_force():
    config = resolved(progress=False, eql_form="free", features=["ux", "uy", "r", "m1", "m2"])
    model = build_model(config)
    model.edge_model = SpringForce()
    trajectories = simulate(get_potential("spring"), 4, 2, sims=30, steps=1, seed=1)
    readout = read_top_messages(model, GraphSet.from_trajectories(trajectories), dim=2)
    assert readout.top == [0, 1] and readout.live == 2 and len(readout.fits) == 2
    assert all(fit.pareto_front for fit in readout.fits)
    verification = verify_law(readout.expressions, "(r - 1)**2", 2)
    assert verification.passed and verification.form == "force", (readout.expressions, verification)


@pytest.fixture(scope="module")
def baseline_run(tmp_path_factory, sr_engine):
    out = tmp_path_factory.mktemp("runs") / "mlp"
    config = DiscoverConfig(edge_model="mlp", variant="bottleneck", recipe="central", out=str(out), **TINY)
    return out, run_discovery(config, log=lambda _: None)


def test_baseline_run_writes_equations_and_pareto_fronts(baseline_run):
    out, discovery = baseline_run
    equations = json.loads((out / "equations.json").read_text())
    assert equations["edge_model"] == "mlp" and equations["node_model"] == "newtonian"
    for text in [m["expression"] for m in equations["messages"]] + equations["canonical"]:
        parse_message(text)
    fronts = json.loads((out / "pareto_fronts.json").read_text())
    assert [f["index"] for f in fronts] == [m["index"] for m in equations["messages"]]
    for rank, front in enumerate(fronts, start=1):
        assert front["chosen"] in [point["expression"] for point in front["front"]]
        assert (out / f"pareto_message_{rank}.png").stat().st_size > 0


def test_trained_model_loads_back_from_its_run_directory(baseline_run):
    out, discovery = baseline_run
    model = load_trained_model(out)
    assert model.edge_model.n_messages == 2 and not model.training


@pytest.fixture(scope="module")
def comparison(tmp_path_factory, sr_engine):
    out = tmp_path_factory.mktemp("compare") / "spring"
    code = main(["compare", "--law", "spring", "--seeds", "0", "--sims", "60", "--steps", "2", "--epochs", "2",
                 "--batch-size", "64", "--quiet", "--out", str(out)])
    assert code == 0
    return out


def test_compare_writes_both_pipelines_on_the_same_data(comparison):
    assert (comparison / "data_seed0.npz").is_file()
    result = json.loads((comparison / "comparison.json").read_text())
    assert [row["pipeline"] for row in result["rows"]] == ["GNN+EQL", "MLP-l1 + SR"]
    assert "same epochs" in result["budget"]
    eql, baseline = result["rows"]
    assert eql["epochs"] == baseline["epochs"]
    for row in result["rows"]:
        assert set(row["extrapolation"]) == set(SHIFTS)
        assert {"train", "read_out"} <= set(row["seconds"])
        config = json.loads((comparison / "seed0" / row["run"].split("/")[-1] / "config.json").read_text())
        assert config["data"]["data"] == str(comparison / "data_seed0.npz") and config["run"]["seed"] == 0
    assert set(eql["law_extrapolation"]) == set(SHIFTS) and baseline["law_extrapolation"] is None
    table = (comparison / "comparison.md").read_text()
    assert "| 0 | GNN+EQL |" in table and "| 0 | MLP-l1 + SR |" in table


def test_an_exact_law_extrapolates_exactly():
    """The law-alone predictor must reproduce the simulator for the true law, at any distance and mass."""
    potential = get_potential("r2")
    discovery = SimpleNamespace(messages=[{"index": k, "expression": f"-m1*m2*d{a}/(r**2*(r - 0.01))"}
                                          for k, a in enumerate("xy")], config=SimpleNamespace(softening=0.01))
    errors = extrapolation_errors(law_predictor(discovery, EdgeList.complete(4)), potential, 4, 2, seed=0, systems=50)
    assert max(errors.values()) < 1e-5


def test_unknown_variant_is_a_user_error(tmp_path):
    with pytest.raises(UserInputError, match="unknown MLP variant"):
        DiscoverConfig(edge_model="mlp", variant="dropout")
    for command in ("discover", "compare"):
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--variant", "dropout", "--out", str(tmp_path / command)])
        assert exit_info.value.code == 2


def test_compare_trains_both_pipelines_on_the_same_loss(tmp_path):
    spec = DataSpec(4, 2, velocities=True, charges=True, softening=0.01)
    configs = pipeline_configs(DiscoverConfig(), ["l1"], "data.npz", tmp_path, spec)
    assert {config.loss for config in configs.values()} == {"relative"}
    assert {config.node_model for config in configs.values()} == {"newtonian"}
    reference = pipeline_configs(DiscoverConfig(), ["l1"], "data.npz", tmp_path, spec, baseline_nodes="mlp")
    assert list(reference) == ["GNN+EQL", "MLP-l1, mlp nodes + SR"]
    assert reference["MLP-l1, mlp nodes + SR"].loss == "relative"  # the same loss as the EQL's, not mlp nodes' own
    assert resolved(edge_model="mlp", node_model="mlp").loss == "huber"
