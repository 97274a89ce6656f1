"""fastloss: compiled, multi-core CPU kernels for loss functions and the special functions
under them, with drop-ins for scipy.special and sklearn.metrics.log_loss.

Importing fastloss does not import numba: backends load on first use.
"""
from ._version import __version__
from ._backends import (
    available_backends,
    config,
    get_backend,
    get_num_threads,
    set_backend,
    set_num_threads,
    show_config,
    thread_limit,
)
from ._api.special import (
    expit,
    log_expit,
    log_sigmoid,
    log_softmax,
    logsumexp,
    sigmoid,
    softmax,
    softplus,
)
from ._api.metrics import (
    log_loss,
    log_loss_from_logits,
    multilabel_log_loss,
    multilabel_log_loss_from_logits,
)

__all__ = [
    "__version__",
    "available_backends",
    "config",
    "expit",
    "get_backend",
    "get_num_threads",
    "log_expit",
    "log_loss",
    "log_loss_from_logits",
    "log_sigmoid",
    "log_softmax",
    "logsumexp",
    "multilabel_log_loss",
    "multilabel_log_loss_from_logits",
    "set_backend",
    "set_num_threads",
    "show_config",
    "sigmoid",
    "softmax",
    "softplus",
    "thread_limit",
]
