"""pytest-benchmark parametrisation over fastloss.bench's workloads (shared with `fastloss bench`)."""
import pytest

from fastloss import bench


def cases(family, quick=False):
    params = []
    for wl in bench.workloads(quick=quick):
        if wl.family != family:
            continue
        for label, fn in {"fastloss": wl.ours, **wl.peers}.items():
            params.append(pytest.param(wl, label, fn, id=f"{wl.name} | {label}"))
    return params


def run(benchmark, wl, label, fn):
    data = wl.make()
    fn(data)  # warm-up: numba compiles on first call
    benchmark.group = wl.name
    benchmark.extra_info["contender"] = label
    benchmark.pedantic(fn, args=(data,), rounds=5 if wl.size > 1000 else 200, iterations=1, warmup_rounds=1)
