"""Helpers that make small media files in code, for tests, examples and benchmarks."""
