"""The run folder of a demo: guarded against clobbering, then filled with metrics, formula and plots."""
from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path

from matplotlib.figure import Figure

from eqlearn.errors import UserInputError
from eqlearn.vocabulary.files import write_text_atomically

METRICS_FILE = "metrics.json"
FORMULA_FILE = "formula.txt"


def prepare_run_dir(out: str | Path, demo: str) -> Path:
    """Create `out`, or reuse it only if it is empty or holds an earlier run of the same demo.

    Anything else (a file, another project's folder) is refused rather than silently overwritten.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserInputError(f"output path {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        previous = _read_demo_name(out / METRICS_FILE)
        if previous != demo:
            raise UserInputError(
                f"output folder {out} is not empty and holds no earlier '{demo}' demo run; choose a new folder"
            )
    out.mkdir(parents=True, exist_ok=True)
    return out


def _read_demo_name(path: Path) -> str | None:
    try:
        return json.loads(path.read_text()).get("demo")
    except (OSError, ValueError, AttributeError):
        return None


def write_run(out: Path, demo: str, config, metrics: dict, formula_lines: list[str], figures: dict[str, Figure]) -> None:
    """Write `metrics.json` (with the config that reproduces the run), the formula and PNG plots."""
    record = {"demo": demo, "config": asdict(config), **metrics}
    write_text_atomically(out / METRICS_FILE, json.dumps(_json_safe(record), indent=2) + "\n")
    write_text_atomically(out / FORMULA_FILE, "\n".join(formula_lines) + "\n")
    for name, figure in figures.items():
        figure.savefig(out / f"{name}.png", dpi=120, bbox_inches="tight")


def _json_safe(value):
    """Non-finite floats become strings so `metrics.json` stays strict JSON."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if hasattr(value, "item"):
        return _json_safe(value.item())
    if isinstance(value, Path):
        return str(value)
    return value
