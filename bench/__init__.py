"""Benchmarks: ``python -m bench [name] [--json]`` (see ``bench.__main__`` for the registry)."""
