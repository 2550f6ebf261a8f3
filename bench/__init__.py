"""Benchmarks: instantly-sync measured against naive baselines in one run (`make bench`)."""
