"""Labels of y_true, chunk by chunk: the classes of a chunk, their union, labels given by the
user, and the codes (positions in the sorted classes) the kernels take.

The classes and codes are computed by fastloss/_labels.py, as for the in-memory log_loss; this
module adds what streaming needs: per-chunk checks whose messages name the rows, and user labels
that arrive as strings from the command line.
"""
import numpy as np

from .. import _labels
from .errors import ScoreError


def _check_label_values(y, where=""):
    if y.dtype.kind == "f":
        if np.isnan(y).any():
            raise ScoreError(f"y_true contains NaN{where}")
        if not np.all(y == np.floor(y)):
            raise ScoreError(f"Unknown label type: y_true holds non-integer floats{where}")
    if y.dtype.kind == "c":
        raise ScoreError("y_true must hold labels, got complex numbers")


def _sorted_classes(y):
    try:
        return _labels.sorted_classes(y)
    except ValueError as exc:  # a mix of strings and numbers
        raise ScoreError(str(exc)) from None


def chunk_classes(y, where=""):
    """Sorted distinct labels of one 1-D chunk (O(n) for integers of small range)."""
    _check_label_values(y, where)
    return _sorted_classes(y)


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
    """Labels given by the user, converted to y_true's kind and sorted (a warning if they were not).

    Labels typed on the command line are strings: for numeric y_true they are read as numbers
    (integers when y_true holds integers)."""
    arr = np.asarray(labels)
    if arr.dtype.kind in "US" and y_dtype.kind in "biuf":
        try:
            arr = arr.astype(np.float64)
            if y_dtype.kind in "biu" and np.all(arr == np.floor(arr)):
                arr = arr.astype(np.int64)
        except ValueError:
            raise ScoreError(f"labels {list(labels)} are not numbers but y_true holds {y_dtype}") from None
    arr = arr.reshape(-1)
    classes = _sorted_classes(arr)
    if classes.shape != arr.shape or not np.all(classes == arr):
        _labels.warn_unordered_labels(arr.tolist(), classes, stacklevel=3)
    return classes


def encode_chunk(y, classes, given, where=""):
    """Positions of the labels of ``y`` in the sorted ``classes`` (intp); ScoreError if unknown."""
    _check_label_values(y, where)
    if y.dtype.kind in "iu" and classes.dtype.kind in "iu" and y.size and classes.size:
        codes = _labels.codes_in_classes(y, classes, _labels.label_bounds(y))
        if codes is not None:
            return codes
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
