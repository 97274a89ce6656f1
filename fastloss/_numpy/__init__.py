"""NumPy reference backend: readable, vectorised kernels that serve as the tests' oracle.

Same kernel names and signatures as ``fastloss._numba`` and ``fastloss._cython``; see
``fastloss/_kernels.md`` for the contract. Also the fallback for dtypes the compiled backends do
not cover (float16 results, longdouble).
"""
from .special import expit, log_expit, softplus, logsumexp, logsumexp_b, softmax, log_softmax
from .metrics import (
    log_loss_labels,
    log_loss_binary,
    log_loss_dense,
    log_loss_logits_labels,
    log_loss_logits_binary,
)

NAME = "numpy"
PARALLEL = False
