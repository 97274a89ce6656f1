"""Peak memory of the reductions on compact dtypes: extra peak RSS over the inputs' bytes.

    python benchmarks/bench_compact.py                 # 2^27 samples (about 0.7 GB of input)
    python benchmarks/bench_compact.py --n 2147483665  # 2^31 + 17 elements (10.7 GB of input
                                                       # for uint8 labels + float32 scores)

Each case runs in a fresh process: the kernels are warmed up (compiled, loaded) on a small input
of the same dtypes, then the inputs are made (uint8 labels 0/1 or 0..3, float32 probabilities,
logits or weights, filled chunk by chunk so no n-sized temporary is left behind), and the call is
made once. "extra / input" is (peak RSS during the call - RSS before it) / bytes of the inputs
(the peak is reset just before the call through /proc/self/clear_refs);
the target of the compact-dtype work is <= 0.35. The value is printed (the tests check the values
of every dtype combination on small arrays).
"""
import argparse
import json
import os
import subprocess
import sys
import time

# bytes of input per element of the scores (uint8 labels, float32 scores, targets, weights)
BYTES_PER_ELEMENT = {"log_loss_w": 9, "huber": 12, "log_loss_multi": 4.25, "logits_multi": 4.25,
                     "ce": 4.25, "logsumexp": 4}

CASES = {
    "log_loss(y, p, labels=[0, 1])": "log_loss_labels",
    "log_loss(y, p)": "log_loss",
    "log_loss(y, p, sample_weight=w32)": "log_loss_w",
    "log_loss(y4, P4)": "log_loss_multi",
    "log_loss_from_logits(y, z)": "logits",
    "log_loss_from_logits(y4, Z4)": "logits_multi",
    "binary_cross_entropy.loss(y, z)": "bce",
    "cross_entropy.loss(y4, Z4)": "ce",
    "huber.loss(t32, r32, sample_weight=w32)": "huber",
    "logsumexp(p)": "logsumexp",
}

_CHILD = r'''
import json, math, resource, sys, time
import numpy as np
import fastloss
from fastloss.losses import CATALOGUE

case, n, check = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
CH = 1 << 22

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096

def reset_peak():  # Linux: writing 5 to clear_refs resets VmHWM, the peak RSS
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")

def peak():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

def fill(a, fn):  # a[s:e] = fn(s, e), chunk by chunk
    for s in range(0, a.shape[0], CH):
        e = min(a.shape[0], s + CH)
        a[s:e] = fn(s, e)
    return a

def labels(n, k):
    return fill(np.empty(n, np.uint8), lambda s, e: (np.arange(s, e) * 7 // 3) % k)

def probs(n):
    return fill(np.empty(n, np.float32), lambda s, e: 0.05 + 0.9 * ((np.arange(s, e) * 0.618034) % 1.0))

def logits(n, k=1):
    flat = fill(np.empty(n * k, np.float32), lambda s, e: 4.0 * (((np.arange(s, e) * 0.618034) % 1.0) - 0.5))
    return flat if k == 1 else flat.reshape(n, k)

def rows(n, k):
    P = logits(n, k)
    for s in range(0, n, CH):
        blk = np.exp(P[s:s + CH].astype(np.float64))
        P[s:s + CH] = blk / blk.sum(axis=1, keepdims=True)
    return P

def make(n):
    """(inputs, call) of this case for n elements of scores (n // 4 rows of 4 for the (n, 4) ones)."""
    if case in ("log_loss_multi", "logits_multi", "ce"):
        n = -(-n // 4)
    if case == "log_loss_labels":
        return (labels(n, 2), probs(n)), lambda y, p: fastloss.log_loss(y, p, labels=[0, 1])
    if case == "log_loss":
        return (labels(n, 2), probs(n)), lambda y, p: fastloss.log_loss(y, p)
    if case == "log_loss_w":
        return (labels(n, 2), probs(n), probs(n)), lambda y, p, w: fastloss.log_loss(y, p, sample_weight=w)
    if case == "log_loss_multi":
        return (labels(n, 4), rows(n, 4)), lambda y, p: fastloss.log_loss(y, p)
    if case == "logits":
        return (labels(n, 2), logits(n)), lambda y, z: fastloss.log_loss_from_logits(y, z)
    if case == "logits_multi":
        return (labels(n, 4), logits(n, 4)), lambda y, z: fastloss.log_loss_from_logits(y, z)
    if case == "bce":
        return (labels(n, 2), logits(n)), lambda y, z: CATALOGUE["binary_cross_entropy"].loss(y, z)
    if case == "ce":
        return (labels(n, 4), logits(n, 4)), lambda y, z: CATALOGUE["cross_entropy"].loss(y, z)
    if case == "huber":
        return (logits(n), probs(n), probs(n)), lambda t, r, w: CATALOGUE["huber"].loss(t, r, sample_weight=w)
    if case == "logsumexp":
        return (probs(n),), lambda p: float(fastloss.logsumexp(p))
    raise SystemExit(f"unknown case {case}")

def reference(inputs):
    """The value in float64 NumPy, a chunk at a time, chunk sums added with math.fsum (None for
    the weighted cases)."""
    eps = float(np.finfo(np.float32).eps)
    def total(term):
        n = inputs[0].shape[0]
        return math.fsum(float(term(s, min(n, s + CH)).sum()) for s in range(0, n, CH)) / n
    if case in ("log_loss_labels", "log_loss"):
        y, p = inputs
        return total(lambda s, e: -np.log(np.clip(np.where(y[s:e] == 1, p[s:e], np.float32(1) - p[s:e])
                                                  .astype(np.float64), eps, 1 - eps)))
    if case in ("logits", "bce"):
        y, z = inputs
        return total(lambda s, e: np.logaddexp(0.0, z[s:e].astype(np.float64)) - y[s:e] * z[s:e].astype(np.float64))
    if case == "log_loss_multi":
        y, P = inputs
        return total(lambda s, e: -np.log(np.clip(P[s:e][np.arange(e - s), y[s:e]].astype(np.float64), eps, 1 - eps)))
    if case in ("logits_multi", "ce"):
        y, Z = inputs
        def term(s, e):
            zz = Z[s:e].astype(np.float64)
            m = zz.max(axis=1)
            return m + np.log(np.exp(zz - m[:, None]).sum(axis=1)) - zz[np.arange(e - s), y[s:e]]
        return total(term)
    if case == "logsumexp":
        (p,) = inputs
        m = float(p.max())
        return m + math.log(math.fsum(float(np.exp(p[s:s + CH].astype(np.float64) - m).sum())
                                      for s in range(0, p.shape[0], CH)))
    return None


small, call = make(1 << 17)  # warm-up: compile / load the kernels for these dtypes
call(*small)
del small
inputs, call = make(n)
nbytes = sum(a.nbytes for a in inputs)
reset_peak()
before = rss()
t0 = time.perf_counter()
value = call(*inputs)
seconds = time.perf_counter() - t0
extra = max(0, peak() - before)
ref = reference(inputs) if check else None
print(json.dumps({"value": float(value), "reference": ref, "seconds": seconds, "input_bytes": nbytes,
                  "extra_bytes": extra, "backend": fastloss._backends.current_name(n)}))
'''


def _available_gb():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1e6
    return 8.0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1 << 27,
                    help="elements of the scores (the (n, 4) cases have n/4 rows)")
    ap.add_argument("--max-gb", type=float, default=None,
                    help="skip cases whose inputs exceed this (default: half the available memory)")
    ap.add_argument("--cases", nargs="*", default=list(CASES.values()))
    ap.add_argument("--json", help="write the rows to this file")
    ap.add_argument("--check", action="store_true",
                    help="also compute each unweighted value in float64 NumPy, chunk by chunk "
                         "(slow: ~20 s per 2^31 elements), and print the relative difference")
    args = ap.parse_args(argv)
    print(f"n = {args.n:,} elements of scores; fresh process per case; extra = peak RSS during "
          f"the call - RSS before it")
    print(f"{'call':42s} {'backend':8s} {'input GB':>9s} {'extra GB':>9s} {'extra/input':>11s} "
          f"{'seconds':>8s}  value")
    out = []
    max_gb = args.max_gb if args.max_gb is not None else _available_gb() / 2
    for label, case in CASES.items():
        if case not in args.cases:
            continue
        need = args.n * BYTES_PER_ELEMENT.get(case, 5) / 1e9
        if need > max_gb:
            print(f"{label:42s} skipped: {need:.1f} GB of input > {max_gb:.1f} GB (--max-gb)")
            continue
        t0 = time.perf_counter()
        res = subprocess.run([sys.executable, "-c", _CHILD, case, str(args.n), "1" if args.check else "0"],
                             capture_output=True,
                             text=True, env=dict(os.environ))
        if res.returncode != 0:
            print(f"{label:42s} FAILED (exit {res.returncode}): {res.stderr.strip()[-300:]}")
            out.append({"call": label, "failed": res.returncode})
            continue
        row = json.loads(res.stdout.strip().splitlines()[-1])
        row["call"] = label
        out.append(row)
        print(f"{label:42s} {row['backend']:8s} {row['input_bytes'] / 1e9:9.2f} "
              f"{row['extra_bytes'] / 1e9:9.3f} {row['extra_bytes'] / row['input_bytes']:11.3f} "
              f"{row['seconds']:8.2f}  {row['value']:.12g}", end="")
        if row.get("reference") is not None:
            print(f"  (NumPy float64: rel. diff {abs(row['value'] / row['reference'] - 1):.1e})", end="")
        print(f"   ({time.perf_counter() - t0:.0f} s in all)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
