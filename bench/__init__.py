"""Benchmarks: `python -m bench [NAME [options]]` (each NAME is a module here with `main`)."""
