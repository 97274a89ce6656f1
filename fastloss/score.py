"""Out-of-core scoring: stream .npy / Parquet files through the log-loss kernels in fixed chunks.

``score_files`` (and the ``fastloss score`` command built on it) never loads an input whole:

* ``.npy`` files are opened unbuffered, their header is parsed, and each chunk is read with
  ``readinto`` into one of two reused buffers (the next chunk is read by a helper thread while the
  current one is scored). No memory map is used, so pages already scored do not stay in the RSS.
* Parquet files (optional extra ``pyarrow``) are read by row groups / record batches of the chosen
  columns and copied into the same kind of reused buffers.

Each chunk goes through the active backend's kernel, which returns exact partial sums
(Σ w·l, Σ w, and what validation needs). The chunk partials are combined with ``math.fsum`` (an
exactly rounded sum), so the result does not depend on the chunk size beyond the rounding inside
each chunk and agrees with the in-memory :func:`fastloss.log_loss` to ~1e-15 relative.

Labels: given (``labels=``) or inferred in a first, cheap pass that reads only ``y_true`` (the
union of the classes of every chunk, sorted, as scikit-learn's LabelBinarizer would find them on
the whole array). Peak memory is about ``chunk_rows`` × (bytes of one row of every input + 24)
× 2 buffers, plus the interpreter and Numba.
"""
import math
import os
import threading
import time
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np

from . import _backends

_PROBA_DTYPES = (np.dtype(np.float64), np.dtype(np.float32), np.dtype(np.float16))
#: default bytes of y_pred per chunk (the chunk row count is derived from it)
DEFAULT_CHUNK_BYTES = 32 << 20
_ROW_ALIGN = 16384  # chunk rows are a multiple of the kernels' block sizes when picked for you


class ScoreError(ValueError):
    """A problem with the input files or their values, described in one line."""


def _one_line(msg):
    return " ".join(str(msg).split())


# ---------------------------------------------------------------------------------------- sources
class NpySource:
    """A .npy file read sequentially, chunk by chunk, into reused buffers (no memmap)."""

    kind = "npy"

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
                raise ScoreError(f"{role}: {self.path} is not a valid .npy file ({_one_line(exc)})") from None
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

    kind = "parquet"

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
            raise ScoreError(f"{role}: {self.path} is not a readable Parquet file ({_one_line(exc)})") from None
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
                                 f"dtype {self.src.dtype} ({_one_line(exc)})") from None
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


def iter_chunks(sources, chunk_rows, start=0, stop=None, prefetch=True):
    """Yield ``(row_start, [array per source])`` for consecutive chunks of ``chunk_rows`` rows.

    The arrays are views of reused buffers, valid until the next iteration. With ``prefetch`` a
    helper thread reads chunk i + 1 while the caller works on chunk i (the kernels and
    ``readinto`` release the GIL).
    """
    n = sources[0].n_rows if stop is None else stop
    readers = [s.open(chunk_rows, 2 if prefetch else 1) for s in sources]
    bounds = [(a, min(n, a + chunk_rows)) for a in range(start, n, chunk_rows)]

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


# ---------------------------------------------------------------------------------------- labels
def _check_label_values(y, where=""):
    if y.dtype.kind == "f":
        if np.isnan(y).any():
            raise ScoreError(f"y_true contains NaN{where}")
        if not np.all(y == np.floor(y)):
            raise ScoreError(f"Unknown label type: y_true holds non-integer floats{where}")
    if y.dtype.kind == "c":
        raise ScoreError("y_true must hold labels, got complex numbers")


def chunk_classes(y, where=""):
    """Sorted distinct labels of one 1-D chunk (O(n) for integers of small range)."""
    _check_label_values(y, where)
    if y.size == 0:
        return y[:0].copy()
    if y.dtype.kind in "iu":
        lo, hi = int(y.min()), int(y.max())
        if hi - lo < (1 << 20):
            present = np.bincount((y - lo).astype(np.intp, copy=False), minlength=hi - lo + 1) > 0
            return (np.flatnonzero(present) + lo).astype(y.dtype)
    try:
        return np.unique(y)
    except TypeError:
        raise ScoreError("Mix of label input types (string and number)") from None


def merge_classes(parts):
    """Sorted union of per-chunk class arrays (what np.unique finds on the concatenation)."""
    parts = [np.asarray(p) for p in parts if np.asarray(p).size]
    if not parts:
        return np.empty(0)
    out = parts[0]
    for p in parts[1:]:
        out = np.union1d(out, p)
    return out


def prepare_labels(labels, y_dtype):
    """Labels given by the user, converted to y_true's kind and sorted (a warning if they were not)."""
    arr = np.asarray(labels)
    if y_dtype is not None and arr.dtype.kind in "US" and y_dtype.kind in "biuf":
        try:
            arr = arr.astype(np.float64)
            if y_dtype.kind in "biu" and np.all(arr == np.floor(arr)):
                arr = arr.astype(np.int64)
        except ValueError:
            raise ScoreError(f"labels {list(labels)} are not numbers but y_true holds {y_dtype}") from None
    arr = arr.reshape(-1)
    try:
        classes = np.unique(arr)
    except TypeError:
        raise ScoreError("Mix of label input types (string and number)") from None
    if classes.shape != arr.shape or not np.all(classes == arr):
        warnings.warn(f"Labels passed were {arr.tolist()}. But this function assumes labels are "
                      f"ordered lexicographically. Pass the ordered labels={classes.tolist()} and "
                      "ensure that the columns of y_prob correspond to this ordering.", UserWarning,
                      stacklevel=3)
    return classes


def encode_chunk(y, classes, given, where=""):
    """Positions of the labels of ``y`` in the sorted ``classes`` (intp); ScoreError if unknown."""
    _check_label_values(y, where)
    try:
        codes = np.searchsorted(classes, y)
        np.minimum(codes, classes.shape[0] - 1, out=codes)
        bad = classes[codes] != y
    except (TypeError, ValueError, np.exceptions.DTypePromotionError):
        bad = np.ones(y.shape, dtype=bool)
        codes = None
    if np.any(bad):
        found = sorted(set(np.asarray(y)[bad][:10].tolist()))
        if given:
            raise ScoreError(f"y_true contains values {found} not belonging to the passed labels "
                             f"{classes.tolist()}{where}")
        raise ScoreError(f"y_true contains values {found} that the label pass did not see{where}")
    return codes.astype(np.intp, copy=False)


# ---------------------------------------------------------------------------------------- scoring
def _rowsum_tolerance(dtype):
    return 1e-8 + math.sqrt(float(np.finfo(dtype).eps))


@dataclass
class Partials:
    """Mergeable partial results of a set of rows; ``merge`` is exact (fsum of the sums)."""

    sums_wl: list = field(default_factory=list)
    sums_w: list = field(default_factory=list)
    rows: int = 0
    pmin: float = math.inf
    pmax: float = -math.inf
    worst: float = 0.0
    any_nonzero_w: bool = False

    def add(self, sum_wl, sum_w, rows, pmin=math.inf, pmax=-math.inf, worst=0.0, nonzero=True):
        self.sums_wl.append(float(sum_wl))
        self.sums_w.append(float(sum_w))
        self.rows += int(rows)
        self.pmin = min(self.pmin, pmin)
        self.pmax = max(self.pmax, pmax)
        self.worst = max(self.worst, worst)
        self.any_nonzero_w = self.any_nonzero_w or bool(nonzero)
        return self

    def merge(self, other):
        out = Partials(self.sums_wl + other.sums_wl, self.sums_w + other.sums_w,
                       self.rows + other.rows, min(self.pmin, other.pmin), max(self.pmax, other.pmax),
                       max(self.worst, other.worst), self.any_nonzero_w or other.any_nonzero_w)
        return out

    @property
    def sum_wl(self):
        s = math.fsum(self.sums_wl) if all(map(math.isfinite, self.sums_wl)) else sum(self.sums_wl)
        return float(s)

    @property
    def sum_w(self):
        return float(math.fsum(self.sums_w))


class ChunkScorer:
    """Scores chunks of (y_true, y_pred[, weights]) with the active backend's kernels.

    ``loss`` is ``"log_loss"`` (probabilities, or logits when ``logits=True``) or the name of a loss
    of the ``fastloss.losses`` catalogue (reduced with ``reduction="sum"``). ``classes`` are the
    sorted labels (None for catalogue losses, which take y_true as is). Used by ``score_files``
    and by ``fastloss.dask``.
    """

    def __init__(self, *, logits=False, loss="log_loss", classes=None, labels_given=False,
                 pred_dtype=np.dtype(np.float64), pred_ndim=1, n_cols=1, indicator=False):
        self.logits = bool(logits)
        self.loss = loss or "log_loss"
        self.classes = classes
        self.labels_given = labels_given
        self.pred_dtype = np.dtype(pred_dtype)
        self.indicator = indicator
        self.binary = pred_ndim == 1 or n_cols == 1
        if self.loss != "log_loss":
            self.catalogue_loss = get_catalogue_loss(self.loss)
        else:
            self.catalogue_loss = None
            if self.pred_dtype.kind == "c":
                raise ScoreError("y_pred must hold real numbers, got complex")
            if self.pred_dtype not in _PROBA_DTYPES:
                self.pred_dtype = np.dtype(np.float64)
            self.eps = float(np.finfo(self.pred_dtype).eps)
            self.work_dtype = np.dtype(np.float32) if self.pred_dtype == np.float16 else self.pred_dtype
            if self.logits:
                self.work_dtype = np.dtype(np.float32 if self.pred_dtype == np.float32 else np.float64)
            if classes is not None:
                k = classes.shape[0]
                expected = 2 if self.binary else n_cols
                if k == 1:
                    if labels_given:
                        raise ScoreError(f"The labels array needs to contain at least two labels, "
                                         f"got {classes.tolist()}.")
                    raise ScoreError(f"y_true contains only one label ({classes[0]}). Please provide "
                                     "the list of all expected class labels with --labels / labels=.")
                if k != expected:
                    if labels_given:
                        raise ScoreError("The number of classes in labels is different from that in "
                                         f"y_prob. Classes found in labels: {classes.tolist()}")
                    raise ScoreError(f"y_true and y_prob contain different number of classes: "
                                     f"{max(k, 2)} vs {expected}. Please provide the true labels "
                                     f"explicitly with --labels / labels=. Classes found in y_true: "
                                     f"{classes.tolist()}")

    # -- helpers
    def _weights(self, w, where):
        if w is None:
            return np.empty(0, dtype=np.float64), True
        if w.dtype.kind not in "biuf":
            raise ScoreError(f"sample_weight must be numeric, got dtype {w.dtype}")
        wf = np.ascontiguousarray(w, dtype=np.float64)
        if w.dtype.kind == "f":
            if np.isnan(wf).any():
                raise ScoreError(f"Input sample_weight contains NaN{where}.")
            if np.isinf(wf).any():
                raise ScoreError(f"Input sample_weight contains infinity{where}.")
        return wf, bool(np.any(wf != 0))

    def partials(self, y, p, w=None, row_start=0):
        """Partials of one chunk (``y``, ``p``, ``w`` have the same number of rows)."""
        n = p.shape[0]
        where = f" (rows {row_start}-{row_start + n - 1})"
        wf, nonzero = self._weights(w, where)
        out = Partials()
        if self.catalogue_loss is not None:
            sum_wl, sum_w = catalogue_partials(self.catalogue_loss, y, p, None if w is None else wf,
                                               where)
            return out.add(sum_wl, sum_w, n, nonzero=True)
        kern = _backends.kernels()
        if p.dtype.kind == "c":
            raise ScoreError("y_pred must hold real numbers, got complex")
        if self.indicator:
            Y = np.ascontiguousarray(y, dtype=np.float64).reshape(n, -1)
            if not np.isin(Y, (0.0, 1.0)).all():
                raise ScoreError(f"Multioutput target data is not supported with label "
                                 f"binarization{where}")
            codes = None
        else:
            Y = None
            yy = y.reshape(-1) if y.ndim == 2 else y
            codes = encode_chunk(yy, self.classes, self.labels_given, where)
        if self.logits:
            work = np.ascontiguousarray(p, dtype=self.work_dtype)
            if Y is not None:
                work2 = work.reshape(n, -1)
                lse = np.empty((n, 1), dtype=self.work_dtype)
                kern.logsumexp(work2.reshape(n, -1, 1), lse)
                with np.errstate(invalid="ignore"):
                    per_row = np.sum(np.where(Y == 0, 0.0, Y * (lse - work2)), axis=1)
                n_nan = int(np.isnan(work2).sum())
                weights = wf if wf.size else np.ones(n)
                sum_wl = float(np.sum(np.where(weights == 0, 0.0, weights * per_row)))
                sum_w = float(np.sum(weights))
            elif self.binary:
                sum_wl, sum_w, n_nan = kern.log_loss_logits_binary(work.reshape(-1), codes, wf)
            else:
                sum_wl, sum_w, n_nan = kern.log_loss_logits_labels(work, codes, wf)
            if n_nan:
                raise ScoreError(f"logits contains NaN ({n_nan} values){where}")
            if math.isnan(sum_wl):
                raise ScoreError(f"a row of logits is all -inf, its loss is undefined{where}")
            return out.add(sum_wl, sum_w, n, nonzero=nonzero)
        work = p
        if work.dtype != self.work_dtype or not work.dtype.isnative or not work.flags.c_contiguous:
            work = np.ascontiguousarray(work, dtype=self.work_dtype)
        if Y is not None:
            stats = kern.log_loss_dense(work.reshape(n, -1), Y, wf, self.eps)
        elif self.binary:
            stats = kern.log_loss_binary(work.reshape(-1), codes, wf, self.eps)
        else:
            stats = kern.log_loss_labels(work, codes, wf, self.eps)
        sum_wl, sum_w, pmin, pmax, n_nan, worst = stats
        if n_nan:
            raise ScoreError(f"Input contains NaN{where}.")
        if pmin == -math.inf or pmax == math.inf:
            raise ScoreError(f"Input contains infinity{where}.")
        if pmax > 1:
            raise ScoreError(f"y_prob contains values greater than 1: {pmax}{where}")
        if pmin < 0:
            raise ScoreError(f"y_prob contains values lower than 0: {pmin}{where}")
        return out.add(sum_wl, sum_w, n, pmin, pmax, worst, nonzero)

    def finish(self, parts, weighted, normalize=True):
        """The loss (mean or sum) of merged partials, with the end-of-data checks; returns
        ``(loss, warnings)``."""
        notes = []
        if weighted and not parts.any_nonzero_w and self.catalogue_loss is None:
            raise ScoreError("Sample weights must contain at least one non-zero number.")
        if self.catalogue_loss is None and not self.logits and not self.binary:
            if parts.worst > _rowsum_tolerance(self.pred_dtype):
                notes.append("The y_prob values do not sum to one. Make sure to pass probabilities.")
        total = parts.sum_wl
        if not normalize:
            return total, notes
        sum_w = parts.sum_w
        if sum_w == 0:
            raise ScoreError("Weights sum to zero, can't be normalized")
        return total / sum_w, notes


def get_catalogue_loss(name):
    """The loss object ``name`` of ``fastloss.losses.CATALOGUE`` (ScoreError when unknown)."""
    try:
        from . import losses
    except ImportError:
        raise ScoreError(f"loss {name!r}: this fastloss has no loss catalogue (fastloss.losses); "
                         "only 'log_loss' is available") from None
    catalogue = getattr(losses, "CATALOGUE", {})
    if name not in catalogue:
        raise ScoreError(f"unknown loss {name!r}; choose from {['log_loss'] + sorted(catalogue)}")
    return catalogue[name]


def catalogue_partials(obj, y, raw, w, where=""):
    """Exact ``(Σ w·l, denominator of the mean)`` of a catalogue loss on one chunk.

    Uses the catalogue's own kernel call, which returns both sums (the denominator is not always
    Σ w: cross_entropy excludes ``ignore_index`` rows and applies ``class_weight``). Falls back to
    ``reduction="sum"`` and Σ w (n when unweighted) for loss objects without that hook.
    """
    name = getattr(obj, "name", type(obj).__name__)
    try:
        if hasattr(obj, "sums"):
            parts = obj.sums(y, raw, sample_weight=w)
            return parts.sum_wl, parts.sum_w
        sum_wl = float(obj.loss(y, raw, sample_weight=w, reduction="sum"))
        sum_w = float(raw.shape[0]) if w is None else float(np.sum(w))
    except (ValueError, TypeError) as exc:
        raise ScoreError(f"{_one_line(exc)}{where}") from None
    if math.isnan(sum_wl):
        raise ScoreError(f"loss {name!r} is NaN{where}: check the inputs for NaN")
    return sum_wl, sum_w


@dataclass
class ScoreResult:
    loss: float
    loss_name: str
    rows: int
    weight_sum: float
    loss_sum: float
    normalized: bool
    seconds: float
    rows_per_s: float
    chunk_rows: int
    chunks: int
    classes: list = None
    labels_inferred: bool = False
    label_pass_seconds: float = 0.0
    warnings: list = field(default_factory=list)
    inputs: dict = field(default_factory=dict)

    def to_dict(self):
        return asdict(self)


def default_chunk_rows(row_bytes, chunk_bytes=DEFAULT_CHUNK_BYTES):
    rows = max(1, chunk_bytes // max(1, row_bytes))
    return max(_ROW_ALIGN, rows // _ROW_ALIGN * _ROW_ALIGN)


def score_files(y_true, y_pred, *, sample_weight=None, logits=False, loss="log_loss", labels=None,
                normalize=True, chunk_rows=None, y_true_col=None, y_pred_cols=None,
                weight_col=None, progress=None, prefetch=True):
    """Stream the files and return a :class:`ScoreResult`; any problem raises :class:`ScoreError`.

    ``y_true``/``y_pred``/``sample_weight`` are paths of .npy or Parquet files (the same Parquet
    file may hold all three; pick columns with ``y_true_col``, ``y_pred_cols`` (one column for
    binary scores, several, or one list column for (n, K) scores) and ``weight_col``).
    ``progress``: a callable ``progress(rows_done)`` called after each chunk, or None.
    """
    t_start = time.perf_counter()
    ys = open_source(y_true, "y_true", [y_true_col] if y_true_col else None)
    ps = open_source(y_pred, "y_pred", list(y_pred_cols) if y_pred_cols else None)
    ws = None
    if sample_weight is not None:
        ws = open_source(sample_weight, "sample_weight", [weight_col] if weight_col else None)
    elif weight_col:
        ws = open_source(y_true, "sample_weight", [weight_col])
    sources = [ys, ps] + ([ws] if ws is not None else [])
    lengths = [s.n_rows for s in sources]
    if len(set(lengths)) > 1:
        raise ScoreError(f"Found input variables with inconsistent numbers of samples: {lengths} "
                         f"({', '.join(s.role for s in sources)})")
    n = ps.n_rows
    if n == 0:
        raise ScoreError(f"Found array with 0 sample(s) (shape={ps.shape}) while a minimum of 1 "
                         "is required.")
    if len(ps.shape) > 2:
        raise ScoreError(f"y_pred: Found array with dim {len(ps.shape)}, while dim <= 2 is required.")
    if len(ps.shape) == 2 and ps.shape[1] == 0:
        raise ScoreError(f"y_pred: Found array with 0 feature(s) (shape={ps.shape}).")
    if ps.dtype.kind not in "biuf":
        raise ScoreError(f"y_pred must hold real numbers, got dtype {ps.dtype}")
    if ws is not None and len(ws.shape) != 1:
        raise ScoreError(f"Sample weights must be 1D array, got {len(ws.shape)}D array of shape {ws.shape}.")
    if ws is not None and ws.dtype.kind not in "biuf":
        raise ScoreError(f"sample_weight must be numeric, got dtype {ws.dtype}")
    if len(ys.shape) > 2:
        raise ScoreError("Multioutput target data is not supported with label binarization")
    indicator = len(ys.shape) == 2 and ys.shape[1] > 1
    n_cols = ps.shape[1] if len(ps.shape) == 2 else 1
    if chunk_rows is None:
        chunk_rows = default_chunk_rows(ps.row_bytes)
    chunk_rows = int(chunk_rows)
    if chunk_rows < 1:
        raise ScoreError(f"chunk rows must be >= 1, got {chunk_rows}")

    loss = loss or "log_loss"
    classes = None
    inferred = False
    t_labels = 0.0
    if loss == "log_loss":
        if indicator:
            if labels is not None:
                raise ScoreError("labels= does not apply to a multilabel indicator y_true")
            classes = np.arange(ys.shape[1])
        elif labels is not None:
            classes = prepare_labels(labels, ys.dtype)
        else:
            t0 = time.perf_counter()
            found = []
            for a, (yc,) in iter_chunks([ys], max(chunk_rows, 1 << 20), prefetch=prefetch):
                yc = yc.reshape(-1) if yc.ndim == 2 else yc
                found.append(chunk_classes(yc, f" (rows {a}-{a + yc.shape[0] - 1})"))
                found = [merge_classes(found)]
            classes = found[0]
            inferred = True
            t_labels = time.perf_counter() - t0
    scorer = ChunkScorer(logits=logits, loss=loss, classes=classes, labels_given=labels is not None,
                         pred_dtype=ps.dtype, pred_ndim=len(ps.shape), n_cols=n_cols,
                         indicator=indicator)
    parts = Partials()
    chunks = 0
    for a, arrays in iter_chunks(sources, chunk_rows, prefetch=prefetch):
        yc, pc = arrays[0], arrays[1]
        wc = arrays[2] if ws is not None else None
        parts = parts.merge(scorer.partials(yc, pc, wc, a))
        chunks += 1
        if progress is not None:
            progress(parts.rows)
    value, notes = scorer.finish(parts, ws is not None, normalize)
    seconds = time.perf_counter() - t_start
    return ScoreResult(
        loss=float(value), loss_name=loss if not (loss == "log_loss" and logits) else "log_loss_from_logits",
        rows=parts.rows, weight_sum=parts.sum_w, loss_sum=parts.sum_wl, normalized=bool(normalize),
        seconds=seconds, rows_per_s=parts.rows / seconds if seconds > 0 else float("inf"),
        chunk_rows=chunk_rows, chunks=chunks,
        classes=None if classes is None else classes.tolist(), labels_inferred=inferred,
        label_pass_seconds=t_labels, warnings=notes,
        inputs={s.role: s.describe() for s in sources},
    )
