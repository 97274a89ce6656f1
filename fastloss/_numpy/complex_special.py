"""logsumexp, softmax and log_softmax for complex input, as scipy.special treats it.

The compiled kernels are real-only; complex ``a`` (or ``b``) comes here, to NumPy code that follows
SciPy 1.17's ``scipy/special/_logsumexp.py`` step by step (BSD-3-Clause, Copyright (c) 2001-2002
Enthought, Inc. 2003, SciPy Developers), so that results, phases, infinities and signs agree with
the reference: the term of largest real part is split out of the sum, the phase of the result (or
of ``return_sign``'s sign) is wrapped to (-pi, pi], and where the shifted computation is not finite
the direct ``log(sum(b * exp(a)))`` (C99 complex semantics of np.exp/np.log) is used instead.
"""
import numpy as np


def _axes(axis, ndim):
    return tuple(range(ndim)) if axis is None else axis


def _wrap_radians(x):
    """x wrapped to (-pi, pi], keeping the relative precision of values already inside."""
    wrapped = -((-x + np.pi) % (2 * np.pi) - np.pi)
    return np.where(np.abs(x) < np.pi, x, wrapped)


def _max_real(a, axis):
    """(the element of largest real part along axis -- one of them when tied, as keepdims --,
    the mask of that element)."""
    real_a = np.real(a)
    max_ = np.max(real_a, axis=axis, keepdims=True)
    mask = real_a == max_
    i = np.arange(a.size).reshape(a.shape)
    i[~mask] = -1
    mask = i == np.max(i, axis=axis, keepdims=True)
    return np.sum(np.where(mask, a, 0.0), axis=axis, dtype=a.dtype, keepdims=True), mask


def _shifted(a, b, axis, return_sign):
    """log(sum b exp(a)) with the maximal term split out: (log1p(s) + log(m) + a_max, sign)."""
    if b is not None:
        a = a.copy()
        a[b == 0] = -np.inf  # a zero weight drops its term, even an infinite or nan one
    a_max, i_max = _max_real(a, axis)
    a = a.copy()
    a[i_max] = -np.inf
    i_max_dt = i_max.astype(a.dtype)
    m = np.sum(i_max_dt if b is None else b * i_max_dt, axis=axis, keepdims=True, dtype=a.dtype)
    e = np.exp(a - a_max) if b is None else b * np.exp(a - a_max)
    s = np.sum(e, axis=axis, keepdims=True, dtype=e.dtype)
    s = np.where(s == 0, s, s / m)
    sgn = np.sign(s + 1) * np.sign(m) * np.exp(np.imag(a_max) * 1.0j)
    out = np.log1p(s) + np.log(m) + a_max
    if return_sign:
        out = np.real(out)
    return out, sgn


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    a = np.asarray(a)
    if b is not None:
        b = np.asarray(b)
        dtype = np.result_type(a, b)
        a, b = np.broadcast_arrays(a.astype(dtype), b.astype(dtype))
        b = np.atleast_1d(b)
    a = np.atleast_1d(a)
    axis = _axes(axis, a.ndim)
    if a.size != 0:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            direct = np.sum(np.exp(a) if b is None else b * np.exp(a), axis=axis, keepdims=True)
            sgn_inf = np.sign(direct) if return_sign else None
            out_inf = np.log(np.abs(direct) if return_sign else direct)
        with np.errstate(divide="ignore", invalid="ignore"):
            out, sgn = _shifted(a, b, axis, return_sign)
        finite = np.isfinite(out)
        out = np.where(finite, out, out_inf)
        sgn = np.where(finite, sgn, sgn_inf) if return_sign else sgn
    else:
        shape = np.asarray(a.shape)
        shape[list(axis) if isinstance(axis, tuple) else axis] = 1
        out = np.full(tuple(shape), -np.inf, dtype=a.dtype)
        sgn = np.sign(out)
    if np.iscomplexobj(out):
        if return_sign:
            sgn = np.real(sgn) + _wrap_radians(np.imag(sgn)).astype(sgn.dtype) * 1j
        else:
            out = np.real(out) + _wrap_radians(np.imag(out)).astype(out.dtype) * 1j
    if not keepdims:
        out = np.squeeze(out, axis=axis)
        sgn = np.squeeze(sgn, axis=axis) if sgn is not None else None
    out = out[()] if out.ndim == 0 else out
    sgn = sgn[()] if (sgn is not None and sgn.ndim == 0) else sgn
    return (out, sgn) if return_sign else out


def softmax(x, axis=None):
    x = np.asarray(x)
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(x, axis=None):
    x = np.asarray(x)
    x_max = np.max(x, axis=axis, keepdims=True)
    if x_max.ndim > 0:
        x_max[~np.isfinite(x_max)] = 0
    elif not np.isfinite(x_max):
        x_max = 0
    tmp = x - x_max
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(tmp), axis=axis, keepdims=True))
    return tmp - out
