"""Learned charges: signs chosen by trying every pattern under a law, and the run's contract."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from eqlearn.discovery.config import DiscoverConfig
from eqlearn.discovery.portfolio import run_discovery
from eqlearn.gnn.particles import LearnedCharges, choose_charge_signs
from eqlearn.gnn.training import GraphSet, relative_force_error_per_graph
from eqlearn.physics import get_potential, save_dataset, simulate
from eqlearn.physics.interactions import pair_accelerations


def test_every_systems_charge_signs_are_found_under_the_true_law():
    """With the law right, trying every sign pattern puts each system's charges right up to the
    one overall sign that changes no force, from deliberately wrong starting signs."""
    potential = get_potential("charge")
    generator = torch.Generator().manual_seed(0)
    systems, n = 8, 4
    positions = torch.randn(systems, n, 2, generator=generator, dtype=torch.float64)
    masses = torch.exp(torch.randn(systems, n, generator=generator, dtype=torch.float64))
    truth = torch.randint(0, 2, (systems, n), generator=generator).double() * 2 - 1
    law = lambda q: torch.as_tensor(np.asarray(pair_accelerations(positions.numpy(), np.zeros_like(positions.numpy()),
                                                                  masses.numpy(), q.double().numpy(), potential)))
    graphs = GraphSet(positions, masses, truth, law(truth), system=torch.arange(systems))
    charges = LearnedCharges(systems, n, seed=1)
    with torch.no_grad():
        charges.value.copy_(-truth * torch.tensor([1.0, -1.0, 1.0, 1.0]))  # one particle's sign wrong in every system
    error = lambda q: relative_force_error_per_graph(law(q), graphs.with_charges(q))
    assert choose_charge_signs(charges, error, graphs.system) == systems
    aligned = charges.value.detach() * torch.sign(charges.value.detach()[:, :1] * truth[:, :1])
    assert torch.equal(aligned.double(), truth)


def test_learned_charges_report_in_units_of_the_reference():
    charges = LearnedCharges(2, 3, seed=0)
    with torch.no_grad():
        charges.value.copy_(torch.tensor([[0.5, -2.0, 1.0], [1.0, 1.0, -1.0]]))
    assert charges.unit((0, 1)) == -2.0
    np.testing.assert_allclose(charges.in_reference_units((0, 1)), [[-0.25, 1.0, -0.5], [-0.5, -0.5, 0.5]])


@pytest.fixture(scope="module")
def charge_run(tmp_path_factory):
    data = simulate(get_potential("charge"), 3, 2, 30, 20, seed=2, progress=False)
    out = tmp_path_factory.mktemp("charges")
    path = out / "charged.npz"
    save_dataset(path, data, metadata=False)
    config = DiscoverConfig(data=str(path), out=str(out / "run"), recipe="central", epochs=2, learn_charges=True,
                            progress=False)
    return run_discovery(config, log=lambda _: None), out / "run", data, config


def test_a_run_that_learns_charges_reports_them_beside_the_data_s_own(charge_run):
    discovery, out, data, _ = charge_run
    assert discovery.config.learn_charges and "q1q2" in discovery.config.features  # learned charges enter as q1 q2
    charges = json.loads((out / "equations.json").read_text())["particles"]["charges"]
    assert len(charges["table"]) == 30 * 3 and charges["unit"].startswith("the reference particle's charge")
    reference = next(row for row in charges["table"] if row["system"] == 0 and row["name"] == charges["reference"]["name"])
    assert reference["learned_charge"] == pytest.approx(1.0) and abs(reference["true_charge"]) == pytest.approx(1.0)
    assert {"median_absolute_error", "max_absolute_error", "signs_right"} <= set(charges)
    assert "charge_signs_changed" in (out / "metrics.csv").read_text().splitlines()[0]


def test_learned_charges_are_used_in_training_not_the_data_s(charge_run, tmp_path):
    """The data's charges are only there to judge: hiding them changes nothing in the run."""
    discovery, _, data, config = charge_run
    path = tmp_path / "uncharged.npz"
    save_dataset(path, replace(data, charges=None), metadata=False)
    hidden = run_discovery(replace(config, data=str(path), out=str(tmp_path / "run")), log=lambda _: None)
    assert [m["expression"] for m in hidden.messages] == [m["expression"] for m in discovery.messages]
    assert "true_charge" not in hidden.particles["charges"]["table"][0]
