"""Naive loop references that read like the math. Slow on purpose: small inputs only."""
