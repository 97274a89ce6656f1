"""Backend registry and selection.

``FASTLOSS_BACKEND=numba|cython|numpy`` picks the backend; by default numba if it is installed,
else cython if the extension was built, else numpy. Backends are imported on first use, so
``import fastloss`` never imports numba. ``set_backend(name)`` switches (and restores, when used
as a context manager); ``set_num_threads(n)`` caps the threads of the compiled backends.
"""
import importlib
import importlib.util
import os
import threading

BACKENDS = ("numba", "cython", "numpy")
_MODULES = {"numba": "fastloss._numba", "cython": "fastloss._cython", "numpy": "fastloss._numpy"}

_lock = threading.Lock()
_state = {"name": None, "threads": None}
_loaded = {}


def _available(name):
    if name == "numpy":
        return True
    if name == "numba":
        return importlib.util.find_spec("numba") is not None
    if name == "cython":
        try:
            return importlib.util.find_spec("fastloss._cython.special") is not None
        except ImportError:
            return False
    return False


def available_backends():
    """Names of the backends that can be used on this installation."""
    return tuple(name for name in BACKENDS if _available(name))


def _default_name():
    env = os.environ.get("FASTLOSS_BACKEND", "").strip().lower()
    if env:
        _check_name(env, "FASTLOSS_BACKEND")
        return env
    for name in BACKENDS:
        if _available(name):
            return name
    return "numpy"


def _check_name(name, what="backend"):
    if not isinstance(name, str) or name.lower() not in BACKENDS:
        raise ValueError(f"{what} must be one of {BACKENDS}, got {name!r}")
    if not _available(name.lower()):
        raise ValueError(f"{what}={name!r} is not available here; available: {available_backends()}")


def load(name):
    """Import (once) and return the kernel module of backend ``name``."""
    module = _loaded.get(name)
    if module is None:
        with _lock:
            module = _loaded.get(name)
            if module is None:
                module = importlib.import_module(_MODULES[name])
                if _state["threads"] is not None and hasattr(module, "set_num_threads"):
                    module.set_num_threads(_state["threads"])
                _loaded[name] = module
    return module


def current_name():
    name = _state["name"]
    if name is None:
        name = _state["name"] = _default_name()
    return name


def kernels():
    """The kernel module of the active backend (imported on first call)."""
    module = _loaded.get(_state["name"])
    if module is None:
        module = load(current_name())
    return module


def family(module_name, backend=None):
    """A kernel family module (e.g. ``"losses"``) of the active (or named) backend: families
    beyond the core kernels live in their own module, ``fastloss._<backend>.<module_name>``."""
    name = backend or current_name()
    load(name)
    return importlib.import_module(f"{_MODULES[name]}.{module_name}")


def get_backend():
    """Name of the active backend."""
    return current_name()


class set_backend:
    """Select the backend for subsequent calls; as a context manager, restore it on exit.

    >>> with fastloss.set_backend("numpy"):
    ...     fastloss.logsumexp([1.0, 2.0])
    """

    def __init__(self, name):
        _check_name(name)
        self._previous = current_name()
        _state["name"] = name.lower()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _state["name"] = self._previous
        return False

    def __repr__(self):
        return f"set_backend({_state['name']!r})"


def set_num_threads(n):
    """Use at most ``n`` threads in the compiled backends' parallel kernels."""
    if isinstance(n, bool) or not isinstance(n, (int,)) and not hasattr(n, "__index__"):
        raise TypeError(f"n must be an integer, got {type(n).__name__}")
    n = int(n)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    _state["threads"] = min(n, os.cpu_count() or 1)
    for module in _loaded.values():
        if hasattr(module, "set_num_threads"):
            module.set_num_threads(n)


def get_num_threads():
    """Threads the active backend's parallel kernels use."""
    module = kernels()
    if hasattr(module, "get_num_threads"):
        return module.get_num_threads()
    return 1


def config():
    """A dict describing versions, backend, threading and cache state."""
    import sys

    import numpy

    from ._version import __version__

    info = {
        "fastloss": __version__,
        "python": sys.version.split()[0],
        "numpy": numpy.__version__,
        "backend": current_name(),
        "available_backends": available_backends(),
        "cpu_count": os.cpu_count(),
    }
    module = kernels()
    info["num_threads"] = get_num_threads()
    if hasattr(module, "describe"):
        info.update({f"{module.NAME}.{k}": v for k, v in module.describe().items()})
    if module.NAME != "numba" and _available("numba"):
        info["numba"] = "installed (not loaded)"
    from ._cache import numba_cache_state

    info["numba_cache"] = numba_cache_state()
    return info


def show_config():
    """Print :func:`config` as ``key: value`` lines."""
    for key, value in config().items():
        print(f"{key}: {value}")
