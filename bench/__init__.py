"""Benchmarks that print figures, never pass/fail on time (see docs/benchmarks.md)."""
