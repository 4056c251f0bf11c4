"""Data files of observed positions only: `.npz` and long-form CSV, bad input, `simulate --positions-only`."""
import numpy as np
import pandas as pd
import pytest

from eqlearn.cli import main
from eqlearn.errors import UserInputError
from eqlearn.physics import LAWS, load_dataset, observe, save_dataset, simulate, simulate_positions


@pytest.fixture(scope="module")
def exact():
    return simulate(LAWS["spring"], n=3, dim=2, sims=4, steps=60, dt=2e-3, seed=0, tolerance=1e-10, dtype=np.float64)


def relative_error(estimate, truth) -> float:
    return float(np.sqrt(np.mean((estimate - truth) ** 2) / np.mean(truth ** 2)))


def long_table(trajectories, names=None) -> pd.DataFrame:
    """The trajectories as rows (system, t, particle, x, y, m, q)."""
    systems, steps, n, _ = trajectories.positions.shape
    s, t, p = np.meshgrid(np.arange(systems), np.arange(steps), np.arange(n), indexing="ij")
    return pd.DataFrame({
        "system": s.ravel(), "t": trajectories.times[t.ravel()],
        "particle": np.asarray(names)[p.ravel()] if names is not None else p.ravel(),
        "x": trajectories.positions[..., 0].ravel(), "y": trajectories.positions[..., 1].ravel(),
        "m": trajectories.masses[s.ravel(), p.ravel()], "q": trajectories.charges[s.ravel(), p.ravel()]})


def test_positions_only_npz_loads_with_estimated_accelerations(exact, tmp_path):
    path = tmp_path / "observed.npz"
    np.savez(path, positions=exact.positions, times=exact.times, names=np.array(["a", "b", "c"]))
    loaded = load_dataset(path)
    assert loaded.masses is None and loaded.charges is None and loaded.names == ["a", "b", "c"]
    assert relative_error(loaded.accelerations, exact.accelerations) < 1e-5
    assert relative_error(loaded.velocities, exact.velocities) < 1e-6
    assert loaded.meta["derivatives"]["method"] == "savitzky-golay"
    assert len(loaded.select([0, 2])) == 2 and loaded.select([1]).names == ["a", "b", "c"]


def test_observed_trajectories_round_trip_through_npz(exact, tmp_path):
    observed = observe(exact, noise=0.0, masses=False)
    assert observed.velocities is None and observed.accelerations is None and observed.masses is None
    path = tmp_path / "observed.npz"
    save_dataset(path, observed)
    with np.load(path) as archive:
        assert {"positions", "times", "charges", "meta"} <= set(archive.files)
        assert not {"accelerations", "velocities", "masses"} & set(archive.files)
    loaded = load_dataset(path)
    assert np.array_equal(loaded.positions, observed.positions)
    assert loaded.meta["observation"] == {"positions_only": True, "noise": 0.0, "masses_withheld": True}
    assert loaded.meta["law"] == "spring"


def test_per_system_times_are_kept(exact, tmp_path):
    path = tmp_path / "own_times.npz"
    times = exact.times[None] * np.array([[1.0], [1.0], [2.0], [2.0]])  # the last two systems slowed down
    np.savez(path, positions=exact.positions, times=times)
    loaded = load_dataset(path)
    assert loaded.times.shape == (4, 60) and loaded.system_times.shape == (4, 60)
    assert np.allclose(loaded.accelerations[2:], exact.accelerations[2:] / 4, rtol=1e-4, atol=1e-6)
    assert np.array_equal(loaded.select([3]).times, times[3:])


@pytest.mark.parametrize("named", [False, True])
def test_long_csv_loads_like_the_arrays(exact, tmp_path, named):
    names = ["sun", "earth", "moon"] if named else None
    table = long_table(exact, names)
    if not named:  # integer systems and particles: row order does not matter
        table = table.sample(frac=1.0, random_state=0)
    table.to_csv(tmp_path / "table.csv", index=False)
    loaded = load_dataset(tmp_path / "table.csv")
    assert np.allclose(loaded.positions, exact.positions) and np.allclose(loaded.times, exact.times)
    assert np.allclose(loaded.masses, exact.masses) and np.allclose(loaded.charges, exact.charges)
    assert loaded.names == names
    assert relative_error(loaded.accelerations, exact.accelerations) < 1e-5


def test_csv_with_its_own_times_per_system_and_3d(tmp_path):
    rows = [{"system": s, "t": (1 + (s == "B")) * k * 0.1, "particle": p, "x": np.cos(k * 0.1 + p), "y": np.sin(k * 0.1 + p),
             "z": 0.5 * p} for s in ("A", "B") for k in range(12) for p in (0, 1)]
    pd.DataFrame(rows).to_csv(tmp_path / "table.csv", index=False)
    loaded = load_dataset(tmp_path / "table.csv")
    assert loaded.positions.shape == (2, 12, 2, 3) and loaded.times.shape == (2, 12) and loaded.masses is None


def test_simulate_positions_adds_seeded_noise():
    args = dict(potential=LAWS["spring"], n=3, dim=2, sims=2, steps=8, noise=0.1, seed=3)
    first, again = simulate_positions(**args), simulate_positions(**args)
    exact = simulate(LAWS["spring"], 3, 2, 2, 8, seed=3, tolerance=1e-10, dtype=np.float64)
    assert np.array_equal(first.positions, again.positions)
    assert 0.07 < np.std(first.positions - exact.positions) < 0.13
    assert np.array_equal(first.masses, exact.masses) and simulate_positions(**args, masses=False).masses is None


def test_cli_writes_positions_only(tmp_path, capsys):
    out = tmp_path / "observed.npz"
    status = main(["simulate", "--law", "spring", "--n", "3", "--sims", "4", "--steps", "30", "--positions-only",
                   "--noise", "1e-6", "--no-masses", "--out", str(out)])
    assert status == 0 and "relative error" in capsys.readouterr().out
    with np.load(out) as archive:
        assert set(archive.files) == {"positions", "charges", "times", "softening", "meta"}
        assert archive["positions"].dtype == np.float64
    assert load_dataset(out).meta["observation"]["noise"] == 1e-6


def bad_files(exact):
    """(name, arrays or rows, message) for every kind of bad positions-only input."""
    x, t = exact.positions, exact.times
    nan = x.copy()
    nan[1, 3, 0, 1] = np.nan
    rows = long_table(exact)
    return [
        ("decreasing.npz", dict(positions=x, times=t[::-1]), "strictly increasing"),
        ("repeated.npz", dict(positions=x, times=np.r_[t[:5], t[4:-1]]), "strictly increasing"),
        ("short.npz", dict(positions=x[:, :4], times=t[:4]), "at least 5"),
        ("nan.npz", dict(positions=nan, times=t), "positions holds NaN"),
        ("times_shape.npz", dict(positions=x, times=t[:-1]), "times has shape"),
        ("no_times.npz", dict(positions=x), "neither accelerations nor the times"),
        ("names.npz", dict(positions=x, times=t, names=np.array(["a", "b"])), "2 names for 3 particles"),
        ("columns.csv", rows.drop(columns=["t"]), "lacks the columns t"),
        ("particles.csv", rows[~((rows.system == 1) & (rows.particle == 2))], "different particles"),
        ("ragged.csv", rows[~((rows.system == 2) & (rows.t == rows.t.max()))], "different numbers of time points"),
        ("holes.csv", rows.drop(index=7), "lack rows"),
        ("mass.csv", rows.assign(m=np.arange(len(rows), dtype=float) + 1), "column m changes over time"),
    ]


def test_bad_input_is_one_line_user_error(exact, tmp_path):
    for name, contents, message in bad_files(exact):
        path = tmp_path / name
        if name.endswith(".csv"):
            contents.to_csv(path, index=False)
        else:
            np.savez(path, **contents)
        with pytest.raises(UserInputError, match=message) as error:
            load_dataset(path)
        assert "\n" not in str(error.value), name


def test_cli_bad_options_are_one_line(tmp_path, capsys):
    for flags, message in [(["--noise", "0.1"], "only with --positions-only"),
                           (["--positions-only", "--noise", "-1"], "noise level")]:
        status = main(["simulate", "--law", "spring", "--sims", "2", "--steps", "6", "--out", str(tmp_path / "d.npz"), *flags])
        error = capsys.readouterr().err
        assert status == 2 and message in error and error.count("\n") == 1
    assert list(tmp_path.iterdir()) == []
