"""Out-of-core scoring: stream .npy / Parquet files through the log-loss kernels in fixed chunks.

``score_files`` (and the ``fastloss score`` command built on it) never loads an input whole: the
files are read chunk by chunk into reused buffers (fastloss/_score/readers.py), the next chunk
read by a helper thread while the current one is scored (_score/chunks.py).

Each chunk goes through the active backend's kernel, which returns exact partial sums
(Σ w·l, Σ w, and what validation needs; _score/partials.py). The chunk partials are combined
with ``math.fsum`` (an exactly rounded sum), so the result does not depend on the chunk size
beyond the rounding inside each chunk and agrees with the in-memory :func:`fastloss.log_loss` to
~1e-15 relative. Errors are reported in row order: the first bad row's problem, every time.

Labels: given (``labels=``) or inferred in a first, cheap pass that reads only ``y_true`` (the
union of the classes of every chunk, sorted, as scikit-learn's LabelBinarizer would find them on
the whole array; _score/labels.py). Peak memory is about ``chunk_rows`` × (bytes of one row of
every input + 24) × 2 buffers, plus the interpreter and Numba.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._score.chunks import iter_chunks
from ._score.errors import ScoreError
from ._score.labels import chunk_classes, encode_chunk, merge_classes, prepare_labels
from ._score.partials import ChunkScorer, Partials, catalogue_partials, get_catalogue_loss
from ._score.readers import NpySource, ParquetSource, open_source

__all__ = [
    "DEFAULT_CHUNK_BYTES", "ChunkScorer", "NpySource", "ParquetSource", "Partials", "ScoreError",
    "ScoreResult", "catalogue_partials", "chunk_classes", "default_chunk_rows", "encode_chunk",
    "get_catalogue_loss", "iter_chunks", "merge_classes", "open_source", "prepare_labels",
    "score_files",
]

#: default bytes of y_pred per chunk (the chunk row count is derived from it)
DEFAULT_CHUNK_BYTES = 32 << 20
_ROW_ALIGN = 16384  # chunk rows are a multiple of the kernels' block sizes when picked for you


@dataclass
class ScoreResult:
    """What ``score_files`` found: the loss, the sums it came from, and how the files were read."""

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
    classes: list[Any] | None = None
    labels_inferred: bool = False
    label_pass_seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    inputs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def default_chunk_rows(row_bytes: int, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> int:
    """Rows per chunk for about ``chunk_bytes`` of rows of ``row_bytes`` each."""
    rows = max(1, chunk_bytes // max(1, row_bytes))
    return max(_ROW_ALIGN, rows // _ROW_ALIGN * _ROW_ALIGN)


def _infer_classes(ys: Any, chunk_rows: int, prefetch: bool) -> NDArray[Any]:
    """The label pass: the sorted union of the classes of every chunk of ``ys``."""
    classes = np.empty(0)
    # closing(): on an error the read-ahead is waited for and the files are closed right away,
    # not whenever the generator is collected
    with closing(iter_chunks([ys], chunk_rows, prefetch=prefetch)) as chunks:
        for a, (yc,) in chunks:
            yc = yc.reshape(-1) if yc.ndim == 2 else yc
            classes = merge_classes([classes, chunk_classes(yc, f" (rows {a}-{a + yc.shape[0] - 1})")])
    return classes


_StrPath = str | os.PathLike[str]  # a file path


def score_files(y_true: _StrPath, y_pred: _StrPath, *, sample_weight: _StrPath | None = None,
                logits: bool = False, loss: str | None = "log_loss", labels: ArrayLike | None = None,
                normalize: bool = True, chunk_rows: int | None = None, y_true_col: str | None = None,
                y_pred_cols: Sequence[str] | None = None, weight_col: str | None = None,
                progress: Callable[[int], object] | None = None, prefetch: bool = True
                ) -> ScoreResult:
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
            classes = _infer_classes(ys, max(chunk_rows, 1 << 20), prefetch)
            inferred = True
            t_labels = time.perf_counter() - t0
    scorer = ChunkScorer(logits=logits, loss=loss, classes=classes, labels_given=labels is not None,
                         pred_dtype=ps.dtype, pred_ndim=len(ps.shape), n_cols=n_cols,
                         indicator=indicator)
    parts = Partials()
    n_chunks = 0
    with closing(iter_chunks(sources, chunk_rows, prefetch=prefetch)) as chunks:
        for a, arrays in chunks:
            yc, pc = arrays[0], arrays[1]
            wc = arrays[2] if ws is not None else None
            parts = parts.merge(scorer.partials(yc, pc, wc, a))
            n_chunks += 1
            if progress is not None:
                progress(parts.rows)
    value, notes = scorer.finish(parts, ws is not None, normalize)
    seconds = time.perf_counter() - t_start
    return ScoreResult(
        loss=float(value), loss_name=loss if not (loss == "log_loss" and logits) else "log_loss_from_logits",
        rows=parts.rows, weight_sum=parts.sum_w, loss_sum=parts.sum_wl, normalized=bool(normalize),
        seconds=seconds, rows_per_s=parts.rows / seconds if seconds > 0 else float("inf"),
        chunk_rows=chunk_rows, chunks=n_chunks,
        classes=None if classes is None else classes.tolist(), labels_inferred=inferred,
        label_pass_seconds=t_labels, warnings=notes,
        inputs={s.role: s.describe() for s in sources},
    )
