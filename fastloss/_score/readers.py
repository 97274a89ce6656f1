"""Input files of ``fastloss score``, read by rows into reused buffers (the whole file is never loaded).

* ``.npy`` files are opened unbuffered, their header is parsed, and each chunk is read with
  ``readinto`` into a reused buffer. No memory map is used, so pages already scored do not stay
  in the RSS.
* Parquet files (optional extra ``pyarrow``) are read by record batches of the chosen columns
  and copied into the same kind of reused buffers.

A source (``NpySource``, ``ParquetSource``) knows its shape and dtype; ``source.open(chunk_rows,
n_buffers)`` gives a reader whose ``read(slot, n)`` fills buffer ``slot`` with the next ``n``
rows and returns it.
"""
import os

import numpy as np

from .errors import ScoreError, one_line


class NpySource:
    """A .npy file read sequentially, chunk by chunk, into reused buffers (no memmap)."""

    def __init__(self, path, role):
        self.path = os.fspath(path)
        self.role = role
        try:
            f = open(self.path, "rb", buffering=0)
        except OSError as exc:
            raise ScoreError(f"{role}: cannot open {self.path}: {exc.strerror or exc}") from None
        try:
            try:
                version = np.lib.format.read_magic(f)
                if version == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
                elif version == (2, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
                else:
                    shape, fortran, dtype = np.lib.format._read_array_header(f, version)
            except (ValueError, OSError, SyntaxError, EOFError) as exc:
                raise ScoreError(f"{role}: {self.path} is not a valid .npy file ({one_line(exc)})") from None
            self.offset = f.tell()
            size = os.fstat(f.fileno()).st_size
        except BaseException:
            f.close()
            raise
        f.close()
        if dtype.hasobject:
            raise ScoreError(f"{role}: {self.path} holds Python objects (dtype {dtype}); "
                             "only numeric or string arrays can be streamed")
        if len(shape) == 0:
            raise ScoreError(f"{role}: {self.path} holds a scalar, expected an array of rows")
        if fortran and len(shape) > 1 and shape[1] > 1:
            raise ScoreError(f"{role}: {self.path} is Fortran-ordered; save it C-ordered "
                             "(np.save(path, np.ascontiguousarray(a))) to stream it by rows")
        self.shape = tuple(int(s) for s in shape)
        self.dtype = dtype
        self.n_rows = self.shape[0]
        self.row_shape = self.shape[1:]
        self.row_items = int(np.prod(self.row_shape, dtype=np.int64)) if self.row_shape else 1
        self.row_bytes = self.row_items * dtype.itemsize
        expected = self.n_rows * self.row_bytes
        if size < self.offset + expected:
            raise ScoreError(f"{role}: {self.path} is truncated: its header promises shape "
                             f"{self.shape} ({expected} bytes of data) but the file holds "
                             f"{max(0, size - self.offset)} bytes")

    def describe(self):
        return f"{self.path} (shape {self.shape}, {self.dtype})"

    def open(self, chunk_rows, n_buffers=2):
        return _NpyReader(self, chunk_rows, n_buffers)


class _NpyReader:
    def __init__(self, src, chunk_rows, n_buffers):
        self.src = src
        self.f = open(src.path, "rb", buffering=0)
        self.f.seek(src.offset)
        if hasattr(os, "posix_fadvise"):
            try:
                os.posix_fadvise(self.f.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
            except OSError:
                pass
        rows = min(chunk_rows, max(src.n_rows, 1))
        self.buffers = [np.empty((rows,) + src.row_shape, dtype=src.dtype) for _ in range(n_buffers)]

    def read(self, slot, n):
        buf = self.buffers[slot][:n]
        view = memoryview(buf.reshape(-1).view(np.uint8))
        want = n * self.src.row_bytes
        got = 0
        while got < want:
            k = self.f.readinto(view[got:want])
            if not k:
                raise ScoreError(f"{self.src.role}: {self.src.path} ended early (file truncated "
                                 "while being read)")
            got += k
        return buf

    def close(self):
        self.f.close()


def _arrow_to_numpy(col, path, name, role):
    import pyarrow as pa

    if col.null_count:
        raise ScoreError(f"{role}: column {name!r} of {path} has {col.null_count} missing values")
    if pa.types.is_list(col.type) or pa.types.is_fixed_size_list(col.type) or \
            pa.types.is_large_list(col.type):
        chunks = col.chunks if hasattr(col, "chunks") else [col]
        flat = [c.flatten().to_numpy(zero_copy_only=False) for c in chunks]
        values = np.concatenate(flat) if len(flat) != 1 else flat[0]
        n = len(col)
        if n and values.shape[0] % n:
            raise ScoreError(f"{role}: list column {name!r} of {path} has rows of different lengths")
        k = values.shape[0] // n if n else 0
        if n and isinstance(col, pa.ChunkedArray):
            lengths = np.concatenate([c.value_lengths().to_numpy(zero_copy_only=False) for c in chunks])
        elif n:
            lengths = col.value_lengths().to_numpy(zero_copy_only=False)
        if n and np.any(lengths != k):
            raise ScoreError(f"{role}: list column {name!r} of {path} has rows of different lengths")
        return values.reshape(n, k)
    return col.to_numpy(zero_copy_only=False)


class ParquetSource:
    """Columns of a Parquet file, read by record batches (row groups) with pyarrow."""

    def __init__(self, path, columns, role):
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise ScoreError("reading Parquet needs pyarrow: pip install 'fastloss[parquet]'") from None
        self.path = os.fspath(path)
        self.role = role
        try:
            # pre_buffer=False: with pre-buffering, pyarrow keeps whole column chunks of the file
            # in memory (1 GB file: 1.3 GB RSS) and is slower for this sequential scan
            self.file = pq.ParquetFile(self.path, pre_buffer=False)
        except FileNotFoundError:
            raise ScoreError(f"{role}: cannot open {self.path}: no such file") from None
        except Exception as exc:  # pyarrow raises several types for corrupt files
            raise ScoreError(f"{role}: {self.path} is not a readable Parquet file ({one_line(exc)})") from None
        names = list(self.file.schema_arrow.names)
        if not columns:
            if len(names) != 1:
                raise ScoreError(f"{role}: {self.path} has columns {names}; choose with the "
                                 f"--{role.replace('_', '-')}-col option")
            columns = names
        missing = [c for c in columns if c not in names]
        if missing:
            raise ScoreError(f"{role}: {self.path} has no column {missing[0]!r} (columns: {names})")
        self.columns = list(columns)
        self.n_rows = int(self.file.metadata.num_rows)
        # one small read to learn the numpy dtype and the row shape
        first = self.file.read_row_group(0, columns=self.columns) if self.file.num_row_groups else None
        if first is None or first.num_rows == 0:
            self.dtype = np.dtype(np.float64)
            self.row_shape = () if len(self.columns) == 1 else (len(self.columns),)
        else:
            sample = [_arrow_to_numpy(first.column(c).slice(0, 1), self.path, c, role) for c in self.columns]
            if len(sample) == 1:
                self.dtype = sample[0].dtype
                self.row_shape = sample[0].shape[1:]
            else:
                if any(s.ndim != 1 for s in sample):
                    raise ScoreError(f"{role}: several columns of {self.path} must each hold numbers")
                self.dtype = np.result_type(*[s.dtype for s in sample])
                self.row_shape = (len(sample),)
        self.shape = (self.n_rows,) + self.row_shape
        self.row_bytes = int(np.prod(self.row_shape, dtype=np.int64) or 1) * self.dtype.itemsize

    def describe(self):
        return f"{self.path}[{', '.join(self.columns)}] ({self.n_rows} rows, {self.dtype})"

    def open(self, chunk_rows, n_buffers=2):
        return _ParquetReader(self, chunk_rows, n_buffers)


class _ParquetReader:
    def __init__(self, src, chunk_rows, n_buffers):
        self.src = src
        rows = min(chunk_rows, max(src.n_rows, 1))
        self.buffers = [np.empty((rows,) + src.row_shape, dtype=src.dtype) for _ in range(n_buffers)]
        self.batches = src.file.iter_batches(batch_size=min(chunk_rows, 1 << 20), columns=src.columns,
                                             use_threads=False)
        self.pending = None
        self.pos = 0

    def _next_batch(self):
        try:
            batch = next(self.batches)
        except StopIteration:
            raise ScoreError(f"{self.src.role}: {self.src.path} ended early") from None
        cols = [_arrow_to_numpy(batch.column(i), self.src.path, c, self.src.role)
                for i, c in enumerate(self.src.columns)]
        arr = cols[0] if len(cols) == 1 else np.stack(cols, axis=1)
        if arr.shape[1:] != self.src.row_shape:
            raise ScoreError(f"{self.src.role}: rows of {self.src.path} change shape "
                             f"({arr.shape[1:]} vs {self.src.row_shape})")
        return arr

    def read(self, slot, n):
        buf = self.buffers[slot][:n]
        filled = 0
        while filled < n:
            if self.pending is None or self.pos >= self.pending.shape[0]:
                self.pending, self.pos = self._next_batch(), 0
            take = min(n - filled, self.pending.shape[0] - self.pos)
            try:
                buf[filled:filled + take] = self.pending[self.pos:self.pos + take]
            except (TypeError, ValueError) as exc:
                raise ScoreError(f"{self.src.role}: column values of {self.src.path} do not fit "
                                 f"dtype {self.src.dtype} ({one_line(exc)})") from None
            filled += take
            self.pos += take
        return buf

    def close(self):
        self.batches = None
        self.pending = None


def open_source(path, role, columns=None):
    """A :class:`NpySource` or :class:`ParquetSource` for ``path`` (by extension)."""
    p = os.fspath(path)
    low = p.lower()
    if low.endswith((".parquet", ".pq", ".parq")):
        return ParquetSource(p, columns, role)
    if columns:
        raise ScoreError(f"{role}: column names apply to Parquet files only, not {p}")
    if low.endswith(".npy") or os.path.isfile(p):
        return NpySource(p, role)
    raise ScoreError(f"{role}: cannot open {p}: no such file")
