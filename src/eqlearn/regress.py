"""The `regress` job: a CSV table in, a fitted formula (printed and as JSON) out."""
from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from eqlearn.eql.regressor import EQLRegressor
from eqlearn.errors import UserInputError
from eqlearn.symbolic import to_latex, to_string

FORMAT = "eqlearn.formula/1"


def read_table(path: str | Path, target: str, features: Sequence[str] | None = None):
    """`(X, y, feature_names)` from a CSV with a header row; every used column must be numeric."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"no such file: {path}")
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        raise UserInputError(f"{path} is empty")
    header, body = [name.strip() for name in rows[0]], rows[1:]
    features = [f for f in header if f != target] if features is None else list(features)
    missing = [name for name in [target, *features] if name not in header]
    if missing:
        raise UserInputError(f"column {missing[0]!r} not found in {path}; columns are {', '.join(header)}")
    if not features:
        raise UserInputError(f"{path} has no feature columns besides the target {target!r}")
    if not body:
        raise UserInputError(f"{path} has a header but no data rows")
    columns = {name: _numeric_column(name, header.index(name), body) for name in [target, *features]}
    return np.column_stack([columns[f] for f in features]), columns[target], features


def _numeric_column(name: str, index: int, body: list[list[str]]) -> np.ndarray:
    values = []
    for line, row in enumerate(body, start=2):
        text = row[index].strip() if index < len(row) else ""
        try:
            value = float(text)
        except ValueError:
            raise UserInputError(f"column {name!r} is not numeric (line {line}: {text!r})") from None
        if not math.isfinite(value):
            raise UserInputError(f"column {name!r} has a NaN or infinite value (line {line})")
        values.append(value)
    return np.asarray(values)


def regress_table(path, target: str, features: Sequence[str] | None = None, **settings) -> dict:
    """Fit an `EQLRegressor` to the table and describe the result as a JSON-ready record."""
    X, y, names = read_table(path, target, features)
    model = EQLRegressor(feature_names=names, **settings).fit(X, y)
    params = {k: list(v) if isinstance(v, tuple) else v for k, v in model.get_params().items()}
    return {
        "format": FORMAT,
        "target": target,
        "features": names,
        "expression": to_string(model.expression_),
        "latex": to_latex(model.expression_),
        "r2": float(model.score(X, y)),
        "equations": [
            {"size": int(row.size), "error": float(row.error), "expression": row.equation, "selected": bool(row.selected)}
            for row in model.equations_.itertuples()
        ],
        "n_samples": int(len(y)),
        "settings": params,
    }


def equations_table(record: dict) -> str:
    """The candidate formulas (Pareto front of size and held-out error) as aligned text; * marks
    the chosen one."""
    lines = [f"  {'size':>4}  {'error':>9}  formula"]
    lines += [f"{'*' if e['selected'] else ' '} {e['size']:>4}  {e['error']:>9.3g}  {e['expression']}"
              for e in record["equations"]]
    return "\n".join(lines)


def write_record(record: dict, out: str | Path) -> None:
    """Write the JSON all at once (via a temporary file), so a failure never leaves half a file."""
    out = Path(out)
    temporary = out.with_name(out.name + ".tmp")
    temporary.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(temporary, out)


def parse_epochs(text: str) -> tuple[int, int, int]:
    """"500,2000,1000" -> (500, 2000, 1000): epochs of the fit, sparsify and fine-tune phases."""
    try:
        epochs = tuple(int(part) for part in text.split(","))
    except ValueError:
        epochs = ()
    if len(epochs) != 3 or min(epochs) < 0:
        raise UserInputError(f"--epochs needs three non-negative integers like 500,2000,1000, got {text!r}")
    return epochs
