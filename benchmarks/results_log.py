"""What the benchmark scripts share: seed ranges on the command line and append-only result logs.

A results file holds one JSON object per line with a unique "key"; a rerun skips keys already there.
"""
from __future__ import annotations

import json
from pathlib import Path


def parse_seeds(text: str) -> list[int]:
    """'0-4' → [0, 1, 2, 3, 4]; '0,2' → [0, 2]."""
    if "-" in text:
        low, high = text.split("-")
        return list(range(int(low), int(high) + 1))
    return [int(s) for s in text.split(",")]


def read_rows(path: Path, unique: tuple[str, ...] = ("key", "commit")) -> list[dict]:
    """The rows of a results file, the first one of each `unique` identity only (a run restarted
    while an old worker was still finishing can write a row twice). The default keeps one row per
    key and commit, so reruns at other commits stay beside the old ones."""
    if not path.exists():
        return []
    rows = {}
    for number, line in enumerate(path.read_text().splitlines()):
        if line.strip():
            row = json.loads(line)
            identity = tuple(row.get(name) for name in unique) if "key" in row else number
            rows.setdefault(identity, row)
    return list(rows.values())


def done_keys(path: Path) -> set[str]:
    return {row["key"] for row in read_rows(path, unique=("key",))}


def append_rows(path: Path, rows: list[dict]) -> None:
    """Append finished runs at once, so an interrupted benchmark loses at most the run in progress."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        handle.writelines(json.dumps(row) + "\n" for row in rows)


def write_markdown(path: Path, lines: list[str]) -> str:
    """A results table from its lines, written to `path` and returned for printing."""
    text = "\n".join(lines)
    path.write_text(text)
    return text
