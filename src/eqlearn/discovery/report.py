"""Terminal summaries of results, written for a physicist reading them."""
from __future__ import annotations

from eqlearn.discovery.verdict import TOO_NOISY


def describe_discovery(discovery) -> str:
    """The law as found first, then how it was read (the messages, the refit, the canonical form),
    the truth-free verdict and (where the data carry their law) the verifier's, in a few lines."""
    eq = discovery.equations()
    source = f"data {eq['data']}" if eq["data"] else "simulated data"
    recipes = list(dict.fromkeys(c.get("recipe") for c in eq.get("restarts") or [] if c.get("recipe")))
    recipe = eq["recipe"] + (f" (chosen from {', '.join(recipes)})" if len(recipes) > 1 else "")
    place = {name: k for k, name in enumerate(eq["found"]["law"])}  # axes in order where the messages are forces
    messages = sorted(eq["messages"], key=lambda m: place.get(m["name"], len(place)))
    width = max((len(m["name"]) for m in messages), default=0)
    lines = [f"{source}: n={eq['n']}, dim={eq['dim']}, seed={eq['seed']}, recipe {recipe}", *_derivative_lines(eq), "",
             *_found_lines(eq["found"], eq["softening"] or 0, width, eq["truth_free"].get("network_fits_data", True)), "",
             "read from the edge model (the top messages, with their std):"]
    lines += [f"  {m['name']:{width}s} [feature {m['index']}, std {m['std']:.3g}] = {m['expression']}" for m in messages]
    if any("refitted" in m for m in messages):
        lines += ["", "refitted (the read-out's terms, least squares; the shortest as good as the best on held-out data):"]
        lines += [f"  {m['name']:{width}s} = {m['refitted']}   (held-out R2 {m['refit_r2']:.6f})" for m in messages]
    lines += ["", "canonical form (rows mixed and scaled so each row's largest term has coefficient 1; "
                  "not the law's scale or sign):"] + [f"  {c}" for c in eq["canonical"]]
    lines += ["", *_truth_free_lines(eq["truth_free"]), *_restart_lines(eq.get("restarts")), "",
              *_particle_lines(eq["particles"]), *_verifier_lines(eq)]
    lines += [
        f"non-zero messages: {eq['nonzero_messages']}; test acceleration MAE: {eq['test_loss']:.4g}",
        "time: " + ", ".join(f"{k} {s:.1f} s" for k, s in eq["seconds"].items()),
        f"written to {discovery.config.out}",
    ]
    return "\n".join(lines)


def _found_lines(found: dict, softening: float, width: int, trusted: bool = True) -> list[str]:
    """The reported law, one line per axis, with what it is and how well it explains held-out data;
    marked as not trusted where the network has not fitted the data."""
    distance = f"|Δ| = r - {softening:g}" if softening else "|Δ| = r"
    warning = [] if trusted else ["NOT TRUSTED: the network has not fitted the data, so the law below is only what "
                                  "was read from it, not a law the data support"]
    lines = [*warning, f"found: {found['quantity']}, {distance}:"]
    lines += [f"  {name:{width}s} = {law}" for name, law in found["law"].items()]
    if found.get("held_out_error") is not None:
        lines.append(f"  size {found['size']} (expression nodes); held-out relative force error "
                     f"{found['held_out_error']:.3g} (the network's {found['network_held_out_error']:.3g})")
    return lines


def _derivative_lines(eq: dict) -> list[str]:
    d, objective = eq.get("derivatives"), eq.get("objective") or {}
    if objective.get("method") == "weak-form":
        return [f"trained on weak-form targets (positions never differentiated): {sum(objective['windows'])} windows of "
                f"{objective['points']} states (half-width {objective['half_width']:.3g}), test function "
                f"(1 - s^2)^{objective['power']}; position noise ~{objective['position_noise']:.2g}, target noise "
                f"~{objective['relative_target_noise']:.2g} of their size"]
    if not d:
        return []
    return [f"accelerations estimated from the positions ({d['method']}, window {d['window']}, degree {d['polyorder']}): "
            f"~{d['relative_acceleration_error']:.2g} relative error, position noise ~{d['position_noise']:.2g}"]


def _truth_free_lines(verdict: dict) -> list[str]:
    if verdict.get("law_force_error") is None:
        return [f"truth-free check: {verdict.get('note', 'not available')}"]
    law, net = verdict["law_force_error"], verdict["network_force_error"]
    judgement = ("the law explains the held-out data as well as the network" if verdict["explains_data"]
                 else "the law explains the held-out data WORSE than the network: something is missing from it")
    lines = [f"truth-free check on {verdict['held_out_graphs']} held-out graphs: relative net-force error "
             f"of the law alone {law:.3g}, of the network {net:.3g}: {judgement}"]
    if "law_to_network" in verdict:
        ratio = verdict["law_to_network"]
        lines.append(f"  law / network error {ratio['ratio']:.3g} (95 % interval {ratio['interval_95'][0]:.3g}–"
                     f"{ratio['interval_95'][1]:.3g} over resampled held-out graphs)")
    noise = verdict.get("target_noise_error")
    if noise is not None:
        lines.append(f"  the targets' own noise accounts for a relative error of ~{noise:.2g} of both (their noise is "
                     f"~{verdict['target_noise_to_size']:.2g} of their median size)")
    if not verdict.get("network_fits_data", True):
        why = ("the data are too noisy to tell one law from another"
               if verdict.get("target_noise_to_size", 0.0) > TOO_NOISY else
               "the law may lie outside the recipe's family")
        lines.append(f"  the network itself leaves a relative force error of {net:.2g}: it has not fitted the data, "
                     f"so no law read from it can be trusted ({why})")
    rollout = verdict.get("rollout")
    if rollout:
        lines.append(f"  the law integrated over the stored horizon ({rollout['steps']} steps, {rollout['systems']} systems):"
                     f" median position error {rollout['median_position_error']:.3g} of the system size")
    return lines


def _restart_lines(restarts: list[dict] | None) -> list[str]:
    """Every candidate's recipe, law and held-out error; the chosen one marked."""
    if not restarts:
        return []
    lines = [f"candidates ({len(restarts)} models; chosen: the shortest law within 10 % of the smallest "
             "held-out law error, without the truth):"]
    for s in restarts:
        error = s["law_force_error"] if s["law_force_error"] is not None else float("nan")
        name = f"{s.get('recipe', '')} {s['restart']}".strip()
        lines.append(f"  {'*' if s['chosen'] else ' '} {name}: law error {error:.3g}, network "
                     f"{s['network_force_error']:.3g}, size {s['law_size']}: {'; '.join(s['law'])}")
    return lines


#: Learned masses printed one per line up to this many particles; beyond, a summary.
PRINTED_PARTICLES = 20


def _particle_lines(particles: dict | None) -> list[str]:
    """The learned masses and charges, relative to the reference particle, beside the true ones where known."""
    if particles is None:
        return []
    lines = _mass_lines(particles) if "table" in particles else []
    return lines + (_charge_lines(particles["charges"]) if "charges" in particles else [])


def _charge_lines(charges: dict) -> list[str]:
    reference = charges["reference"]
    lines = _particle_table(f"learned charges, in units of the charge of {reference['name']} (system "
                            f"{reference['system']}, +1), which fixes the scale and sign the law and the charges share:",
                            charges["table"], [("learned_charge", "learned", "12.6g"), ("true_charge", "true", "12.6g")],
                            "all in equations.json")
    if "max_absolute_error" in charges:
        signs = "" if charges["signs_right"] is None else f"; signs right for {charges['signs_right']:.0%} of the charged"
        lines.append(f"  learned against true: median error {charges['median_absolute_error']:.3g}, "
                     f"max {charges['max_absolute_error']:.3g}{signs}")
    return lines + [""]


def _mass_lines(particles: dict) -> list[str]:
    reference = particles["reference"]
    lines = _particle_table(f"learned masses, in units of the mass of {reference['name']} (system {reference['system']}), "
                            "which fixes the scale the law and the masses share:", particles["table"],
                            [("learned_mass", "learned", "12.6g"), ("true_mass", "true", "12.6g"), ("ratio", "ratio", "9.5f")],
                            "all in equations.json and masses.png")
    if "max_relative_error" in particles:
        lines.append(f"  learned against true: median relative error {particles['median_relative_error']:.3g}, "
                     f"max {particles['max_relative_error']:.3g}")
    return lines + [""]


def _particle_table(heading: str, table: list[dict], columns: list[tuple[str, str, str]], overflow: str) -> list[str]:
    """`heading`, then one line per particle with the `columns` (key, title, format) its rows have,
    or a count beyond PRINTED_PARTICLES."""
    if len(table) > PRINTED_PARTICLES:
        return [heading, f"  {len(table)} particles ({overflow})"]
    shown = [(key, title, form) for key, title, form in columns if key in table[0]]
    width = lambda form: form.split(".")[0]
    lines = [heading, f"  {'particle':12s}" + "".join(f" {title:>{width(form)}s}" for _, title, form in shown)]
    return lines + [f"  {row['name']:12s}" + "".join(f" {row[key]:{form}}" for key, _, form in shown) for row in table]


def _verifier_lines(eq: dict) -> list[str]:
    v = eq["verification"]
    if v is None and eq["truth"] is not None:
        return ["verifier: the masses or charges were learned and the data carry none to convert the law to the data's"
                " mass unit, so the law is not checked against the data's own; rely on the truth-free check above"]
    if v is None:
        return ["verifier: the data carry no law, so there is no ground truth to check against;"
                " rely on the truth-free check above"]
    truth = eq["truth"]
    damping = f", damping {truth['damping']:g}" if truth.get("damping") else ""
    verdict = "RECOVERED" if v["passed"] else "NOT recovered"
    r2 = ", ".join(f"{x:.4f}" for x in v["r2"])
    return [
        f"verifier against the data's own law ({truth['name']}: U = {truth['potential']}{damping}): {verdict} "
        f"({v['form']} form; R2 = {r2}; condition {v['condition']:.3g}; unrotated: {'yes' if v['unrotated'] else 'no'}; "
        f"exact: {sum(v['exact'])}/{len(v['exact'])})",
        f"verifier on the read-out before the refit: {'passed' if eq['readout_verification']['passed'] else 'failed'}",
    ]
