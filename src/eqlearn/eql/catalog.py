"""The EQL part's choices as names only: torch-free, so the command line offers and checks them
before anything heavy is loaded (`eql.sparsity` holds the functions behind them)."""

#: Weight sparsity penalties: L1, smoothed L1/2 (Kim et al.), L0 through hard-concrete gates.
PENALTY_NAMES = ("l1", "l12", "l0")
