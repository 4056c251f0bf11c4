"""`eqlearn simulate` and `eqlearn data`: data sets to learn from, simulated or observed."""
from __future__ import annotations

from eqlearn.errors import UserInputError


def add(commands) -> None:
    add_simulate(commands)
    add_data(commands)


def add_simulate(commands) -> None:
    command = commands.add_parser("simulate", help="simulate n-body systems and save a data set")
    law = command.add_mutually_exclusive_group(required=True)
    law.add_argument("--law", help="spring, r1, r2, charge, damped or discontinuous")
    law.add_argument("--potential", metavar="EXPR",
                     help='a pair potential in r, m1, m2, q1, q2, e.g. "(r - 1)**2"')
    command.add_argument("--n", type=int, default=4, help="particles per system (default: 4)")
    command.add_argument("--dim", type=int, default=2, help="2 or 3 dimensions (default: 2)")
    command.add_argument("--sims", type=int, default=1000, help="systems (default: 1000)")
    command.add_argument("--steps", type=int, default=500, help="stored states per system (default: 500)")
    command.add_argument("--dt", type=float, help="time between stored states (default: the law's)")
    command.add_argument("--spread", type=float, default=1.0,
                         help="standard deviation of the initial positions (default: 1; e.g. 8 keeps n = 256 in 2-D "
                              "at the density of n = 4)")
    command.add_argument("--cutoff", type=float, help="pairs farther apart than this do not interact (a truncated, "
                                                      "short-range potential; default: none)")
    command.add_argument("--box", type=float, metavar="L", help="a periodic box of edge L: particles start inside it, "
                                                                 "pairs use minimum images, positions are wrapped (default: none)")
    command.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    command.add_argument("--out", required=True, help=".npz file to write")
    command.add_argument("--plot", metavar="PNG", help="also draw a few systems to this PNG")
    command.add_argument("--positions-only", action="store_true",
                         help="write what an instrument records: float64 positions, times, masses and charges; "
                              "no velocities or accelerations (a run estimates them)")
    command.add_argument("--noise", type=float, default=0.0, metavar="SIGMA",
                         help="with --positions-only: Gaussian noise of standard deviation SIGMA on every coordinate")
    command.add_argument("--no-masses", dest="masses", action="store_false",
                         help="with --positions-only: withhold the masses too")
    command.set_defaults(run=run_simulate)


def run_simulate(args) -> int:
    import time

    from eqlearn.physics import complete_derivatives, get_potential, save_dataset, simulate, simulate_positions
    from eqlearn.physics.plot import plot_trajectories
    from eqlearn.vocabulary.files import check_output_path

    if not args.positions_only and (args.noise or not args.masses):
        raise UserInputError("--noise and --no-masses apply only with --positions-only")
    potential = get_potential(args.law, args.potential)
    for path in filter(None, [args.out, args.plot]):
        check_output_path(path)
    start = time.perf_counter()
    if args.positions_only:
        trajectories = simulate_positions(potential, args.n, args.dim, args.sims, args.steps, args.dt, args.seed,
                                          args.noise, args.masses, progress=True, spread=args.spread,
                                          cutoff=args.cutoff, box=args.box)
    else:
        trajectories = simulate(potential, args.n, args.dim, args.sims, args.steps, args.dt,
                                args.seed, progress=True, spread=args.spread, cutoff=args.cutoff, box=args.box)
    save_dataset(args.out, trajectories)
    print(f"{args.sims} systems x {args.steps} states ({potential.name}: {potential.expression},"
          f" n={args.n}, d={args.dim}) in {time.perf_counter() - start:.1f} s; written to {args.out}")
    if args.positions_only:
        print(describe_derivatives(complete_derivatives(trajectories).meta["derivatives"]))
    if args.plot:
        plot_trajectories(trajectories, args.plot)
        print(f"plot written to {args.plot}")
    return 0


def describe_derivatives(estimate: dict) -> str:
    return (f"accelerations estimated from the positions: ~{estimate['relative_acceleration_error']:.1e} relative error"
            f" ({estimate['method']}, window {estimate['window']}, degree {estimate['polyorder']},"
            f" position noise ~{estimate['position_noise']:.1e})")


def add_data(commands) -> None:
    command = commands.add_parser("data", help="write a built-in data set of real observations, or convert a file")
    sources = command.add_subparsers(dest="source", required=True)
    solar = sources.add_parser("solar-system", help="Sun, planets and Moon from JPL's DE421 ephemeris (needs eqlearn[astro])")
    solar.add_argument("--start", default="1980-01-01", help="first day, YYYY-MM-DD (default: 1980-01-01)")
    solar.add_argument("--years", type=float, default=30.0, help="span in Julian years (default: 30)")
    solar.add_argument("--step-days", type=float, default=1.0, help="days between positions (default: 1)")
    solar.add_argument("--bodies", help="comma-separated subset of Sun,Mercury,Venus,Earth,Moon,Mars,Jupiter,"
                                        "Saturn,Uranus,Neptune (default: all)")
    solar.add_argument("--out", required=True, help=".npz file to write")
    solar.set_defaults(run=run_data)
    convert = sources.add_parser("convert", help="a molecular dynamics file (extended XYZ, TRR, H5MD, ... through ASE or "
                                                 "MDAnalysis; needs eqlearn[md]) as an .npz data file in nm, ps, amu, kJ/mol")
    convert.add_argument("file", help="the trajectory: positions with forces (or times), as ASE or MDAnalysis read it")
    convert.add_argument("--topology", help="a topology for a trajectory that names no particles (e.g. a .gro, .pdb or "
                                            ".tpr next to a .trr): read with MDAnalysis")
    convert.add_argument("--out", required=True, help=".npz file to write")
    convert.set_defaults(run=run_convert)


def run_data(args) -> int:
    from eqlearn.physics import complete_derivatives, save_dataset
    from eqlearn.physics.ephemeris import solar_system
    from eqlearn.vocabulary.files import check_output_path

    check_output_path(args.out)
    bodies = [name.strip() for name in args.bodies.split(",")] if args.bodies else None
    trajectories = solar_system(args.start, args.years, args.step_days, bodies)
    save_dataset(args.out, trajectories)
    steps = trajectories.positions.shape[1]
    print(f"{', '.join(trajectories.names)}: {steps} positions every {args.step_days:g} days from {args.start}"
          f" (au, barycentric; no masses); written to {args.out}")
    print(describe_derivatives(complete_derivatives(trajectories).meta["derivatives"]))
    return 0


def run_convert(args) -> int:
    from eqlearn.physics import complete_derivatives, save_dataset
    from eqlearn.physics.dataset import read_dataset
    from eqlearn.physics.md_files import describe_source
    from eqlearn.vocabulary.files import check_output_path

    check_output_path(args.out)
    trajectories = read_dataset(args.file, args.topology)
    save_dataset(args.out, trajectories)
    print(describe_source(trajectories.meta) or f"{args.file}: read as an eqlearn data file")
    _, steps, n, dim = trajectories.positions.shape
    print(f"{len(trajectories)} system(s) x {steps} states, n={n}, dim={dim}; written to {args.out}")
    if trajectories.accelerations is None:
        print(describe_derivatives(complete_derivatives(trajectories).meta["derivatives"]))
    return 0
