"""Terminal summaries of results, written for a physicist reading them."""
from __future__ import annotations


def describe_discovery(discovery) -> str:
    """The law as found, its canonical form and the verifier's verdict, in a few lines."""
    eq = discovery.equations()
    v = eq["verification"]
    title = f"{eq['law']} law (U = {eq['potential']}), n={eq['n']}, dim={eq['dim']}, seed={eq['seed']}"
    lines = [title, "", "top messages (by std), read from the edge model:"]
    lines += [f"  m{k + 1} [feature {m['index']}, std {m['std']:.3g}] = {m['expression']}" for k, m in enumerate(eq["messages"])]
    if any("refitted" in m for m in eq["messages"]):
        lines += ["", "refitted on the training data (the read-out's terms, least-squares coefficients):"]
        lines += [f"  m{k + 1} = {m['refitted']}   (R2 {m['refit_r2']:.6f})" for k, m in enumerate(eq["messages"])]
    lines += ["", "canonical (unrotated) form:"] + [f"  {c}" for c in eq["canonical"]]
    lines += ["", "the reported law with the unit vector u = Δ/|Δ| (|Δ| = r - 0.01; long laws stay as they are):"]
    lines += [f"  m{k + 1} = {m['unit_vector_form']}" for k, m in enumerate(eq["messages"])]
    verdict = "RECOVERED" if v["passed"] else "NOT recovered"
    r2 = ", ".join(f"{x:.4f}" for x in v["r2"])
    lines += [
        "",
        f"verifier: {verdict} ({v['form']} form; R2 = {r2}; condition {v['condition']:.3g}; "
        f"unrotated: {'yes' if v['unrotated'] else 'no'}; exact: {sum(v['exact'])}/{len(v['exact'])})",
        f"verifier on the read-out before the refit: {'passed' if eq['readout_verification']['passed'] else 'failed'}",
        f"non-zero messages: {eq['nonzero_messages']}; test acceleration MAE: {eq['test_loss']:.4g}",
        "time: " + ", ".join(f"{k} {s:.1f} s" for k, s in eq["seconds"].items()),
        f"written to {discovery.config.out}",
    ]
    return "\n".join(lines)
