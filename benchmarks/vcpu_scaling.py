"""What a second thread adds on this machine, for work that needs the vector units and for work
that does not. `python benchmarks/vcpu_scaling.py [rounds]`.

Two Numba loops, each run on one thread and then on two threads at once (each thread the same
work, on its own buffer), in turn round by round:

- the vectorised float64 exp (``_math.exp64``) over a 2048-element buffer, which stays in L1: no
  memory traffic, bound by the throughput of the vector units;
- a chain of dependent multiply-adds: bound by latency, using a sliver of the units.

Throughput gain = 2 x (one thread's time) / (two threads' time): 2.0 when the two threads run on
cores of their own. A VM whose two vCPUs share one physical core's units (SMT siblings, or a
neighbour on the sibling) shows it in the first loop and not in the second. The fastloss kernels
of the floor targets are of the first kind (see the README's "What bounds each unmet target").
"""
import sys
import threading
import time

import numpy as np
from numba import njit

from fastloss._numba._math import exp64


@njit(nogil=True, error_model="numpy")
def exp_in_l1(x, out, reps):
    for _ in range(reps):
        for i in range(x.shape[0]):
            out[i] = exp64(x[i])
    return out[0]


@njit(nogil=True)
def dependent_chain(n):
    s = 0.0
    for _ in range(n):
        s = s * 0.999999 + 1.0
    return s


def _wall(fns):
    threads = [threading.Thread(target=f) for f in fns]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return time.perf_counter() - t


def main(rounds=8):
    x = np.random.default_rng(0).standard_normal(2048)
    bufs = np.empty((2, 2048))
    exp_in_l1(x, bufs[0], 1)
    dependent_chain(10)
    reps, links = 20_000, 200_000_000
    gains = {"vector exp in L1": [], "dependent chain": []}
    for _ in range(rounds):
        one = _wall([lambda: exp_in_l1(x, bufs[0], reps)])
        two = _wall([lambda: exp_in_l1(x, bufs[0], reps), lambda: exp_in_l1(x, bufs[1], reps)])
        gains["vector exp in L1"].append(2 * one / two)
        one = _wall([lambda: dependent_chain(links)])
        two = _wall([lambda: dependent_chain(links), lambda: dependent_chain(links)])
        gains["dependent chain"].append(2 * one / two)
    for name, g in gains.items():
        print(f"{name}: throughput x{np.median(g):.2f} with two threads (median of {rounds}; "
              f"rounds {' '.join(f'{v:.2f}' for v in g)})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8)
