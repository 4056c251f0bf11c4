"""From a trained network to a law: the message variables, the refit of the read-out's terms, the
joint polish with learned masses, the canonical form, the law as a model of its own (truth-free
verdict) and the verifier against a known law (docs/design.md §2–§4)."""
