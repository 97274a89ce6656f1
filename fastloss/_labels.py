"""Target encoding with scikit-learn's LabelBinarizer semantics, done in O(n) where it can be.

``encode_targets`` returns ``(codes, indicator, classes)``: for 1-D targets ``codes`` are the
positions of the labels in the sorted ``classes`` (and ``indicator`` is None); for a multilabel
indicator matrix ``indicator`` is that matrix as float64 and ``codes`` is None.

Integer (or bool) labels that already are 0..K-1 -- the classes inferred, or ``labels=`` given --
are validated with min/max (and a chunked presence count) and handed to the kernels as they are,
viewed as an unsigned integer of their own width (``code_view``): no copy. Other labels
(another range, a gap, strings, integral floats) are encoded, a chunk at a time, into codes of the
narrowest unsigned type that holds K - 1 (``_narrow_codes``: one byte per label up to 256
classes), never into an n-sized intp array. Large float32/float64 labels are checked, bounded
and (without ``labels=``) encoded by two Cython scans instead (``_float_bounds``,
``_float_codes``), where a compiled backend runs the call.
"""
import warnings

import numpy as np

from . import _backends

# Integer targets spanning at most this many values are encoded with bincount (O(n)) rather than
# np.unique (a sort).
_DENSE_RANGE = 1 << 20
# Rows counted per np.bincount call (which casts its input to intp: a 512 KiB temporary).
_COUNT_CHUNK = 1 << 16


def _offsets(y, lo):
    """``y - lo`` as intp, for integer (or integral float) ``y >= lo``."""
    if y.dtype.kind == "f":
        return (y - lo).astype(np.intp)
    if y.dtype.kind == "b":
        y = y.view(np.uint8)
    if y.dtype.kind == "i" or lo < 0:
        # computed in intp: y - lo can leave a narrow dtype (int8 labels -100 and 100; uint8
        # labels in classes that start at -1)
        return np.subtract(y, lo, dtype=np.intp)
    return (y - lo).astype(np.intp, copy=False)  # unsigned: 0 <= y - lo <= y, no overflow


def _values_present(lo, present, dtype):
    """``lo + i`` for each i where ``present`` is True, as ``dtype``."""
    work = np.uint64 if dtype.kind == "u" else np.intp  # uint64 labels may lie above intp's range
    return (np.flatnonzero(present).astype(work) + work(lo)).astype(dtype, copy=False)


def code_view(y):
    """Integer or bool labels known to lie in 0..K-1, as the kernels read them, without a wider
    copy: bool as uint8, a signed type as the unsigned type of its width (the values are >= 0, so
    the bits are the same numbers), 8-byte types as intp; native byte order, C-contiguous (a
    byte-swapped or strided ``y`` is copied at its own width)."""
    if not y.dtype.isnative:
        y = y.astype(y.dtype.newbyteorder("="))
    if y.dtype.kind == "b":
        view = y.view(np.uint8)
    elif y.dtype.itemsize == 8:
        view = y.view(np.intp)
    else:
        view = y.view(np.dtype(f"u{y.dtype.itemsize}"))
    return np.ascontiguousarray(view)


def native_labels(y):
    """Labels in native byte order and C-contiguous, as the compiled kernels and scans read them
    (copied at their own width only where they are not)."""
    return np.ascontiguousarray(y.astype(y.dtype.newbyteorder("="), copy=False))


def _narrow_codes(y, n_classes, encode):
    """Codes of ``y`` in the narrowest unsigned type that holds ``n_classes - 1``, filled a chunk
    at a time with ``encode(chunk)`` (intp positions; -1 marks a value outside the classes), so
    only a chunk-sized intp temporary exists. None when a chunk has a -1."""
    codes = np.empty(y.shape[0], dtype=_code_dtype(n_classes))
    for start in range(0, y.shape[0], _COUNT_CHUNK):
        chunk = encode(y[start:start + _COUNT_CHUNK])
        if chunk.size and chunk.min() < 0:
            return None
        codes[start:start + chunk.shape[0]] = chunk
    return codes


def _float32_or_64(y):
    """float32 or float64 labels, in either byte order (the scans read a native copy)."""
    return y.dtype.kind == "f" and y.dtype.itemsize in (4, 8)


def _compiled_label_scan(y):
    """(the Cython metrics family, serial) to scan large 1-D labels with, or None: unless the
    NumPy backend is pinned or Cython is not built; in parallel only when the Cython kernels run
    the call (before a Numba kernel, an OpenMP region would leave a libgomp worker spinning on
    the core Numba's pool thread needs: measured, log_loss binary 1e7 32 -> 36 ms)."""
    if y.size <= _COUNT_CHUNK or y.ndim != 1:
        return None
    backend = _backends.current_name(y.size)
    if backend == "numpy" or "cython" not in _backends.available_backends():
        return None
    return _backends.family("metrics", backend="cython"), backend != "cython"


def label_bounds(y):
    """(min, max) of non-empty labels as Python numbers: ints, or floats for float labels (which
    may be infinite). Large integer labels: the Cython backend's label_bounds (one parallel read;
    NumPy reads them twice, serially), where _compiled_label_scan allows."""
    scan = _compiled_label_scan(y) if y.dtype.kind in "iu" else None
    if scan is not None:
        family, serial = scan
        return family.label_bounds(
            native_labels(y), serial=serial)
    to = float if y.dtype.kind == "f" else int
    return to(y.min()), to(y.max())


def _float_bounds(y):
    """(min, max) as floats of non-empty float labels that all hold int64 integers, or None when
    one does not (the caller then raises scikit-learn's complaint: _check_float_labels). Large
    float32/float64 labels: the Cython backend's float_label_bounds, one read where NumPy takes
    three (the int64 cast compared, min, max), where _compiled_label_scan allows."""
    scan = _compiled_label_scan(y) if _float32_or_64(y) else None
    if scan is not None:
        family, serial = scan
        bad, lo, hi = family.float_label_bounds(
            native_labels(y), serial=serial)
        return None if bad else (lo, hi)
    if _float_label_problem(y) is not None:
        return None
    return float(y.min()), float(y.max())


def _presence(y, bounds=None):
    """``(lo, which of lo..hi occur)`` for non-empty integer (or checked integral float) labels
    ``y`` of the given (or computed) bounds, or None when the range is too wide for a bincount (or
    infinite). min and max occur by definition, so two-value ranges need no count; wider ones are
    counted in one read by the Cython backend's label_counts (large integer labels, where
    _compiled_label_scan allows: 1e7 int64 labels ~2x faster), else chunk by chunk (no n-sized
    intp copy)."""
    lo, hi = label_bounds(y) if bounds is None else bounds
    if not hi - lo < _DENSE_RANGE:  # (also false for an infinite or nan range)
        return None
    lo, hi = int(lo), int(hi)
    if hi - lo <= 1:
        return lo, np.ones(hi - lo + 1, dtype=bool)
    scan = _compiled_label_scan(y) if y.dtype.kind in "iu" else None
    if scan is not None:
        counts = np.zeros(hi - lo + 1, dtype=np.int64)
        scan[0].label_counts(native_labels(y), lo, counts)
        return lo, counts > 0
    counts = np.zeros(hi - lo + 1, dtype=np.intp)
    for chunk in _chunks(y):
        counts += np.bincount(_offsets(chunk, lo), minlength=hi - lo + 1)
    return lo, counts > 0


def _code_dtype(n_classes):
    """The narrowest unsigned type that holds n_classes - 1."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if n_classes - 1 <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.intp)


def _float_codes(y, bounds):
    """(classes, codes) of large integral float32/float64 labels of small range, from the Cython
    backend's float_label_codes (the codes in one read, then the classes' counts from them), or
    None where _compiled_label_scan does not allow it or the range is wide."""
    scan = _compiled_label_scan(y) if bounds is not None and _float32_or_64(y) else None
    if scan is None or not bounds[1] - bounds[0] < _DENSE_RANGE:
        return None
    lo, hi = bounds
    width = int(hi - lo) + 1
    codes = np.empty(y.shape[0], dtype=_code_dtype(width))
    counts = np.zeros(width, dtype=np.int64)
    scan[0].float_label_codes(native_labels(y), lo, codes, counts)
    present = counts > 0
    classes = _values_present(int(lo), present, y.dtype)
    if classes.shape[0] < width:  # a gap: codes are ranks among the values present
        lookup = (np.cumsum(present, dtype=np.intp) - 1).astype(_code_dtype(classes.shape[0]))
        codes = lookup[codes]
    return classes, codes


def _integer_codes(y, bounds=None):
    """classes and codes of integer (or checked integral float) labels, of the given (or
    computed) bounds, without sorting, when their range is small."""
    fused = _float_codes(y, bounds)
    if fused is not None:
        return fused
    found = _presence(y, bounds)
    if found is None:
        return None
    lo, present = found
    classes = _values_present(lo, present, y.dtype)
    k = classes.shape[0]
    if k == present.shape[0]:  # all values present: codes are y - lo
        if lo == 0 and y.dtype.kind in "biu":
            return classes, code_view(y)  # already 0..K-1
        return classes, _narrow_codes(y, k, lambda c: _offsets(c, lo))
    lookup = np.cumsum(present, dtype=np.intp) - 1
    return classes, _narrow_codes(y, k, lambda c: lookup[_offsets(c, lo)])


def sorted_classes(y):
    """The sorted distinct values of 1-D labels ``y`` (np.unique's answer), without a sort for
    integers of small range. ValueError for a mix of strings and numbers."""
    if y.dtype.kind in "biu" and y.size:
        found = _presence(y)
        if found is not None:
            lo, present = found
            return _values_present(lo, present, y.dtype)
    try:
        return np.unique(y)
    except TypeError:
        raise ValueError("Mix of label input types (string and number)") from None


def codes_in_classes(y, classes, y_bounds):
    """Codes (positions) of integer (or checked integral float) ``y``, of bounds ``y_bounds``, in
    sorted integral ``classes`` via a lookup table (O(n), no sort), or None when y has a value
    outside classes (the caller raises) or the range is too wide. Integer labels in classes
    0..K-1 need only their min and max: the codes are y itself (``code_view``)."""
    lo = int(classes[0])
    hi = int(classes[-1])
    y_lo, y_hi = y_bounds
    if hi - lo >= _DENSE_RANGE or y_lo < lo or y_hi > hi:
        return None
    if lo == 0 and hi + 1 == classes.shape[0] and y.dtype.kind in "biu":
        return code_view(y)
    lookup = np.full(hi - lo + 1, -1, dtype=np.intp)
    lookup[_offsets(classes, lo)] = np.arange(classes.shape[0], dtype=np.intp)
    return _narrow_codes(y, classes.shape[0], lambda c: lookup[_offsets(c, lo)])


def _chunks(y):
    """Consecutive slices of ``y`` of _COUNT_CHUNK entries (temporaries stay chunk-sized)."""
    return (y[start:start + _COUNT_CHUNK] for start in range(0, y.shape[0], _COUNT_CHUNK))


def _float_label_problem(y):
    """scikit-learn's first complaint about float labels (type_of_target): none where every
    value equals its int64 cast, which is one pass, a chunk at a time; otherwise "nan" for a NaN
    anywhere, else "inf" for an infinity anywhere, else "fraction" (a non-integer value, or one
    beyond int64's range, such as 1e300: "continuous" labels)."""
    with np.errstate(invalid="ignore", over="ignore"):
        if all(np.array_equal(c, c.astype(np.int64)) for c in _chunks(y)):
            return None
    if any(np.isnan(c).any() for c in _chunks(y)):
        return "nan"
    if any(np.isinf(c).any() for c in _chunks(y)):
        return "inf"
    return "fraction"


def _check_float_labels(y, original):
    problem = _float_label_problem(y)
    if problem == "nan":
        raise ValueError("Input y contains NaN.")
    if problem == "inf":
        raise ValueError(f"Input y contains infinity or a value too large for {y.dtype!r}.")
    if problem == "fraction":
        raise ValueError("Unknown label type: %r" % ((original,),))


def _unique_labels(y, original):
    if y.dtype.kind == "f":
        _check_float_labels(y, original)
    return sorted_classes(y)


def warn_unordered_labels(passed, classes, stacklevel):
    """scikit-learn's warning for labels not given in sorted order; ``stacklevel`` counts from
    the caller."""
    warnings.warn(
        f"Labels passed were {passed}. But this function assumes labels are ordered "
        f"lexicographically. Pass the ordered labels={classes.tolist()} and ensure that "
        "the columns of y_prob correspond to this ordering.",
        UserWarning,
        stacklevel=stacklevel + 1,
    )


def _as_label_array(y_true):
    y = np.asarray(y_true)
    if y.ndim == 0:
        raise ValueError("y_true must be array-like of labels, got a scalar")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    return y


def is_indicator(y):
    """Every entry is 0 or 1: integers by min/max, floats by comparison (no wide temporary)."""
    if y.dtype.kind in "biu":
        return y.size == 0 or (int(y.min()) >= 0 and int(y.max()) <= 1)
    return y.dtype.kind == "f" and bool(np.all((y == 0) | (y == 1)))


def _indicator(y):
    """A 2-D y_true: a multilabel indicator (0/1 entries) or an error, as LabelBinarizer."""
    if y.ndim > 2:
        raise ValueError("Multioutput target data is not supported with label binarization")
    is_binary = is_indicator(y) and y.shape[1] > 1
    if not is_binary:
        raise ValueError("Multioutput target data is not supported with label binarization")
    return np.ascontiguousarray(y, dtype=np.float64)


def encode_targets(y_true, labels):
    """(codes, indicator, classes) -- see the module docstring. Raises sklearn's ValueErrors."""
    y = _as_label_array(y_true)
    if y.ndim != 1:
        indicator = _indicator(y)
        return None, indicator, np.arange(indicator.shape[1])

    if labels is not None:
        label_arr = np.asarray(labels)
        classes = _unique_labels(label_arr.reshape(-1), labels)
        same_order = classes.shape == label_arr.shape and bool(np.all(classes == label_arr))
        if not same_order:
            warn_unordered_labels(labels, classes, stacklevel=4)
        # integral labels and classes: a lookup table (float labels with a NaN or a fraction
        # take the general path, which raises scikit-learn's error)
        if y.size and classes.size and classes.dtype.kind in "biuf" and y.dtype.kind in "biuf":
            y_bounds = _float_bounds(y) if y.dtype.kind == "f" else label_bounds(y)
            codes = None if y_bounds is None else codes_in_classes(y, classes, y_bounds)
            if codes is not None:
                return codes, None, classes
        try:
            inside = np.isin(y, classes)
        except TypeError:
            inside = np.zeros(y.shape, dtype=bool)
        if not inside.all():
            undeclared = set(y_true) - set(labels)
            raise ValueError(
                f"y_true contains values {undeclared} not belonging to the passed labels {labels}."
            )
        return _narrow_codes(y, classes.shape[0], lambda c: np.searchsorted(classes, c)), None, classes

    bounds = None
    if y.dtype.kind == "f" and y.size:
        bounds = _float_bounds(y)  # one read where it can: the check and the bounds
        if bounds is None:
            _check_float_labels(y, y_true)  # raises scikit-learn's complaint
    if y.dtype.kind in "biuf" and y.size:
        fast = _integer_codes(y, bounds)
        if fast is not None:
            classes, codes = fast
            return codes, None, classes
    classes = sorted_classes(y)
    return _narrow_codes(y, classes.shape[0], lambda c: np.searchsorted(classes, c)), None, classes
