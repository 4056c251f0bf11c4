"""Trajectories from molecular dynamics files, read by ASE or MDAnalysis (`pip install "eqlearn[md]"`).

A file is one system whose frames are its states. What the file carries is read (positions, forces,
velocities, masses, charges, times, the periodic box, each particle's species) and converted from
the units its reader declares to one set, GROMACS's (`UNITS`): nm, ps, amu, kJ/mol, charges in e.
Accelerations are forces / masses, in nm/ps² (1 kJ/(mol·nm) per amu is exactly 1 nm/ps²). Species
become the particles' `types`. Formats ASE reads (extended XYZ with forces, ASE's .traj, VASP,
CASTEP, ...) go through `ase.io.read(FILE, index=":")`; the rest (TRR, H5MD, NetCDF, ..., or any
trajectory given with a `topology`) through an MDAnalysis Universe. Reading never runs code from
the file. Refused with one line: files whose frames hold different particles, tilted (triclinic)
or partly periodic boxes, forces without masses, and files with neither forces nor times.
"""
from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from eqlearn.errors import UserInputError
from eqlearn.vocabulary.periodic import orthorhombic_lengths

#: The one unit set data from molecular dynamics files are converted to (GROMACS's).
UNITS = {"length": "nm", "time": "ps", "mass": "amu", "energy": "kJ/mol", "charge": "e",
         "force": "kJ/(mol nm)", "velocity": "nm/ps", "acceleration": "nm/ps^2"}
MISSING_EXTRA = 'reading {path} needs the md extra: pip install "eqlearn[md]" (ASE and MDAnalysis)'


@dataclass
class Frames:
    """The frames of one file, in `UNITS`: positions, forces and velocities [T, n, 3], masses and
    charges [n], times [T], box edge lengths [T, 3]; absent ones None. `source` says what was read."""

    positions: np.ndarray
    species: list[str]
    forces: np.ndarray | None = None
    velocities: np.ndarray | None = None
    masses: np.ndarray | None = None
    charges: np.ndarray | None = None
    times: np.ndarray | None = None
    box: np.ndarray | None = None
    names: list[str] | None = None
    source: dict = field(default_factory=dict)


def read_md_file(path, topology=None) -> tuple[dict, dict]:
    """(arrays, meta) of the molecular dynamics file at `path` as a data file holds them (one
    system: positions [1, T, n, 3], accelerations, velocities; masses, charges [1, n]; times [T];
    box [3] or [1, T, 3]; types, names [n]), in `UNITS`; `meta["source"]` says how it was read."""
    path = Path(path)
    if topology is not None or not _ase_reads(path):
        frames = _read_with_mdanalysis(path, topology)
    else:
        frames = _read_with_ase(path)
    return _contents(path, frames)


def _ase_reads(path: Path) -> bool:
    """Whether ASE is installed and reads this format (judged by the file's name, not its contents)."""
    try:
        from ase.io.formats import filetype, ioformats
    except ImportError:
        return False
    format_name = filetype(str(path), read=False)
    return format_name in ioformats and ioformats[format_name].can_read


def _read_with_ase(path: Path) -> Frames:
    import ase
    from ase import units
    from ase.io import read
    from ase.io.formats import filetype

    try:
        frames = read(str(path), index=":")
    except Exception as error:  # ASE's readers raise anything from ValueError to StopIteration
        raise UserInputError(f"{path} could not be read by ASE: {_first_line(error)}") from None
    if not frames:
        raise UserInputError(f"{path} holds no frames")
    species = _same_species(path, [atoms.get_chemical_symbols() for atoms in frames])
    first = frames[0]
    angstrom, ase_time_per_ps = units.Angstrom / units.nm, 1000 * units.fs
    forces = _all_or_none([_ase_forces(atoms) for atoms in frames])
    velocities = _all_or_none([atoms.get_velocities() if atoms.has("momenta") else None for atoms in frames])
    times = _all_or_none([atoms.info.get("time") for atoms in frames])
    charges = first.get_initial_charges() if first.has("initial_charges") else None
    source = {"reader": f"ASE {ase.__version__}", "format": filetype(str(path), read=False),
              "file_units": {"length": "Angstrom", "energy": "eV", "mass": "amu", "time": "ASE time (Angstrom sqrt(amu/eV))"},
              "masses": "from the file" if first.has("masses") else "standard atomic masses of the species (ASE's table)"}
    return Frames(
        positions=np.stack([atoms.positions for atoms in frames]) * angstrom, species=species,
        forces=None if forces is None else forces * (units.eV / (units.kJ / units.mol)) / angstrom,
        velocities=None if velocities is None else velocities * angstrom * ase_time_per_ps,
        masses=first.get_masses(), charges=charges if charges is not None and np.any(charges) else None,
        times=None if times is None else np.asarray(times, dtype=float) / ase_time_per_ps,
        box=_ase_box(path, frames, angstrom), source=source)


def _ase_forces(atoms) -> np.ndarray | None:
    """The forces a frame carries: its calculator's results (extended XYZ, .traj) or an array."""
    if atoms.calc is not None and "forces" in getattr(atoms.calc, "results", {}):
        return atoms.calc.results["forces"]
    return atoms.arrays.get("forces")


def _ase_box(path: Path, frames, angstrom: float) -> np.ndarray | None:
    """Edge lengths [T, 3] in nm of frames periodic along every axis; None where none is periodic."""
    periodic = np.array([atoms.pbc for atoms in frames])
    if not periodic.any():
        return None
    if not periodic.all():
        raise UserInputError(f"{path}: periodic along some axes only (pbc = {periodic[0].tolist()}); "
                             "a box must be periodic along every axis")
    return _lengths(path, np.stack([np.asarray(atoms.cell) for atoms in frames])) * angstrom


def _read_with_mdanalysis(path: Path, topology) -> Frames:
    try:
        import MDAnalysis
        from MDAnalysis import units
    except ImportError:
        raise UserInputError(MISSING_EXTRA.format(path=path)) from None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            universe = MDAnalysis.Universe(*([str(topology)] if topology else []), str(path), to_guess=())
            frames = [(ts.positions.copy(), ts.forces.copy() if ts.has_forces else None,
                       ts.velocities.copy() if ts.has_velocities else None, ts.dimensions, ts.time)
                      for ts in universe.trajectory]
        except Exception as error:  # MDAnalysis's readers raise many kinds
            raise UserInputError(f"{path} could not be read by MDAnalysis: {_first_line(error)}") from None
    no_clock = any("dt information" in str(warning.message) for warning in caught)  # times made up as 1 ps apart
    atoms = universe.atoms
    species, masses_origin = _mdanalysis_species(universe)
    angstrom = units.get_conversion_factor("length", units.MDANALYSIS_BASE_UNITS["length"], "nm")
    per_angstrom = units.get_conversion_factor("force", units.MDANALYSIS_BASE_UNITS["force"], "kJ/(mol*nm)")
    speed = units.get_conversion_factor("speed", units.MDANALYSIS_BASE_UNITS["speed"], "nm/ps")
    positions, forces, velocities, dimensions, times = zip(*frames) if frames else ((),) * 5
    if not positions:
        raise UserInputError(f"{path} holds no frames")
    forces, velocities = _all_or_none(list(forces)), _all_or_none(list(velocities))
    charges = atoms.charges if hasattr(atoms, "charges") and np.any(atoms.charges) else None
    names = list(atoms.names) if hasattr(atoms, "names") and len(set(atoms.names)) == len(atoms) else None
    source = {"reader": f"MDAnalysis {MDAnalysis.__version__}", "format": universe.trajectory.format,
              "file_units": dict(universe.trajectory.units), "masses": masses_origin}
    return Frames(
        positions=np.stack(positions) * angstrom, species=species,
        forces=None if forces is None else forces * per_angstrom,
        velocities=None if velocities is None else velocities * speed,
        masses=atoms.masses if masses_origin else None, charges=charges,
        times=None if no_clock else np.asarray(times, dtype=float), box=_mdanalysis_box(path, dimensions, angstrom),
        names=names, source=source)


def _mdanalysis_species(universe) -> tuple[list[str], str | None]:
    """Each atom's species (element, else type, else name) and where the masses come from (None: nowhere)."""
    atoms = universe.atoms
    labels = next((getattr(atoms, name) for name in ("elements", "types", "names") if hasattr(atoms, name)), None)
    species = [str(label) for label in labels] if labels is not None else ["X"] * len(atoms)
    if hasattr(atoms, "masses"):
        return species, "from the topology"
    if labels is None:
        return species, None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        universe.guess_TopologyAttrs(to_guess=["masses"])
    return species, "guessed by MDAnalysis from the atom types" if np.all(atoms.masses > 0) else None


def _mdanalysis_box(path: Path, dimensions, angstrom: float) -> np.ndarray | None:
    """Edge lengths [T, 3] in nm from MDAnalysis's [a, b, c, alpha, beta, gamma] per frame."""
    from MDAnalysis.lib.mdamath import triclinic_vectors

    if any(d is None or not np.any(d[:3]) for d in dimensions):
        return None
    return _lengths(path, np.stack([triclinic_vectors(d) for d in dimensions])) * angstrom


def _lengths(path: Path, cells: np.ndarray) -> np.ndarray:
    try:
        return orthorhombic_lengths(cells)
    except UserInputError as error:
        raise UserInputError(f"{path}: {error}") from None


def _same_species(path: Path, per_frame: list[list[str]]) -> list[str]:
    """The species of the particles, which must be the same, in the same order, in every frame."""
    first = per_frame[0]
    for index, species in enumerate(per_frame):
        if species != first:
            raise UserInputError(f"{path}: frame {index} holds {_census(Counter(species))}, frame 0 {_census(Counter(first))}; "
                                 "every frame must hold the same particles in the same order")
    return list(first)


def _census(counts: dict) -> str:
    """Species and how many of each: 'Ar x64, Kr x2'."""
    return ", ".join(f"{name} x{count}" for name, count in counts.items())


def _all_or_none(values: list) -> np.ndarray | None:
    """The values of every frame stacked, or None unless every frame has one."""
    if any(value is None for value in values):
        return None
    return np.stack([np.asarray(value, dtype=np.float64) for value in values])


def _contents(path: Path, frames: Frames) -> tuple[dict, dict]:
    """The arrays of a data file (one system) and its meta, from what a reader found."""
    if frames.forces is None and frames.times is None:
        raise UserInputError(f"{path} has neither forces nor times: accelerations can be neither read nor estimated")
    if frames.forces is not None and frames.masses is None:
        raise UserInputError(f"{path} has forces but no masses: give a topology that carries them "
                             "(eqlearn data convert FILE --topology TOPOLOGY)")
    contents = {"positions": frames.positions[None], "types": np.array(frames.species)}
    if frames.forces is not None:
        contents["accelerations"] = frames.forces[None] / frames.masses[:, None]
    optional = {"velocities": frames.velocities, "masses": frames.masses, "charges": frames.charges}
    contents.update({name: value[None] for name, value in optional.items() if value is not None})
    if frames.times is not None:
        contents["times"] = frames.times
    if frames.box is not None:
        same = np.allclose(frames.box, frames.box[:1])
        contents["box"] = frames.box[0] if same else frames.box[None]
    if frames.names is not None:
        contents["names"] = np.array(frames.names)
    source = {"file": path.name, **frames.source, "units": UNITS, "frames": len(frames.positions),
              "species": dict(Counter(frames.species)), "forces": frames.forces is not None,
              "velocities": frames.velocities is not None, "times": frames.times is not None,
              "box": None if frames.box is None else np.asarray(contents["box"]).tolist()}
    return contents, {"source": source}


def describe_source(meta: dict) -> str:
    """What a molecular dynamics file held and how it was converted, in three lines ('' for other data)."""
    source = meta.get("source")
    if not isinstance(source, dict) or "reader" not in source:
        return ""
    read = [name for name in ("forces", "velocities", "times") if source.get(name)]
    box = source.get("box")
    periodic = "open (no periodic box)" if box is None else \
        f"periodic box {np.round(np.asarray(box).reshape(-1, 3)[0], 6).tolist()} nm{' (changes over time)' if np.ndim(box) > 1 else ''}"
    return (f"{source['file']}: {source['frames']} frames read by {source['reader']} ({source['format']}): "
            f"{', '.join(['positions', *read])}; {periodic}\n"
            f"  species {_census(source['species'])}; masses {source['masses']}\n"
            f"  units {', '.join(source['file_units'].values())} converted to {UNITS['length']}, {UNITS['time']}, {UNITS['mass']}, "
            f"{UNITS['energy']} (forces {UNITS['force']}; accelerations = forces / masses, {UNITS['acceleration']})")


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
