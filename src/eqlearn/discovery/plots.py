"""Pictures of a discovery run: loss curves, message spread, top messages against the true force."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure


def plot_loss_curves(metrics_csv: Path, path: Path) -> None:
    with metrics_csv.open() as handle:
        rows = list(csv.DictReader(handle))
    epochs = [int(r["epoch"]) for r in rows]
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    for key, label in (("loss", "training loss"), ("val_loss", "validation acceleration MAE")):
        if rows and key in rows[0]:
            ax.plot(epochs, [float(r[key]) for r in rows], label=label)
    phases = [(int(r["epoch"]), r["phase"]) for i, r in enumerate(rows) if i == 0 or r["phase"] != rows[i - 1]["phase"]]
    for epoch, name in phases[1:]:
        ax.axvline(epoch, color="grey", lw=0.5)
        ax.text(epoch, ax.get_ylim()[1], name, rotation=90, va="top", fontsize=7, color="grey")
    ax.set(xlabel="epoch", ylabel="error", yscale="log", title="training")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def plot_message_spread(stds: np.ndarray, path: Path) -> None:
    """Std of every message feature, largest first: a sparse law shows d bars and then nothing."""
    order = np.sort(stds)[::-1]
    fig = Figure(figsize=(6, 3.5))
    ax = fig.subplots()
    ax.bar(np.arange(len(order)), order)
    ax.set(xlabel="message feature (sorted)", ylabel="std over edges", title="message spread")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def plot_messages_vs_force(messages: np.ndarray, force: np.ndarray, path: Path,
                           reference: str = "the reported law") -> None:
    """Each top message against its best affine fit by the components of `force` (a law's or the truth's)."""
    count = messages.shape[1]
    fig = Figure(figsize=(3.6 * count, 3.4))
    axes = fig.subplots(1, count, squeeze=False)
    design = np.column_stack([force, np.ones(len(force))])
    for k, ax in enumerate(axes[0]):
        coefficients, *_ = np.linalg.lstsq(design, messages[:, k], rcond=None)
        fitted = design @ coefficients
        ax.scatter(fitted, messages[:, k], s=2, alpha=0.4)
        low, high = np.percentile(fitted, [1, 99])
        if high <= low:  # a constant fit (a law read out as 0): show the messages' own range
            low, high = np.percentile(messages[:, k], [1, 99])
            low, high = (low - 1, high + 1) if high <= low else (low, high)
        ax.plot([low, high], [low, high], "k--", lw=0.8)
        ax.set(xlim=(low, high), ylim=(low, high), xlabel=f"affine fit by {reference}", ylabel=f"message {k + 1}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def plot_learned_masses(table: list[dict], path: Path, limit: int = 400) -> None:
    """Learned masses against the true ones (log-log, the diagonal is perfect) where the data say
    the true ones; otherwise the learned masses per particle. At most `limit` particles."""
    rows = table[:limit]
    fig = Figure(figsize=(5.5, 4.5))
    ax = fig.subplots()
    learned = np.array([row["learned_mass"] for row in rows])
    if rows and "true_mass" in rows[0]:
        true = np.array([row["true_mass"] for row in rows])
        ax.loglog(true, learned, "o", ms=4)
        span = [min(true.min(), learned.min()) / 2, max(true.max(), learned.max()) * 2]
        ax.plot(span, span, color="grey", lw=0.8, label="learned = true")
        if len(rows) <= 20:
            for row in rows:
                ax.annotate(row["name"], (row["true_mass"], row["learned_mass"]), fontsize=7, xytext=(3, 3),
                            textcoords="offset points")
        ax.set(xlabel="true mass (reference = 1)", ylabel="learned mass (reference = 1)")
        ax.legend()
    else:
        ax.semilogy(np.arange(len(rows)), learned, "o", ms=4)
        ax.set(xlabel="particle", ylabel="learned mass (reference = 1)")
    ax.set_title("learned masses")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
