"""Whether Numba's on-disk cache already holds fastloss kernels (a warm cache skips compiling)."""
import glob
import os


def _cache_dirs():
    here = os.path.join(os.path.dirname(__file__), "_numba")
    dirs = [os.path.join(here, "__pycache__")]
    cache_root = os.environ.get("NUMBA_CACHE_DIR")
    if cache_root:
        dirs.append(cache_root)
    return dirs


def numba_cache_state():
    """'warm (N entries)' when compiled kernels are cached on disk, else 'cold'."""
    entries = 0
    for d in _cache_dirs():
        entries += len(glob.glob(os.path.join(d, "**", "*.nbc"), recursive=True))
    return f"warm ({entries} compiled kernels cached)" if entries else "cold (kernels compile on first call)"
