"""latency workloads: fastloss against its peers, grouped per workload so ratios come from one run.

Run: python -m pytest benchmarks/bench_latency.py --benchmark-enable -n 0 --benchmark-group-by=group
(FASTLOSS_BENCH_QUICK=1 for 10x smaller inputs.)
"""
import os

import pytest

from _workloads import cases, run

QUICK = os.environ.get("FASTLOSS_BENCH_QUICK") == "1"


@pytest.mark.parametrize("wl,label,fn", cases("latency", quick=QUICK))
def test_latency(benchmark, wl, label, fn):
    run(benchmark, wl, label, fn)
