"""eqlearn: Equation Learner networks and GNN+EQL force-law discovery."""
__version__ = "0.1.0"
