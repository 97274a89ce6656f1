"""Backend registry and selection.

``FASTLOSS_BACKEND=numba|cython|numpy`` or ``set_backend(name)`` (also a context manager) pins
one backend. Left unpinned, the choice is made per call ("auto"): inputs of at most
``AUTO_SMALL_MAX`` elements go to the Cython backend when it is built -- it loads in a few
milliseconds and has the lowest per-call overhead, so a small call never imports Numba (0.6 s)
nor compiles -- and larger ones to Numba, the primary engine; without Numba everything goes to
Cython, without either to NumPy. Backends are imported on first use, so ``import fastloss`` never
imports numba. ``set_num_threads(n)`` caps the threads of the compiled backends;
``with thread_limit(n):`` caps them for a block and then gives back what was there before.
"""
from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import os
import threading
import types
from collections.abc import Iterator
from types import ModuleType
from typing import Any, Callable, Literal, TypedDict, cast


class _State(TypedDict):
    name: str | None  #: the pinned backend (None: auto)
    threads: int | None  #: set_num_threads()'s value (None: never called)
    env_read: bool  #: FASTLOSS_BACKEND has been read


class _Saved(TypedDict):
    threads: int | None
    modules: dict[str, int]


class _Limit(TypedDict):
    users: int
    saved: _Saved | None


BACKENDS = ("numba", "cython", "numpy")
_MODULES = {"numba": "fastloss._numba", "cython": "fastloss._cython", "numpy": "fastloss._numpy"}

# Reentrant: thread_limit() holds it while it sets the threads and while load() imports a backend.
_lock = threading.RLock()
_state: _State = {"name": None, "threads": None, "env_read": False}
# thread_limit() bookkeeping: how many blocks are inside, and the thread settings from before the
# first of them entered ("threads": _state's, "modules": each loaded backend's own).
_limit: _Limit = {"users": 0, "saved": None}
# Largest input (elements) that auto mode sends to the Cython backend.
AUTO_SMALL_MAX = 1 << 16
_loaded: dict[str, ModuleType] = {}


@functools.lru_cache(maxsize=None)
def _available(name: str) -> bool:
    """Whether backend ``name`` can be imported (looked up once per process)."""
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


@functools.lru_cache(maxsize=None)
def available_backends() -> tuple[str, ...]:
    """Names of the backends that can be used on this installation."""
    return tuple(name for name in BACKENDS if _available(name))


def _pinned_name() -> str | None:
    """The backend pinned by set_backend() or FASTLOSS_BACKEND, or None in auto mode."""
    if not _state["env_read"]:
        env = os.environ.get("FASTLOSS_BACKEND", "").strip().lower()
        if env and env != "auto":
            _check_name(env, "FASTLOSS_BACKEND")
            _state["name"] = env
        _state["env_read"] = True
    return _state["name"]


def _auto_name(size: int | None) -> str:
    if size is not None and size <= AUTO_SMALL_MAX and _available("cython"):
        return "cython"
    return available_backends()[0]


def _check_name(name: object, what: str = "backend") -> None:
    if not isinstance(name, str) or name.lower() not in BACKENDS:
        raise ValueError(f"{what} must be one of {BACKENDS} or 'auto', got {name!r}")
    if not _available(name.lower()):
        raise ValueError(f"{what}={name!r} is not available here; available: {available_backends()}")


def load(name: str) -> ModuleType:
    """Import (once) and return the kernel module of backend ``name``."""
    module = _loaded.get(name)
    if module is None:
        with _lock:
            module = _loaded.get(name)
            if module is None:
                module = importlib.import_module(_MODULES[name])
                if _limit["saved"] is not None and hasattr(module, "get_num_threads"):
                    # loaded inside a thread_limit() block: when it ends, this backend gets the
                    # setting it would have had without the block
                    before = _limit["saved"]["threads"]
                    _limit["saved"]["modules"][name] = (
                        module.get_num_threads() if before is None else before)
                if _state["threads"] is not None and hasattr(module, "set_num_threads"):
                    module.set_num_threads(_state["threads"])
                _loaded[name] = module
    return module


def current_name(size: int | None = None) -> str:
    """Backend that serves a call on ``size`` elements (None: a large input)."""
    return _pinned_name() or _auto_name(size)


def kernels(size: int | None = None) -> ModuleType:
    """The kernel module that serves a call on ``size`` elements (imported on first use)."""
    return load(current_name(size))


def family(module_name: str, backend: str | None = None, size: int | None = None) -> ModuleType:
    """A kernel family module (e.g. ``"losses"``) of the active (or named) backend: families
    beyond the core kernels live in their own module, ``fastloss._<backend>.<module_name>``.
    In auto mode a backend that lacks the family is skipped for the next one that has it."""
    name = backend or current_name(size)
    candidates = [name] if (backend or _pinned_name()) else [name] + [
        b for b in available_backends() if b != name]
    for candidate in candidates[:-1]:
        try:
            return _family_module(candidate, module_name)
        except ImportError:
            continue
    return _family_module(candidates[-1], module_name)


def _family_module(backend: str, module_name: str) -> ModuleType:
    # a backend package may name the module it serves a family from (the Cython package picks
    # its baseline or AVX2 build of each module at import); otherwise it is the submodule
    package = load(backend)
    module = getattr(package, "FAMILIES", {}).get(module_name)
    if isinstance(module, types.ModuleType):
        return module
    return importlib.import_module(f"{_MODULES[backend]}.{module_name}")


_small_entries: dict[str, Callable[..., Any]] = {}


def small_call_entry(module_name: str, name: str) -> Callable[..., Any] | None:
    """The Cython backend's small-call entry point ``name`` of family ``module_name`` (e.g.
    ``special.small_rowwise``) when that backend serves small inputs -- auto mode with Cython
    built, or Cython pinned -- else None (the caller takes its general path)."""
    if _state["name"] is None and _state["env_read"]:
        # auto mode (the common case, checked in two dict reads: these calls take ~1 us): an
        # entry is only stored once Cython has been found to serve small inputs
        entry = _small_entries.get(name)
        if entry is not None:
            return entry
    if current_name(0) != "cython":
        return None
    entry = _small_entries.get(name)
    if entry is None:
        entry = _small_entries[name] = getattr(family(module_name, "cython"), name)
    return entry


def get_backend() -> str:
    """Name of the backend that serves large inputs (the pinned one, if any)."""
    return current_name()


def is_auto() -> bool:
    """True when no backend is pinned and the choice is made per call."""
    return _pinned_name() is None


class set_backend:
    """Select the backend for subsequent calls; as a context manager, restore it on exit.

    >>> with fastloss.set_backend("numpy"):
    ...     fastloss.logsumexp([1.0, 2.0])
    """

    def __init__(self, name: str) -> None:
        if isinstance(name, str) and name.lower() == "auto":
            self._previous = _pinned_name()
            _state["name"] = None
            return
        _check_name(name)
        self._previous = _pinned_name()
        _state["name"] = name.lower()

    def __enter__(self) -> set_backend:
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        _state["name"] = self._previous
        return False

    def __repr__(self) -> str:
        return f"set_backend({_state['name'] or 'auto'!r})"


def _check_threads(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, (int,)) and not hasattr(n, "__index__"):
        raise TypeError(f"n must be an integer, got {type(n).__name__}")
    n = int(n)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return n


def set_num_threads(n: int) -> None:
    """Use at most ``n`` threads in the compiled backends' parallel kernels."""
    n = _check_threads(n)
    with _lock:
        _state["threads"] = min(n, os.cpu_count() or 1)
        for module in _loaded.values():
            if hasattr(module, "set_num_threads"):
                module.set_num_threads(n)


@contextlib.contextmanager
def thread_limit(n: int) -> Iterator[None]:
    """Within the block, the compiled kernels use at most ``n`` threads.

    Blocks that overlap in time (several Dask tasks in the threads of one worker process) share
    one setting: the first to enter sets it, the others run under it, and the settings from
    before the first one (the process-wide one and each loaded backend's own) come back when the
    last one leaves. A backend first loaded inside a block is limited too and gets back the
    setting it would have had without the block.

    >>> with fastloss.thread_limit(1):
    ...     fastloss.log_loss(y, p)
    """
    n = _check_threads(n)
    with _lock:
        if _limit["users"] == 0:
            _limit["saved"] = {
                "threads": _state["threads"],
                "modules": {name: module.get_num_threads() for name, module in _loaded.items()
                            if hasattr(module, "get_num_threads")},
            }
            set_num_threads(n)
        _limit["users"] += 1
    try:
        yield
    finally:
        with _lock:
            _limit["users"] -= 1
            if _limit["users"] == 0:
                saved = cast(_Saved, _limit["saved"])  # set while users > 0
                _limit["saved"] = None
                _state["threads"] = saved["threads"]
                for name, module in _loaded.items():
                    if name in saved["modules"] and hasattr(module, "set_num_threads"):
                        module.set_num_threads(saved["modules"][name])


def get_num_threads() -> int:
    """Threads the active backend's parallel kernels use."""
    module = kernels()
    if hasattr(module, "get_num_threads"):
        return module.get_num_threads()
    return 1


def built() -> str:
    """What this installation's build compiled, as setup.py recorded it (fastloss/_build_config.py):
    e.g. ``"cython (openmp)"``, ``"no cython (FASTLOSS_NO_CYTHON=1)"``; ``"unknown"`` for a
    source tree that was never built."""
    try:
        import fastloss._build_config as b
    except ImportError:
        return "unknown (no build record: a source tree that setup.py has not built)"
    if not b.CYTHON:
        return f"no cython ({b.REASON})"
    return "cython (openmp)" if b.OPENMP else "cython (serial: the compiler has no OpenMP)"


def config() -> dict[str, object]:
    """A dict describing versions, backend, threading and cache state."""
    import sys

    import numpy

    from ._version import __version__

    info: dict[str, object] = {
        "fastloss": __version__,
        "python": sys.version.split()[0],
        "numpy": numpy.__version__,
        "backend": current_name(),
        "backend_policy": (
            f"auto: inputs <= {AUTO_SMALL_MAX} elements use {_auto_name(1)}, larger use {_auto_name(None)}"
            if is_auto() else "pinned"),
        "available_backends": available_backends(),
        "built": built(),
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


def show_config() -> None:
    """Print :func:`config` as ``key: value`` lines."""
    for key, value in config().items():
        print(f"{key}: {value}")
