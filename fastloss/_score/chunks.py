"""Consecutive row chunks of several sources at once, the next chunk read while this one is used.

Errors come in row order. A failed read is kept with the chunk it belongs to and raised when the
caller asks for that chunk, after it has had every earlier one, so an error the caller finds in
chunk i (a bad value) wins over a read error of chunk i + 1. When the caller stops early (its own
error, or ``break``), the read in flight is waited for before the files are closed: closing a
file under a running ``readinto`` frees its descriptor number for the next ``open()``, and the
late read would then consume bytes of that other file (seen as a spurious "is truncated" error of
the next run in the same process).
"""
import threading


class _ReadAhead:
    """Runs ``read(i)`` for one chunk in a helper thread; ``take(i)`` hands over its arrays or
    raises its error (``readinto`` and the kernels release the GIL, so both make progress)."""

    def __init__(self, read):
        self._read = read
        self._thread = None
        self._outcome = None  # (chunk index, arrays, exception)

    def start(self, i):
        def run():
            try:
                self._outcome = (i, self._read(i), None)
            except BaseException as exc:  # raised in the caller's thread by take(i)
                self._outcome = (i, None, exc)

        self._thread = threading.Thread(target=run, name=f"fastloss-read-chunk-{i}", daemon=True)
        self._thread.start()

    def wait(self):
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def take(self, i):
        self.wait()
        index, arrays, exc = self._outcome
        self._outcome = None
        assert index == i, (index, i)
        if exc is not None:
            raise exc
        return arrays


def iter_chunks(sources, chunk_rows, prefetch=True):
    """Yield ``(row_start, [array per source])`` for consecutive chunks of ``chunk_rows`` rows.

    The arrays are views of reused buffers, valid until the next iteration. With ``prefetch`` a
    helper thread reads chunk i + 1 while the caller works on chunk i. Close the generator (or
    run it to the end) to wait for that thread and close the files.
    """
    n = sources[0].n_rows
    bounds = [(a, min(n, a + chunk_rows)) for a in range(0, n, chunk_rows)]
    n_buffers = 2 if prefetch and len(bounds) > 1 else 1
    readers = []
    try:
        for source in sources:
            readers.append(source.open(chunk_rows, n_buffers))

        def read(i):
            a, b = bounds[i]
            return [r.read(i % n_buffers, b - a) for r in readers]

        if n_buffers == 1:
            for i, (a, _) in enumerate(bounds):
                yield a, read(i)
            return
        ahead = _ReadAhead(read)
        try:
            ahead.start(0)
            for i, (a, _) in enumerate(bounds):
                arrays = ahead.take(i)
                if i + 1 < len(bounds):
                    ahead.start(i + 1)  # into the other buffer: the caller still holds this one
                yield a, arrays
        finally:
            ahead.wait()
    finally:
        for r in readers:
            r.close()
