"""Learn to add two digit images, with no digit labels, and read the addition back as a formula.

Two 8x8 digit images go through one shared CNN encoder (one number per image) and an EQL head that
is trained only on the sum, and only on pairs whose sum is below 15. On larger sums the EQL head
keeps working because it learned `s*z_a + s*z_b + c`; an MLP head in the same place does not.

    python examples/digits_sum.py runs/digits          # about 2 minutes on 2 CPU cores
"""
import sys

from eqlearn.demos import digits

config = digits.DigitsConfig(seed=0)  # MNIST instead: digits.DigitsConfig(mnist_dir="path/to/mnist")
metrics = digits.run(config, out=sys.argv[1] if len(sys.argv) > 1 else "runs/digits")
print("\n".join(digits.summary(metrics)))
