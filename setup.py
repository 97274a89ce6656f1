"""Build script: compiles the Cython backend (fastloss/_cython/*.pyx) with OpenMP when available.

Every .pyx in fastloss/_cython becomes one extension module; losses.pyx is generated first from
losses.pyx.tp and the formulas of fastloss/_formulas.py (fastloss/_cython/generate.py). OpenMP is detected by compiling a
tiny program with -fopenmp; when the compiler lacks it the extensions are built serial (the
`prange` loops then run on one thread) and `fastloss info` reports "openmp: no".
Set FASTLOSS_NATIVE=1 to add -march=native (never the default: wheels must run anywhere).

A build that cannot compile the Cython backend fails (Cython missing, a source missing from an
sdist, a compiler error): the backend serves every small call and the no-Numba install, so it is
never dropped silently. FASTLOSS_NO_CYTHON=1 asks for a pure-Python build (Numba and NumPy
backends only). What was built is recorded in fastloss/_build_config.py, which `fastloss info`
reports.
"""
import glob
import platform
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
CYTHON_DIR = os.path.join("fastloss", "_cython")


def _compiler_supports_openmp():
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    cc = cc.split()[0]
    if shutil.which(cc) is None:
        return False
    src = "#include <omp.h>\nint main(void){return omp_get_max_threads() > 0 ? 0 : 1;}\n"
    with tempfile.TemporaryDirectory() as tmp:
        c_file = os.path.join(tmp, "t.c")
        with open(c_file, "w") as fh:
            fh.write(src)
        cmd = [cc, "-fopenmp", c_file, "-o", os.path.join(tmp, "t")]
        try:
            return subprocess.run(cmd, capture_output=True).returncode == 0
        except OSError:
            return False


def _generate_sources():
    """losses.pyx is written from losses.pyx.tp and fastloss/_formulas.py (generate.py)."""
    sys.path.insert(0, os.path.join(HERE, CYTHON_DIR))
    try:
        import generate
    finally:
        sys.path.pop(0)
    generate.generate()


# hand-written sources and the template of the generated one; an sdist that lacks any is broken
CYTHON_SOURCES = ("special.pyx", "metrics.pyx", "losses.pyx.tp", "_common.pxd", "fastmath.h", "generate.py")
BUILD_CONFIG = os.path.join(HERE, "fastloss", "_build_config.py")


def _write_build_config(**fields):
    """Record what this build compiled (read by fastloss._backends.config / `fastloss info`)."""
    lines = ['"""Written by setup.py at build time: what this installation\'s build compiled."""']
    lines += [f"{key.upper()} = {value!r}" for key, value in fields.items()]
    text = "\n".join(lines) + "\n"
    old = open(BUILD_CONFIG).read() if os.path.exists(BUILD_CONFIG) else None
    if old != text:
        with open(BUILD_CONFIG, "w") as fh:
            fh.write(text)


def _flags(openmp):
    """(compile, link) flags: GCC/Clang everywhere but MSVC on Windows."""
    if sys.platform == "win32" and not os.environ.get("CC"):
        # MSVC: /fp:precise keeps IEEE inf/nan semantics; OpenMP 2.0 is enough for prange
        return (["/O2", "/fp:precise"] + (["/openmp"] if openmp else []), [])
    # -fno-trapping-math: values are IEEE's as before (inf, nan, subnormals unchanged); only the
    # FP exception flags, which nothing reads, may differ -- and GCC may then turn the formulas'
    # selects (c == 0 ? 0 : c * v) into blends, which vectorises 166 more loops of losses.c
    # -g0: Python's CFLAGS carry -g; debug info for the generated C (92k lines for losses.c) is
    # 14% of its compile time and most of the .so's size, and nobody steps through it
    compile_args = ["-O3", "-g0", "-fno-math-errno", "-fno-trapping-math"]
    link_args = []
    if openmp:
        compile_args.append("-fopenmp")
        link_args.append("-fopenmp")
    else:
        compile_args.append("-fopenmp-simd")
    if os.environ.get("FASTLOSS_NATIVE") == "1":
        compile_args.append("-march=native")
    return compile_args, link_args


# The AVX2 variant: every module compiled a second time with -mavx2 -mfma and fastmath.h's
# vectorisable exp/log/log1p (flmath.h), imported only on CPUs with AVX2 and FMA
# (fastloss/_cython/__init__.py). Measured on a 2-core AMD EPYC, 1e7 float64, against the
# baseline build with libm: see the README's "Cython backend" section.
VECMATH_PACKAGE = "_avx2"


def _vecmath_flags():
    if os.environ.get("FASTLOSS_VECMATH", "1") == "0":
        return []
    machine = platform.machine().lower()
    if machine not in ("x86_64", "amd64", "x86-64"):
        return []  # aarch64, arm64 (NEON is baseline there: libm is what is measured)
    if sys.platform == "darwin" and "x86_64" not in os.environ.get("ARCHFLAGS", "-arch x86_64"):
        return []  # a macOS cross-build for arm64 on an x86-64 host
    if sys.platform == "win32" and not os.environ.get("CC"):
        return ["/arch:AVX2"]
    return ["-mavx2", "-mfma"]


def _variant_source(src, package):
    """A copy of ``src`` in fastloss/_cython/<package>/ (Cython names a module by its path)."""
    folder = os.path.join(CYTHON_DIR, package)
    os.makedirs(folder, exist_ok=True)
    target = os.path.join(folder, os.path.basename(src))
    with open(src) as fh:
        text = fh.read()
    header = f"# GENERATED by setup.py: a copy of {src} compiled with FASTLOSS_VECMATH=1. Do not edit.\n"
    text = header + text
    old = open(target).read() if os.path.exists(target) else None
    if old != text:
        with open(target, "w") as fh:
            fh.write(text)
    return target


def _openmp():
    if os.environ.get("FASTLOSS_OPENMP", "1") == "0":
        return False
    if sys.platform == "win32" and not os.environ.get("CC"):
        return True  # MSVC has /openmp
    return _compiler_supports_openmp()


def _extensions():
    if os.environ.get("FASTLOSS_NO_CYTHON", "0") not in ("", "0"):
        _write_build_config(cython=False, openmp=False, compile_args=[], reason="FASTLOSS_NO_CYTHON=1")
        return []
    if "sdist" in sys.argv[1:]:
        return []  # the sdist carries the sources; nothing is generated or compiled for it
    missing = [f for f in CYTHON_SOURCES if not os.path.exists(os.path.join(HERE, CYTHON_DIR, f))]
    if missing:
        raise SystemExit(f"fastloss: cannot build the Cython backend, missing from {CYTHON_DIR}: "
                         f"{', '.join(missing)} (a broken sdist?). Set FASTLOSS_NO_CYTHON=1 for a "
                         "build without it.")
    try:
        import numpy
        from Cython.Build import cythonize
    except ImportError as exc:
        raise SystemExit(f"fastloss: cannot build the Cython backend ({exc}): install Cython>=3.0 "
                         "and numpy (pip does this in an isolated build), or set "
                         "FASTLOSS_NO_CYTHON=1 for a build without it.") from exc
    _generate_sources()
    sources = sorted(glob.glob(os.path.join(CYTHON_DIR, "*.pyx")))
    openmp = _openmp()
    compile_args, link_args = _flags(openmp)
    variants = {"": ("0", [])}
    vec_flags = _vecmath_flags()
    if vec_flags:
        variants[VECMATH_PACKAGE] = ("1", vec_flags)
    _write_build_config(cython=True, openmp=openmp, compile_args=compile_args, reason="",
                        vecmath=bool(vec_flags), vecmath_flags=vec_flags)
    exts = []
    for package, (vecmath, extra) in variants.items():
        for src in sources:
            name = os.path.splitext(os.path.basename(src))[0]
            if package:
                src = _variant_source(src, package)
            macros = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"), ("FASTLOSS_OPENMP", int(openmp)),
                      ("FASTLOSS_VECMATH", vecmath)]
            exts.append(Extension(
                ".".join(["fastloss", "_cython"] + ([package] if package else []) + [name]),
                [src],
                include_dirs=[numpy.get_include(), CYTHON_DIR],
                extra_compile_args=compile_args + extra,
                extra_link_args=link_args,
                define_macros=macros,
            ))
    return cythonize(
        exts,
        nthreads=_cythonize_jobs(),
        compiler_directives={
            "language_level": 3,
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
        compile_time_env={"FASTLOSS_OPENMP": int(openmp)},
    )


def _jobs():
    return max(1, min(os.cpu_count() or 1, 8))


def _cythonize_jobs():
    # Cython's parallel translation uses multiprocessing; under the spawn start method (Windows,
    # macOS) its workers would re-run this script, so translate serially there
    return _jobs() if sys.platform.startswith("linux") else 0


class _ParallelBuildExt(build_ext):
    """Compile the extensions in parallel (one per core): the two variants of three modules."""

    def finalize_options(self):
        super().finalize_options()
        if self.parallel is None:
            self.parallel = _jobs()


setup(ext_modules=_extensions(), cmdclass={"build_ext": _ParallelBuildExt})
