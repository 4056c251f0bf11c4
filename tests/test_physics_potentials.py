"""Pair potentials: the DESIGN.md §1 table, the custom-expression path, numpy and torch alike."""
import numpy as np
import pytest
import torch

from eqlearn.errors import UserInputError
from eqlearn.physics import LAWS, get_potential, pair_accelerations, total_energy


def _pair_sample(count=50, dim=2, seed=0):
    rng = np.random.default_rng(seed)
    delta = rng.normal(size=(count, dim)) * 1.5
    m1, m2 = np.exp(rng.normal(size=(2, count)))
    q1, q2 = np.sign(rng.normal(size=(2, count)))
    dv = rng.normal(size=(count, dim))
    return delta, m1, m2, q1, q2, dv


def _table_force(law, delta, m1, m2, q1, q2, dv):
    """The force column of DESIGN.md §1, written out per pair, with r = |delta| + 0.01."""
    out = np.zeros_like(delta)
    for k, d in enumerate(delta):
        length = np.sqrt(d @ d)
        r, unit = length + 0.01, d / length
        out[k] = {
            "spring": -2 * (r - 1) * unit,
            "r1": -m1[k] * m2[k] / r * unit,
            "r2": -m1[k] * m2[k] / r**2 * unit,
            "charge": q1[k] * q2[k] / r**2 * unit,
            "damped": -2 * (r - 1) * unit - 0.25 * dv[k],
            "discontinuous": (-2 * (r - 1) if r >= 2 else 0.0) * unit,
        }[law]
    return out


@pytest.mark.parametrize("law", sorted(LAWS))
@pytest.mark.parametrize("dim", [2, 3])
def test_pair_force_follows_the_design_table(law, dim):
    delta, m1, m2, q1, q2, dv = _pair_sample(dim=dim)
    force = LAWS[law].pair_force(delta, m1, m2, q1, q2, dv=dv)
    np.testing.assert_allclose(force, _table_force(law, delta, m1, m2, q1, q2, dv), rtol=1e-12)


@pytest.mark.parametrize("law", sorted(LAWS))
def test_pair_force_runs_on_torch_tensors_with_gradients(law):
    arrays = _pair_sample(dim=3)
    tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    force = LAWS[law].pair_force(*tensors[:5], dv=tensors[5])
    np.testing.assert_allclose(force.detach().numpy(), LAWS[law].pair_force(*arrays[:5], dv=arrays[5]),
                               rtol=1e-12)
    force.sum().backward()
    assert torch.isfinite(tensors[0].grad).all()


@pytest.mark.parametrize("law, expression", [
    ("spring", "(r - 1)**2"),
    ("r1", "m1*m2*log(r)"),
    ("r2", "-m1*m2/r"),
    ("charge", "q1*q2/r"),
    ("discontinuous", "Piecewise((0, r < 2), ((r - 1)**2, True))"),
])
def test_custom_expression_reproduces_the_builtin_law(law, expression):
    custom = get_potential(expression=expression)
    delta, m1, m2, q1, q2, _ = _pair_sample(count=200, dim=3, seed=1)
    np.testing.assert_allclose(custom.pair_force(delta, m1, m2, q1, q2),
                               LAWS[law].pair_force(delta, m1, m2, q1, q2), rtol=1e-12, atol=1e-15)
    assert custom.uses_charge == LAWS[law].uses_charge


@pytest.mark.parametrize("law", sorted(set(LAWS) - {"damped", "discontinuous"}))
def test_accelerations_are_minus_the_energy_gradient_over_mass(law):
    """Independent of the hand-written forces: autograd of the total energy from the expression."""
    rng = np.random.default_rng(2)
    x = torch.tensor(rng.normal(size=(3, 5, 2)), requires_grad=True)
    v = torch.zeros(3, 5, 2, dtype=torch.float64)
    m = torch.tensor(np.exp(rng.normal(size=(3, 5))))
    q = torch.tensor(np.sign(rng.normal(size=(3, 5))))
    potential = LAWS[law]
    total_energy(x, v, m, q, potential).sum().backward()
    expected = -x.grad / m[..., None]
    np.testing.assert_allclose(pair_accelerations(x.detach(), v, m, q, potential).numpy(),
                               expected.numpy(), rtol=1e-9, atol=1e-12)


def test_law_names_and_charge_use():
    assert set(LAWS) == {"spring", "r1", "r2", "charge", "damped", "discontinuous"}
    assert [name for name, law in LAWS.items() if law.uses_charge] == ["charge"]
    assert get_potential("r2").default_dt == 1e-3


def test_damped_law_needs_the_relative_velocity():
    delta, m1, m2, q1, q2, _ = _pair_sample()
    with pytest.raises(ValueError, match="relative velocity"):
        LAWS["damped"].pair_force(delta, m1, m2, q1, q2)


@pytest.mark.parametrize("expression, message", [
    ("(r - 1)**2 + x", "the name 'x' is unknown"),
    ("(r - 1)**", "does not parse"),
    ("m1*m2", "does not depend on r"),
    ("m1*r", "symmetric"),
    ("__import__('os').getcwd()", "cannot be called"),
])
def test_bad_potential_expressions_are_user_errors(expression, message):
    with pytest.raises(UserInputError, match=message) as error:
        get_potential(expression=expression)
    assert "\n" not in str(error.value)


def test_get_potential_needs_one_known_source():
    with pytest.raises(UserInputError, match="unknown law 'gravity'"):
        get_potential("gravity")
    with pytest.raises(UserInputError, match="exactly one"):
        get_potential()
    with pytest.raises(UserInputError, match="exactly one"):
        get_potential("spring", "(r - 1)**2")
