"""Shared helpers for rollgen's tests and benchmarks: real servers on loopback, plain git, fixtures' building blocks.

Tests and ``bench/`` import from here, never from each other; pytest fixtures stay in ``tests/**/conftest.py``.
"""
