"""The README's example output of `eqlearn discover --data r2.npz` is what the command prints: a
tiny seeded run must print the same headings and labels in the same order (numbers, laws and the
number of candidates differ between a tiny and a full run, so only the labels are compared)."""
from __future__ import annotations

import re
from pathlib import Path

from eqlearn.cli import main
from eqlearn.discovery.recipes import RECIPES
from eqlearn.physics import get_potential, save_dataset, simulate

README = Path(__file__).resolve().parents[1] / "README.md"
BEGIN, END = "<!-- eqlearn discover output: begin -->", "<!-- eqlearn discover output: end -->"
#: Lines printed only in some runs (a network that has not fitted its data): not part of the structure.
CONDITIONAL = ("the network itself leaves", "NOT TRUSTED")
NUMBER = re.compile(r"[-+]?\d+(\.\d+)?(e[-+]?\d+)?")
RECIPE = re.compile(rf"\b({'|'.join(map(re.escape, RECIPES))})\b")


def readme_example() -> str:
    text = README.read_text()
    assert text.count(BEGIN) == 1 and text.count(END) == 1, "the README's example output must be marked once"
    block = text[text.index(BEGIN) + len(BEGIN): text.index(END)].strip()
    assert block.startswith("```") and block.endswith("```")
    return block.strip("`").strip()


def label(line: str) -> str:
    """What a printed line says, without its values: the text before its first ' = ', ': ' or '[',
    numbers and recipe names replaced; a line without any of them is prose where two words follow
    each other, else a formula (<formula>: between two variables of a formula stands an operator)."""
    parts = re.split(r" = |: |\[", line.strip().lstrip("* "), maxsplit=1)
    text = RECIPE.sub("<recipe>", NUMBER.sub("#", parts[0].strip()))
    words = [re.fullmatch(r"[A-Za-z'-]+", word) is not None for word in text.split()]
    if len(parts) == 1 and not any(a and b for a, b in zip(words, words[1:])):
        return "<formula>"
    return text


def structure(printed: str) -> list[str]:
    """The labels of the non-empty lines in order, repeats in a row counted once (rows of a table)."""
    labels = []
    for line in printed.splitlines():
        if line.strip() and not line.strip().startswith(CONDITIONAL):
            if not labels or labels[-1] != label(line):
                labels.append(label(line))
    return labels


def test_the_labels_are_what_the_lines_say():
    assert label("  F_x [feature 0, std 207] = -0.0555*dx") == "F_x"
    assert label("  dx*m1*m2/(r**3 - 0.01*r**2)") == label("  dvx") == label("  dx + dy") == "<formula>"
    assert label("written to runs/from-file") == "written to runs/from-file"
    assert label("    screened 0: law error 1.81e-08") == "<recipe> #"
    assert label("time: load 0.0 s") == "time"


def test_the_readme_shows_what_discover_prints(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    save_dataset("r2.npz", simulate(get_potential("r2"), 4, 2, sims=40, steps=2, seed=0))
    assert main(["discover", "--data", "r2.npz", "--out", "runs/from-file", "--quiet", "--epochs", "1",
                 "--batch-size", "64"]) == 0
    printed = capsys.readouterr().out
    assert structure(printed) == structure(readme_example())
