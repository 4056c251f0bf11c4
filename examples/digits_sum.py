"""Learn to add two digit images, with no digit labels, and read the addition back as a formula.

Two 8x8 digit images go through one shared CNN encoder (one number per image) and an EQL head that
is trained only on the sum, and only on pairs whose sum is below 15. On larger sums the EQL head
keeps working because it learned `s*z_a + s*z_b + c`; an MLP head in the same place does not.

    python examples/digits_sum.py runs/digits          # about 2 minutes on 2 CPU cores
"""
import sys

from eqlearn.demos import digits


def main(out: str = "runs/digits", **settings) -> dict:
    """One run with the demo's defaults, `settings` overriding any `DigitsConfig` field (MNIST instead
    of the bundled digits: `mnist_dir="path/to/mnist"`); returns the run's metrics."""
    metrics = digits.run(digits.DigitsConfig(**{"seed": 0, **settings}), out=out)
    print("\n".join(digits.summary(metrics)))
    return metrics


if __name__ == "__main__":
    main(*sys.argv[1:2])
