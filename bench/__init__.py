"""Benchmarks: each hot path next to its floor, measured in the same run on the same servers
(`make bench`). The machines are shared and noisy, so only ratios are reported as results."""
