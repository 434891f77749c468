"""Whole-network fixtures (filled in below)."""
BENCH = []
