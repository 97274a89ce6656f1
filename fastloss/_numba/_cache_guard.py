"""Make sure Numba's on-disk cache has somewhere writable to go before any kernel is defined.

``cache=True`` looks for a writable ``__pycache__`` next to the source, then a user-wide cache
directory; if it finds neither (read-only site-packages in a container with a read-only home),
defining the kernel raises. We test both places and, failing them, point NUMBA_CACHE_DIR at a
per-user directory under the system temp dir. Numba writes cache files to a temporary name and
renames them into place, so processes starting together may compile the same kernel twice but
never read a half-written file (tests/test_cache.py starts 8 at once).
"""
import os
import tempfile


def _writable(path):
    try:
        os.makedirs(path, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=path, prefix=".fastloss-probe-", delete=True)
        probe.close()
        return True
    except OSError:
        return False


def ensure_cache_dir():
    """Return the directory kernels will be cached in (setting NUMBA_CACHE_DIR if needed)."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return os.environ["NUMBA_CACHE_DIR"]
    in_tree = os.path.join(os.path.dirname(os.path.abspath(__file__)), "__pycache__")
    if _writable(in_tree):
        return in_tree
    user_wide = os.path.join(os.path.expanduser("~"), ".cache", "numba")
    if _writable(user_wide):
        return user_wide
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    fallback = os.path.join(tempfile.gettempdir(), f"fastloss-numba-cache-{uid}")
    os.makedirs(fallback, exist_ok=True)
    os.environ["NUMBA_CACHE_DIR"] = fallback
    try:
        import numba.core.config

        numba.core.config.CACHE_DIR = fallback
    except ImportError:
        pass
    return fallback
