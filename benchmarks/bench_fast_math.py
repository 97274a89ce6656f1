"""Benchmark: fastloss's vectorisable exp/log/log1p/expm1 against NumPy and libm-in-Numba.

Each case maps a 1e7-element array through one function, out of place:
  numpy            np.exp(x, out=out)                      (NumPy's own SIMD loops, 1 thread)
  numba-libm       @njit loop calling np.exp(x[i])          (scalar libm call per element)
  fastloss         @njit loop calling fastloss's exp        (auto-vectorised)
  numba-libm-par   the numba-libm loop under prange, 2 threads
  fastloss-par     the fastloss loop under prange, 2 threads
for float64 and float32. Run (pyproject's addopts disable pytest-benchmark by default):

    python benchmarks/bench_fast_math.py            # = the pytest line below, plus a ratio table
    pytest benchmarks/bench_fast_math.py -o python_files='bench_*.py' --benchmark-enable -n 0 \\
        --benchmark-group-by=param:func,param:dtype --benchmark-columns=median,iqr,rounds
"""
import sys
from pathlib import Path

import numba
import numpy as np
import pytest
from numba import njit, prange

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from fastloss._numba import _math as fm  # noqa: E402

N = 10_000_000
THREADS = 2
FUNCS = ("exp", "log", "log1p", "expm1")
DTYPES = ("float64", "float32")
IMPLS = ("numpy", "numba-libm", "fastloss", "numba-libm-par", "fastloss-par")
DOMAIN = {"exp": (-50.0, 50.0), "log": (1e-3, 1e3), "log1p": (-0.9, 10.0), "expm1": (-5.0, 5.0)}
LIBM = {"exp": np.exp, "log": np.log, "log1p": np.log1p, "expm1": np.expm1}


def _loops(f):
    @njit(nogil=True)
    def serial(x, out):
        for i in range(x.shape[0]):
            out[i] = f(x[i])

    @njit(nogil=True, parallel=True)
    def par(x, out):
        for i in prange(x.shape[0]):
            out[i] = f(x[i])

    return serial, par


KERNELS = {}
for _name in FUNCS:
    KERNELS["numba-libm", _name], KERNELS["numba-libm-par", _name] = _loops(LIBM[_name])
    KERNELS["fastloss", _name], KERNELS["fastloss-par", _name] = _loops(getattr(fm, _name))


@pytest.fixture(scope="module")
def arrays():
    rng = np.random.default_rng(0)
    out = {}
    for name in FUNCS:
        lo, hi = DOMAIN[name]
        x = rng.uniform(lo, hi, N)
        for dtype in DTYPES:
            out[name, dtype] = x.astype(dtype)
    return out


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("func", FUNCS)
def test_fast_math(benchmark, arrays, func, dtype, impl):
    x = arrays[func, dtype]
    out = np.empty_like(x)
    if impl == "numpy":
        ufunc = LIBM[func]

        def run():
            ufunc(x, out=out)
    else:
        kernel = KERNELS[impl, func]
        numba.set_num_threads(min(THREADS, numba.config.NUMBA_NUM_THREADS))  # for the -par kernels
        kernel(x[:16], out[:16])  # compile outside the timing

        def run():
            kernel(x, out)

    benchmark.group = f"{func} {dtype}"
    benchmark.extra_info.update(func=func, dtype=dtype, impl=impl, n=N)
    benchmark.pedantic(run, rounds=7, iterations=1, warmup_rounds=1)
    if impl != "numpy":  # same answers as NumPy, to float32 / float64 rounding
        ref = LIBM[func](x[:1000].astype(np.float64))
        np.testing.assert_allclose(out[:1000], ref, rtol=4 * np.finfo(dtype).eps)


def _ratio_table(json_path):
    import json

    data = json.loads(Path(json_path).read_text())
    med = {(b["extra_info"]["func"], b["extra_info"]["dtype"], b["extra_info"]["impl"]): b["stats"]["median"]
           for b in data["benchmarks"]}
    print(f"\nmedian ms per 1e7 elements (ratio = numpy / impl; > 1 is faster than NumPy), {THREADS} threads for -par")
    print(f"{'case':16s}" + "".join(f"{i:>22s}" for i in IMPLS))
    for func in FUNCS:
        for dtype in DTYPES:
            base = med.get((func, dtype, "numpy"))
            cells = []
            for impl in IMPLS:
                m = med.get((func, dtype, impl))
                cells.append("-" if m is None else f"{m * 1e3:8.1f} ({base / m:5.2f}x)")
            print(f"{func + ' ' + dtype:16s}" + "".join(f"{c:>22s}" for c in cells))


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        json_path = Path(tmp) / "bench.json"
        rc = pytest.main([__file__, "-q", "-p", "no:cacheprovider", "-o", "python_files=bench_*.py",
                          "--benchmark-enable", "-n", "0", "--benchmark-group-by=param:func,param:dtype",
                          "--benchmark-columns=median,iqr,rounds", f"--benchmark-json={json_path}", *sys.argv[1:]])
        if json_path.exists():
            _ratio_table(json_path)
    sys.exit(rc)
