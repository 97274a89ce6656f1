"""fastloss over Spark: ``log_loss``, ``log_loss_from_logits`` and any catalogue ``loss`` of the
columns of a Spark DataFrame, computed in the executors and combined exactly on the driver.

Install with ``pip install 'fastloss[spark]'``.

How it works:

* Each partition's rows reach a Python worker as Arrow record batches (``DataFrame.mapInArrow``,
  only the columns used). Every batch is scored by the kernels into the partials that
  ``fastloss score`` and ``fastloss.dask`` use (``fastloss/_score/partials.py``: the individual
  Σ w·l and Σ w of each batch, the probability range, the worst row-sum error, whether a weight
  is non-zero); the partition returns them as one row. The driver collects one row per
  partition, merges them in partition order and adds the sums once with ``math.fsum``, so the
  value equals ``fastloss.log_loss`` (etc.) on the collected arrays to ~1e-15 relative, for any
  partitioning.
* Labels: ``labels=`` given, or inferred in a first pass that reads only the label column: its
  distinct values (``collect_set``, in the JVM), checked and sorted as in memory (what the
  in-memory function finds on the whole column). When they hold a NaN or a non-integer float,
  an Arrow pass over the partitions (each one's classes) finds the rows to name.
* Errors: each partition reports its first problem with rows counted from the partition's start,
  plus its row count; the driver adds the row counts of the partitions before it, so the message
  (the one ``fastloss score`` writes) names global row numbers (the order of ``df.collect()``),
  and the first problem in row order is raised, as a ValueError. Nulls are refused, naming the
  column.
* ``prediction_col``: a numeric column (binary scores, 1-D raw), an array column or a Spark ML
  vector column (``(n, K)``; vectors go through ``pyspark.ml.functions.vector_to_array``), or a
  list of numeric column names (stacked to ``(n, K)``). ``label_col`` is one column (an array or
  vector column for the catalogue losses with distribution targets); ``weight_col`` numeric.
* Threads: Spark runs one task per executor core, so each task runs the kernels with one thread
  (``fastloss.thread_limit(1)``) unless ``threads=`` says otherwise.

The input is read once per pass: cache the DataFrame (``df.cache()``) when it is expensive to
compute and labels are inferred, or when it is scored several times.
"""
from __future__ import annotations

import io
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial, reduce
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

try:
    import pyarrow as pa
    from pyspark import TaskContext
    from pyspark.sql import Column, DataFrame, Row
    from pyspark.sql import functions as F
    from pyspark.sql import types as T
except ImportError as exc:  # pragma: no cover - exercised without pyspark only
    raise ImportError("fastloss.spark needs pyspark and pyarrow: pip install 'fastloss[spark]'") from exc

import fastloss

from ._score.errors import ScoreError
from ._score.labels import chunk_classes, merge_classes, prepare_labels
from ._score.partials import ChunkScorer, Partials, get_catalogue_loss

__all__ = ["log_loss", "log_loss_from_logits", "loss"]

# what each partition sends back: its index, its row count, its partials (or classes) and its
# first error, with the error's rows counted from the partition's start
_ERROR_FIELDS = [("error", pa.string()), ("error_start", pa.int64()), ("error_rows", pa.int64())]
_PARTIALS_SCHEMA = pa.schema([
    ("part", pa.int32()), ("rows", pa.int64()), ("k", pa.int32()),
    ("sums_wl", pa.list_(pa.float64())), ("sums_w", pa.list_(pa.float64())),
    ("pmin", pa.float64()), ("pmax", pa.float64()), ("worst", pa.float64()),
    ("nonzero", pa.bool_()), *_ERROR_FIELDS,
])
_CLASSES_SCHEMA = pa.schema([("part", pa.int32()), ("rows", pa.int64()), ("classes", pa.binary()),
                             *_ERROR_FIELDS])
_DDL = {pa.int32(): "int", pa.int64(): "long", pa.float64(): "double", pa.bool_(): "boolean",
        pa.string(): "string", pa.binary(): "binary", pa.list_(pa.float64()): "array<double>"}


def _ddl(schema: pa.Schema) -> str:
    return ", ".join(f"{f.name} {_DDL[f.type]}" for f in schema)


# ---------------------------------------------------------------------------------- the job
@dataclass(frozen=True)
class _Job:
    """What the executors need: column names (for messages), how to score, the threads."""

    label: str
    preds: tuple[str, ...]  # one column, or the list of columns stacked to (n, K)
    weight: str | None
    threads: int
    config: dict[str, Any] = field(default_factory=dict)  # ChunkScorer's arguments but n_cols
    loss_params: dict[str, Any] = field(default_factory=dict)

    def scorer(self, n_cols: int, classes: Any = None) -> ChunkScorer:
        scorer = ChunkScorer(classes=classes, n_cols=n_cols, **self.config)
        if self.loss_params:  # a parametrised catalogue loss: the ChunkScorer has the defaults
            scorer.catalogue_loss = type(get_catalogue_loss(self.config["loss"]))(**self.loss_params)
        return scorer


def _where(start: int, n: int) -> str:
    return f" (rows {start}-{start + n - 1})"  # as ChunkScorer writes it


def _col(name: str) -> Column:
    return F.col("`" + name.replace("`", "``") + "`")


def _field(df: DataFrame, name: str) -> T.StructField:
    if not isinstance(name, str):
        raise TypeError(f"column names must be strings, got {name!r}")
    try:
        return df.schema[name]
    except KeyError:
        raise ValueError(f"no column {name!r} in the DataFrame; its columns: {df.columns}") from None


def _is_vector(dt: T.DataType) -> bool:
    # pyspark.ml is imported here, on the driver only: its import (~1 s) would delay every
    # Python worker that unpickles this module's task functions
    from pyspark.ml.linalg import VectorUDT

    return isinstance(dt, VectorUDT)


def _numeric_expr(df: DataFrame, name: str, role: str) -> tuple[Column, np.dtype[Any], bool]:
    """``(expression, dtype, is_rows)`` of a prediction-like column: float and double stay as
    they are (their dtype sets the clipping eps), other numbers become double; arrays and
    vectors give (n, K) rows."""
    dt = _field(df, name).dataType
    if _is_vector(dt):
        from pyspark.ml.functions import vector_to_array

        return vector_to_array(_col(name), "float64"), np.dtype(np.float64), True
    rows = isinstance(dt, T.ArrayType)
    elem = dt.elementType if isinstance(dt, T.ArrayType) else dt
    if not isinstance(elem, T.NumericType):
        raise TypeError(f"{role} column {name!r} must be numeric, an array of numbers or an ML "
                        f"vector, got {dt.simpleString()}")
    if isinstance(elem, T.FloatType):
        return _col(name), np.dtype(np.float32), rows
    if isinstance(elem, T.DoubleType):
        return _col(name), np.dtype(np.float64), rows
    cast: T.DataType = T.ArrayType(T.DoubleType()) if rows else T.DoubleType()
    return _col(name).cast(cast), np.dtype(np.float64), rows


_LABEL_DTYPES = {T.BooleanType: np.bool_, T.ByteType: np.int8, T.ShortType: np.int16,
                 T.IntegerType: np.int32, T.LongType: np.int64, T.FloatType: np.float32,
                 T.DoubleType: np.float64, T.StringType: np.str_}


def _label_expr(df: DataFrame, name: str) -> tuple[Column, np.dtype[Any]]:
    dt = _field(df, name).dataType
    for spark_type, dtype in _LABEL_DTYPES.items():
        if isinstance(dt, spark_type):
            return _col(name), np.dtype(dtype)
    if isinstance(dt, T.DecimalType):
        return _col(name).cast(T.DoubleType()), np.dtype(np.float64)
    raise TypeError(f"label column {name!r} must hold numbers, booleans or strings, "
                    f"got {dt.simpleString()}")


# ---------------------------------------------------------------------------------- executors
def _to_numpy(col: pa.Array, name: str, where: str) -> np.ndarray[Any, Any]:
    """One Arrow column of a batch as NumPy: (n,), or (n, K) for a list column."""
    if col.null_count:
        raise ScoreError(f"column {name!r} contains null values{where}")
    if pa.types.is_list(col.type) or pa.types.is_large_list(col.type) or \
            pa.types.is_fixed_size_list(col.type):
        values = col.flatten()
        if values.null_count:
            raise ScoreError(f"column {name!r} contains null values inside arrays{where}")
        lengths = np.asarray(col.value_lengths())
        k = int(lengths[0]) if len(lengths) else 0
        if np.any(lengths != k):
            raise ScoreError(f"column {name!r} holds arrays of different lengths "
                             f"({int(lengths.min())} to {int(lengths.max())}){where}")
        return values.to_numpy(zero_copy_only=False).reshape(len(col), k)
    arr = col.to_numpy(zero_copy_only=False)
    if arr.dtype == object:  # strings: as np.asarray of a list of str in memory
        arr = arr.astype(str)
    return arr


def _batch_arrays(job: _Job, batch: pa.RecordBatch, where: str) -> tuple[Any, Any, Any]:
    y = _to_numpy(batch.column(0), job.label, where)
    cols = [_to_numpy(batch.column(1 + i), name, where) for i, name in enumerate(job.preds)]
    p = cols[0] if len(cols) == 1 else np.column_stack(cols)
    w = None if job.weight is None else _to_numpy(batch.column(1 + len(cols)), job.weight, where)
    return y, p, w


def _error_values(error: tuple[str, int, int] | None) -> dict[str, list[Any]]:
    msg, start, n = error if error is not None else (None, 0, 0)
    return {"error": [msg], "error_start": [start], "error_rows": [n]}


def _partition() -> int:
    context = TaskContext.get()
    return 0 if context is None else context.partitionId()


def _score_partition(job: _Job, classes: Any, batches: Iterator[pa.RecordBatch]
                     ) -> Iterator[pa.RecordBatch]:
    """Executor side: one row of partials for the whole partition (its first error, if any)."""
    parts, rows, k = Partials(), 0, -1
    scorer: ChunkScorer | None = None
    error = None
    with fastloss.thread_limit(job.threads):
        for batch in batches:
            n = batch.num_rows
            if error is None and n:
                where = _where(rows, n)
                try:
                    y, p, w = _batch_arrays(job, batch, where)
                    n_cols = 1 if p.ndim == 1 else p.shape[1]
                    if scorer is None:
                        scorer, k = job.scorer(n_cols, classes), n_cols
                    elif n_cols != k:
                        raise ScoreError(f"column {job.preds[0]!r} holds arrays of {n_cols} values, "
                                         f"earlier rows {k}{where}")
                    parts = parts.merge(scorer.partials(y, p, w, rows))
                except ScoreError as exc:
                    error = (str(exc), rows, n)
            rows += n
    yield pa.RecordBatch.from_pydict({
        "part": [_partition()], "rows": [rows], "k": [k], "sums_wl": [parts.sums_wl],
        "sums_w": [parts.sums_w], "pmin": [parts.pmin], "pmax": [parts.pmax],
        "worst": [parts.worst], "nonzero": [parts.any_nonzero_w], **_error_values(error),
    }, schema=_PARTIALS_SCHEMA)


def _classes_partition(job: _Job, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Executor side of the label pass: the sorted classes of the partition, as .npy bytes."""
    found: list[Any] = []
    rows, error = 0, None
    for batch in batches:
        n = batch.num_rows
        if error is None and n:
            where = _where(rows, n)
            try:
                found.append(chunk_classes(_to_numpy(batch.column(0), job.label, where), where))
            except ScoreError as exc:
                error = (str(exc), rows, n)
        rows += n
    buf = io.BytesIO()
    np.save(buf, merge_classes(found), allow_pickle=False)
    yield pa.RecordBatch.from_pydict({"part": [_partition()], "rows": [rows],
                                      "classes": [buf.getvalue()], **_error_values(error)},
                                     schema=_CLASSES_SCHEMA)


# ---------------------------------------------------------------------------------- driver
def _collect(sel: DataFrame, func: Any, schema: pa.Schema) -> list[Row]:
    """Run ``func`` over the partitions; their rows in partition order, the first error raised
    (its rows made global by the row counts of the partitions before it)."""
    out = sorted(sel.mapInArrow(func, _ddl(schema)).collect(), key=lambda r: r["part"])
    offset = 0
    for r in out:
        if r["error"] is not None:
            local = _where(r["error_start"], r["error_rows"])
            glob = _where(offset + r["error_start"], r["error_rows"])
            raise ValueError(glob.join(r["error"].rsplit(local, 1)))
        offset += r["rows"]
    if offset == 0:
        raise ValueError("Found array with 0 sample(s) while a minimum of 1 is required.")
    return out


def _infer_classes(df: DataFrame, y_expr: Column, y_dtype: np.dtype[Any], job: _Job) -> Any:
    """The sorted classes of the label column, as the in-memory function finds them. Its distinct
    values come from one cheap job in the JVM (``collect_set``, nulls left out: the scoring pass
    reports them) and are checked and sorted by ``chunk_classes``; when the check fails (NaN,
    non-integer floats), the Arrow pass over the partitions raises with the rows of the first
    bad batch."""
    values = df.select(y_expr.alias("y")).agg(F.collect_set("y")).collect()[0][0]
    try:
        return chunk_classes(np.asarray(values, dtype=y_dtype))
    except ScoreError:
        found = _collect(df.select(y_expr.alias("y")), partial(_classes_partition, job),
                         _CLASSES_SCHEMA)
        return merge_classes([np.load(io.BytesIO(r["classes"]), allow_pickle=False) for r in found])


def _threads(threads: int | None) -> int:
    threads = 1 if threads is None else int(threads)
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    return threads


def _reduced(df: DataFrame, label_col: str, prediction_col: str | Sequence[str], weight_col: str | None,
             *, logits: bool, loss_name: str, loss_params: dict[str, Any], labels: ArrayLike | None,
             normalize: bool, threads: int | None) -> float:
    if not isinstance(df, DataFrame):
        raise TypeError(f"df must be a pyspark.sql.DataFrame, got {type(df).__name__}")
    preds = (prediction_col,) if isinstance(prediction_col, str) else tuple(prediction_col)
    if not preds:
        raise ValueError("prediction_col is an empty list of columns")
    catalogue = loss_name != "log_loss"
    label_type = _field(df, label_col).dataType
    if catalogue and (isinstance(label_type, T.ArrayType) or _is_vector(label_type)):
        y_expr = _numeric_expr(df, label_col, "label")[0]  # distribution targets: (n, K) rows
        y_dtype = np.dtype(np.float64)
    else:
        y_expr, y_dtype = _label_expr(df, label_col)
    p_exprs = [_numeric_expr(df, name, "prediction") for name in preds]
    if len(p_exprs) > 1 and any(rows for _, _, rows in p_exprs):
        raise TypeError("a list of prediction columns must name numeric columns, not arrays")
    pred_dtype = np.result_type(*[dtype for _, dtype, _ in p_exprs])
    is_rows = len(p_exprs) > 1 or p_exprs[0][2]
    # plain names for the selected columns (mapInArrow re-reads them by name: "a.b" would not do)
    exprs = [y_expr.alias("y")] + [e.alias(f"p{i}") for i, (e, _, _) in enumerate(p_exprs)]
    if weight_col is not None:
        exprs.append(_numeric_expr(df, weight_col, "weight")[0].alias("w"))
    job = _Job(label_col, preds, weight_col, _threads(threads),
               config=dict(logits=logits, loss=loss_name, labels_given=labels is not None,
                           pred_dtype=pred_dtype, pred_ndim=2 if is_rows else 1, indicator=False),
               loss_params=loss_params)
    known_k = len(preds) if len(preds) > 1 else (None if is_rows else 1)
    try:
        classes = None
        if catalogue:
            job.scorer(1)  # an unknown parameter fails here, not in every task
        elif labels is not None:
            classes = prepare_labels(labels, y_dtype)
        else:
            classes = _infer_classes(df, y_expr, y_dtype, job)
        if known_k is not None and (classes is None or classes.size):
            job.scorer(known_k, classes)  # class-count errors before the pass, when we can
        out = _collect(df.select(*exprs), partial(_score_partition, job, classes), _PARTIALS_SCHEMA)
        ks = sorted({r["k"] for r in out if r["rows"]})
        if len(ks) > 1:
            raise ValueError(f"column {preds[0]!r} holds arrays of different lengths: {ks}")
        parts = reduce(Partials.merge, [
            Partials(list(r["sums_wl"]), list(r["sums_w"]), r["rows"], r["pmin"], r["pmax"],
                     r["worst"], r["nonzero"]) for r in out])
        value, notes = job.scorer(ks[0], classes).finish(parts, weight_col is not None, normalize)
    except ScoreError as exc:
        raise ValueError(str(exc)) from None
    for note in notes:
        warnings.warn(note, UserWarning, stacklevel=3)
    return float(value)


def log_loss(df: DataFrame, label_col: str, prediction_col: str | Sequence[str], *,
             weight_col: str | None = None, labels: ArrayLike | None = None, normalize: bool = True,
             threads: int | None = None) -> float:
    """:func:`fastloss.log_loss` of DataFrame columns: ``prediction_col`` holds P(class 1) (a
    numeric column), or (n, K) probabilities (an array or vector column, or a list of columns)."""
    return _reduced(df, label_col, prediction_col, weight_col, logits=False, loss_name="log_loss",
                    loss_params={}, labels=labels, normalize=normalize, threads=threads)


def log_loss_from_logits(df: DataFrame, label_col: str, prediction_col: str | Sequence[str], *,
                         weight_col: str | None = None, labels: ArrayLike | None = None,
                         normalize: bool = True, threads: int | None = None) -> float:
    """:func:`fastloss.log_loss_from_logits` of DataFrame columns (one logit column for binary
    labels, or (n, K) logits)."""
    return _reduced(df, label_col, prediction_col, weight_col, logits=True, loss_name="log_loss",
                    loss_params={}, labels=labels, normalize=normalize, threads=threads)


def loss(name: str, df: DataFrame, label_col: str, prediction_col: str | Sequence[str], *,
         weight_col: str | None = None, reduction: str = "mean", threads: int | None = None,
         **params: Any) -> float:
    """The reduced value of the catalogue loss ``name`` (``fastloss.losses.CATALOGUE``; its
    parameters as keywords, e.g. ``delta=2.0``): ``reduction="mean"`` is its ``loss(...)`` mean
    (Σ w·l over the loss's own denominator), ``"sum"`` Σ w·l. ``"log_loss"`` is :func:`log_loss`."""
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum' over Spark columns, got {reduction!r}")
    if name == "log_loss":
        if params:
            raise TypeError(f"log_loss takes no loss parameters, got {sorted(params)}")
        return log_loss(df, label_col, prediction_col, weight_col=weight_col,
                        normalize=reduction == "mean", threads=threads)
    try:
        get_catalogue_loss(name)
    except ScoreError as exc:
        raise ValueError(str(exc)) from None
    return _reduced(df, label_col, prediction_col, weight_col, logits=False, loss_name=name,
                    loss_params=params, labels=None, normalize=reduction == "mean", threads=threads)
