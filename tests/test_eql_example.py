"""examples/regressor.py runs and prints the law it was given."""
import runpy
from pathlib import Path

EXAMPLE = Path(__file__).parents[1] / "examples" / "regressor.py"


def test_regressor_example_prints_the_exact_law(capsys):
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    printed = capsys.readouterr().out
    assert "formula: 9.81*h*m + 0.5*m*v**2" in printed
    assert "E(m=2, h=1, v=3) = 28.62" in printed
