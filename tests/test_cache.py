"""Numba's on-disk cache: unwritable locations and many processes starting at once."""
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from conftest import BACKENDS

pytestmark = pytest.mark.skipif("numba" not in BACKENDS, reason="numba not installed")

SCRIPT = textwrap.dedent("""
    import numpy as np, fastloss
    fastloss.set_backend("numba")
    y = np.array([0, 1, 1, 0]); p = np.array([0.1, 0.8, 0.7, 0.3])
    v = fastloss.log_loss(y, p)
    import math
    expected = -(math.log(0.9) + math.log(0.8) + math.log(0.7) + math.log(0.7)) / 4
    assert abs(v - expected) < 1e-12, v
    assert fastloss.expit(0.0) == 0.5
    print("ok")
""")


def test_processes_share_a_cold_cache(tmp_path):
    """Four processes (twice the cores here) compile the same kernels into one empty cache at
    once, then a fifth reads it."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    procs = [subprocess.Popen([sys.executable, "-c", SCRIPT], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outs = [p.communicate(timeout=300) for p in procs]
    for proc, (out, err) in zip(procs, outs):
        assert proc.returncode == 0, err[-2000:]
        assert out.strip() == "ok"
    # the cache is now warm and readable by another process
    res = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr[-2000:]
    assert any(name.endswith(".nbi") for _, _, files in os.walk(tmp_path / "cache") for name in files)


def test_read_only_package_directory_falls_back(tmp_path):
    """A copy of fastloss whose directories are read-only and a HOME we cannot write: kernels
    still work (cache goes to a temp dir). Simulated with NUMBA_CACHE_DIR unset and the guard's
    probe pointed at unwritable paths."""
    import fastloss

    pkg = tmp_path / "site" / "fastloss"
    shutil.copytree(os.path.dirname(fastloss.__file__), pkg,
                    ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.c"))
    code = textwrap.dedent(f"""
        import importlib.util, os
        spec = importlib.util.spec_from_file_location("guard", {str(pkg / "_numba" / "_cache_guard.py")!r})
        g = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(g)
        g._writable = lambda path: False   # every probe fails: read-only tree and home
        g.ensure_cache_dir()               # what fastloss._numba runs before defining kernels
    """) + SCRIPT + 'print(os.environ["NUMBA_CACHE_DIR"])\n'
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["PYTHONPATH"] = str(tmp_path / "site")
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=300, cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    lines = res.stdout.split()
    assert lines[0] == "ok"
    assert "fastloss-numba-cache" in lines[1]


def test_cached_kernels_are_named_after_every_source_they_inline(tmp_path):
    """Numba's cache checks only the stamp of the file defining a kernel; fastloss names each
    cached function after a hash of every kernel source (fastloss/_numba/_flags.py), so a change
    to _math.py (inlined into special.py's and metrics.py's kernels) cannot load a stale kernel.
    Every cached dispatcher carries the tag, and the tag of a copy of the package changes when
    any of those sources does."""
    import importlib
    import shutil

    from numba.core.registry import CPUDispatcher

    from fastloss._numba import _flags

    cached = []
    for name in ("_math", "_tiled", "special", "metrics", "engine"):
        module = importlib.import_module(f"fastloss._numba.{name}")
        for obj in vars(module).values():
            if isinstance(obj, CPUDispatcher) and type(obj._cache).__name__ != "NullCache":
                cached.append(obj)
                assert obj.py_func.__qualname__.endswith(f"__{_flags.TAG}"), obj.py_func.__qualname__
    assert len(cached) >= 30
    package = os.path.dirname(os.path.dirname(_flags.__file__))
    copy = tmp_path / "fastloss"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.c"))
    tag = f"""
import importlib.util, sys
spec = importlib.util.spec_from_file_location("flags_copy", r"{copy / '_numba' / '_flags.py'}")
module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
print(module.TAG)
"""
    run = lambda: subprocess.run([sys.executable, "-c", tag], capture_output=True, text=True, check=True).stdout.strip()  # noqa: E731
    assert run() == _flags.TAG
    for source in ("_numba/_math.py", "_numba/_tiled.py", "_formulas.py", "_catalogue.py"):
        with open(copy / source, "a") as fh:
            fh.write("\n# changed\n")
        changed = run()
        assert changed != _flags.TAG, source
