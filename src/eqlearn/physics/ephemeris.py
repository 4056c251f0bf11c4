"""The solar system as a data set: barycentric positions of the Sun, planets and Moon from JPL's
DE421 ephemeris (the copy shipped in the `skyfield-data` package, read with `jplephem`).

The file holds positions only, in au, at times in days: no masses, since a run is to learn them.
DE421's own masses go into `meta["reference_masses"]`, for judging a run, never for fitting one.
"""
from __future__ import annotations

import datetime
import math

import numpy as np

from eqlearn.errors import UserInputError
from eqlearn.physics.simulator import Trajectories

#: The IAU 2012 astronomical unit in km.
AU_KM = 149597870.7
#: Days per Julian year.
DAYS_PER_YEAR = 365.25
#: NAIF segments (centre, target) whose sum is each body's position relative to the solar-system
#: barycentre (0). Mars to Neptune are their systems' barycentres (planet and moons together).
BODIES = {
    "Sun": ((0, 10),),
    "Mercury": ((0, 1), (1, 199)),
    "Venus": ((0, 2), (2, 299)),
    "Earth": ((0, 3), (3, 399)),
    "Moon": ((0, 3), (3, 301)),
    "Mars": ((0, 4),),
    "Jupiter": ((0, 5),),
    "Saturn": ((0, 6),),
    "Uranus": ((0, 7),),
    "Neptune": ((0, 8),),
}
#: Mass of the Sun / mass of the body (systems for Mars to Neptune) of DE421, from its GM values:
#: Folkner, Williams & Boggs 2008, "The Planetary and Lunar Ephemeris DE 421", JPL IOM 343R-08-003,
#: as tabulated in the IERS Conventions (2010), IERS Technical Note 36, Table 3.1.
SUN_MASS_RATIOS = {
    "Sun": 1.0,
    "Mercury": 6023597.400017,
    "Venus": 408523.718655,
    "Earth": 332946.048166,
    "Moon": 27068703.185436,
    "Mars": 3098703.590267,
    "Jupiter": 1047.348625,
    "Saturn": 3497.901768,
    "Uranus": 22902.981613,
    "Neptune": 19412.237346,
}
REFERENCE_MASSES_SOURCE = ("JPL DE421 GM values (Folkner, Williams & Boggs 2008, JPL IOM 343R-08-003), "
                           "as mass ratios to the Sun; Mars to Neptune include their moons")


def julian_date(day: datetime.date) -> float:
    """The Julian date of 0h on `day` (proleptic Gregorian calendar): JD 2451544.5 is 2000-01-01."""
    return day.toordinal() + 1721424.5


def solar_system(start: str, years: float, step_days: float = 1.0, bodies: list[str] | None = None) -> Trajectories:
    """One system: `bodies` (default: all of `BODIES`) every `step_days` days for `years` Julian
    years from 0h TDB on `start` (YYYY-MM-DD); positions [1, T, n, 3] in au relative to the
    solar-system barycentre (ICRF axes), times [T] in days since `start`, names [n]."""
    names = _checked_bodies(bodies)
    first_day = _checked_date(start)
    if not (math.isfinite(years) and years > 0 and math.isfinite(step_days) and step_days > 0):
        raise UserInputError(f"years = {years}, step days = {step_days}: both must be positive numbers")
    times = step_days * np.arange(math.floor(years * DAYS_PER_YEAR / step_days + 1e-9) + 1)
    if len(times) < 5:
        raise UserInputError(f"{len(times)} time points: a data set needs at least 5 (a shorter --step-days or more --years)")
    kernel = _open_de421()
    try:
        start_jd = julian_date(first_day)
        covered = kernel[0, 10]
        if start_jd < covered.start_jd or start_jd + times[-1] > covered.end_jd:
            end = first_day + datetime.timedelta(days=float(times[-1]))
            raise UserInputError(f"{first_day} to {end} is outside DE421, which covers "
                                 f"{_calendar(covered.start_jd)} to {_calendar(covered.end_jd)}")
        positions = np.stack([sum(kernel[centre, target].compute(start_jd, times) for centre, target in BODIES[name])
                              for name in names])  # [n, 3, T] in km
    finally:
        kernel.close()
    meta = {"source": "JPL DE421 ephemeris", "frame": "ICRF axes, origin at the solar-system barycentre",
            "units": {"length": "au", "time": "day (TDB)"}, "start": first_day.isoformat(),
            "start_julian_date": start_jd, "step_days": step_days,
            "reference_masses": {name: 1.0 / SUN_MASS_RATIOS[name] for name in names},
            "reference_masses_source": REFERENCE_MASSES_SOURCE}
    return Trajectories(positions.transpose(2, 0, 1)[None] / AU_KM, None, None, None, None, times, meta,
                        softening=0.0, names=names)


def _checked_bodies(bodies) -> list[str]:
    """The bodies' names as in `BODIES` (matched without regard to case), in the order given."""
    if bodies is None:
        return list(BODIES)
    known = {name.lower(): name for name in BODIES}
    unknown = [body for body in bodies if body.lower() not in known]
    if unknown:
        raise UserInputError(f"unknown bodies {', '.join(unknown)}; choose from {', '.join(BODIES)}")
    names = [known[body.lower()] for body in bodies]
    if len(set(names)) != len(names) or len(names) < 2:
        raise UserInputError(f"bodies {', '.join(bodies)}: name at least 2 different bodies, each once")
    return names


def _checked_date(start: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(str(start))
    except ValueError:
        raise UserInputError(f"start {start!r} is not a date YYYY-MM-DD") from None


def _calendar(julian: float) -> str:
    return datetime.date.fromordinal(int(julian - 1721424.5)).isoformat()


def _open_de421():
    """The DE421 kernel shipped with `skyfield-data`, or a UserInputError naming what to install."""
    try:
        from importlib.resources import files

        from jplephem.spk import SPK
        path = files("skyfield_data") / "data" / "de421.bsp"
    except ImportError as error:
        raise UserInputError(f"the solar-system data need the optional packages jplephem and skyfield-data "
                             f"({error.name} is missing): pip install \"eqlearn[astro]\"") from None
    if not path.is_file():
        raise UserInputError(f"{path} is missing: reinstall skyfield-data (pip install \"eqlearn[astro]\")")
    return SPK.open(str(path))
