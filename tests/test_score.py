"""fastloss score: the streaming engine (fastloss.score) and its command line (fastloss.cli_score)."""
import json
import os
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import fastloss
from fastloss import score as engine
from fastloss._score import readers
from fastloss._score.partials import ChunkScorer
from fastloss.cli_score import main as score_main

N = 20_011  # prime: no chunk size divides it
RTOL = 1e-12


def _rel(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("score")
    rng = np.random.default_rng(42)
    arrays = {
        "y3": rng.integers(0, 3, N),
        "p3": rng.dirichlet([1.0, 2.0, 3.0], N),
        "w": rng.random(N) * 3,
        "y2": rng.integers(0, 2, N).astype(np.int8),
        "p2f32": rng.random(N).astype(np.float32),
        "p2f16": rng.uniform(0.01, 0.99, N).astype(np.float16),
        "z3": rng.normal(scale=3, size=(N, 3)),
        "z1": rng.normal(scale=3, size=N).astype(np.float32),
        "ystr": np.array(["cat", "dog", "emu"])[rng.integers(0, 3, N)],
        "yind": (rng.random((N, 3)) < 0.4).astype(np.int64),
        "y3f": rng.integers(5, 8, N).astype(np.float64),
        "p3big": np.repeat(rng.dirichlet([1.0, 1.0, 1.0], 1), N, axis=0) * 1.01,
    }
    paths = {}
    for name, arr in arrays.items():
        paths[name] = str(d / f"{name}.npy")
        np.save(paths[name], arr)
    return d, arrays, paths


def _run(capsys, *argv):
    code = score_main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


CASES = [
    # (y, p, weights?, logits?, extra kwargs for the in-memory call)
    ("y3", "p3", False, False),
    ("y3", "p3", True, False),
    ("y2", "p2f32", False, False),
    ("y2", "p2f32", True, False),
    ("y2", "p2f16", False, False),
    ("ystr", "p3", True, False),
    ("y3f", "p3", False, False),
    ("yind", "p3", False, False),
    ("y3", "z3", True, True),
    ("y2", "z1", False, True),
    ("yind", "z3", False, True),
]


@pytest.mark.parametrize("chunk_rows", [997, 4096, None])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(str(x) for x in c))
def test_engine_equals_in_memory(data, case, chunk_rows):
    d, arrays, paths = data
    yname, pname, weighted, logits = case
    w = arrays["w"] if weighted else None
    func = fastloss.log_loss_from_logits if logits else fastloss.log_loss
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = func(arrays[yname], arrays[pname], sample_weight=w)
            got = engine.score_files(paths[yname], paths[pname], logits=logits,
                                     sample_weight=paths["w"] if weighted else None,
                                     chunk_rows=chunk_rows)
    assert got.rows == N
    assert _rel(got.loss, expected) < RTOL
    if not weighted:
        assert got.weight_sum == N


def test_sum_and_labels_given(data):
    d, arrays, paths = data
    exp = fastloss.log_loss(arrays["y3"], arrays["p3"], normalize=False, labels=[0, 1, 2])
    got = engine.score_files(paths["y3"], paths["p3"], normalize=False, labels=["0", "1", "2"],
                             chunk_rows=1000)
    assert not got.labels_inferred and got.classes == [0, 1, 2]
    assert _rel(got.loss, exp) < RTOL
    # binary probabilities whose y_true holds a single class need labels
    y = np.zeros(N, dtype=np.int64)
    np.save(d / "yzero.npy", y)
    exp = fastloss.log_loss(y, arrays["p2f32"], labels=[0, 1])
    got = engine.score_files(d / "yzero.npy", paths["p2f32"], labels=[0, 1], chunk_rows=333)
    assert _rel(got.loss, exp) < RTOL
    with pytest.raises(engine.ScoreError, match="only one label"):
        engine.score_files(d / "yzero.npy", paths["p2f32"])


def test_catalogue_losses(data, tmp_path):
    losses = pytest.importorskip("fastloss.losses")
    d, arrays, paths = data
    rng = np.random.default_rng(5)
    y_real, raw_real = rng.normal(size=N), rng.normal(size=N)
    np.save(tmp_path / "yr.npy", y_real)
    np.save(tmp_path / "rr.npy", raw_real)
    cases = {"squared_error": ("yr", "rr"), "huber": ("yr", "rr"), "cross_entropy": ("y3", "z3"),
             "binary_cross_entropy": ("y2", "z1")}
    local = {"yr": y_real, "rr": raw_real}
    for name, (yk, rk) in cases.items():
        if name not in getattr(losses, "CATALOGUE", {}):
            continue
        y = local.get(yk, arrays.get(yk))
        raw = local.get(rk, arrays.get(rk))
        yp = str(tmp_path / f"{yk}.npy") if yk in local else paths[yk]
        rp = str(tmp_path / f"{rk}.npy") if rk in local else paths[rk]
        exp = losses.CATALOGUE[name].loss(y, raw, sample_weight=arrays["w"])
        got = engine.score_files(yp, rp, loss=name, sample_weight=paths["w"], chunk_rows=3333)
        assert _rel(got.loss, exp) < RTOL, name
        assert got.classes is None


def test_rowsum_warning_reported(data, capsys):
    d, arrays, paths = data
    code, out, err = _run(capsys, "--y-true", paths["y3"], "--y-pred", paths["p3big"])
    assert code == 0
    assert err.count("\n") == 1 and "do not sum to one" in err


def test_cli_output_and_json(data, capsys, tmp_path):
    d, arrays, paths = data
    js = tmp_path / "out.json"
    code, out, err = _run(capsys, "--y-true", paths["y3"], "--y-pred", paths["p3"],
                          "--sample-weight", paths["w"], "--chunk-rows", 1234, "--json", js)
    assert code == 0, err
    assert err == ""  # not a TTY: no progress bar
    exp = fastloss.log_loss(arrays["y3"], arrays["p3"], sample_weight=arrays["w"])
    assert "rows: 20011" in out and "rows/s" in out and "weight sum" in out
    result = json.loads(js.read_text())
    assert _rel(result["loss"], exp) < RTOL
    assert result["rows"] == N and result["chunks"] == -(-N // 1234)
    assert abs(result["weight_sum"] - arrays["w"].sum()) < 1e-9 * arrays["w"].sum()
    code, out, err = _run(capsys, "--y-true", paths["y3"], "--y-pred", paths["p3"], "-q")
    assert code == 0 and _rel(float(out), fastloss.log_loss(arrays["y3"], arrays["p3"])) < RTOL


def test_parquet(data, tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    d, arrays, paths = data
    y, p, w = arrays["y3"], arrays["p3"], arrays["w"]
    table = pa.table({"label": y, "p0": p[:, 0], "p1": p[:, 1], "p2": p[:, 2], "w": w,
                      "plist": pa.array(list(p), type=pa.list_(pa.float64(), 3))})
    path = tmp_path / "scores.parquet"
    pq.write_table(table, path, row_group_size=3001)
    exp = fastloss.log_loss(y, p, sample_weight=w)
    got = engine.score_files(path, path, y_true_col="label", y_pred_cols=["p0", "p1", "p2"],
                             weight_col="w", chunk_rows=2000)
    assert _rel(got.loss, exp) < RTOL
    got = engine.score_files(path, path, y_true_col="label", y_pred_cols=["plist"],
                             weight_col="w", chunk_rows=5000)
    assert _rel(got.loss, exp) < RTOL
    # mixed: labels from .npy, scores from parquet
    got = engine.score_files(paths["y3"], path, y_pred_cols=["p0", "p1", "p2"], chunk_rows=7000)
    assert _rel(got.loss, fastloss.log_loss(y, p)) < RTOL
    with pytest.raises(engine.ScoreError, match="no column 'nope'"):
        engine.score_files(path, path, y_true_col="nope", y_pred_cols=["p0"])
    with pytest.raises(engine.ScoreError, match="choose with"):
        engine.score_files(path, path, y_true_col="label")


def _bad_inputs(d, arrays, paths):
    rng = np.random.default_rng(1)
    n = 5000
    y = rng.integers(0, 2, n)
    p = rng.random(n)
    np.save(d / "by.npy", y)
    np.save(d / "bp.npy", p)
    p_nan = p.copy()
    p_nan[4321] = np.nan
    np.save(d / "bp_nan.npy", p_nan)
    np.save(d / "bp_big.npy", p * 2)
    np.save(d / "bp_str.npy", np.array(["a"] * n))
    np.save(d / "bp_3d.npy", np.zeros((n, 2, 2)))
    np.save(d / "bp_short.npy", p[:-1])
    np.save(d / "by_obj.npy", np.array([object()] * n, dtype=object), allow_pickle=True)
    np.save(d / "bw_nan.npy", np.where(np.arange(n) == 7, np.nan, 1.0))
    np.save(d / "bw_2d.npy", np.ones((n, 2)))
    np.save(d / "by_5.npy", np.where(np.arange(n) == 4000, 5, y))
    raw = (d / "bp.npy").read_bytes()
    (d / "bp_trunc.npy").write_bytes(raw[: len(raw) - 1000])
    (d / "bp_junk.npy").write_bytes(b"this is not a numpy file at all" * 10)
    np.save(d / "bz_nan.npy", p_nan)
    return {
        "nan": ["--y-true", d / "by.npy", "--y-pred", d / "bp_nan.npy"],
        "range": ["--y-true", d / "by.npy", "--y-pred", d / "bp_big.npy"],
        "dtype": ["--y-true", d / "by.npy", "--y-pred", d / "bp_str.npy"],
        "shape": ["--y-true", d / "by.npy", "--y-pred", d / "bp_3d.npy"],
        "length": ["--y-true", d / "by.npy", "--y-pred", d / "bp_short.npy"],
        "object": ["--y-true", d / "by_obj.npy", "--y-pred", d / "bp.npy"],
        "weight_nan": ["--y-true", d / "by.npy", "--y-pred", d / "bp.npy", "--sample-weight", d / "bw_nan.npy"],
        "weight_2d": ["--y-true", d / "by.npy", "--y-pred", d / "bp.npy", "--sample-weight", d / "bw_2d.npy"],
        "three_labels": ["--y-true", d / "by_5.npy", "--y-pred", d / "bp.npy"],
        "unknown_label": ["--y-true", d / "by_5.npy", "--y-pred", d / "bp.npy", "--labels", "0", "1"],
        "truncated": ["--y-true", d / "by.npy", "--y-pred", d / "bp_trunc.npy"],
        "junk": ["--y-true", d / "by.npy", "--y-pred", d / "bp_junk.npy"],
        "missing": ["--y-true", d / "by.npy", "--y-pred", d / "does_not_exist.npy"],
        "logits_nan": ["--y-true", d / "by.npy", "--y-pred", d / "bz_nan.npy", "--logits"],
        "unknown_loss": ["--y-true", d / "by.npy", "--y-pred", d / "bp.npy", "--loss", "no_such_loss"],
    }


EXPECT = {
    "nan": "NaN (rows 0-4999)", "range": "greater than 1", "dtype": "real numbers",
    "shape": "dim 3", "length": "inconsistent numbers of samples", "object": "Python objects",
    "weight_nan": "sample_weight contains NaN", "weight_2d": "1D", "three_labels": "different number of classes",
    "unknown_label": "not belonging to the passed labels", "truncated": "truncated",
    "junk": "not a valid .npy", "missing": "cannot open", "logits_nan": "logits contains NaN",
    "unknown_loss": "loss",
}


def test_bad_files_one_line(data, capsys):
    d, arrays, paths = data
    for name, argv in _bad_inputs(d, arrays, paths).items():
        code, out, err = _run(capsys, *argv, "--chunk-rows", 5000 if name == "nan" else 1000)
        assert code == 1, (name, out, err)
        assert err.count("\n") == 1 and err.startswith("fastloss score: error: "), (name, code, out, err)
        assert EXPECT[name] in err, (name, err)
        assert "Traceback" not in err and out == ""


def _watch_reads(monkeypatch, slow_role=None, fail_role=None, fail_chunk=None):
    """Patch the .npy readers: the read of chunk 1 of ``slow_role`` sleeps 10 ms, the read
    of chunk ``fail_chunk`` of ``fail_role`` raises; returns counters of reads in flight and of
    files closed while a read was running."""
    state = {"in_flight": 0, "closed_during_read": 0}
    lock = threading.Lock()
    real_open = readers.NpySource.open

    def watched_open(source, chunk_rows, n_buffers=2):
        reader = real_open(source, chunk_rows, n_buffers)
        real_read, real_close = reader.read, reader.close
        calls = {"n": 0}

        def read(slot, n):
            chunk = calls["n"]
            calls["n"] += 1
            with lock:
                state["in_flight"] += 1
            try:
                if source.role == slow_role and chunk == 1:
                    time.sleep(0.01)
                if source.role == fail_role and chunk == fail_chunk:
                    raise engine.ScoreError(f"{source.role}: injected read error of chunk {chunk}")
                return real_read(slot, n)
            finally:
                with lock:
                    state["in_flight"] -= 1

        def close():
            with lock:
                state["closed_during_read"] += state["in_flight"] > 0
            real_close()

        reader.read, reader.close = read, close
        return reader

    monkeypatch.setattr(readers.NpySource, "open", watched_open)
    return state


def test_error_waits_for_the_read_ahead(data, monkeypatch):
    """Issue 13: the scorer fails on chunk 0 while the read-ahead thread still reads chunk 1.
    The scorer's error is reported, and only once that read is over: a file closed under a
    running readinto frees its descriptor number for the next open(), and the late read then
    eats the next file's bytes (seen as 'bp.npy is truncated' in the next run)."""
    d, arrays, paths = data
    _bad_inputs(d, arrays, paths)
    state = _watch_reads(monkeypatch, slow_role="y_pred")
    for _ in range(50):
        with pytest.raises(engine.ScoreError, match=r"sample_weight contains NaN \(rows 0-999\)"):
            engine.score_files(d / "by.npy", d / "bp.npy", sample_weight=d / "bw_nan.npy",
                               chunk_rows=1000)
        assert state["in_flight"] == 0, "score_files raised while a read was still running"
        with pytest.raises(engine.ScoreError, match="not belonging to the passed labels"):
            engine.score_files(d / "by_5.npy", d / "bp.npy", labels=[0, 1], chunk_rows=1000)
    assert state["closed_during_read"] == 0


@pytest.mark.parametrize("bad_row, expected", [
    (1500, r"values \[5\] not belonging to the passed labels \[0, 1\] \(rows 1000-1999\)"),
    (3500, "injected read error of chunk 2"),
], ids=["scorer-error-first", "read-error-first"])
def test_errors_in_row_order(data, monkeypatch, tmp_path, bad_row, expected):
    """A bad label in chunk 1 beats a read error of chunk 2 that happens while chunk 1 is being
    scored (slowly); a read error of chunk 2 beats a bad label in chunk 3."""
    d, arrays, paths = data
    y = np.where(np.arange(5000) == bad_row, 5, np.random.default_rng(1).integers(0, 2, 5000))
    np.save(tmp_path / "y.npy", y)
    np.save(tmp_path / "p.npy", np.full(5000, 0.5))
    state = _watch_reads(monkeypatch, fail_role="y_pred", fail_chunk=2)
    real_partials = ChunkScorer.partials

    def slow_partials(scorer, y, p, w=None, row_start=0):
        if row_start == 1000:
            time.sleep(0.005)  # the read-ahead of chunk 2 fails meanwhile
        return real_partials(scorer, y, p, w, row_start)

    monkeypatch.setattr(ChunkScorer, "partials", slow_partials)
    for _ in range(25):
        with pytest.raises(engine.ScoreError, match=expected):
            engine.score_files(tmp_path / "y.npy", tmp_path / "p.npy", labels=[0, 1], chunk_rows=1000)
        assert state["in_flight"] == 0
    assert state["closed_during_read"] == 0


def test_cli_subprocess_exit_codes(data):
    """Through the real entry point: one line, exit 1, no traceback; bad usage is exit 2."""
    d, arrays, paths = data
    cmd = [sys.executable, "-m", "fastloss.cli", "score"]
    bad = subprocess.run(cmd + ["--y-true", paths["y3"], "--y-pred", str(d / "nothing.npy")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
    usage = subprocess.run(cmd + ["--y-true", paths["y3"]], capture_output=True, text=True, timeout=120)
    assert usage.returncode == 2
    ok = subprocess.run(cmd + ["--y-true", paths["y3"], "--y-pred", paths["p3"], "-q"],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and ok.stderr == ""
    assert _rel(float(ok.stdout), fastloss.log_loss(arrays["y3"], arrays["p3"])) < RTOL


RSS_SCRIPT = textwrap.dedent("""
    import sys, numpy as np
    from fastloss import score

    def status(key):
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024

    d = sys.argv[1]
    # warm up: load the kernels (and Numba) on a tiny file; then reset the peak (VmHWM) and take
    # the current RSS as the baseline
    score.score_files(d + "/small_y.npy", d + "/small_p.npy")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    base = status("VmRSS")
    r = score.score_files(d + "/big_y.npy", d + "/big_p.npy", chunk_rows=int(sys.argv[2]))
    peak = status("VmHWM")
    print(base, peak, repr(r.loss), r.rows)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_peak_rss_bounded(tmp_path):
    """Scoring a 200 MB file with 1 Mi-row chunks adds ~chunk-sized buffers, not the file."""
    n = 25_000_000
    rng = np.random.default_rng(0)
    d = str(tmp_path)
    # write the big inputs in pieces so the test process itself stays small
    for name, make, dtype in (("big_p", lambda k: rng.random(k), np.float64),
                              ("big_y", lambda k: rng.integers(0, 2, k), np.int8)):
        with open(f"{d}/{name}.npy", "wb") as f:
            np.lib.format.write_array_header_1_0(
                f, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False,
                    "shape": (n,)})
            for a in range(0, n, 1 << 22):
                f.write(make(min(1 << 22, n - a)).astype(dtype).tobytes())
    np.save(f"{d}/small_y.npy", np.array([0, 1, 1]))
    np.save(f"{d}/small_p.npy", np.array([0.2, 0.7, 0.9]))
    chunk = 1 << 20
    proc = subprocess.run([sys.executable, "-c", RSS_SCRIPT, d, str(chunk)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    base, peak, loss, rows = proc.stdout.split()
    growth = int(peak) - int(base)
    file_bytes = os.path.getsize(f"{d}/big_p.npy") + os.path.getsize(f"{d}/big_y.npy")
    chunk_bytes = chunk * (8 + 1)
    # 2 read buffers per input + label/code temporaries (~8-16 B/row) for the chunk in flight
    assert growth < 8 * chunk_bytes + (16 << 20), (growth, chunk_bytes)
    assert growth < file_bytes / 4, (growth, file_bytes)
    assert int(rows) == n and np.isfinite(float(loss))
