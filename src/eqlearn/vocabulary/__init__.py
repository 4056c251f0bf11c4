"""The ground floor: the words every other part of eqlearn speaks — the pair variables, the
parser that turns text into formulas, the pair displacement (periodic boxes), atomic file writing.
It imports nothing else of eqlearn but `eqlearn.errors`."""
