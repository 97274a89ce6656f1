"""Side-by-side benchmarks of fastloss against NumPy, SciPy, scikit-learn and PyTorch (if
installed), on generated data. Used by ``fastloss bench`` and by ``benchmarks/``.

Each workload times fastloss and its peers interleaved in one run (round-robin repeats, median
of each), so a noisy shared machine affects both sides alike; the ratio is peer / fastloss.
"""
import contextlib
import gc
import json
import os
import platform
import time
import tracemalloc

import numpy as np


def _optional(name):
    try:
        return __import__(name, fromlist=["_"])
    except ImportError:
        return None


class Workload:
    """name, family, data factory and the contenders: {label: callable(data)}."""

    def __init__(self, name, family, make, ours, peers, size):
        self.name, self.family, self.make, self.ours, self.peers, self.size = (
            name, family, make, ours, peers, size)


def _softmax_probs(rng, n, k, dtype=np.float64):
    z = rng.standard_normal((n, k))
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z.astype(dtype, copy=False)


def _numpy_bce_objective(y, z):
    """The three-line NumPy objective a booster user writes: p = 1/(1 + exp(-z)); p - y, p(1 - p)."""
    p = 1 / (1 + np.exp(-z))
    return p - y, p * (1 - p)


def workloads(quick=False):
    """The benchmark table's rows. ``quick`` shrinks every input 10x (100x for the slowest)."""
    import fastloss

    sp = _optional("scipy.special")
    skm = _optional("sklearn.metrics")
    skloss = _optional("sklearn._loss.loss")
    torch = _optional("torch")
    n_threads = fastloss.get_num_threads()
    scale = 10 if quick else 1
    N = 1_000_000 // scale
    N7 = 10_000_000 // scale
    K = 10
    rows = []

    def add(name, family, make, ours, peers, size):
        rows.append(Workload(name, family, make, ours, {k: v for k, v in peers.items() if v}, size))

    def lazy(cache={}):  # data generated once per (key), shared across workloads
        def get(key, fn):
            if key not in cache:
                cache[key] = fn(np.random.default_rng(0))
            return cache[key]
        return get

    data = lazy()
    probs = lambda: data("probs", lambda r: (r.integers(0, K, N), _softmax_probs(r, N, K)))
    logits = lambda: data("logits", lambda r: (r.integers(0, K, N), r.standard_normal((N, K)) * 3))
    logits32 = lambda: data("logits32", lambda r: (logits()[0], logits()[1].astype(np.float32)))
    bin_p = lambda: data("bin_p", lambda r: (r.integers(0, 2, N7), r.uniform(size=N7)))
    bin_p_f32 = lambda: data("bin_p_f32", lambda r: (bin_p()[0].astype(np.float32), bin_p()[1]))
    bin_z = lambda: data("bin_z", lambda r: (r.integers(0, 2, N7), r.standard_normal(N7) * 4))
    vec = lambda: data("vec", lambda r: r.standard_normal(N7) * 10)
    vec32 = lambda: data("vec32", lambda r: vec().astype(np.float32))
    tiny = lambda: data("tiny", lambda r: (np.array([0, 1] * 5), r.uniform(0.05, 0.95, 10)))
    tiny_rows = lambda: data("tiny rows", lambda r: r.normal(size=(10, 10)))
    tiny_strings = lambda: data("tiny strings", lambda r: (np.array(["no", "yes"] * 5), r.uniform(0.05, 0.95, 10)))

    torch_t = (lambda a: torch.from_numpy(a)) if torch else None

    add(f"log_loss multiclass {N:.0e}x{K}", "metrics", probs,
        lambda d: fastloss.log_loss(d[0], d[1], labels=np.arange(K)),
        {"sklearn.metrics.log_loss": skm and (lambda d: skm.log_loss(d[0], d[1], labels=np.arange(K)))},
        N * K)
    add(f"log_loss binary {N7:.0e}", "metrics", bin_p,
        lambda d: fastloss.log_loss(d[0], d[1]),
        {"sklearn.metrics.log_loss": skm and (lambda d: skm.log_loss(d[0], d[1]))}, N7)
    # the labels as LightGBM's Dataset.get_label() hands them over: float32 0./1.
    add(f"log_loss binary {N7:.0e}, float32 labels", "metrics", bin_p_f32,
        lambda d: fastloss.log_loss(d[0], d[1]),
        {"sklearn.metrics.log_loss": skm and (lambda d: skm.log_loss(d[0], d[1]))}, N7)
    if skloss:
        multi = skloss.HalfMultinomialLoss(n_classes=K)
        binom = skloss.HalfBinomialLoss()
    add(f"cross-entropy from logits {N:.0e}x{K} f64", "metrics", logits,
        lambda d: fastloss.log_loss_from_logits(d[0], d[1], labels=np.arange(K)),
        {"sklearn._loss HalfMultinomialLoss": skloss and (lambda d: multi.loss(
            d[0].astype(np.float64), d[1], n_threads=n_threads).mean()),
         "torch cross_entropy": torch and (lambda d: torch.nn.functional.cross_entropy(
             torch_t(d[1]), torch_t(d[0])).item())}, N * K)
    add(f"cross-entropy from logits {N:.0e}x{K} f32", "metrics", logits32,
        lambda d: fastloss.log_loss_from_logits(d[0], d[1], labels=np.arange(K)),
        {"torch cross_entropy": torch and (lambda d: torch.nn.functional.cross_entropy(
            torch_t(d[1]), torch_t(d[0])).item())}, N * K)
    add(f"binary cross-entropy from logits {N7:.0e}", "metrics", bin_z,
        lambda d: fastloss.log_loss_from_logits(d[0], d[1]),
        {"sklearn._loss HalfBinomialLoss": skloss and (lambda d: binom.loss(
            d[0].astype(np.float64), d[1], n_threads=n_threads).mean()),
         "torch bce_with_logits": torch and (lambda d: torch.nn.functional.binary_cross_entropy_with_logits(
             torch_t(d[1]), torch_t(d[0].astype(np.float64))).item())}, N7)
    losses = _optional("fastloss.losses")
    if losses:
        ce = losses.CATALOGUE["cross_entropy"]
        bce = losses.CATALOGUE["binary_cross_entropy"]

        def torch_ce_fwd_bwd(d):
            z = torch_t(d[1]).requires_grad_(True)
            torch.nn.functional.cross_entropy(z, torch_t(d[0]), reduction="sum").backward()
            return z.grad

        # outputs given (out=, sklearn's *_out=): the kernels' time, not the allocator's
        ce_out = lambda: data("ce_out", lambda r: (np.empty(N), np.empty((N, K))))
        bce_out = lambda: data("bce_out", lambda r: (np.empty(N7), np.empty(N7)))
        y64 = lambda: data("bin_y64", lambda r: bin_z()[0].astype(np.float64))
        add(f"cross_entropy loss_gradient {N:.0e}x{K} f64, out= given", "losses", logits,
            lambda d: ce.loss_gradient(d[0], d[1], out=ce_out()),
            {"sklearn._loss HalfMultinomialLoss": skloss and (lambda d: multi.loss_gradient(
                d[0].astype(np.float64), d[1], loss_out=ce_out()[0], gradient_out=ce_out()[1],
                n_threads=n_threads)),
             "torch forward+backward": torch and torch_ce_fwd_bwd}, N * K)
        add(f"binary_cross_entropy gradient_hessian {N7:.0e}, out= given", "losses", bin_z,
            lambda d: bce.gradient_hessian(y64(), d[1], out=bce_out()),
            {"sklearn._loss HalfBinomialLoss": skloss and (lambda d: binom.gradient_hessian(
                y64(), d[1], gradient_out=bce_out()[0], hessian_out=bce_out()[1],
                n_threads=n_threads)),
             "NumPy objective": lambda d: _numpy_bce_objective(y64(), d[1])}, N7)
        # float32 scores and labels, as XGBoost hands them over (float32 lanes for the exp)
        bin_z32 = lambda: data("bin_z32", lambda r: (bin_z()[0].astype(np.float32), bin_z()[1].astype(np.float32)))
        bce_out32 = lambda: data("bce_out32", lambda r: (np.empty(N7, np.float32), np.empty(N7, np.float32)))
        add(f"binary_cross_entropy gradient_hessian {N7:.0e} f32, out= given", "losses", bin_z32,
            lambda d: bce.gradient_hessian(d[0], d[1], out=bce_out32()),
            {"sklearn._loss HalfBinomialLoss": skloss and (lambda d: binom.gradient_hessian(
                d[0], d[1], gradient_out=bce_out32()[0], hessian_out=bce_out32()[1],
                n_threads=n_threads)),
             "NumPy objective (float32)": lambda d: _numpy_bce_objective(d[0], d[1])}, N7)
        add(f"binary_cross_entropy loss {N7:.0e}", "losses", bin_z,
            lambda d: bce.loss(d[0], d[1], reduction="none"),
            {"sklearn._loss HalfBinomialLoss": skloss and (lambda d: binom.loss(
                d[0].astype(np.float64), d[1], n_threads=n_threads))}, N7)
    add(f"logsumexp axis=1 {N:.0e}x{K}", "special", lambda: logits()[1],
        lambda x: fastloss.logsumexp(x, axis=1),
        {"scipy.special.logsumexp": sp and (lambda x: sp.logsumexp(x, axis=1)),
         "torch.logsumexp": torch and (lambda x: torch.logsumexp(torch_t(x), dim=1))}, N * K)
    add(f"softmax axis=1 {N:.0e}x{K}", "special", lambda: logits()[1],
        lambda x: fastloss.softmax(x, axis=1),
        {"scipy.special.softmax": sp and (lambda x: sp.softmax(x, axis=1)),
         "torch.softmax": torch and (lambda x: torch.softmax(torch_t(x), dim=1))}, N * K)
    add(f"log_softmax axis=1 {N:.0e}x{K}", "special", lambda: logits()[1],
        lambda x: fastloss.log_softmax(x, axis=1),
        {"scipy.special.log_softmax": sp and (lambda x: sp.log_softmax(x, axis=1))}, N * K)
    add(f"expit {N7:.0e}", "special", vec, fastloss.expit,
        {"scipy.special.expit": sp and sp.expit,
         "torch.sigmoid": torch and (lambda x: torch.sigmoid(torch_t(x)))}, N7)
    add(f"expit {N7:.0e} f32", "special", vec32, fastloss.expit,
        {"scipy.special.expit": sp and sp.expit,
         "torch.sigmoid": torch and (lambda x: torch.sigmoid(torch_t(x)))}, N7)
    add(f"log_expit {N7:.0e}", "special", vec, fastloss.log_expit,
        {"scipy.special.log_expit": sp and sp.log_expit,
         "torch logsigmoid": torch and (lambda x: torch.nn.functional.logsigmoid(torch_t(x)))}, N7)
    add(f"softplus {N7:.0e}", "special", vec, fastloss.softplus,
        {"numpy.logaddexp(0, x)": lambda x: np.logaddexp(0, x),
         "torch softplus": torch and (lambda x: torch.nn.functional.softplus(torch_t(x)))}, N7)
    # the tiny calls twice: in a quiet loop, and interleaved with cache-polluting work between
    # calls (as in a pipeline that scores one request among other work); see _time_interleaved
    for family, tag in (("latency", "tiny"), (INTERLEAVED, "tiny, interleaved")):
        add(f"{tag}: logsumexp, 10 elements", family, lambda: tiny()[1],
            fastloss.logsumexp, {"scipy.special.logsumexp": sp and sp.logsumexp}, 10)
        add(f"{tag}: expit, 10 elements", family, lambda: tiny()[1],
            fastloss.expit, {"scipy.special.expit": sp and sp.expit}, 10)
        add(f"{tag}: logsumexp axis=1, 10x10", family, tiny_rows,
            lambda x: fastloss.logsumexp(x, axis=1),
            {"scipy.special.logsumexp": sp and (lambda x: sp.logsumexp(x, axis=1))}, 100)
        add(f"{tag}: softmax axis=1, 10x10", family, tiny_rows,
            lambda x: fastloss.softmax(x, axis=1),
            {"scipy.special.softmax": sp and (lambda x: sp.softmax(x, axis=1))}, 100)
        add(f"{tag}: log_loss, 10 elements", family, tiny,
            lambda d: fastloss.log_loss(d[0], d[1]),
            {"sklearn.metrics.log_loss": skm and (lambda d: skm.log_loss(d[0], d[1]))}, 10)
        add(f"{tag}: log_loss, 10 string labels", family, tiny_strings,
            lambda d: fastloss.log_loss(d[0], d[1]),
            {"sklearn.metrics.log_loss": skm and (lambda d: skm.log_loss(d[0], d[1]))}, 10)
    return rows


INTERLEAVED = "latency-interleaved"
# between two timed calls: a pass over 8 MB (more than this machine's L2 and its share of L3)
# and a few NumPy calls (other code in the instruction cache and branch predictors)
_POLLUTE = np.ones(1 << 20)
INTERLEAVED_CALLS = 200


def _pollute():
    np.sum(_POLLUTE)
    np.sort(_POLLUTE[:512])


def _time_interleaved(fn, data, calls=INTERLEAVED_CALLS):
    """Median time of one call, each call preceded by _pollute() (not timed)."""
    times = np.empty(calls)
    setting, fn = _unpinned(fn)
    with setting:
        for i in range(calls):
            _pollute()
            t0 = time.perf_counter()
            fn(data)
            times[i] = time.perf_counter() - t0
    return float(np.median(times))


def _time_once(fn, data, inner):
    setting, fn = _unpinned(fn)
    with setting:
        t0 = time.perf_counter()
        for _ in range(inner):
            fn(data)
        return (time.perf_counter() - t0) / inner


_FLOOR_KERNELS = []


def _floor_kernels():
    """A parallel read of the input's bytes (a sum over uint64 words) and a parallel write of the
    output's (a fill): the memory traffic that no kernel doing the same work can avoid."""
    if not _FLOOR_KERNELS:
        from numba import njit, prange

        @njit(parallel=True, nogil=True, cache=True)
        def read_all(words):
            total = np.uint64(0)
            for i in prange(words.shape[0]):
                total += words[i]
            return total

        @njit(parallel=True, nogil=True, cache=True)
        def write_all(words, value):
            for i in prange(words.shape[0]):
                words[i] = value

        _FLOOR_KERNELS.extend((read_all, write_all))
    return _FLOOR_KERNELS


def _words(a):
    a = np.ascontiguousarray(a).reshape(-1).view(np.uint8)
    return a[: a.nbytes // 8 * 8].view(np.uint64)


def _floor_seconds(data, out_bytes, repeats, threads):
    """Median time, on ``threads`` threads, of one parallel read of every input array plus one
    parallel write of ``out_bytes`` (into a buffer already written once: no page faults, so the
    floor is the hardware's, not the allocator's). None without numba."""
    try:
        read_all, write_all = _floor_kernels()
    except ImportError:
        return None
    import numba

    arrays = [a for a in (data if isinstance(data, tuple) else (data,)) if isinstance(a, np.ndarray)]
    words = [_words(a) for a in arrays]
    out = np.zeros(out_bytes // 8, dtype=np.uint64)

    def once():
        for w in words:
            read_all(w)
        if out.size:
            write_all(out, np.uint64(1))

    previous = numba.get_num_threads()
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    try:
        once()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            once()
            times.append(time.perf_counter() - t0)
    finally:
        numba.set_num_threads(previous)
    return float(np.median(times))


def _output_bytes(result):
    """Bytes of the arrays a call returns: what it has to write."""
    if isinstance(result, np.ndarray):
        return result.nbytes
    if isinstance(result, tuple):
        return sum(_output_bytes(r) for r in result)
    return 0


def _peak_memory(fn, data):
    """Peak bytes allocated through NumPy/Python while fn runs (tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    try:
        fn(data)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _input_bytes(data):
    if isinstance(data, tuple):
        return sum(a.nbytes for a in data)
    return data.nbytes


class _Pinned:
    """fn called inside ``setting()`` (a fastloss setting such as ``set_backend("cython")``).
    The timers enter the setting once around their calls, not per call: entering and leaving
    it takes ~2 us, which made the Cython column of the tiny rows 2-3.5x the default's time
    (e6a2512) when the default runs the same Cython kernel."""

    def __init__(self, setting, fn):
        self.setting, self.fn = setting, fn

    def __call__(self, data):
        with self.setting():
            return self.fn(data)


def _unpinned(fn):
    """(the setting to time fn in, the function to call inside it)."""
    if isinstance(fn, _Pinned):
        return fn.setting(), fn.fn
    return contextlib.nullcontext(), fn


def run(quick=False, repeats=None, min_time=None, only=None, log=print, cython_column=None):
    """Run every workload; returns a list of result dicts (one per contender). With
    ``cython_column`` (default: when the Cython backend is built and Numba serves large inputs)
    fastloss pinned to its Cython backend is timed as an extra contender."""
    import fastloss

    if cython_column is None:
        cython_column = "cython" in fastloss.available_backends() and fastloss.get_backend() != "cython"
    repeats = repeats or (3 if quick else 5)
    results = []
    for wl in workloads(quick):
        if only and only not in wl.name:
            continue
        data = wl.make()
        contenders = {"fastloss": wl.ours}
        if cython_column:
            contenders["fastloss, cython backend"] = _Pinned(lambda: fastloss.set_backend("cython"), wl.ours)
        contenders.update(wl.peers)
        big = wl.size >= 100_000
        threads = fastloss.get_num_threads()
        # fastloss on one thread too (big workloads, when it has more): its floor fraction there
        # says how far the kernel is from the memory when no thread waits for another
        timed = dict(contenders)
        if big and threads > 1:
            timed[ONE_THREAD] = _Pinned(lambda: fastloss.thread_limit(1), wl.ours)
        # warm-up (compiles numba kernels, fills caches) and inner-loop size per contender
        inner = {}
        for label, fn in timed.items():
            t = _time_once(fn, data, 1)
            inner[label] = max(1, int((min_time or (0.02 if wl.size < 1000 else 0.0)) / max(t, 1e-7)))
        times = {label: [] for label in timed}
        for _ in range(repeats):
            for label, fn in timed.items():  # round-robin: noise hits everyone alike
                if wl.family == INTERLEAVED:
                    times[label].append(_time_interleaved(fn, data, 20 if quick else INTERLEAVED_CALLS))
                else:
                    times[label].append(_time_once(fn, data, inner[label]))
        ours = float(np.median(times["fastloss"]))
        in_bytes = _input_bytes(data)
        out_bytes = _output_bytes(wl.ours(data))
        floor = _floor_seconds(data, out_bytes, repeats, threads) if big else None
        floor_1t = _floor_seconds(data, out_bytes, repeats, 1) if ONE_THREAD in times else None
        entries = {}
        for label in contenders:
            med = float(np.median(times[label]))
            entry = {
                "workload": wl.name, "family": wl.family, "contender": label,
                "median_s": med, "ratio": med / ours, "bytes": in_bytes + out_bytes,
            }
            if wl.family not in ("latency", INTERLEAVED) and wl.size >= 10_000:
                entry["peak_extra_memory_x_input"] = _peak_memory(contenders[label], data) / in_bytes
            if floor is not None:
                entry["floor_s"] = floor
                entry["fraction_of_floor"] = floor / med
            entries[label] = entry
        mine = entries["fastloss"]
        if floor_1t is not None:
            mine["median_1t_s"] = float(np.median(times[ONE_THREAD]))
            mine["floor_1t_s"] = floor_1t
            mine["fraction_of_floor_1t"] = floor_1t / mine["median_1t_s"]
        results.extend(entries.values())
        line = f"{wl.name:<42} fastloss {_fmt(ours):>9}"
        if floor is not None:
            line += f" ({_floor_text(mine)})"
        for label in list(contenders)[1:]:
            r = entries[label]
            line += f" | {label} {_fmt(r['median_s'])} ({r['ratio']:.1f}x)"
        log(line)
    return results


ONE_THREAD = "fastloss, 1 thread"


def _floor_text(entry):
    """'26% of floor' (the run's threads), with '; 1 thread: 40%' where that was timed."""
    text = f"{entry['fraction_of_floor']:.0%} of floor"
    if "fraction_of_floor_1t" in entry:
        text += f"; 1 thread: {entry['fraction_of_floor_1t']:.0%}"
    return text


def _fmt(seconds):
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def machine():
    import fastloss

    cfg = fastloss.config()
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "backend": cfg["backend"],
            "threads": cfg["num_threads"], "fastloss": cfg["fastloss"], "numpy": cfg["numpy"]}


def markdown_table(results):
    lines = ["| workload | fastloss | at floor: all threads / 1 thread | peer | peer time | peer / fastloss | extra memory (x input): fastloss / peer |",
             "|---|---|---|---|---|---|---|"]
    by_wl = {}
    for e in results:
        by_wl.setdefault(e["workload"], []).append(e)
    for name, entries in by_wl.items():
        ours = [e for e in entries if e["contender"] == "fastloss"][0]
        for e in entries:
            if e["contender"] == "fastloss":
                continue
            mem = ""
            if "peak_extra_memory_x_input" in e:
                mem = f"{ours['peak_extra_memory_x_input']:.2f} / {e['peak_extra_memory_x_input']:.2f}"
            floor = ""
            if "fraction_of_floor" in ours:
                floor = f"{ours['fraction_of_floor']:.0%}"
                if "fraction_of_floor_1t" in ours:
                    floor += f" / {ours['fraction_of_floor_1t']:.0%}"
            lines.append(f"| {name} | {_fmt(ours['median_s'])} | {floor} | {e['contender']} | "
                         f"{_fmt(e['median_s'])} | **{e['ratio']:.1f}x** | {mem} |")
    return "\n".join(lines)


def plot(results, path):
    """Two panels: the speed-ups (peer time / fastloss time), and a roofline view -- each
    contender's achieved bandwidth (the workload's input + output bytes / its time) against the
    floor's (the same bytes read and written by the parallel floor kernels), per workload."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    peers = [e for e in results if e["contender"] != "fastloss"]
    floored = [e["workload"] for e in results if e["contender"] == "fastloss" and "floor_s" in e]
    height = max(0.45 * len(peers), 0.5 * len(floored)) + 1.5
    fig, (ax, rf) = plt.subplots(1, 2, figsize=(17, height), gridspec_kw={"width_ratios": [1, 1]})
    labels = [f"{e['workload']}\nvs {e['contender']}" for e in peers]
    ratios = [e["ratio"] for e in peers]
    ax.barh(range(len(peers)), ratios, color=["tab:green" if r >= 1 else "tab:red" for r in ratios])
    ax.set_yticks(range(len(peers)), labels, fontsize=7)
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", lw=0.8)
    ax.set_xlabel("speed-up of fastloss (peer time / fastloss time, log scale)")
    ax.invert_yaxis()

    colours = {"fastloss": "tab:green", "fastloss, 1 thread": "tab:green", "floor": "black",
               "floor, 1 thread": "grey"}
    palette = iter(["tab:blue", "tab:orange", "tab:purple", "tab:brown", "tab:pink", "tab:olive", "tab:cyan"])
    labelled = set()

    def point(x, y, kind, **style):
        """One marker; the legend names each kind once."""
        colour = colours.setdefault(kind, next(palette, "tab:gray"))
        rf.plot([x], [y], color=colour, label=None if kind in labelled else kind, **style)
        labelled.add(kind)

    for y, name in enumerate(floored):
        entries = [e for e in results if e["workload"] == name]
        ours = [e for e in entries if e["contender"] == "fastloss"][0]
        gb = lambda seconds: ours["bytes"] / seconds / 1e9
        point(gb(ours["floor_s"]), y, "floor", marker="|", ms=18, mew=2.5)
        if "floor_1t_s" in ours:
            point(gb(ours["floor_1t_s"]), y, "floor, 1 thread", marker="|", ms=12, mew=1.5)
            point(gb(ours["median_1t_s"]), y, "fastloss, 1 thread", marker="o", ms=6, mfc="none")
        for e in entries:
            if e["contender"] == "fastloss":
                point(gb(e["median_s"]), y, "fastloss", marker="o", ms=8)
            elif e["contender"].startswith("fastloss"):
                point(gb(e["median_s"]), y, e["contender"], marker="D", ms=6)
            else:  # one colour per library: "sklearn", "scipy", "torch", "numpy"
                point(gb(e["median_s"]), y, e["contender"].split()[0].split(".")[0], marker="x", ms=6)
    rf.set_yticks(range(len(floored)), floored, fontsize=7)
    rf.set_xscale("log")
    rf.set_xlabel("achieved GB/s: (input + output bytes) / time (log scale); | = the memory floor")
    rf.invert_yaxis()
    rf.legend(fontsize=7, loc="lower right")
    info = machine()
    fig.suptitle(f"fastloss {info['fastloss']} ({info['backend']}, {info['threads']} threads) — {info['cpu']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def save_json(results, path):
    with open(path, "w") as fh:
        json.dump({"machine": machine(), "results": results}, fh, indent=2)
