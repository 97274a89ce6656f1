"""Consecutive row chunks of several sources at once, the next chunk read while this one is used."""
import threading


def iter_chunks(sources, chunk_rows, prefetch=True):
    """Yield ``(row_start, [array per source])`` for consecutive chunks of ``chunk_rows`` rows.

    The arrays are views of reused buffers, valid until the next iteration. With ``prefetch`` a
    helper thread reads chunk i + 1 while the caller works on chunk i (the kernels and
    ``readinto`` release the GIL).
    """
    n = sources[0].n_rows
    readers = [s.open(chunk_rows, 2 if prefetch else 1) for s in sources]
    bounds = [(a, min(n, a + chunk_rows)) for a in range(0, n, chunk_rows)]

    def read(i):
        a, b = bounds[i]
        slot = i % 2 if prefetch else 0
        return [r.read(slot, b - a) for r in readers]

    try:
        if not prefetch or len(bounds) < 2:
            for i, (a, _) in enumerate(bounds):
                yield a, read(i)
            return
        result = {}

        def work(i):
            try:
                result[i] = ("ok", read(i))
            except BaseException as exc:  # handed to the consumer
                result[i] = ("err", exc)

        t = threading.Thread(target=work, args=(0,), daemon=True)
        t.start()
        for i, (a, _) in enumerate(bounds):
            t.join()
            status, value = result.pop(i)
            if status == "err":
                raise value
            if i + 1 < len(bounds):
                t = threading.Thread(target=work, args=(i + 1,), daemon=True)
                t.start()
            yield a, value
        t.join()
    finally:
        for r in readers:
            r.close()
