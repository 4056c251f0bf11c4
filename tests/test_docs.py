"""The documentation cannot drift from the code or the measurements.

- docs/results.md and the README's "what works, measured" table are exactly what
  `python benchmarks/results_page.py` builds from benchmarks/results/, and every table names its commit.
- The README stays a page for users: at most 250 lines, no commit hashes outside the results
  links, no giant table cells, the quick-start commands the ones `.ci/run` runs.
- Every `eqlearn ...` command in the ```bash blocks of README.md and docs/guide.md parses with the
  CLI's own parsing (`eqlearn.cli.parse_arguments`, what `main` runs). A representative few run for real at toy sizes (the flags that set sizes are
  replaced, see `TOY`): `simulate` (plain and `--positions-only`), `discover --data` on the
  simulated file, `discover --config` rerunning that run, `regress` on a small CSV. The rest need
  data, hours, optional extras or a GPU (the solar system, sweeps, the baseline, the demos) and are
  run at toy sizes by their own tests (test_demo_solar, test_sweep, test_baseline, test_demos).
  `python examples/...` and `python benchmarks/...` commands name files that exist.
- Every link between the Markdown pages points to a file and a heading that exist.
- The examples run: discover_from_file.py with its own defaults (and finds the law), the demo
  scripts with tiny budgets; the README's `>>>` regressor session prints what the README shows.
  (The README's `discover(...)` snippet is the API the example calls.)
"""
from __future__ import annotations

import doctest
import importlib.util
import json
import re
import shlex
import sys
from pathlib import Path

import pytest

from eqlearn import get_potential, verify
from eqlearn.cli import main, parse_arguments

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
GUIDE = ROOT / "docs" / "guide.md"
RESULTS = ROOT / "docs" / "results.md"
PAGES = [README, GUIDE, ROOT / "docs" / "design.md", RESULTS]
QUICK_START = [
    'pip install torch==2.13.0 && pip install -e ".[dev,astro,ray,pyg,sr,noise,md]"',
    "eqlearn discover",
    "python -m pytest",
]
#: Toy sizes for the commands that run for real: flag → value (replaced where present, else added
#: for the sub-commands listed).
TOY = {
    "simulate": {"--sims": "20", "--plot": None},
    "discover": {"--sims": "30", "--steps": "2", "--epochs": "1", "--batch-size": "32", "--recipe": "central",
                 "--quiet": ""},
    "regress": {"--epochs": "20,20,20", "--restarts": "2"},
}


def load_module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def results_page():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        yield load_module(ROOT / "benchmarks" / "results_page.py", "results_page")
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


def bash_commands(path: Path) -> list[str]:
    """The shell commands of a page's ```bash blocks, comments removed."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", path.read_text(), flags=re.S):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if words:
                commands.append(shlex.join(words))
    return commands


def eqlearn_commands() -> list[str]:
    return [command for page in (README, GUIDE) for command in bash_commands(page) if command.startswith("eqlearn")]


# ----------------------------------------------------------------------------------------- results page
def test_results_page_and_readme_table_are_what_the_rows_give(results_page):
    assert RESULTS.read_text() == results_page.build_page(), "run python benchmarks/results_page.py"
    assert README.read_text() == results_page.with_generated_blocks(README.read_text()), "run python benchmarks/results_page.py"


def test_every_results_table_names_one_commit():
    lines = RESULTS.read_text().splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("|") and (i == 0 or not lines[i - 1].startswith("|"))]
    assert len(starts) > 30
    for start in starts:
        caption = lines[start - 2]
        assert lines[start - 1] == "" and caption and not caption.startswith("|"), f"table at line {start + 1} has no caption"
        commits = re.findall(r"[Cc]ommit `([0-9a-f]{7}(?:\+dirty)?)`", caption)
        assert len(commits) == 1 or (not commits and caption.startswith("Commit not recorded in the rows")), caption


def test_every_result_file_is_on_the_results_page():
    """A new benchmark's rows cannot go unreported: each file in benchmarks/results/ is linked."""
    page = RESULTS.read_text()
    for path in (ROOT / "benchmarks" / "results").iterdir():
        assert f"](../benchmarks/results/{path.name})" in page, path.name


def test_rows_of_different_commits_never_share_a_group(results_page):
    from results_tables import newest_first

    rows = [{"commit": "a", "n": 1}, {"commit": "b", "n": 2}, {"commit": "a", "n": 3}, {"commit": "c", "n": 4}]
    groups = newest_first(rows, lambda row: (row["commit"],))
    assert [key for key, _ in groups] == [("c",), ("a",), ("b",)]
    assert [[row["n"] for row in group] for _, group in groups] == [[4], [1, 3], [2]]


def test_the_measured_table_links_every_line_to_the_results_page(results_page):
    readme = README.read_text()
    table = readme.split(results_page.MARK.format("measured"))[1].split("<!-- /measured -->")[0]
    links = re.findall(r"\]\(docs/results\.md#([\w-]+)\)", table)
    assert len(links) >= 10 and len(links) == table.count("\n| ") - 1


# ----------------------------------------------------------------------------------------- the README
def test_readme_is_short_and_has_no_commit_hashes_or_giant_cells():
    lines = README.read_text().splitlines()
    assert len(lines) <= 250
    for line in lines:
        hashes = [word for word in re.findall(r"\b[0-9a-f]{7,40}\b", line) if re.search(r"\d", word) and re.search(r"[a-f]", word)]
        assert not hashes, line
        if line.startswith("|"):
            assert max(len(cell) for cell in line.split("|")) <= 300, line


def test_quick_start_is_the_first_block_and_what_ci_runs():
    block = re.search(r"```bash\n(.*?)```", README.read_text(), flags=re.S).group(1)
    assert [line.split("  #")[0].strip() for line in block.splitlines()] == QUICK_START
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert "python -m pip install --quiet torch==2.13.0" in ci
    readme_extras = set(re.search(r'-e "\.\[([\w,]+)\]"', QUICK_START[0]).group(1).split(","))
    ci_extras = [set(found.split(",")) for line in ci for found in re.findall(r'-e "\.\[([\w,]+)\]"', line)]
    assert len(ci_extras) == 1 and readme_extras <= ci_extras[0]  # CI installs at least what the README does
    assert ci[-1] == QUICK_START[2]


# ----------------------------------------------------------------------------------------- commands
def test_every_documented_command_parses():
    commands = eqlearn_commands()
    assert len(commands) > 25
    for command in commands:
        args = parse_arguments(shlex.split(command)[1:])  # the CLI's own parsing, as `main` does it
        assert args.command == shlex.split(command)[1]


@pytest.mark.parametrize("page", [README, GUIDE], ids=lambda page: page.name)
def test_other_documented_commands_name_files_that_exist(page):
    for command in bash_commands(page):
        words = shlex.split(command)
        if words[0] == "python" and words[1] != "-m":
            assert (ROOT / words[1]).is_file(), command
        else:
            assert words[0] in ("eqlearn", "pip") or words[:3] == ["python", "-m", "pytest"], command


def toy(command: str) -> list[str]:
    """A documented command's arguments at toy size (`TOY`), as `main` takes them."""
    words = shlex.split(command)[1:]
    settings = dict(TOY.get(words[0], {}))
    if "--data" in words or "--config" in words:  # the data decide the sizes
        settings.pop("--sims", None), settings.pop("--steps", None)
    for flag, value in settings.items():
        if flag in words:
            at = words.index(flag)
            del words[at:at + (1 if value == "" else 2)]
        if value is not None:
            words += [flag] + ([value] if value else [])
    return words


def test_the_readme_and_guide_commands_run_at_toy_size(tmp_path, monkeypatch, capsys):
    """simulate → discover --data → discover --config, from the README; positions-only and regress
    from the guide."""
    monkeypatch.chdir(tmp_path)
    commands = eqlearn_commands()
    chosen = [
        "eqlearn simulate --law r2 --sims 5000 --steps 4 --out r2.npz",
        "eqlearn discover --data r2.npz --out runs/from-file",
        "eqlearn discover --config runs/from-file/config.json --out runs/again",
        "eqlearn simulate --law r2 --sims 1000 --steps 100 --dt 1e-4 --positions-only --noise 1e-6 --no-masses --out observed.npz",
        "eqlearn regress data.csv --target y --features a,b --out formula.json --seed 0",
        "eqlearn simulate --law spring --sims 500 --steps 100 --dt 1e-3 --positions-only --noise 1e-3 --out noisy.npz",
        "eqlearn discover --data noisy.npz --out runs/noisy",
    ]
    assert set(chosen) <= set(commands), set(chosen) - set(commands)
    (tmp_path / "data.csv").write_text("a,b,y\n" + "".join(f"{a},{b},{a * b + 1}\n" for a in range(1, 6) for b in range(1, 5)))
    for command in chosen:
        assert main(toy(command)) == 0, command
    assert (tmp_path / "runs" / "from-file" / "equations.json").is_file()
    first, again = (json.loads((tmp_path / "runs" / run / "equations.json").read_text()) for run in ("from-file", "again"))
    assert again["canonical"] == first["canonical"]  # a rerun from config.json is the same run
    assert (tmp_path / "observed.npz").is_file() and (tmp_path / "formula.json").is_file()
    noisy = json.loads((tmp_path / "runs" / "noisy" / "equations.json").read_text())
    assert noisy["objective"]["method"] == "weak-form"  # chosen from the data: no flag names it
    assert "y = " in capsys.readouterr().out


# ----------------------------------------------------------------------------------------- links
def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = page.read_text()
    return {slug(h) for h in re.findall(r"^#+ (.+)$", text, flags=re.M)} | set(re.findall(r'<a id="([\w-]+)"', text))


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_links_between_pages_point_to_files_and_headings_that_exist(page):
    for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
        if target.startswith(("http://", "https://")):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page.name}: {target}"
        if anchor:
            assert anchor in anchors(linked), f"{page.name}: {target}"


# ----------------------------------------------------------------------------------------- examples
def test_discover_from_file_example_finds_the_law(tmp_path, capsys):
    example = load_module(ROOT / "examples" / "discover_from_file.py", "discover_from_file")
    equations = example.main(str(tmp_path / "example"))
    printed = capsys.readouterr().out
    assert "\n  F_x = " in printed and "\n  F_y = " in printed and "explains the data" in printed
    law = [message["refitted"] for message in sorted(equations["messages"], key=lambda message: message["index"])]
    verdict = verify(law, get_potential("r2").expression, 2, canonical=equations["canonical"],
                     softening=equations["softening"])  # the truth, used only to judge
    assert verdict.passed and all(verdict.exact)


def test_the_readme_regressor_session_prints_what_the_readme_shows():
    """The README's `>>>` session, run as a doctest: the printed formula, LaTeX and candidates table."""
    parser = doctest.DocTestParser()
    text = README.read_text().replace("\n```", "\n\n```")  # a fence ends an example's expected output
    session = parser.get_doctest(text, {}, "README.md", str(README), 0)
    assert len(session.examples) >= 8
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(session)
    assert runner.failures == 0


def test_demo_examples_run_with_tiny_budgets(tmp_path, capsys):
    digits = load_module(ROOT / "examples" / "digits_sum.py", "digits_sum")
    dynamics = load_module(ROOT / "examples" / "hidden_parameter_dynamics.py", "hidden_parameter_dynamics")
    digits.main(str(tmp_path / "digits"), epochs=2, pairs_per_epoch=256, batch_size=64, test_pairs=64)
    dynamics.main(str(tmp_path / "dynamics"), systems=("kinematics",), epochs=2, train_systems=64, test_systems=16,
                  test_horizon=25, batch_size=32)
    assert (tmp_path / "digits" / "metrics.json").is_file()
    assert (tmp_path / "dynamics" / "kinematics" / "metrics.json").is_file()
    assert "sum" in capsys.readouterr().out
