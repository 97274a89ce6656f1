"""Inputs handed to the kernels as read-only views: one Numba type per dtype and shape.

Numba compiles one specialisation per argument type, and an array's type includes whether it is
writeable. Without this, a read-only input (``np.memmap(mode="r")``, a frozen array, an Arrow or
Dask buffer) would compile every kernel a second time: 1-4 s each on a cold cache. The kernels
never write their inputs, so every input goes in read-only: a view with the flag cleared (O(1),
the caller's array and its flags untouched). Outputs and scratch stay writeable.
"""


def read_only(a):
    """``a`` itself when it is read-only already, else a read-only view of it."""
    if not a.flags.writeable:
        return a
    view = a.view()
    view.flags.writeable = False
    return view
