"""Force-law discovery: config in, run directory out.

Read from the bottom up: `config` (the settings) and `recipes` (how a model is built for the
data at hand); `data` (load or simulate, split), `model` (the GNN and its training phases),
`verdict` (the law judged without the truth), `result` and `rundir` (what a run writes);
`stages` (one candidate model, stage by stage); `portfolio` (several candidates and the choice
among them: it calls the stages, never the reverse; `portfolio.run_discovery` is the entry
point); `report` and `plots` (what a person reads and sees).
"""
