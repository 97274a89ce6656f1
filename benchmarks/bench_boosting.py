"""Training time of LightGBM and XGBoost with a fastloss objective against the built-in objective
and a three-line NumPy objective (issue 12's table).

Every training runs in a fresh process (so the first objective call, imports included, is in the
time, as a user meets it); only the ``train`` call is timed, the Dataset/DMatrix is built before.
Variants run interleaved round by round; the table gives medians, the ratio to the built-in from
the same rounds, and the largest difference of the raw predictions from the built-in's.

    python benchmarks/bench_boosting.py                  # 2e5 and 2e6 rows, 3 rounds
    python benchmarks/bench_boosting.py --rows 2e5 --rounds 5
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

VARIANTS = ("built-in", "numpy", "fastloss", "fastloss (numba)")

CHILD = r"""
import json, sys, time, warnings
import numpy as np
lib, variant, n, k, trees = sys.argv[1], sys.argv[2], int(float(sys.argv[3])), int(sys.argv[4]), int(sys.argv[5])
rng = np.random.default_rng(0)
X = rng.normal(size=(n, 20))
w = rng.random(n) + 0.5
if k == 2:
    y = (rng.random(n) < 1 / (1 + np.exp(-(X[:, 0] + 0.5 * X[:, 1] - 0.25 * X[:, 2] * X[:, 3])))).astype(np.float64)
else:
    y = np.argmax(X[:, :k] + rng.gumbel(size=(n, k)), axis=1).astype(np.float64)

def numpy_objective(p, y, w):
    if k == 2:
        q = 1 / (1 + np.exp(-p))
        return (q - y) * w, q * (1 - q) * w
    e = np.exp(p - p.max(axis=1, keepdims=True))
    q = e / e.sum(axis=1, keepdims=True)
    t = np.zeros_like(q)
    t[np.arange(len(y)), y.astype(int)] = 1
    f = (k / (k - 1.0)) if lib == "lightgbm" else 2.0
    return (q - t) * w[:, None], f * q * (1 - q) * w[:, None]

loss = "binary_cross_entropy" if k == 2 else "cross_entropy"
if lib == "lightgbm":
    import lightgbm as lgb
    import fastloss.lightgbm as fl
    params = {"verbose": -1, "num_threads": 2, "seed": 0, "deterministic": True}
    if k > 2:
        params["num_class"] = k
    obj = fl.objective(loss)
    init = obj.init_score(y, w)
    if variant == "built-in":
        params["objective"] = "binary" if k == 2 else "multiclass"
        ds = lgb.Dataset(X, y, weight=w)
    else:
        if variant == "numpy":
            params["objective"] = lambda p, d: numpy_objective(p, d.get_label(), d.get_weight())
        else:
            params["objective"] = obj
        ds = lgb.Dataset(X, y, weight=w, init_score=init)
    ds.construct()
    if variant == "fastloss (numba)":
        import fastloss; fastloss.set_backend("numba")
    t = time.perf_counter()
    booster = lgb.train(params, ds, trees)
    elapsed = time.perf_counter() - t
    raw = booster.predict(X[:20000], raw_score=True) + (0 if variant == "built-in" else init[:20000])
else:
    import xgboost as xgb
    import fastloss.xgboost as fx
    params = {"nthread": 2, "seed": 0, "tree_method": "hist", "max_depth": 6}
    if k > 2:
        params["num_class"] = k
    obj = fx.objective(loss)
    d = xgb.DMatrix(X, y, weight=w)
    kw = {}
    if variant == "built-in":
        params["objective"] = "binary:logistic" if k == 2 else "multi:softprob"
    else:
        params["base_score"] = obj.init_score(y, w)
        if variant == "numpy":
            kw["obj"] = lambda p, dm: numpy_objective(p, dm.get_label(), dm.get_weight())
        else:
            kw["obj"] = obj
    if variant == "fastloss (numba)":
        import fastloss; fastloss.set_backend("numba")
    t = time.perf_counter()
    booster = xgb.train(params, d, trees, **kw)
    elapsed = time.perf_counter() - t
    raw = booster.predict(xgb.DMatrix(X[:20000]), output_margin=True)
np.save(sys.argv[6], np.asarray(raw, dtype=np.float64))
print(json.dumps({"seconds": elapsed}))
"""


def run(lib: str, variant: str, rows: float, k: int, trees: int, raw_path: str) -> float:
    out = subprocess.run([sys.executable, "-c", CHILD, lib, variant, str(rows), str(k), str(trees), raw_path],
                         capture_output=True, text=True, check=True)
    return float(json.loads(out.stdout.strip().splitlines()[-1])["seconds"])


def main(argv: list[str] | None = None) -> None:
    import os
    import tempfile

    import numpy as np

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", nargs="+", default=["2e5", "2e6"])
    ap.add_argument("--classes", nargs="+", type=int, default=[2])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--trees", type=int, default=100)
    ap.add_argument("--libs", nargs="+", default=["lightgbm", "xgboost"])
    args = ap.parse_args(argv)
    tmp = tempfile.mkdtemp()
    print("| library | rows | K | objective | train time (median) | / built-in | max |raw - built-in| |")
    print("|---|---|---|---|---|---|---|")
    for lib in args.libs:
        for rows in args.rows:
            for k in args.classes:
                times: dict[str, list[float]] = {v: [] for v in VARIANTS}
                for _ in range(args.rounds):
                    for v in VARIANTS:
                        times[v].append(run(lib, v, float(rows), k, args.trees,
                                            os.path.join(tmp, f"{v}.npy")))
                ref = np.load(os.path.join(tmp, "built-in.npy"))
                base = statistics.median(times["built-in"])
                for v in VARIANTS:
                    med = statistics.median(times[v])
                    ratios = [a / b for a, b in zip(times[v], times["built-in"])]
                    diff = float(np.abs(np.load(os.path.join(tmp, f"{v}.npy")) - ref).max())
                    print(f"| {lib} | {rows} | {k} | {v} | {med:.3f} s | {statistics.median(ratios):.3f} "
                          f"(built-in {base:.3f} s) | {diff:.1e} |", flush=True)


if __name__ == "__main__":
    main()
