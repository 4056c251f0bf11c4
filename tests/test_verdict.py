"""The truth-free verdict's ratio of law to network error: how sure, not only how much."""
import numpy as np

from eqlearn.discovery.verdict import error_ratio


def squared_errors(level: float, graphs: int = 400, seed: int = 0) -> np.ndarray:
    """Squared relative errors [graphs, 4] scattered around `level`² (heavy-tailed, like real ones)."""
    return level**2 * np.random.default_rng(seed).exponential(size=(graphs, 4))


def test_a_law_worse_on_every_resample_has_its_whole_interval_above_one():
    ratio = error_ratio(squared_errors(0.12), squared_errors(0.1, seed=1))
    low, high = ratio["interval_95"]
    assert 1.0 < low < ratio["ratio"] < high < 1.45


def test_the_same_errors_give_a_ratio_of_one_and_an_interval_around_it():
    errors = squared_errors(0.1)
    ratio = error_ratio(errors * np.random.default_rng(2).uniform(0.9, 1.1, size=errors.shape), errors)
    low, high = ratio["interval_95"]
    assert low < 1.0 < high and abs(ratio["ratio"] - 1.0) < 0.05


def test_pairing_by_graph_narrows_the_interval():
    """The law and the network err on the same hard graphs: the ratio is sure even where each error is noisy."""
    network = squared_errors(0.1)
    paired = error_ratio(1.1**2 * network, network)["interval_95"]
    unpaired = error_ratio(squared_errors(0.11, seed=3), network)["interval_95"]
    assert paired[1] - paired[0] < 1e-9 < unpaired[1] - unpaired[0]


def test_a_law_that_fails_to_evaluate_is_infinitely_worse():
    law = squared_errors(0.1)
    law[3, 1] = np.inf
    assert error_ratio(law, squared_errors(0.1))["ratio"] == np.inf
