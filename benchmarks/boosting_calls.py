"""Where an objective call's time goes inside a threaded host (issue 12, item 3).

Times one binary cross-entropy ``gradient_hessian`` call (float32 labels, as LightGBM and XGBoost
hand them over) per boosting round inside LightGBM's and XGBoost's training loops, and right after
a parallel operation of scikit-learn (HistGradientBoosting.predict) and PyTorch (a matmul on its
intra-op pool), against the same call on the same arrays in a quiet loop. Per objective: fastloss
as shipped (fastloss.lightgbm's objective, and in the XGBoost column fastloss.xgboost's), the same
with Numba pinned, and the three-line NumPy objective. Medians over the calls.

    python benchmarks/boosting_calls.py [--rows 2e5 2e6]
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def numpy_gh(y, p):
    q = 1 / (1 + np.exp(-p))
    return q - y, q * (1 - q)


def objectives():
    """Per objective: (its call as LightGBM makes it (labels, scores), the callable XGBoost is
    given (scores, DMatrix)). fastloss's are the shipped objectives of fastloss.lightgbm and
    fastloss.xgboost (the latter reads the DMatrix's labels in place and runs its regions in
    XGBoost's OpenMP runtime); the NumPy objective gets get_label() as a user's would."""
    import fastloss.lightgbm as flgb
    import fastloss.xgboost as fxgb

    made = {}
    for name, backend in (("fastloss", None), ("fastloss (numba)", "numba")):
        lg, xg = flgb.objective("binary_cross_entropy"), fxgb.objective("binary_cross_entropy")
        if backend:
            lg.loss._backend = xg.loss._backend = backend
        made[name] = ((lambda y, p, lg=lg: lg(y, p, None)), xg)
    made["numpy"] = (numpy_gh, lambda preds, data: numpy_gh(data.get_label(), preds))
    return made


def quiet(f, y, p, reps=30):
    f(y, p)
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        f(y, p)
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def _timed(f, ts, unpack=True):
    """A host objective (preds, data set) that times f(labels, preds) (unpack) or f(preds, data)
    into ts."""
    def obj(preds, data):
        t = time.perf_counter()
        out = f(data.get_label(), preds) if unpack else f(preds, data)
        ts.append(time.perf_counter() - t)
        return out
    return obj


def inside_lightgbm(f, X, y, rounds):
    import lightgbm as lgb

    ts = []
    lgb.train({"verbose": -1, "num_threads": 2, "objective": _timed(f, ts)}, lgb.Dataset(X, y), rounds)
    return statistics.median(ts[1:]), ts[0]


def inside_xgboost(f, X, y, rounds):
    import xgboost as xgb

    ts = []
    xgb.train({"nthread": 2, "tree_method": "hist", "base_score": 0.0}, xgb.DMatrix(X, y), rounds,
              obj=_timed(f, ts, unpack=False))
    return statistics.median(ts[1:]), ts[0]


def after_host(f, y, p, host_op, reps=30):
    ts = []
    for _ in range(reps):
        host_op()
        t = time.perf_counter()
        f(y, p)
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", nargs="+", default=["2e5", "2e6"])
    ap.add_argument("--rounds", type=int, default=40)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    objs = objectives()
    print("| rows | objective | quiet | in LightGBM (first) | in XGBoost (first) | after sklearn HGB | after torch matmul |")
    print("|---|---|---|---|---|---|---|")
    for rows in args.rows:
        n = int(float(rows))
        X = rng.normal(size=(n, 20))
        y = (rng.random(n) < 1 / (1 + np.exp(-X[:, 0]))).astype(np.float32)
        p = rng.normal(size=n)
        hosts = {}
        try:
            from sklearn.ensemble import HistGradientBoostingClassifier
            hgb = HistGradientBoostingClassifier(max_iter=5).fit(X[:20000], y[:20000])
            Xs = X[:50000]
            hosts["sklearn"] = lambda: hgb.predict_proba(Xs)
        except ImportError:
            pass
        try:
            import torch
            torch.set_num_threads(2)
            a = torch.randn(400, 400, dtype=torch.float64)
            hosts["torch"] = lambda: a @ a
        except ImportError:
            pass
        for name, (f, fx) in objs.items():
            q = quiet(f, y, p)
            lg, lg0 = inside_lightgbm(f, X, y, args.rounds)
            xg, xg0 = inside_xgboost(fx, X, y, args.rounds)
            sk = after_host(f, y, p, hosts["sklearn"]) if "sklearn" in hosts else float("nan")
            th = after_host(f, y, p, hosts["torch"]) if "torch" in hosts else float("nan")
            print(f"| {rows} | {name} | {q * 1e3:.2f} ms | {lg * 1e3:.2f} ms ({lg0 * 1e3:.0f}) | "
                  f"{xg * 1e3:.2f} ms ({xg0 * 1e3:.0f}) | {sk * 1e3:.2f} ms | {th * 1e3:.2f} ms |", flush=True)


if __name__ == "__main__":
    main()
