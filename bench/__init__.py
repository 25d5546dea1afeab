"""Benchmarks: they print figures and write docs/benchmarks.md; they never assert a timing.

Every benchmark truncates tables, so it runs only against a Postgres database whose
name starts with ``pm_bench`` (see ``bench.common.require_bench_database``).
"""
