"""Benchmarks: `make bench` prints name=value lines (they are measurements, not tests)."""
