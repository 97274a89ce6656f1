"""Training time of LightGBM and XGBoost with a fastloss objective against the built-in objective
and a three-line NumPy objective (issue 12's table).

Every training runs in a fresh process (so the first objective call, imports included, is in the
time, as a user meets it); only the ``train`` call is timed, the Dataset/DMatrix is built before.
Variants run interleaved round by round; the table gives medians, the ratio to the built-in from
the same rounds, and the largest difference of the raw predictions from the built-in's.

    python benchmarks/bench_boosting.py                  # 2e5 and 2e6 rows, 3 rounds
    python benchmarks/bench_boosting.py --rows 2e5 --rounds 5
    python benchmarks/bench_boosting.py --differences   # built-ins a custom objective cannot copy
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
spent = [0.0]  # seconds inside the objective, summed over the rounds

def timed(f):
    def objective(p, data):
        t = time.perf_counter()
        out = f(p, data)
        spent[0] += time.perf_counter() - t
        return out
    return objective

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
            params["objective"] = timed(lambda p, d: numpy_objective(p, d.get_label(), d.get_weight()))
        else:
            params["objective"] = timed(obj)
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
            kw["obj"] = timed(lambda p, dm: numpy_objective(p, dm.get_label(), dm.get_weight()))
        else:
            kw["obj"] = timed(obj)
    if variant == "fastloss (numba)":
        import fastloss; fastloss.set_backend("numba")
    t = time.perf_counter()
    booster = xgb.train(params, d, trees, **kw)
    elapsed = time.perf_counter() - t
    raw = booster.predict(xgb.DMatrix(X[:20000]), output_margin=True)
np.save(sys.argv[6], np.asarray(raw, dtype=np.float64))
print(json.dumps({"seconds": elapsed, "objective": spent[0]}))
"""


def run(lib: str, variant: str, rows: float, k: int, trees: int, raw_path: str) -> tuple[float, float]:
    """(train seconds, seconds spent inside the objective) of one training in a fresh process."""
    out = subprocess.run([sys.executable, "-c", CHILD, lib, variant, str(rows), str(k), str(trees), raw_path],
                         capture_output=True, text=True, check=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    return float(res["seconds"]), float(res["objective"])


# LightGBM built-ins that do what a custom objective cannot, and the catalogue loss nearest each
DIFFERENCES = (
    ("l1", {}, "absolute_error", {}, "re-fits each leaf to the weighted median of its residuals"),
    ("quantile", {"alpha": 0.2}, "pinball", {"quantile": 0.2}, "re-fits each leaf to the residual quantile"),
    ("huber", {"alpha": 1.0}, "huber", {"delta": 1.0}, "hessian 1 everywhere (ours: 0 outside delta)"),
    ("poisson", {}, "poisson", {}, "hessian exp(raw + max_delta_step=0.7)"),
)


def differences(rows: int = 200_000, trees: int = 100) -> None:
    """Train each pair on the same data; the loss of both models' raw scores on held-out rows."""
    import lightgbm as lgb
    import numpy as np

    import fastloss.lightgbm as flgb
    import fastloss.losses as fl

    rng = np.random.default_rng(0)
    X = rng.normal(size=(2 * rows, 20))
    mu = X[:, 0] + 0.5 * np.sin(3 * X[:, 1])
    y_real = mu + rng.standard_t(3, size=2 * rows)  # heavy tails: where l1/huber/quantile matter
    y_count = rng.poisson(np.exp(0.5 * mu)).astype(np.float64)
    print("| LightGBM built-in | fastloss objective | what the built-in does | held-out loss, built-in | "
          "held-out loss, fastloss | max |raw diff| |")
    print("|---|---|---|---|---|---|")
    for builtin, bparams, loss, lparams, what in DIFFERENCES:
        y = y_count if loss == "poisson" else y_real
        tr, te = slice(0, rows), slice(rows, None)
        params = {"verbose": -1, "num_threads": 2, "seed": 0, "deterministic": True}
        b = lgb.train({**params, "objective": builtin, **bparams}, lgb.Dataset(X[tr], y[tr]), trees)
        obj = flgb.objective(loss, **lparams)
        init = obj.init_score(y[tr])
        c = lgb.train({**params, "objective": obj}, lgb.Dataset(X[tr], y[tr], init_score=init), trees)
        rb = b.predict(X[te], raw_score=True)
        rc = c.predict(X[te], raw_score=True) + init[0]
        ref = fl.CATALOGUE[loss].__class__(**lparams)
        print(f"| `{builtin}` {bparams or ''} | `{loss}` {lparams or ''} | {what} | "
              f"{ref.loss(y[te], rb):.5f} | {ref.loss(y[te], rc):.5f} | {np.abs(rb - rc).max():.3g} |", flush=True)


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
    ap.add_argument("--differences", action="store_true")
    args = ap.parse_args(argv)
    if args.differences:
        differences()
        return
    tmp = tempfile.mkdtemp()
    print("| library | rows | K | objective | train time (median) | / built-in | in the objective | "
          "rest of training minus the built-in's | max |raw - built-in| |")
    print("|---|---|---|---|---|---|---|---|---|")
    for lib in args.libs:
        for rows in args.rows:
            for k in args.classes:
                times: dict[str, list[float]] = {v: [] for v in VARIANTS}
                inside: dict[str, list[float]] = {v: [] for v in VARIANTS}
                for _ in range(args.rounds):
                    for v in VARIANTS:
                        t, o = run(lib, v, float(rows), k, args.trees, os.path.join(tmp, f"{v}.npy"))
                        times[v].append(t)
                        inside[v].append(o)
                print(f"<!-- {lib} {rows} K={k} per round: "
                      + "; ".join(f"{v}: " + ", ".join(f"{t:.2f}" for t in ts) for v, ts in times.items())
                      + " -->", file=sys.stderr, flush=True)
                ref = np.load(os.path.join(tmp, "built-in.npy"))
                base = statistics.median(times["built-in"])
                for v in VARIANTS:
                    med = statistics.median(times[v])
                    ratios = [a / b for a, b in zip(times[v], times["built-in"])]
                    # what the host spends on a custom objective beyond the objective itself (its
                    # prediction copy, gradient conversion), round by round
                    overhead = [t - o - b for t, o, b in zip(times[v], inside[v], times["built-in"])]
                    diff = float(np.abs(np.load(os.path.join(tmp, f"{v}.npy")) - ref).max())
                    extra = ("— | —" if v == "built-in" else
                             f"{statistics.median(inside[v]):.3f} s | {statistics.median(overhead):+.3f} s")
                    print(f"| {lib} | {rows} | {k} | {v} | {med:.3f} s | {statistics.median(ratios):.3f} "
                          f"| {extra} | {diff:.1e} |", flush=True)


if __name__ == "__main__":
    main()
