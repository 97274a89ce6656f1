"""Build script: compiles the Cython backend (fastloss/_cython/*.pyx) with OpenMP when available.

Every .pyx in fastloss/_cython becomes one extension module; losses.pyx is generated first from
losses.pyx.tp and the formulas of fastloss/_formulas.py (fastloss/_cython/generate.py). OpenMP is detected by compiling a
tiny program with -fopenmp; when the compiler lacks it the extensions are built serial (the
`prange` loops then run on one thread) and `fastloss info` reports "openmp: no".
Set FASTLOSS_NATIVE=1 to add -march=native (never the default: wheels must run anywhere).
"""
import glob
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile

from setuptools import Extension, setup

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


def _extensions():
    _generate_sources()
    sources = sorted(glob.glob(os.path.join(CYTHON_DIR, "*.pyx")))
    if not sources:
        return []
    import numpy
    from Cython.Build import cythonize

    openmp = os.environ.get("FASTLOSS_OPENMP", "1") != "0" and _compiler_supports_openmp()
    compile_args = ["-O3", "-fno-math-errno"]
    link_args = []
    if openmp:
        compile_args.append("-fopenmp")
        link_args.append("-fopenmp")
    else:
        compile_args.append("-fopenmp-simd") if sys.platform != "win32" else None
    if os.environ.get("FASTLOSS_NATIVE") == "1":
        compile_args.append("-march=native")
    macros = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"), ("FASTLOSS_OPENMP", int(openmp))]
    exts = [
        Extension(
            "fastloss._cython." + os.path.splitext(os.path.basename(src))[0],
            [src],
            include_dirs=[numpy.get_include(), CYTHON_DIR],
            extra_compile_args=compile_args,
            extra_link_args=link_args,
            define_macros=macros,
        )
        for src in sources
    ]
    return cythonize(
        exts,
        compiler_directives={
            "language_level": 3,
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
        compile_time_env={"FASTLOSS_OPENMP": int(openmp)},
    )


setup(ext_modules=_extensions())
