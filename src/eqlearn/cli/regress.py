"""`eqlearn regress`: a formula for one column of a CSV table."""
from __future__ import annotations

from eqlearn.devices import DEVICES


def add(commands) -> None:
    command = commands.add_parser("regress", help="fit a formula to a CSV table with an EQL network")
    command.add_argument("data", help="CSV file with a header row")
    command.add_argument("--target", required=True, help="the column to predict")
    command.add_argument("--features", help="comma-separated input columns (default: all others)")
    command.add_argument("--out", default="formula.json", help="JSON file to write (default: formula.json)")
    command.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    command.add_argument("--epochs", help="three counts FIT,SPARSIFY,FINE_TUNE (default: the regressor's)")
    command.add_argument("--restarts", type=int, help="random restarts trained side by side (default: the regressor's)")
    command.add_argument("--device", default="auto", help=f"where training runs: {', '.join(DEVICES)} (default: auto)")
    command.set_defaults(run=run)


def run(args) -> int:
    from eqlearn.regress import equations_table, parse_epochs, regress_table, write_record

    settings = {"random_state": args.seed, "device": args.device}
    if args.epochs:
        settings["epochs"] = parse_epochs(args.epochs)
    if args.restarts is not None:
        settings["restarts"] = args.restarts
    features = [name.strip() for name in args.features.split(",")] if args.features else None
    record = regress_table(args.data, args.target, features, **settings)
    write_record(record, args.out)
    print(equations_table(record))
    print(f"{args.target} = {record['expression']}")
    print(f"R^2 = {record['r2']:.6f}; written to {args.out}")
    return 0
