"""Molecular dynamics files (the `md` extra): `eqlearn data convert` and `--data FILE` through ASE and MDAnalysis."""
import sys
import warnings

import numpy as np
import pytest

from eqlearn.cli import main
from eqlearn.physics import load_dataset

ase = pytest.importorskip("ase", reason='molecular dynamics files need pip install "eqlearn[md]"')
from ase import Atoms, units  # noqa: E402
from ase.calculators.singlepoint import SinglePointCalculator  # noqa: E402
from ase.io import read, write  # noqa: E402

CELL = np.array([11.0, 12.0, 13.0])  # Å


def ase_frames(symbols: str, count: int = 6, seed: int = 0, forces: bool = True, cell=CELL, pbc=True) -> list:
    """Frames as an MD engine driven by ASE writes them: positions, velocities, forces, masses, a box, times."""
    rng = np.random.default_rng(seed)
    frames = []
    for step in range(count):
        atoms = Atoms(symbols, positions=rng.uniform(0, 10, (len(Atoms(symbols)), 3)), cell=cell, pbc=pbc)
        atoms.set_masses(rng.uniform(30, 90, len(atoms)))  # not ASE's table: the file's own masses must be read
        atoms.set_velocities(rng.normal(0, 0.01, (len(atoms), 3)))
        atoms.info["time"] = 25.0 * step * units.fs  # ASE's time unit, as ASE's readers store it
        if forces:
            atoms.calc = SinglePointCalculator(atoms, forces=rng.normal(0, 0.5, (len(atoms), 3)), energy=-1.0)
        frames.append(atoms)
    return frames


@pytest.mark.parametrize("symbols", ["Ar5", "Ar3Kr2"])
def test_convert_round_trips_an_extended_xyz_file_written_by_ase(tmp_path, capsys, symbols):
    write(tmp_path / "md.extxyz", ase_frames(symbols))
    frames = read(tmp_path / "md.extxyz", index=":")  # the file as written (8 decimals)
    assert main(["data", "convert", str(tmp_path / "md.extxyz"), "--out", str(tmp_path / "md.npz")]) == 0
    printed = capsys.readouterr().out
    assert "ASE" in printed and "nm" in printed and "kJ/mol" in printed and "Ar x" in printed
    data = load_dataset(tmp_path / "md.npz")
    kj_per_mol_nm = (units.eV / (units.kJ / units.mol)) * 10  # one eV/Å in kJ/(mol nm)
    np.testing.assert_allclose(data.positions[0] * 10, [a.positions for a in frames], rtol=1e-12)  # nm -> Å
    np.testing.assert_allclose(data.masses[0], frames[0].get_masses(), rtol=1e-12)
    np.testing.assert_allclose(data.accelerations[0] * data.masses[0][:, None] / kj_per_mol_nm,
                               [a.get_forces() for a in frames], rtol=1e-9)
    np.testing.assert_allclose(data.velocities[0] * 10 / (1000 * units.fs), [a.get_velocities() for a in frames], rtol=1e-9)
    np.testing.assert_allclose(data.box * 10, CELL)
    np.testing.assert_allclose(data.times, 0.025 * np.arange(6), atol=1e-12)  # 25 fs apart, in ps
    assert data.types == frames[0].get_chemical_symbols() and data.meta["source"]["units"]["length"] == "nm"
    direct = load_dataset(tmp_path / "md.extxyz")  # `--data FILE` reads the same file directly
    np.testing.assert_array_equal(direct.positions, data.positions)
    np.testing.assert_array_equal(direct.accelerations, data.accelerations)


def _bad_frames():
    yield "no-forces", ase_frames("Ar4", forces=False), "neither forces nor times"
    yield "mixed", ase_frames("Ar4", count=2) + ase_frames("Ar3Kr", count=2), "frame 2 holds Ar x3, Kr x1"
    yield "tilted", ase_frames("Ar4", cell=[[10, 0, 0], [3, 10, 0], [0, 0, 10]]), "not orthorhombic"
    yield "slab", ase_frames("Ar4", pbc=[True, True, False]), "periodic along some axes only"


def test_bad_md_files_fail_with_one_line_and_exit_2(tmp_path, capsys):
    for name, frames, message in _bad_frames():
        if name == "no-forces":
            for atoms in frames:
                del atoms.info["time"]
        write(tmp_path / f"{name}.extxyz", frames)
        out = tmp_path / f"{name}.npz"
        assert main(["data", "convert", str(tmp_path / f"{name}.extxyz"), "--out", str(out)]) == 2, name
        error = capsys.readouterr().err
        assert message in error and len(error.strip().splitlines()) == 1, (name, error)
        assert not out.exists()
        assert main(["discover", "--data", str(tmp_path / f"{name}.extxyz"), "--out", str(tmp_path / f"run-{name}"),
                     "--quiet"]) == 2
        assert message in capsys.readouterr().err


def test_without_the_md_extra_the_error_names_it(tmp_path, capsys, monkeypatch):
    write(tmp_path / "md.extxyz", ase_frames("Ar4"))
    for module in ("ase", "ase.io", "ase.io.formats", "MDAnalysis"):
        monkeypatch.setitem(sys.modules, module, None)  # as if not installed
    assert main(["data", "convert", str(tmp_path / "md.extxyz"), "--out", str(tmp_path / "md.npz")]) == 2
    assert 'pip install "eqlearn[md]"' in capsys.readouterr().err


def test_a_trr_trajectory_with_a_topology_is_read_through_mdanalysis(tmp_path, capsys):
    mda = pytest.importorskip("MDAnalysis")
    rng = np.random.default_rng(1)
    universe = mda.Universe.empty(3, trajectory=True)
    universe.add_TopologyAttr("names", ["AR1", "AR2", "KR3"])
    universe.add_TopologyAttr("elements", ["Ar", "Ar", "Kr"])
    universe.add_TopologyAttr("resnames", ["GAS"])
    universe.dimensions = [20.0, 21.0, 22.0, 90.0, 90.0, 90.0]
    positions, forces = rng.uniform(0, 20, (5, 3, 3)), rng.normal(0, 1, (5, 3, 3))  # Å and kJ/(mol Å)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the PDB writer's notes on attributes a gas has no use for
        universe.atoms.write(tmp_path / "gas.pdb")
        with mda.Writer(str(tmp_path / "gas.trr"), n_atoms=3) as writer:
            for step in range(5):
                universe.atoms.positions = positions[step]
                universe.trajectory.ts.forces = forces[step]
                universe.trajectory.ts.time = 0.5 * step
                writer.write(universe.atoms)
    trr, out = str(tmp_path / "gas.trr"), str(tmp_path / "gas.npz")
    assert main(["data", "convert", trr, "--topology", str(tmp_path / "gas.pdb"), "--out", out]) == 0
    assert "MDAnalysis" in capsys.readouterr().out
    data = load_dataset(out)
    np.testing.assert_allclose(data.positions[0], positions / 10, atol=1e-6)  # the TRR stores float32 nm
    np.testing.assert_allclose(data.accelerations[0] * data.masses[0][:, None], forces * 10, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(data.masses[0], [39.948, 39.948, 83.798], rtol=1e-3)  # guessed from the elements
    np.testing.assert_allclose(data.box, [2.0, 2.1, 2.2], rtol=1e-6)
    np.testing.assert_allclose(data.times, 0.5 * np.arange(5))
    assert data.types == ["Ar", "Ar", "Kr"] and data.names == ["AR1", "AR2", "KR3"]
    assert main(["data", "convert", trr, "--out", out]) == 2  # a bare TRR names no particles: no masses
    assert "no masses" in capsys.readouterr().err
