"""Block sizes shared by every compiled backend.

Reductions are split into fixed blocks whose partial sums are added in block order, so a result
is bitwise identical for any thread count; the Numba and Cython backends use the same numbers.
"""
# Rows per block in row-wise reductions (log loss over n x k, logsumexp rows).
ROW_BLOCK = 4096
# Elements per block in 1-D reductions and elementwise maps (128 KiB of float64: stays in L2).
ELEMENT_BLOCK = 16384
# Inputs with at most this many elements take the serial path: waking a thread pool costs more
# than the work (a few microseconds per call).
SERIAL_MAX_ELEMENTS = 65536
