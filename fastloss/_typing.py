"""Type aliases of the public signatures (fastloss ships py.typed; CI runs mypy on the public
modules, configured in pyproject.toml)."""
from __future__ import annotations

from typing import Any, Union

import numpy as np
from numpy.typing import NDArray

#: a real floating-point array (float16/32/64 or longdouble, as the dtype rules of each function say)
FloatArray = NDArray[np.floating[Any]]
#: what the special functions return: an array, or a NumPy scalar where the result is 0-d (as
#: scipy.special does)
FloatResult = Union[FloatArray, np.floating[Any]]
