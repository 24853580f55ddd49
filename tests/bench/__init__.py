"""Benchmarks: scripts that print timings, run by hand (pytest does not collect them)."""
