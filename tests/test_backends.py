"""Backend selection, threads, determinism, and safety under Python threads and os.fork()."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import scipy.special as sp
from numpy.testing import assert_allclose

import fastloss
from conftest import BACKENDS

COMPILED = [b for b in BACKENDS if b != "numpy"]


def _run_python(code, env=None, timeout=120):
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout, env=full_env)


def test_import_does_not_import_numba_or_compile():
    res = _run_python("""
        import sys, fastloss
        assert "numba" not in sys.modules, "import fastloss imported numba"
        print("ok")
    """)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "ok"


def test_set_backend_and_context_manager():
    before = fastloss.get_backend()
    with fastloss.set_backend("numpy"):
        assert fastloss.get_backend() == "numpy"
        assert fastloss.config()["backend"] == "numpy"
    assert fastloss.get_backend() == before
    with pytest.raises(ValueError, match="backend"):
        fastloss.set_backend("fortran")
    with pytest.raises(ValueError, match="backend"):
        fastloss.set_backend(3)


@pytest.mark.parametrize("name", BACKENDS)
def test_env_variable_selects_backend(name):
    res = _run_python("import fastloss; print(fastloss.get_backend()); print(fastloss.expit(0.0))",
                      env={"FASTLOSS_BACKEND": name})
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == [name, "0.5"]


def test_env_variable_rejects_unknown_backend():
    res = _run_python("import fastloss; fastloss.logsumexp([0.0])", env={"FASTLOSS_BACKEND": "nope"})
    assert res.returncode != 0
    assert "FASTLOSS_BACKEND must be one of" in res.stderr


def test_num_threads_validation():
    with pytest.raises(ValueError, match="n must be >= 1"):
        fastloss.set_num_threads(0)
    with pytest.raises(TypeError, match="integer"):
        fastloss.set_num_threads(1.5)


@pytest.mark.parametrize("name", COMPILED)
def test_results_bitwise_identical_for_any_thread_count(name):
    rng = np.random.default_rng(11)
    n, k = 200_003, 7
    p = sp.softmax(rng.normal(size=(n, k)), axis=1)
    z = rng.normal(size=(n, k))
    y = rng.integers(0, k, n)
    w = rng.uniform(size=n)
    pb = rng.uniform(size=3 * n)
    yb = rng.integers(0, 2, 3 * n)
    calls = [
        lambda: fastloss.log_loss(y, p, sample_weight=w),
        lambda: fastloss.log_loss(yb, pb),
        lambda: fastloss.log_loss_from_logits(y, z),
        lambda: fastloss.logsumexp(pb),
        lambda: fastloss.logsumexp(z, axis=1).tobytes(),
        lambda: fastloss.softmax(z, axis=1).tobytes(),
        lambda: fastloss.expit(pb).tobytes(),
    ]
    with fastloss.set_backend(name):
        original = fastloss.get_num_threads()
        try:
            results = {}
            for threads in (1, 2, 1):
                fastloss.set_num_threads(threads)
                assert fastloss.get_num_threads() == min(threads, os.cpu_count())
                results.setdefault(threads, []).append([c() for c in calls])
            first = results[1][0]
            for runs in results.values():
                for run in runs:
                    assert run == first
        finally:
            fastloss.set_num_threads(original)


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="a limit of 1 thread is the default here")
@pytest.mark.parametrize("name", COMPILED)
def test_thread_limit_gives_back_the_previous_setting(name):
    with fastloss.set_backend(name):
        original = fastloss.get_num_threads()
        try:
            fastloss.set_num_threads(2)
            assert fastloss.get_num_threads() == 2
            with fastloss.thread_limit(1):
                assert fastloss.get_num_threads() == 1
            assert fastloss.get_num_threads() == 2
            with pytest.raises(RuntimeError, match="task failed"):
                with fastloss.thread_limit(1):
                    raise RuntimeError("task failed")
            assert fastloss.get_num_threads() == 2
        finally:
            fastloss.set_num_threads(original)
    with pytest.raises(ValueError, match="n must be >= 1"):
        with fastloss.thread_limit(0):
            pass
    with pytest.raises(TypeError, match="integer"):
        with fastloss.thread_limit(1.5):
            pass


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="a limit of 1 thread is the default here")
@pytest.mark.parametrize("name", COMPILED)
def test_thread_limit_is_shared_by_overlapping_blocks(name):
    """Block A enters, B enters, A leaves: B still runs limited; the setting comes back only
    when B, the last one, leaves."""
    import threading

    entered_a, entered_b, left_a = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def block_a():
        with fastloss.thread_limit(1):
            entered_a.set()
            entered_b.wait(10)
        left_a.set()

    def block_b():
        entered_a.wait(10)
        with fastloss.thread_limit(1):
            entered_b.set()
            left_a.wait(10)
            seen["b after a left"] = fastloss.get_num_threads()

    with fastloss.set_backend(name):
        original = fastloss.get_num_threads()
        try:
            fastloss.set_num_threads(2)
            threads = [threading.Thread(target=block_a), threading.Thread(target=block_b)]
            [t.start() for t in threads]
            [t.join(20) for t in threads]
            assert left_a.is_set() and seen == {"b after a left": 1}
            assert fastloss.get_num_threads() == 2
        finally:
            fastloss.set_num_threads(original)


@pytest.mark.parametrize("name", COMPILED)
def test_thread_limit_backend_loaded_inside_the_block(name):
    """A backend first loaded inside the block is limited, and afterwards has the setting a
    process that never used thread_limit has."""
    env = {"FASTLOSS_BACKEND": name}
    fresh = _run_python("import fastloss; print(fastloss.get_num_threads())", env=env)
    limited = _run_python("""
        import fastloss
        with fastloss.thread_limit(1):
            inside = fastloss.get_num_threads()  # imports the backend here
        print(inside, fastloss.get_num_threads())
    """, env=env)
    assert fresh.returncode == 0 and limited.returncode == 0, fresh.stderr + limited.stderr
    assert limited.stdout.split() == ["1", fresh.stdout.strip()]


CONCURRENT = """
    import threading, numpy as np, fastloss, scipy.special as sp
    from sklearn.metrics import log_loss
    fastloss.set_backend("{backend}")
    rng = np.random.default_rng(0)
    n, k = 300_000, 5
    p = sp.softmax(rng.normal(size=(n, k)), axis=1)
    y = rng.integers(0, k, n)
    expected = fastloss.log_loss(y, p)
    assert abs(expected - log_loss(y, p)) < 1e-9
    errors = []
    def work():
        for _ in range(5):
            got = fastloss.log_loss(y, p)
            if got != expected:
                errors.append(got)
            fastloss.logsumexp(p, axis=1)
    threads = [threading.Thread(target=work) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors, errors
    print("ok", fastloss.config().get("numba.threading_layer"))
"""


@pytest.mark.parametrize("name", COMPILED)
def test_concurrent_python_threads(name):
    res = _run_python(CONCURRENT.format(backend=name))
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.startswith("ok")


@pytest.mark.skipif("numba" not in BACKENDS, reason="numba not installed")
def test_concurrent_threads_on_guarded_workqueue_layer():
    """Without tbb, the workqueue layer aborts on concurrent parallel calls: the lock guard
    must turn those into serial calls instead."""
    res = _run_python(CONCURRENT.format(backend="numba"), env={"NUMBA_THREADING_LAYER": "workqueue"})
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.split() == ["ok", "workqueue"]


FORK = """
    import os, sys, numpy as np, fastloss
    fastloss.set_backend("{backend}")
    x = np.random.default_rng(0).normal(size=(400_000, 4))
    parent = fastloss.logsumexp(x, axis=1)
    pid = os.fork()
    if pid == 0:
        child = fastloss.logsumexp(x, axis=1)
        os._exit(0 if np.array_equal(child, parent) else 3)
    _, status = os.waitpid(pid, 0)
    print("child", os.waitstatus_to_exitcode(status))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.parametrize("name,layer", [(b, None) for b in COMPILED] + [("numba", "workqueue")])
def test_fork_child_after_parallel_parent(name, layer):
    if name not in BACKENDS:
        pytest.skip(f"{name} not available")
    env = {"NUMBA_THREADING_LAYER": layer} if layer else None
    res = _run_python(FORK.format(backend=name), env=env, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.split() == ["child", "0"]


def test_show_config_and_cli_info(capsys):
    fastloss.show_config()
    out = capsys.readouterr().out
    assert "backend: " in out and "num_threads: " in out and "numba_cache: " in out
    res = subprocess.run([sys.executable, "-m", "fastloss.cli", "info"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    for key in ("fastloss:", "numpy:", "backend:", "num_threads:", "numba_cache:"):
        assert key in res.stdout
    if "numba" in BACKENDS:
        res = _run_python("import fastloss; fastloss.set_backend('numba'); fastloss.expit(1.0); fastloss.show_config()")
        assert "numba.threading_layer: tbb" in res.stdout or "numba.threading_layer: workqueue" in res.stdout


def test_cli_bench_quick_runs(tmp_path):
    out_json = tmp_path / "b.json"
    res = subprocess.run(
        [sys.executable, "-m", "fastloss.cli", "bench", "--quick", "--repeats", "1", "--only", "tiny",
         "--json", str(out_json), "--no-plot"],
        capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "tiny: log_loss" in res.stdout
    import json

    data = json.loads(out_json.read_text())
    assert {r["contender"] for r in data["results"]} >= {"fastloss"}
    assert all(r["median_s"] > 0 for r in data["results"])


@pytest.mark.skipif("numba" not in BACKENDS, reason="the floor kernels are Numba's")
def test_cli_bench_reports_the_floor_for_all_threads_and_one(tmp_path):
    """A big workload's row carries the bytes it must move (input + output), its floor fraction
    at the run's threads and, with more than one thread, on one thread."""
    out_json = tmp_path / "b.json"
    res = subprocess.run(
        [sys.executable, "-m", "fastloss.cli", "bench", "--quick", "--repeats", "1", "--threads", "2",
         "--only", "expit 1e+06", "--json", str(out_json), "--no-plot"],
        capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    import json

    rows = {r["contender"]: r for r in json.loads(out_json.read_text())["results"]}
    ours = rows["fastloss"]
    assert ours["bytes"] == 2 * 8 * 1_000_000  # expit reads and writes 1e6 float64
    assert 0 < ours["fraction_of_floor"] and 0 < ours["fraction_of_floor_1t"]
    assert ours["floor_1t_s"] > 0 and ours["median_1t_s"] > 0
    assert "1 thread:" in res.stdout and "at floor: all threads / 1 thread" in res.stdout
    assert all("floor_s" in r for r in rows.values())


@pytest.mark.skipif(not {"numba", "cython"} <= set(BACKENDS), reason="needs numba and cython")
def test_auto_policy_small_calls_avoid_numba():
    """Unpinned, a small call runs on Cython and never imports Numba; a large one uses Numba;
    both agree with the pinned backends."""
    res = _run_python("""
        import sys, numpy as np, fastloss
        from fastloss import _backends
        assert _backends.is_auto()
        y = np.array([0, 1, 1, 0]); p = np.array([0.1, 0.8, 0.7, 0.3])
        small = fastloss.log_loss(y, p)
        assert "numba" not in sys.modules, "a small call imported numba"
        assert _backends.current_name(p.size) == "cython"
        big = np.random.default_rng(0).normal(size=_backends.AUTO_SMALL_MAX + 1)
        auto = fastloss.logsumexp(big)
        assert "numba" in sys.modules and _backends.current_name(big.size) == "numba"
        with fastloss.set_backend("cython"):
            assert abs(fastloss.logsumexp(big) - auto) <= 1e-12 * abs(auto)
            assert fastloss.log_loss(y, p) == small
        print("ok")
    """, env={"FASTLOSS_BACKEND": ""})
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip() == "ok"
