"""Compilation flags shared by every Numba kernel.

``error_model="numpy"`` drops Numba's ZeroDivisionError check, whose branch would stop a loop with a
division from vectorising (x / 0 gives inf or nan, as in NumPy). No fast-math: inf/nan semantics
and the compensated steps of ``_math`` must survive compilation.
"""
JIT = dict(nogil=True, cache=True, error_model="numpy")
PAR = dict(nogil=True, cache=True, error_model="numpy", parallel=True)
