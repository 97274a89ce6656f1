"""Loss-catalogue workloads timed against sklearn._loss (and a NumPy objective), interleaved round
by round in one process; one JSON line per row. `python benchmarks/loss_rows.py numba cython`.
Run it under two checkouts (PYTHONPATH=...) to compare versions: the peer times normalise for
the machine's drift between the runs."""
import json, sys, time
import numpy as np
import fastloss, fastloss.losses as fl
from sklearn._loss import loss as skl
rng = np.random.default_rng(0)
n1 = 10**6; n7 = 10**7
yb = (rng.random(n7) > .5).astype(float); r = rng.standard_normal(n7)
g7 = np.empty(n7); h7 = np.empty(n7)
z = rng.standard_normal((n1, 10)); yl = rng.integers(0, 10, n1); ylf = yl.astype(float)
G = np.empty_like(z); L = np.empty(n1)
z32 = z.astype(np.float32)
hb, hm = skl.HalfBinomialLoss(), skl.HalfMultinomialLoss(n_classes=10)
def np_obj():
    p = 1 / (1 + np.exp(-r)); return p - yb, p * (1 - p)
rows = {
  "bce_loss_1e7": (lambda: fl.binary_cross_entropy.loss(yb, r), lambda: hb(yb, r, n_threads=2)),
  "bce_grad_hess_1e7_out": (lambda: fl.binary_cross_entropy.gradient_hessian(yb, r, out=(g7, h7)),
                            lambda: hb.gradient_hessian(yb, r, gradient_out=g7, hessian_out=h7, n_threads=2)),
  "bce_grad_hess_vs_numpy": (lambda: fl.binary_cross_entropy.gradient_hessian(yb, r, out=(g7, h7)), np_obj),
  "ce_loss_1e6x10": (lambda: fl.cross_entropy.loss(yl, z), lambda: hm(ylf, z, n_threads=2)),
  "ce_loss_1e6x10_f32": (lambda: fl.cross_entropy.loss(yl, z32), lambda: hm(ylf.astype(np.float32), z32, n_threads=2)),
  "ce_loss_gradient_out": (lambda: fl.cross_entropy.loss_gradient(yl, z, out=(L, G)),
                           lambda: hm.loss_gradient(ylf, z, loss_out=L, gradient_out=G, n_threads=2)),
  "huber_loss_1e7": (lambda: fl.huber.loss(yb, r), lambda: skl.HuberLoss(delta=1.0)(yb, r, n_threads=2)),
}
backends = sys.argv[1:] or ["numba"]
for be in backends:
    with fastloss.set_backend(be):
        for name, (ours, peer) in rows.items():
            ours(); peer()
            a, b = [], []
            for _ in range(7):
                t = time.perf_counter(); ours(); a.append(time.perf_counter() - t)
                t = time.perf_counter(); peer(); b.append(time.perf_counter() - t)
            print(json.dumps({"backend": be, "row": name, "fastloss_ms": 1e3 * np.median(a),
                              "peer_ms": 1e3 * np.median(b)}), flush=True)
