"""The prepared GPU benchmark (`benchmarks/gpu.py`) runs end to end at toy sizes on the CPU, so the
one command a GPU machine runs is known to work before any device time is spent."""
from __future__ import annotations

import json
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_the_smoke_run_writes_every_section(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    sys.modules.pop("gpu", None)
    import gpu

    assert gpu.main(["--smoke", "--out", str(tmp_path), "--commit", "test"]) == 0
    rows = [json.loads(line) for line in (tmp_path / "gpu.jsonl").read_text().splitlines()]
    assert {row["section"] for row in rows} == {"throughput", "agreement", "seed"}
    assert all(row["commit"] == "test" and row["torch"] for row in rows)
    assert all(row["graphs_per_second"] > 0 for row in rows if row["section"] == "throughput")
    assert {row["law"] for row in rows if row["section"] == "agreement"} == set(gpu.SMOKE.agreement_laws)
    assert set(gpu.FULL.agreement_laws) == {"spring", "r2"} and set(gpu.FULL.seed_epochs) == {"spring", "r1", "r2"}
    table = (tmp_path / "gpu.md").read_text()
    assert "## Throughput" in table and "## CPU–GPU agreement" in table and "--recipe seed" in table


def test_agreement_needs_the_same_law_and_close_errors(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import gpu

    cpu = {"law": ["-2*ux*(r - 1)"], "law_error": 1.8e-8, "network_error": 0.0100}
    assert gpu.agrees(cpu, {**cpu, "law_error": 1.9e-8, "network_error": 0.0102})
    assert not gpu.agrees(cpu, {**cpu, "law": ["-2*ux*(r - 1.01)"]})
    assert not gpu.agrees(cpu, {**cpu, "network_error": 0.02})
