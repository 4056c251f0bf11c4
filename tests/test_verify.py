"""The verifier must accept a true law in any valid form and reject wrong, missing or degenerate ones."""
import json

import pytest
import sympy

from eqlearn.errors import UserInputError
from eqlearn.readout.canonical import canonical_form
from eqlearn.readout.verify import verify_equations_file, verify_law

SPRING = "(r - 1)**2"
EXACT_SPRING = ["-2*(r - 1)*dx/(r - 0.01)", "-2*(r - 1)*dy/(r - 0.01)"]


def test_true_law_passes_exactly_and_unrotated():
    result = verify_law(EXACT_SPRING, SPRING, 2)
    assert result.passed and result.form == "force"
    assert result.unrotated and result.exact == [True, True]
    assert min(result.r2) > 0.9999


def test_scaled_offset_approximation_passes_but_is_not_exact():
    result = verify_law(["0.05*dx*(1 - 1/r) + 0.3", "-0.05*dy*(1 - 1/r)"], SPRING, 2)
    assert result.passed and result.unrotated
    assert result.exact == [False, False]


def test_rotated_law_passes_but_is_rotated_until_canonicalised():
    rotated = ["0.02*dx*(1 - 1/r) - 0.05*dy*(1 - 1/r)", "0.05*dx*(1 - 1/r) + 0.02*dy*(1 - 1/r)"]
    result = verify_law(rotated, SPRING, 2)
    assert result.passed and not result.unrotated
    canonical = canonical_form([sympy.sympify(e) for e in rotated], sympy.symbols("dx dy"))
    assert [sympy.simplify(c - sympy.sympify(e)) for c, e in zip(canonical, ["dx - dx/r", "dy - dy/r"])] == [0, 0]
    assert verify_law(rotated, SPRING, 2, canonical=[str(c) for c in canonical]).unrotated


def test_canonical_form_keeps_ratios_of_snapped_coefficients_exact():
    # a screened Coulomb law as the refit wrote it: exact, but in terms whose coefficients are 101 and -100
    law = [f"101*d{a}*q1*q2/(r**2*exp(r) - 0.01*r*exp(r)) - 100*d{a}*q1*q2*exp(-r)/r**2" for a in "xy"]
    canonical = canonical_form([sympy.sympify(e) for e in law], sympy.symbols("dx dy"))
    assert verify_law(law, "q1*q2*exp(-r)/r", 2, canonical=[str(c) for c in canonical]).exact == [True, True]
    # the same law with the snapped coefficients 1.01 (1 + the softening) and 1 (a Yukawa run, seed 0)
    law = [f"1.01*d{a}*m1*m2/(r**3*exp(r) - 0.01*r**2*exp(r)) + d{a}*m1*m2*exp(-r)/r**2" for a in "xy"]
    canonical = canonical_form([sympy.sympify(e) for e in law], sympy.symbols("dx dy"))
    assert verify_law(law, "m1*m2*exp(-r)/r", 2, canonical=[str(c) for c in canonical]).exact == [True, True]
    # plain 3-digit coefficients stay as they are
    assert "0.27" in str(canonical_form([sympy.sympify("dx + 0.27*dx/r"), sympy.sympify("dy")], sympy.symbols("dx dy"))[0])


def test_canonical_form_writes_ratios_of_measured_coefficients_as_numbers_not_fractions():
    # a spring refitted on noisy data: 1.994 / 1.998 is 997/999 exactly, but it is a measurement,
    # 0.2 % from 1, and the exactness rule judges it as the number it is
    law = [f"-1.998*d{a}*r/(r - 0.01) + 1.994*d{a}/(r - 0.01)" for a in "xy"]
    canonical = canonical_form([sympy.sympify(e) for e in law], sympy.symbols("dx dy"))
    assert not any(q.q > 10 for c in canonical for q in c.atoms(sympy.Rational))
    assert verify_law(law, SPRING, 2, canonical=[str(c) for c in canonical]).exact == [True, True]
    # 2 % off is not exact
    off = [f"-2.04*d{a}*r/(r - 0.01) + 2*d{a}/(r - 0.01)" for a in "xy"]
    canonical = canonical_form([sympy.sympify(e) for e in off], sympy.symbols("dx dy"))
    assert verify_law(off, SPRING, 2, canonical=[str(c) for c in canonical]).exact == [False, False]


def test_unit_vector_form_keeps_exponentials_of_long_fractions_whole():
    from eqlearn.readout.canonical import unit_vector_form

    exact = lambda e: sympy.nsimplify(e, rational=True)  # 1.3 and 13/10 alike
    # nsimplify makes exp(0.30664384006727*r) exp(30664384006727*r/10**14): factoring that as a polynomial
    # in exp(r/10**14) would need astronomically many coefficients; as one factor it is written with u
    law = sympy.sympify("1.3*dx/(r*exp(0.30664384006727*r) - 0.01*exp(0.30664384006727*r))")
    assert exact(unit_vector_form(law, dim=2)) == exact(sympy.sympify("1.3*ux*exp(-0.306644*r)"))
    # a step's rate, 9.29 = 929/100: a polynomial of degree 929 in exp(r/100), minutes of cancelling
    step = unit_vector_form(sympy.sympify("-2*dx*(r - 1)/((r - 0.01)*(1 + 5.49e7*exp(-9.29*r)))"), dim=2)
    assert sympy.simplify(step - sympy.sympify("-2*ux*(r - 1)/(1 + 5.49e7*exp(-9.29*r))")) == 0
    # Buckingham's repulsion, whose rate the data give to six digits, beside its r^-7
    buckingham = sympy.sympify("32957397.2*dy*exp(-36.6999761*r)/r - 0.0321566*dy/r**8")
    assert exact(unit_vector_form(buckingham, dim=3, softening=0.0)) == exact(sympy.sympify("3.3e7*uy*exp(-36.7*r) - 0.0322*uy/r**7"))
    # small integer rates (screened and Morse-like laws) are still written with u
    assert unit_vector_form(sympy.sympify("dx*exp(-2*r)/(r - 0.01)"), dim=2) == sympy.sympify("ux*exp(-2*r)")


def test_acceleration_form_is_recognised_for_mass_laws():
    result = verify_law(["-dx*m2/(r*(r - 0.01))", "-dy*m2/(r*(r - 0.01))"], "m1*m2*log(r)", 2)
    assert result.passed and result.form == "acceleration" and result.exact == [True, True]


@pytest.mark.parametrize("expressions", [
    ["dx/r", "dy/r"],  # a wrong law
    ["dx*(1 - 1/r)", "dx*(1 - 1/r)"],  # a missing axis: the same message twice
    ["dx*(1 - 1/r)", "0"],  # a degenerate pair
    ["dx*(1 - 1/r)", "dy*(1 - 1/r)*m1"],  # one axis with the wrong mass dependence
])
def test_wrong_missing_or_degenerate_laws_fail(expressions):
    assert not verify_law(expressions, SPRING, 2).passed


def test_three_dimensions():
    law = [f"-m1*m2*d{a}/(r**2*(r - 0.01))" for a in "xyz"]
    result = verify_law(law, "-m1*m2/r", 3)
    assert result.passed and result.unrotated and all(result.exact)


def test_bad_expressions_are_clear_errors():
    with pytest.raises(UserInputError, match="the name .w. is unknown"):
        verify_law(["dx*w", "dy"], SPRING, 2)
    with pytest.raises(UserInputError, match="exactly 2"):
        verify_law(["dx"], SPRING, 2)


def test_equations_file_round_trip(tmp_path):
    path = tmp_path / "equations.json"
    path.write_text(json.dumps({"potential": SPRING, "dim": 2, "messages": [{"expression": e} for e in EXACT_SPRING]}))
    assert verify_equations_file(path).passed
    path.write_text("{}")
    with pytest.raises(UserInputError, match="not an eqlearn equations file"):
        verify_equations_file(path)


def test_equations_files_of_both_formats_are_verified(tmp_path):
    """Format 3 keeps the truth under `truth` only; format 2 had its potential at the top as well."""
    messages = [{"expression": e} for e in EXACT_SPRING]
    path = tmp_path / "equations.json"
    truth = {"name": "spring", "potential": SPRING, "damping": 0.0}
    for body in ({"format": "eqlearn.equations/3", "truth": truth},
                 {"format": "eqlearn.equations/2", "truth": truth, "law": "spring", "potential": SPRING}):
        path.write_text(json.dumps({**body, "dim": 2, "messages": messages}))
        assert verify_equations_file(path).passed, body["format"]
    path.write_text(json.dumps({"format": "eqlearn.equations/3", "truth": None, "dim": 2, "messages": messages}))
    with pytest.raises(UserInputError, match="no truth to verify against"):
        verify_equations_file(path)


LENNARD_JONES = "4*0.996*((0.34/r)**12 - (0.34/r)**6)"  # argon, kJ/mol and nm: constants no simple number matches


@pytest.mark.parametrize("scale", [1.0, 1 / 0.036927])
def test_a_law_with_physical_constants_is_exact_to_the_printed_digits(scale):
    """Exact means the truth's own constants to 0.5 %, whatever common factor the canonical form
    divided the law by; one coefficient 1 % off is not exact."""
    law = [f"{scale * 1.1409e-4}*{d}/r**14 - {scale * 0.036927}*{d}/r**8" for d in ("dx", "dy", "dz")]
    assert all(verify_law(law, LENNARD_JONES, 3, canonical=law, softening=0.0).exact)
    off = [f"1.1409e-4*{d}/r**14 - 0.0373*{d}/r**8" for d in ("dx", "dy", "dz")]
    verdict = verify_law(off, LENNARD_JONES, 3, softening=0.0)
    assert verdict.passed and not any(verdict.exact)
    wrong_power = [f"1.1409e-4*{d}/r**14 - 0.036927*{d}/r**9" for d in ("dx", "dy", "dz")]
    assert not any(verify_law(wrong_power, LENNARD_JONES, 3, softening=0.0).exact)


def test_a_scaled_canonical_form_with_rates_read_to_many_digits_is_exact():
    """A Morse force in a run's own scale, exponents read as 27.99999: the common factor is found
    by matching terms with those numbers snapped (before, no term matched and 15.0858 became the
    simple 151/10, which broke the ratio of the two coefficients); 1 % off stays inexact."""
    morse = "0.996*(exp(-28*(r - 0.3816)) - 2*exp(-14*(r - 0.3816)))"
    canonical = [f"15.0858*{d}*exp(-27.99999*r)/r - 0.0721761*{d}*exp(-14.00002*r)/r" for d in ("dx", "dy", "dz")]
    law = [f"1218336*{d}*exp(-28*r)/r - 5829*{d}*exp(-14*r)/r" for d in ("dx", "dy", "dz")]
    assert all(verify_law(law, morse, 3, canonical=canonical, softening=0.0).exact)
    off = [c.replace("0.0721761", "0.0729") for c in canonical]
    assert not any(verify_law(law, morse, 3, canonical=off, softening=0.0).exact)
