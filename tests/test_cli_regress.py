"""`eqlearn regress`: prints and writes the formula; bad input is one line, exit 2, nothing overwritten."""
import json

import numpy as np
import pytest

from eqlearn.cli import main

FAST = ["--epochs", "100,400,200", "--restarts", "4"]


def write_csv(path, header, rows):
    path.write_text(",".join(header) + "\n" + "\n".join(",".join(map(str, row)) for row in rows) + "\n")
    return path


@pytest.fixture
def table(tmp_path):
    X = np.random.default_rng(0).uniform(-1, 1, size=(200, 3))
    rows = np.column_stack([X, 3 * X[:, 0] - X[:, 1]])
    return write_csv(tmp_path / "data.csv", ["a", "b", "unused", "y"], rows.round(8))


def test_regress_prints_the_formula_and_writes_json(table, tmp_path, capsys):
    out = tmp_path / "formula.json"
    status = main(["regress", str(table), "--target", "y", "--features", "a, b", "--out", str(out), "--seed", "1", *FAST])
    assert status == 0
    printed = capsys.readouterr().out
    assert "y = 3*a - b" in printed
    assert "size" in printed and "* " in printed  # the candidates' table, the chosen one starred
    record = json.loads(out.read_text())
    assert [e["expression"] for e in record["equations"] if e["selected"]] == ["3*a - b"]
    assert record["expression"] == "3*a - b"
    assert record["features"] == ["a", "b"]
    assert record["latex"] == "3 a - b"
    assert record["r2"] > 0.9999
    assert record["settings"]["random_state"] == 1 and record["settings"]["epochs"] == [100, 400, 200]


@pytest.mark.parametrize(
    "header, rows, args, message",
    [
        (None, None, ["missing.csv", "--target", "y"], "no such file"),
        (["a", "y"], [[1, 2]], ["--target", "z"], "column 'z' not found"),
        (["a", "y"], [[1, 2]], ["--target", "y", "--features", "a,c"], "column 'c' not found"),
        (["a", "y"], [[1, 2], ["x1", 3]], ["--target", "y"], "column 'a' is not numeric"),
        (["a", "y"], [[1, 2], [2, "nan"]], ["--target", "y"], "column 'y' has a NaN"),
        (["a", "y"], [[1, 2]], ["--target", "y", "--epochs", "5,5"], "--epochs needs three"),
        (["a", "y"], [[i, 2] for i in range(20)], ["--target", "y"], "y is constant"),
        (["a", "y"], [[i, i] for i in range(5)], ["--target", "y"], "needs at least 10 rows"),
        (["a", "y"], [[1, 2]], ["--target", "y", "--restarts", "0"], "restarts and depth must be at least 1"),
    ],
)
def test_errors_are_one_line_exit_2_and_overwrite_nothing(tmp_path, capsys, header, rows, args, message):
    out = tmp_path / "formula.json"
    out.write_text("previous result")
    if header is not None:
        args = [str(write_csv(tmp_path / "data.csv", header, rows)), *args]
    else:
        args = [str(tmp_path / args[0]), *args[1:]]
    assert main(["regress", *args, "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1
    assert out.read_text() == "previous result"
