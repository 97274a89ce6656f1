"""Argument checks and the error messages users read: one place, used by every public function."""
import numbers

import numpy as np
from numpy.lib.array_utils import normalize_axis_tuple


class InvalidParameterError(ValueError, TypeError):
    """A parameter has the wrong type or value (both a ValueError and a TypeError, as sklearn)."""


def as_real_array(x, name, func):
    """``np.asarray(x)`` for real numeric input; TypeError naming ``name`` for anything else."""
    if x is None:
        raise TypeError(f"{func}(): {name} must be array-like of real numbers, got None")
    arr = np.asarray(x)
    kind = arr.dtype.kind
    if kind in "biuf":
        return arr
    if kind == "c":
        raise TypeError(f"{func}(): {name} must be real, got complex dtype {arr.dtype}")
    if kind == "O":
        try:
            return np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError):
            pass
    raise TypeError(f"{func}(): {name} must be array-like of real numbers, got dtype {arr.dtype}")


def kernel_input(arr, dtype):
    """C-contiguous, native byte order, ``dtype`` -- a copy only when ``arr`` is not already so."""
    if arr.dtype == dtype and arr.flags.c_contiguous and arr.dtype.isnative:
        return arr
    return np.ascontiguousarray(arr, dtype=dtype)


def check_out(out, shape, dtype, func):
    """Validate a user-supplied ``out`` array: ndarray, right shape, writeable, castable."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{func}(): out must be a numpy.ndarray, got {type(out).__name__}")
    if out.shape != tuple(shape):
        raise ValueError(f"{func}(): out has shape {out.shape}, expected {tuple(shape)}")
    if not out.flags.writeable:
        raise ValueError(f"{func}(): out is read-only")
    if not np.can_cast(dtype, out.dtype, casting="same_kind"):
        raise TypeError(
            f"{func}(): cannot cast the result from {np.dtype(dtype)} to out's dtype {out.dtype} "
            "with casting rule 'same_kind'"
        )
    return out


def normalize_axes(axis, ndim, func):
    """Tuple of non-negative axes (all of them for None); numpy's AxisError when out of range."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (bool, np.bool_)):
        raise TypeError(f"{func}(): axis must be an int, a tuple of ints or None, got {axis!r}")
    if isinstance(axis, int) and -ndim <= axis < ndim:
        return (axis % ndim,)
    try:
        return tuple(sorted(normalize_axis_tuple(axis, ndim, argname="axis")))
    except TypeError:
        raise TypeError(
            f"{func}(): axis must be an int, a tuple of ints or None, got {axis!r}"
        ) from None


def check_bool(value, name, func):
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidParameterError(
            f"The '{name}' parameter of {func} must be an instance of 'bool' or an instance of "
            f"'numpy.bool'. Got {value!r} instead."
        )
    return bool(value)


def is_array_like(x):
    """sklearn's notion: has __len__, shape or __array__, and is not a string or a scalar."""
    if isinstance(x, (str, bytes)) or x is None:
        return False
    if isinstance(x, numbers.Number) or np.isscalar(x):
        return False
    if isinstance(x, np.ndarray):
        return True
    return hasattr(x, "__len__") or hasattr(x, "shape") or hasattr(x, "__array__")


def require_array_like(x, name, func, allow_none=False):
    if x is None and allow_none:
        return
    if not is_array_like(x):
        extra = " or None" if allow_none else ""
        raise InvalidParameterError(
            f"The '{name}' parameter of {func} must be an array-like{extra}. Got {x!r} instead."
        )
