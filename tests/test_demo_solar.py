"""`eqlearn demo solar-system` on a short window: data, run, plots and the mass table beside JPL's."""
from __future__ import annotations

import json

import pytest

from eqlearn.demos import run_demo

pytest.importorskip("jplephem")


def test_solar_demo_writes_orbits_masses_and_a_table_beside_jpl(tmp_path):
    metrics, summary = run_demo("solar-system", tmp_path / "demo", progress=False, years=0.3, epochs=1)
    for name in ("orbits.png", "masses.png", "metrics.json", "solar.npz", "run/equations.json"):
        assert (tmp_path / "demo" / name).exists(), name
    masses = json.loads((tmp_path / "demo" / "metrics.json").read_text())["masses"]
    assert masses["Sun"]["learned"] == pytest.approx(1.0) and masses["Sun"]["jpl"] == pytest.approx(1.0)
    assert len(masses) == 10 and all(m["ratio"] > 0 for m in masses.values())
    assert any("Jupiter" in line for line in summary)
