"""Benchmarks: each runs the real bot against the fake Bot API and prints figures."""
