"""The Cython backend's two builds (setup.py): the baseline (libm) and the AVX2+FMA one
(fastmath.h's vectorised exp/log/log1p, tiled row reductions in both). The AVX2 build is the
one imported on a CPU that has AVX2 and FMA; FASTLOSS_CYTHON_VARIANT=baseline forces the other.
Both must give the same answers -- to a few ulp (two <= 1 ulp math libraries), with the same nan
and inf positions -- on adversarial inputs, through the public API with the backend pinned.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import fastloss

cy = pytest.importorskip("fastloss._cython")

try:
    from fastloss import _build_config as build
except ImportError:  # a source tree never built by setup.py
    build = None

# Runs in a fresh process per variant: every public function on the Cython backend, on inputs
# with +-inf, nan, subnormals, 1e+-300, float32 limits; results as JSON (repr of floats).
SCRIPT = r"""
import json, sys
import numpy as np
import fastloss, fastloss.losses as fl
from fastloss import _cython
fastloss.set_backend("cython")
rng = np.random.default_rng(7)
edge = np.array([0.0, -0.0, 1.0, -1.0, 5e-324, 1e-300, 20.0, -20.0, 37.0, -37.0, 88.0, 89.0,
                 -104.0, 709.0, 710.0, -745.0, -746.0, 1e300, -1e300, 3.4e38, -3.4e38,
                 np.inf, -np.inf, np.nan])
x = np.concatenate([edge, rng.normal(0, 30, 3000)])
z = rng.normal(0, 8, (4000, 7)); z[0, 0] = np.inf; z[1, :] = -np.inf; z[2, 3] = np.nan
z[3, :] = 2.0; z[4, 1] = -np.inf; z[5, 2] = 1e300
y = rng.integers(0, 7, 4000)
yb = rng.integers(0, 2, x.size).astype(np.float64)
p = rng.uniform(0, 1, 3000)
res = {"variant": _cython.describe()["variant"]}
for dt in (np.float64, np.float32):
    xd, zd = x.astype(dt), z.astype(dt)
    d = np.dtype(dt).name
    for f in ("expit", "log_expit", "softplus"):
        res[f"{f}.{d}"] = getattr(fastloss, f)(xd)
    for f in ("logsumexp", "softmax", "log_softmax"):
        res[f"{f}.{d}"] = getattr(fastloss, f)(zd, axis=1)
        res[f"{f}.axis0.{d}"] = getattr(fastloss, f)(zd, axis=0)
    fin = np.nan_to_num(zd, nan=0.0, posinf=50.0, neginf=-50.0)
    res[f"ce.loss.{d}"] = fl.cross_entropy.loss(y, fin, reduction="none")
    res[f"ce.loss_gradient.{d}"] = np.concatenate([a.ravel() for a in fl.cross_entropy.loss_gradient(y, fin)])
    res[f"mfocal.grad_hess.{d}"] = np.concatenate([a.ravel() for a in fl.multiclass_focal.gradient_hessian(y, fin)])
    xl = xd[~np.isnan(xd)]  # a loss rejects nan logits (ValueError); +-inf stay
    res[f"bce.loss.{d}"] = fl.binary_cross_entropy.loss(yb[:xl.size], xl, reduction="none")
    res[f"bce.grad_hess.{d}"] = np.concatenate(fl.binary_cross_entropy.gradient_hessian(yb[:xl.size], xl))
    res[f"log_loss_from_logits.{d}"] = np.array([fastloss.log_loss_from_logits(y, fin)])
res["log_loss"] = np.array([fastloss.log_loss(yb[:p.size], p)])
json.dump({k: (v if isinstance(v, str) else [repr(float(t)) for t in np.ravel(v)]) for k, v in res.items()}, sys.stdout)
"""


def _run(variant):
    env = dict(os.environ, FASTLOSS_CYTHON_VARIANT=variant)
    r = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    return out.pop("variant"), {k: np.array([float(t) for t in v]) for k, v in out.items()}


def _cpu_has_avx2_fma():
    return cy._cpu_has_avx2_fma()


def test_the_variant_matches_the_cpu_and_the_build():
    if build is None:
        pytest.skip("no build record")
    want = "avx2+fma" if (getattr(build, "VECMATH", False) and _cpu_has_avx2_fma()) else "baseline"
    assert cy.describe()["variant"] == want
    assert fastloss.config()["cython.variant"] == want if fastloss.get_backend() == "cython" else True


def test_variants_agree():
    if build is None or not getattr(build, "VECMATH", False) or not _cpu_has_avx2_fma():
        pytest.skip("this build or CPU has only the baseline variant")
    name_b, base = _run("baseline")
    name_v, vec = _run("auto")
    assert (name_b, name_v) == ("baseline", "avx2+fma")
    assert base.keys() == vec.keys()
    for key in base:
        a, b = base[key], vec[key]
        assert a.shape == b.shape, key
        assert np.array_equal(np.isnan(a), np.isnan(b)), f"{key}: nan positions differ"
        assert np.array_equal(a[np.isinf(a)], b[np.isinf(a)]), f"{key}: infinities differ"
        fin = np.isfinite(a)
        # f64 results within a few ulp (each library <= 1 ulp per call, a few calls per value);
        # f32 results are rounded from double, so they may differ by one f32 ulp
        rtol = 2e-7 if key.endswith("float32") else 2e-13
        # gradients and hessians are O(1) sums of terms that can cancel (focal's): an absolute
        # floor of a few ulp of 1 there; elsewhere tiny values (expit(-700)) are compared relatively
        atol = 1e-15 if ("grad" in key and not key.endswith("float32")) else 1e-300
        np.testing.assert_allclose(b[fin], a[fin], rtol=rtol, atol=atol, err_msg=key)


def test_family_is_the_variant_in_use_after_a_baseline_import():
    """Importing a baseline submodule by name rebinds the package attribute of that name; the
    kernels served (and the fork rule, the thread setting) must still be the variant's."""
    import importlib

    from fastloss import _backends

    baseline = importlib.import_module("fastloss._cython.losses")
    served = _backends.family("losses", backend="cython")
    assert served is cy.FAMILIES["losses"]
    assert baseline in cy._extension_modules()
    if cy.VARIANT:
        assert served is not baseline
