"""The built-in solar system: DE421 positions in au, names, reference masses, and its command."""
import datetime
import sys

import numpy as np
import pytest

from eqlearn.cli import main
from eqlearn.errors import UserInputError
from eqlearn.physics import load_dataset
from eqlearn.physics.ephemeris import julian_date, solar_system

pytest.importorskip("jplephem")
pytest.importorskip("skyfield_data")


def test_julian_dates():
    assert julian_date(datetime.date(2000, 1, 1)) == 2451544.5
    assert julian_date(datetime.date(1980, 1, 1)) == 2444239.5


def test_a_month_of_sun_earth_moon():
    data = solar_system("2000-01-01", years=30 / 365.25, step_days=1.0, bodies=["sun", "Earth", "MOON"])
    assert data.names == ["Sun", "Earth", "Moon"] and data.positions.shape == (1, 31, 3, 3)
    assert np.array_equal(data.times, np.arange(31.0)) and data.masses is None and data.accelerations is None
    sun, earth, moon = data.positions[0].transpose(1, 0, 2)
    assert np.allclose(np.linalg.norm(earth - sun, axis=-1), 1.0, atol=0.02)  # early January: perihelion, 0.983 au
    assert np.linalg.norm(earth - sun, axis=-1)[0] == pytest.approx(0.9833, abs=2e-4)
    moon_km = np.linalg.norm(moon - earth, axis=-1) * 149597870.7
    assert 356000 < moon_km.min() < moon_km.max() < 407000  # between extreme perigee and apogee
    assert np.linalg.norm(sun, axis=-1).max() < 0.02  # the Sun stays near the barycentre
    masses = data.meta["reference_masses"]
    assert set(masses) == {"Sun", "Earth", "Moon"} and masses["Sun"] == 1.0
    assert masses["Earth"] / masses["Moon"] == pytest.approx(81.3005690699, rel=1e-9)


def test_every_body_by_default_with_jupiter_mass():
    data = solar_system("1980-01-01", years=1.0, step_days=10.0)
    assert data.names == ["Sun", "Mercury", "Venus", "Earth", "Moon", "Mars", "Jupiter", "Saturn", "Uranus", "Neptune"]
    assert data.meta["reference_masses"]["Jupiter"] == pytest.approx(1 / 1047.348625)
    distances = np.linalg.norm(data.positions[0] - data.positions[0, :, :1], axis=-1).mean(axis=0)
    assert distances[6] == pytest.approx(5.2, abs=0.3) and distances[9] == pytest.approx(30.1, abs=0.5)


def test_cli_writes_a_file_without_masses(tmp_path, capsys):
    out = tmp_path / "solar.npz"
    status = main(["data", "solar-system", "--start", "2000-01-01", "--years", "0.0822", "--step-days", "1",
                   "--bodies", "Sun,Earth,Moon", "--out", str(out)])
    assert status == 0 and "written to" in capsys.readouterr().out
    with np.load(out) as archive:
        assert "masses" not in archive.files and list(archive["names"]) == ["Sun", "Earth", "Moon"]
    loaded = load_dataset(out)
    assert loaded.positions.shape == (1, 31, 3, 3) and loaded.accelerations.shape == (1, 31, 3, 3)
    earth_pull = np.linalg.norm(loaded.accelerations[0, :, 1], axis=-1)  # GM_sun / r² in au/day²
    assert np.allclose(earth_pull, 2.959e-4 / 0.9833 ** 2, rtol=0.02)
    assert loaded.meta["derivatives"]["relative_acceleration_error"] < 1e-2
    assert loaded.meta["reference_masses"]["Moon"] == pytest.approx(1 / 27068703.185436)


@pytest.mark.parametrize("flags, message", [
    (["--start", "2050-01-01", "--years", "10"], "outside DE421"),
    (["--start", "1890-01-01", "--years", "1"], "outside DE421"),
    (["--start", "1 May 2000"], "not a date"),
    (["--bodies", "Sun,Pluto"], "unknown bodies Pluto"),
    (["--bodies", "Sun"], "at least 2"),
    (["--years", "0.001"], "at least 5"),
])
def test_cli_bad_input_is_one_line(flags, message, tmp_path, capsys):
    status = main(["data", "solar-system", "--out", str(tmp_path / "solar.npz"), *flags])
    error = capsys.readouterr().err
    assert status == 2 and message in error and error.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_without_the_astro_extra_the_command_says_what_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "jplephem.spk", None)  # import now fails, as if not installed
    with pytest.raises(UserInputError, match=r'pip install "eqlearn\[astro\]"'):
        solar_system("2000-01-01", 1.0)
    status = main(["data", "solar-system", "--out", str(tmp_path / "solar.npz")])
    assert status == 2 and 'pip install "eqlearn[astro]"' in capsys.readouterr().err
