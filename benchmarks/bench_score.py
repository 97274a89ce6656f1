"""Out-of-core scoring benchmark: ``fastloss score`` against pandas + scikit-learn and Dask.

    python benchmarks/bench_score.py --gb 4            # 4 GB of probabilities (+ labels)
    python benchmarks/bench_score.py --gb 0.5 --keep   # smaller; keep the files for reruns

Writes y_true (int64) and y_pred (n x K float64, default K = 4) as .npy (and Parquet when pyarrow
is installed), then runs each contender in a fresh subprocess and prints rows/s and the peak RSS
of that subprocess (VmHWM). Before each run the files are evicted from the page cache with
posix_fadvise(DONTNEED) (``--warm`` keeps them cached), which mimics a file bigger than the page
cache on machines where it is not. Contenders that load the whole file are skipped when they
would need more than half of the available memory.

Contenders
  fastloss-score-npy      fastloss score (CLI) on the .npy files: chunked readinto, no memmap
  fastloss-score-parquet  fastloss score on the Parquet file (row groups)
  fastloss-inmemory       np.load + fastloss.log_loss (needs the whole file in memory)
  pandas-sklearn          pandas.read_parquet + sklearn.metrics.log_loss (whole file in memory)
  dask-sklearn            dask.array over the memory-mapped .npy, sklearn log_loss per block
  fastloss-dask           fastloss.dask.log_loss over the same dask arrays (threaded scheduler)
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CONTENDERS = ("fastloss-score-npy", "fastloss-score-parquet", "fastloss-inmemory",
              "pandas-sklearn", "dask-sklearn", "fastloss-dask")
# bytes of memory per row each whole-file contender needs, as a multiple of the file size
WHOLE_FILE_FACTOR = {"fastloss-inmemory": 1.2, "pandas-sklearn": 4.0}


def _write_npy_header(f, dtype, shape):
    np.lib.format.write_array_header_2_0(
        f, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False,
            "shape": shape})


def write_data(d, n, k, parquet, seed=0):
    rng = np.random.default_rng(seed)
    step = 1 << 21
    pq_writer = None
    if parquet:
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pa.schema([("y", pa.int64())] + [(f"p{j}", pa.float64()) for j in range(k)])
        pq_writer = pq.ParquetWriter(os.path.join(d, "data.parquet"), schema)
    with open(os.path.join(d, "y.npy"), "wb") as fy, open(os.path.join(d, "p.npy"), "wb") as fp:
        _write_npy_header(fy, np.int64, (n,))
        _write_npy_header(fp, np.float64, (n, k))
        for a in range(0, n, step):
            m = min(step, n - a)
            p = rng.random((m, k)) + 0.05
            p /= p.sum(axis=1, keepdims=True)
            y = rng.integers(0, k, m)
            if a == 0:
                y[:k] = np.arange(k)  # every class present
            fy.write(y.tobytes())
            fp.write(p.tobytes())
            if pq_writer is not None:
                cols = {"y": y, **{f"p{j}": p[:, j] for j in range(k)}}
                pq_writer.write_table(pa.table(cols), row_group_size=1 << 20)
    if pq_writer is not None:
        pq_writer.close()


def evict(paths):
    for path in paths:
        if not os.path.exists(path):
            continue
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


# ------------------------------------------------------------------------ contenders (child side)
def run_contender(name, d, k, threads):
    y_path, p_path = os.path.join(d, "y.npy"), os.path.join(d, "p.npy")
    pq_path = os.path.join(d, "data.parquet")
    labels = list(range(k))
    # libraries are imported before the clock starts; loading compiled kernels is timed
    import fastloss  # noqa: F401
    if name in ("pandas-sklearn", "dask-sklearn"):
        import sklearn.metrics  # noqa: F401
    if name == "pandas-sklearn":
        import pandas  # noqa: F401
    if "dask" in name:
        import dask.array  # noqa: F401
    if "parquet" in name:
        import pyarrow.parquet  # noqa: F401
    t0 = time.perf_counter()
    if name == "fastloss-score-npy" or name == "fastloss-score-parquet":
        from fastloss.cli_score import main

        out = os.path.join(d, f"{name}.json")
        if name.endswith("npy"):
            argv = ["--y-true", y_path, "--y-pred", p_path]
        else:
            argv = ["--y-true", pq_path, "--y-pred", pq_path, "--y-true-col", "y",
                    "--y-pred-col", ",".join(f"p{j}" for j in range(k))]
        code = main(argv + ["--json", out, "-q", "--no-progress"])
        assert code == 0
        with open(out) as f:
            loss = json.load(f)["loss"]
    elif name == "fastloss-inmemory":
        import fastloss

        loss = fastloss.log_loss(np.load(y_path), np.load(p_path))
    elif name == "pandas-sklearn":
        import pandas as pd
        from sklearn.metrics import log_loss

        df = pd.read_parquet(pq_path)
        loss = log_loss(df["y"], df[[f"p{j}" for j in range(k)]].to_numpy(), labels=labels)
    elif name in ("dask-sklearn", "fastloss-dask"):
        import dask
        import dask.array as da

        y = np.load(y_path, mmap_mode="r")
        p = np.load(p_path, mmap_mode="r")
        rows = max(1 << 16, (32 << 20) // (8 * k))
        Y = da.from_array(y, chunks=rows)
        P = da.from_array(p, chunks=(rows, k))
        with dask.config.set(scheduler="threads", num_workers=threads):
            if name == "fastloss-dask":
                import fastloss.dask as fd

                loss = float(fd.log_loss(Y, P, labels=labels).compute())
            else:
                from sklearn.metrics import log_loss

                def block_sum(yb, pb):
                    return np.array([log_loss(yb, pb, labels=labels, normalize=False)])

                parts = [dask.delayed(block_sum)(yb, pb)
                         for yb, pb in zip(Y.to_delayed().ravel(), P.to_delayed().ravel())]
                loss = float(np.sum(dask.compute(*parts))) / y.shape[0]
    else:
        raise SystemExit(f"unknown contender {name}")
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "loss": float(loss), "peak_rss_mb": _vm_hwm_mb()}


def _vm_hwm_mb():
    """Peak RSS of this process (VmHWM). wait4's ru_maxrss is not used: on Linux it also counts
    the parent's RSS at fork time."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------------ parent side
def measure(name, d, k, threads, n):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", name, "--dir", d, "--k", str(k),
           "--threads", str(threads)]
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    out, err = proc.stdout.read().decode(), proc.stderr.read().decode()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        return {"name": name, "error": (err.strip().splitlines() or ["?"])[-1]}
    res = json.loads(out.strip().splitlines()[-1])
    res.update(name=name, wall=wall, rows_per_s=n / res["seconds"])
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gb", type=float, default=4.0, help="size of y_pred in GB (default 4)")
    ap.add_argument("--k", type=int, default=4, help="classes (columns of y_pred)")
    ap.add_argument("--dir", help="where to write the data (default: a temporary directory)")
    ap.add_argument("--keep", action="store_true", help="keep the data files")
    ap.add_argument("--warm", action="store_true", help="do not evict the files from the page cache")
    ap.add_argument("--only", nargs="+", choices=CONTENDERS, help="contenders to run")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="Dask threads")
    ap.add_argument("--json", help="write the results as JSON")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(run_contender(args.child, args.dir, args.k, args.threads)))
        return 0

    n = int(args.gb * 1e9) // (8 * args.k)
    d = args.dir or tempfile.mkdtemp(prefix="fastloss-bench-score-")
    os.makedirs(d, exist_ok=True)
    try:
        import pyarrow  # noqa: F401
        have_pq = True
    except ImportError:
        have_pq = False
    marker = os.path.join(d, f"n{n}-k{args.k}-pq{int(have_pq)}.ok")
    if not os.path.exists(marker):
        t0 = time.perf_counter()
        write_data(d, n, args.k, have_pq)
        open(marker, "w").close()
        print(f"wrote {n:,} rows x {args.k} classes to {d} in {time.perf_counter() - t0:.0f} s")
    sizes = {f: os.path.getsize(os.path.join(d, f)) for f in os.listdir(d)
             if f.endswith((".npy", ".parquet"))}
    print("files: " + ", ".join(f"{f} {s / 1e9:.2f} GB" for f, s in sorted(sizes.items())))
    avail = None
    try:
        import psutil

        avail = psutil.virtual_memory().available
    except ImportError:
        pass
    npy_bytes = sizes.get("p.npy", 0) + sizes.get("y.npy", 0)
    results = []
    for name in args.only or CONTENDERS:
        if "parquet" in name or name == "pandas-sklearn":
            if not have_pq:
                results.append({"name": name, "error": "skipped: pyarrow not installed"})
                continue
        if name in WHOLE_FILE_FACTOR and avail is not None and \
                WHOLE_FILE_FACTOR[name] * npy_bytes > avail / 2:
            results.append({"name": name, "error": f"skipped: needs ~{WHOLE_FILE_FACTOR[name] * npy_bytes / 1e9:.1f} GB "
                                                   f"in memory, {avail / 1e9:.1f} GB available"})
            continue
        if not args.warm:
            evict([os.path.join(d, f) for f in sizes])
        res = measure(name, d, args.k, args.threads, n)
        results.append(res)
        if "error" in res:
            print(f"{name:24s} {res['error']}")
        else:
            print(f"{name:24s} {res['rows_per_s'] / 1e6:8.2f} M rows/s  {res['seconds']:7.2f} s  "
                  f"peak RSS {res['peak_rss_mb']:7.0f} MB  loss {res['loss']!r}")
        sys.stdout.flush()
    ok = [r for r in results if "error" not in r]
    if ok:
        ref = next((r for r in ok if r["name"] == "fastloss-score-npy"), ok[0])
        print()
        print(f"| contender | rows/s | seconds | peak RSS (MB) | rel. diff vs {ref['name']} |")
        print("|---|---:|---:|---:|---:|")
        for r in results:
            if "error" in r:
                print(f"| {r['name']} | – | – | – | {r['error']} |")
            else:
                rel = abs(r["loss"] - ref["loss"]) / abs(ref["loss"])
                print(f"| {r['name']} | {r['rows_per_s'] / 1e6:.2f} M | {r['seconds']:.2f} | "
                      f"{r['peak_rss_mb']:.0f} | {rel:.1e} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": n, "k": args.k, "files": sizes, "cold": not args.warm,
                       "results": results}, f, indent=2)
    if not args.keep and not args.dir:
        shutil.rmtree(d, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
