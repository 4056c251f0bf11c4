"""Digit arithmetic: two images -> one shared CNN encoder -> one latent per image -> head -> their sum.

Trained on the sum alone (no digit labels) and only on pairs whose sum is below `train_below`; tested
on larger sums, where an EQL head that learned `s*(z_a + z_b) + c` extrapolates and an MLP head does not.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sympy
import torch
from matplotlib.figure import Figure
from torch import nn

from eqlearn.demos.heads import HEADS, HeadTraining, make_head, sparsity_loss
from eqlearn.demos.idx import load_mnist
from eqlearn.demos.report import prepare_run_dir, write_run
from eqlearn.demos.threads import torch_threads
from eqlearn.eql.training import train
from eqlearn.symbolic import clean_expression, to_string

NAME = "digits"
LATENTS = ("z_a", "z_b")


@dataclass
class DigitsConfig(HeadTraining):
    """Everything that defines a run; saved in `metrics.json` so the run can be repeated."""

    pairs_per_epoch: int = 8192
    train_below: int = 15
    test_pairs: int = 2000
    test_fraction: float = 0.3
    units: dict[str, int] = field(default_factory=lambda: {"constant": 1, "identity": 2, "product": 1})
    mnist_dir: str | None = None


@dataclass
class DigitImages:
    """Images [N, 1, H, W] in [0, 1] with their labels, split into disjoint train and test images."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor


def load_digit_images(config: DigitsConfig) -> DigitImages:
    """scikit-learn's bundled 8x8 digits (split by `test_fraction`), or MNIST from `mnist_dir`."""
    if config.mnist_dir is not None:
        mnist = load_mnist(config.mnist_dir)
        return DigitImages(*_as_tensors(*mnist["train"]), *_as_tensors(*mnist["test"]))
    from sklearn.datasets import load_digits

    digits = load_digits()
    order = np.random.default_rng(config.seed).permutation(len(digits.target))
    n_test = int(len(order) * config.test_fraction)
    test, fit = order[:n_test], order[n_test:]
    return DigitImages(*_as_tensors(digits.images[fit], digits.target[fit]),
                       *_as_tensors(digits.images[test], digits.target[test]))


def _as_tensors(images: np.ndarray, labels: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    images = torch.as_tensor(np.asarray(images, dtype=np.float32))
    return (images / images.max().clamp(min=1e-12)).unsqueeze(1), torch.as_tensor(np.asarray(labels, dtype=np.int64))


def sample_pairs(labels: torch.Tensor, n: int, generator: torch.Generator, low: int, high: int) -> torch.Tensor:
    """`n` index pairs [n, 2] whose label sum lies in [low, high), drawn uniformly by rejection."""
    chosen, have = [], 0
    for _ in range(1000):
        pairs = torch.randint(len(labels), (4 * n, 2), generator=generator)
        total = labels[pairs].sum(dim=1)
        pairs = pairs[(total >= low) & (total < high)]
        chosen.append(pairs)
        have += len(pairs)
        if have >= n:
            return torch.cat(chosen)[:n]
    raise ValueError(f"no image pairs with a digit sum in [{low}, {high})")


def random_shift(images: torch.Tensor, generator: torch.Generator, pixels: int = 1) -> torch.Tensor:
    """Each image moved by up to `pixels` in x and y (zero fill): the encoder must not memorise images."""
    n, _, height, width = images.shape
    padded = nn.functional.pad(images, (pixels,) * 4)
    dy, dx = torch.randint(0, 2 * pixels + 1, (2, n), generator=generator)
    rows = (dy[:, None] + torch.arange(height))[:, :, None]
    cols = (dx[:, None] + torch.arange(width))[:, None, :]
    return padded[torch.arange(n)[:, None, None], 0, rows, cols].unsqueeze(1)


def digit_encoder() -> nn.Module:
    """A small CNN from an image of any size to one standardised latent (batch norm fixes its scale)."""
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d(4), nn.Flatten(),
        nn.Linear(16 * 16, 64), nn.ReLU(),
        nn.Linear(64, 1), nn.BatchNorm1d(1, affine=False),
    )


class DigitSum(nn.Module):
    """Shared encoder on both images, then a head on the two latents.

    The head predicts the sum standardised by the training sums' `offset` and `scale`, so its
    weights stay of order one whatever the range of the sums.
    """

    def __init__(self, head: nn.Module, offset: float, scale: float):
        super().__init__()
        self.encoder = digit_encoder()
        self.head = head
        self.offset, self.scale = offset, scale

    def latents(self, images_a: torch.Tensor, images_b: torch.Tensor) -> torch.Tensor:
        z = self.encoder(torch.cat([images_a, images_b]))
        return torch.cat(z.chunk(2), dim=1)

    def forward(self, images_a: torch.Tensor, images_b: torch.Tensor) -> torch.Tensor:
        return self.offset + self.scale * self.head(self.latents(images_a, images_b)).squeeze(-1)


def train_digit_sum(kind: str, data: DigitImages, config: DigitsConfig, progress: bool = True) -> DigitSum:
    """Train one model end-to-end on sums below `train_below`, with the `kind` head."""
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    sums = data.train_labels[sample_pairs(data.train_labels, config.pairs_per_epoch, generator, 0, config.train_below)].sum(1)
    model = DigitSum(make_head(kind, len(LATENTS), 1, config.units), float(sums.float().mean()), float(sums.float().std()))

    def batches():
        pairs = sample_pairs(data.train_labels, config.pairs_per_epoch, generator, 0, config.train_below)
        return pairs.split(config.batch_size)

    def objective(pairs, regularization):
        target = data.train_labels[pairs].sum(dim=1).float()
        images_a, images_b = (random_shift(data.train_images[pairs[:, i]], generator) for i in (0, 1))
        prediction = model(images_a, images_b)
        mse = torch.mean((prediction - target) ** 2)
        return mse + sparsity_loss(model, config.sparsity, regularization), {"loss": mse.item()}

    phases = config.phases(kind)
    train(model, objective, batches, phases, progress=progress)
    return model.eval()


@torch.no_grad()
def predict_sums(model: DigitSum, images: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
    return model(images[pairs[:, 0]], images[pairs[:, 1]])


def accuracy(prediction: torch.Tensor, target: torch.Tensor) -> float:
    """Fraction of pairs whose rounded predicted sum equals the true sum."""
    return float((prediction.round() == target).float().mean())


def sum_formula(model: DigitSum, threshold: float) -> sympy.Expr:
    """The predicted sum as a formula of the two latents, standardisation undone."""
    head = model.head.to_sympy(list(LATENTS), threshold=threshold)[0]
    return clean_expression(model.offset + model.scale * head, drop_below=threshold)


def is_scaled_sum(expr: sympy.Expr, tolerance: float = 0.1) -> bool:
    """True if `expr` is `s*z_a + s*z_b + c` (the two scales equal within `tolerance`)."""
    z_a, z_b = sympy.symbols(LATENTS)
    poly = sympy.Poly(expr, z_a, z_b) if expr.free_symbols <= {z_a, z_b} else None
    if poly is None or poly.total_degree() != 1:
        return False
    s_a, s_b = float(poly.coeff_monomial(z_a)), float(poly.coeff_monomial(z_b))
    return s_a != 0 and abs(s_a - s_b) <= tolerance * max(abs(s_a), abs(s_b))


def run(config: DigitsConfig, out: str | Path, progress: bool = True) -> dict:
    """Train the EQL and the MLP model, evaluate both ranges, write metrics, formula and plots."""
    data = load_digit_images(config)
    out = prepare_run_dir(out, NAME)
    generator = torch.Generator().manual_seed(config.seed + 1)
    top = 2 * int(data.test_labels.max()) + 1
    test_sets = {
        "train_range": sample_pairs(data.test_labels, config.test_pairs, generator, 0, config.train_below),
        "extrapolation": sample_pairs(data.test_labels, config.test_pairs, generator, config.train_below, top),
    }
    models, predictions, metrics = {}, {}, {"accuracy": {}}
    for kind in HEADS:
        with torch_threads(config.threads):
            models[kind] = train_digit_sum(kind, data, config, progress)
        predictions[kind] = {name: predict_sums(models[kind], data.test_images, pairs) for name, pairs in test_sets.items()}
        metrics["accuracy"][kind] = {
            name: accuracy(predictions[kind][name], data.test_labels[pairs].sum(dim=1).float())
            for name, pairs in test_sets.items()
        }
    formula = sum_formula(models["eql"], config.prune_threshold)
    eql, mlp = metrics["accuracy"]["eql"]["extrapolation"], metrics["accuracy"]["mlp"]["extrapolation"]
    metrics.update(
        formula=to_string(formula),
        formula_is_scaled_sum=is_scaled_sum(formula),
        extrapolation_ratio=eql / mlp if mlp > 0 else float("inf"),
        train_pairs=f"digit sum < {config.train_below}",
        test_pairs=f"unseen images; sum < {config.train_below} and sum >= {config.train_below}",
    )
    figures = {
        "predictions": _predictions_figure(predictions, data.test_labels, test_sets, config.train_below),
        "latent": _latent_figure(models["eql"], data),
    }
    write_run(out, NAME, config, metrics, [f"sum = {metrics['formula']}"], figures)
    return metrics


def summary(metrics: dict) -> list[str]:
    acc = metrics["accuracy"]
    return [
        f"learned formula: sum = {metrics['formula']}",
        f"accuracy on sums below the cut (EQL / MLP): {acc['eql']['train_range']:.3f} / {acc['mlp']['train_range']:.3f}",
        f"accuracy on larger sums (EQL / MLP):        {acc['eql']['extrapolation']:.3f} / {acc['mlp']['extrapolation']:.3f}",
    ]


def _predictions_figure(predictions, labels, test_sets, train_below) -> Figure:
    figure = Figure(figsize=(9, 4))
    axes = figure.subplots(1, 2, sharey=True)
    for ax, (kind, by_set) in zip(axes, predictions.items()):
        for name, pairs in test_sets.items():
            truth = labels[pairs].sum(dim=1).float()
            jitter = (torch.rand(len(truth)) - 0.5) * 0.4
            ax.scatter(truth + jitter, by_set[name], s=4, alpha=0.4, label=name.replace("_", " "))
        top = 2 * int(labels.max())
        ax.plot([0, top], [0, top], "k--", lw=1)
        ax.axvspan(train_below - 0.5, top + 0.5, color="0.9", zorder=0)
        ax.set(title=f"{kind.upper()} head", xlabel="true sum of the two digits")
        ax.legend(loc="upper left", markerscale=3)
    axes[0].set_ylabel("predicted sum")
    return figure


def _latent_figure(model: DigitSum, data: DigitImages) -> Figure:
    with torch.no_grad():
        z = model.encoder(data.test_images).squeeze(-1)
    figure = Figure(figsize=(5, 4))
    ax = figure.subplots()
    ax.scatter(data.test_labels + (torch.rand(len(z)) - 0.5) * 0.3, z, s=4, alpha=0.5)
    ax.set(xlabel="digit (never shown in training)", ylabel="latent z", title="EQL model: encoder latent per image")
    return figure
