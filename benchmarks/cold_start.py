"""First call of one function on the Numba backend in a fresh process.

Run with an empty cache to measure compile time, e.g.
    rm -rf /tmp/nbc; NUMBA_CACHE_DIR=/tmp/nbc python benchmarks/cold_start.py huber.loss
(arguments: logsumexp, softmax, log_loss, expit, or <loss>.<method>). Inputs are made with NumPy, so
that only the named function compiles (log_loss's probabilities came from fastloss.softmax
before, which put softmax's compile into log_loss's first call)."""
import sys, time, os
t0 = time.perf_counter()
import numpy as np
import fastloss
fastloss.set_backend("numba")
what = sys.argv[1]
rng = np.random.default_rng(0)
n = 100_000
z = rng.standard_normal((n, 10)); y = rng.integers(0, 10, n); yb = (rng.random(n) > .5).astype(float); r = rng.standard_normal(n)
from fastloss.losses import CATALOGUE as C
t1 = time.perf_counter()
if what == "logsumexp": fastloss.logsumexp(z, axis=1)
elif what == "softmax": fastloss.softmax(z, axis=1)
elif what == "log_loss":
    e = np.exp(z - z.max(axis=1, keepdims=True)); fastloss.log_loss(y, e / e.sum(axis=1, keepdims=True))
elif what == "expit": fastloss.expit(np.repeat(r, 2))
else:
    name, meth = what.split(".")
    obj = C[name]
    if obj.target == "labels": obj_y, obj_r = y, z
    elif obj.shape == "paired": obj_y, obj_r = np.abs(r)/ (1+np.abs(r)), z[:, :2]
    elif obj.target == "distribution":  # targets made with NumPy: no softmax kernel compiled before the timed call
        e = np.exp(z - z.max(axis=1, keepdims=True)); obj_y, obj_r = e / e.sum(axis=1, keepdims=True), z
    elif name == "binary_cross_entropy_proba": obj_y, obj_r = yb, 1 / (1 + np.exp(-r))
    else: obj_y, obj_r = yb, r
    getattr(obj, meth)(obj_y, obj_r)
t2 = time.perf_counter()
print(f"{what}: first call {t2-t1:.2f} s, import+call {t2-t0:.2f} s")
