"""Release packaging (issue 14): what the sdist carries, a build that cannot compile the Cython
backend failing loudly, the pure build, the build record and the version.

The sdist/setup.py checks need the source tree (they skip when the suite runs from outside it
against an installed wheel, as CI's wheel job does; that job itself asserts the three backends)."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import fastloss

ROOT = Path(__file__).resolve().parents[1]
IN_TREE = (ROOT / "setup.py").exists() and (ROOT / "fastloss" / "_cython" / "losses.pyx.tp").exists()
needs_tree = pytest.mark.skipif(not IN_TREE, reason="needs the source tree (setup.py)")

# what a build from the sdist needs, and what it must not carry (generated at build time)
NEEDED = ["fastloss/_cython/special.pyx", "fastloss/_cython/metrics.pyx",
          "fastloss/_cython/losses.pyx.tp", "fastloss/_cython/generate.py",
          "fastloss/_cython/_common.pxd", "fastloss/_cython/fastmath.h", "fastloss/_cython/flmath.h",
          "fastloss/_cython/_avx2/__init__.py", "fastloss/_formulas.py", "fastloss/_catalogue.py",
          "fastloss/py.typed", "fastloss/losses.pyi", "LICENSE", "CHANGELOG.md", "MANIFEST.in",
          "setup.py", "pyproject.toml"]


@needs_tree
def test_sdist_carries_every_build_source_and_no_generated_file(tmp_path):
    """setuptools' own file list for the sdist (egg_info's SOURCES.txt, what `python -m build
    --sdist` packs)."""
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".git", "build", "dist", "*.egg-info", "__pycache__", ".hypothesis", ".benchmarks"))
    r = subprocess.run([sys.executable, "setup.py", "-q", "egg_info", "--egg-base", str(tmp_path)],
                       cwd=src, capture_output=True, text=True, env=dict(os.environ, FASTLOSS_NO_CYTHON="1"),
                       timeout=300)
    assert r.returncode == 0, r.stderr
    files = set((tmp_path / "fastloss.egg-info" / "SOURCES.txt").read_text().split())
    missing = [f for f in NEEDED if f not in files]
    assert not missing, missing
    generated = [f for f in files if f.endswith((".c", ".so", ".pyd"))
                 or f in ("fastloss/_cython/losses.pyx", "fastloss/_build_config.py")
                 or (f.startswith("fastloss/_cython/_avx2/") and f.endswith(".pyx"))]
    assert not generated, generated


def _tree_copy(tmp_path, drop=()):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("setup.py", "pyproject.toml", "README.md", "LICENSE", "MANIFEST.in"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "fastloss", src / "fastloss", ignore=shutil.ignore_patterns(
        "__pycache__", "*.so", "*.c", "_build_config.py", "losses.pyx"))
    for rel in drop:
        (src / rel).unlink()
    return src


@needs_tree
def test_build_without_a_cython_source_fails_and_says_which(tmp_path):
    src = _tree_copy(tmp_path, drop=["fastloss/_cython/metrics.pyx"])
    r = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"], cwd=src,
                       capture_output=True, text=True, timeout=300,
                       env={k: v for k, v in os.environ.items() if k != "FASTLOSS_NO_CYTHON"})
    assert r.returncode != 0
    assert "cannot build the Cython backend" in r.stderr and "metrics.pyx" in r.stderr, r.stderr
    assert "FASTLOSS_NO_CYTHON=1" in r.stderr


@needs_tree
def test_pure_build_is_asked_for_and_recorded(tmp_path):
    src = _tree_copy(tmp_path, drop=["fastloss/_cython/metrics.pyx"])
    r = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"], cwd=src,
                       capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, FASTLOSS_NO_CYTHON="1"))
    assert r.returncode == 0, r.stderr
    record = (src / "fastloss" / "_build_config.py").read_text()
    assert "CYTHON = False" in record and "FASTLOSS_NO_CYTHON=1" in record
    code = ("import fastloss, sys; b = fastloss.available_backends(); "
            "print(fastloss.config()['built']); sys.exit('cython' in b)")
    r = subprocess.run([sys.executable, "-c", code], cwd=src, capture_output=True, text=True,
                       timeout=120, env=dict(os.environ, PYTHONPATH=str(src)))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "no cython (FASTLOSS_NO_CYTHON=1)"


def test_build_record_matches_the_backends():
    built = fastloss.config()["built"]
    if "cython" in fastloss.available_backends():
        assert built.startswith("cython"), built
    else:
        assert not built.startswith("cython ("), built


def test_version_is_defined_once_and_reported():
    from importlib.metadata import version

    from fastloss._version import __version__

    assert fastloss.__version__ == __version__ == version("fastloss")
    r = subprocess.run([sys.executable, "-m", "fastloss.cli", "--version"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"fastloss {__version__}"
