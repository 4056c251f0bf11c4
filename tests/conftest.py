"""Fixtures shared by several test files."""
import pytest


@pytest.fixture(scope="session")
def sr_engine():
    """Skips a test that fits formulas by symbolic regression where the optional engines are missing
    (CI installs them); the fits are tuned to pyoperon, whose Pareto front gplearn does not keep."""
    pytest.importorskip("pyoperon.sklearn", reason='symbolic regression needs pip install "eqlearn[sr]"')
