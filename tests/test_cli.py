"""The command line as a newcomer meets it: instant answers, help that lists only real options,
and first steps that parse."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import pytest

from eqlearn.cli import COMMANDS, FIRST_STEPS, build_parser

HEAVY = ("torch", "scipy", "sympy", "matplotlib")
#: The least each command parses, one entry per command (a new command must add its own).
MINIMAL_ARGV = {
    "discover": ["discover"],
    "simulate": ["simulate", "--law", "r2", "--out", "r2.npz"],
    "data": ["data", "solar-system", "--out", "solar.npz"],
    "regress": ["regress", "table.csv", "--target", "y"],
    "compare": ["compare", "--out", "comparison"],
    "sweep": ["sweep", "--out", "sweep"],
    "demo": ["demo", "sho", "--out", "demo"],
}


def _subcommands(parser) -> dict:
    """Every (sub)command's parser by its words, e.g. ("data", "solar-system")."""
    found = {}
    for action in parser._subparsers._group_actions if parser._subparsers else []:
        for name, sub in action.choices.items():
            found[(name,)] = sub
            found.update({(name, *words): nested for words, nested in _subcommands(sub).items()})
    return found


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_every_command_has_a_minimal_command_line():
    assert {words[0] for words in _subcommands(build_parser())} == set(MINIMAL_ARGV)


def test_parsing_and_checking_load_nothing_heavy(tmp_path):
    """The start-up contract: parsing every command, printing help and refusing bad input import
    none of torch, scipy, sympy or matplotlib (measured by what is imported, not by a clock)."""
    script = f"""
import contextlib, io, json, sys
from eqlearn.cli import build_parser, main
parser = build_parser()
for argv in {list(MINIMAL_ARGV.values())!r}:
    parser.parse_args(argv)
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    for argv in (["-h"], ["discover", "-h"], ["compare", "-h"], ["demo", "-h"], ["--version"],
                 ["discover", "--epochs", "many"], ["discover", "--recipe", "nonsense"], ["sweep"]):
        try:
            main(argv)
        except SystemExit:
            pass
    codes = [main(["discover", "--dim", "4", "--out", {str(tmp_path / 'a')!r}]),  # refused by the config's own check
             main(["discover", "--graph", "knn 0", "--out", {str(tmp_path / 'b')!r}]),
             main(["discover", "--device", "tpu", "--out", {str(tmp_path / 'c')!r}])]
print(json.dumps({{"codes": codes, "heavy": sorted(m for m in {HEAVY!r} if m in sys.modules)}}))
"""
    result = _run(script)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"codes": [2, 2, 2], "heavy": []}
    assert not any((tmp_path / name).exists() for name in "abc")


@pytest.mark.parametrize("argv, code", [(["--version"], 0), (["discover", "--epochs", "many"], 2)])
def test_the_command_answers_at_once(argv, code):
    """`python -m eqlearn` (the same `main` as the `eqlearn` script) answers before loading the library."""
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "eqlearn", *argv], capture_output=True, text=True, timeout=120)
    seconds = time.perf_counter() - start
    assert result.returncode == code, result.stderr
    assert seconds < 2.0, f"eqlearn {' '.join(argv)} took {seconds:.1f} s"


def _options(parser) -> set[str]:
    return {option for action in parser._actions for option in action.option_strings}


@pytest.mark.parametrize("words", sorted(_subcommands(build_parser())), ids=" ".join)
def test_help_names_only_options_the_command_has(words):
    parser = _subcommands(build_parser())[words]
    named = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", parser.format_help()))
    assert named <= _options(parser), f"eqlearn {' '.join(words)} -h names options it lacks: {named - _options(parser)}"


def test_compare_help_says_nothing_of_data_files_or_recipes():
    text = _subcommands(build_parser())[("compare",)].format_help()
    assert "--data" not in text and "--recipe" not in text


def test_the_first_steps_in_the_main_help_parse():
    parser = build_parser()
    text = parser.format_help()
    assert "No science happens here" not in text and "first steps" in text
    examples = [re.split(r"\s{2,}", line.strip())[0].split()[1:] for line in FIRST_STEPS.splitlines()
                if line.strip().startswith("eqlearn ")]  # each command, without the words beside it
    assert len(examples) >= 3 and examples[0] == ["discover"]
    for argv in examples:
        parser.parse_args(argv)  # exits on an option the command lacks


def test_commands_are_listed_main_job_first():
    assert COMMANDS[0].__name__ == "eqlearn.cli.discover"


def test_help_of_the_package_shows_the_public_api():
    import pydoc

    import eqlearn
    from eqlearn.discovery.result import Discovery

    text = pydoc.render_doc(eqlearn, renderer=pydoc.plaintext)
    for name in ("discover", "EQLRegressor", "simulate", "verify", "load_dataset", "DiscoverConfig"):
        assert re.search(rf"\b{name}\b", text), name
    assert ".law" not in eqlearn.__doc__  # a Discovery has no .law; its found law is .found["law"]
    assert 'discovery.found["law"]' in eqlearn.__doc__ and "found" in Discovery.__dataclass_fields__
