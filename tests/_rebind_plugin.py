"""pytest plugin (loaded by tests/test_reference_suites.py in a subprocess): runs a reference
library's own test module with its functions rebound to fastloss's, on every backend named in
$FASTLOSS_REBIND_BACKENDS (comma-separated).

Every collected test module that has one of NAMES as a global gets fastloss's function instead,
wrapped to count its calls per backend. Every test runs once per backend: an autouse fixture,
parametrised here, pins the backend around the test (one process collects the suite once for all
backends: collecting scikit-learn's test_classification takes ~5 s). At the end the counts go to
$FASTLOSS_REBIND_REPORT (JSON), so the caller can check that fastloss was really the function
under test on each backend."""
import functools
import json
import os

import pytest

import fastloss

NAMES = ("logsumexp", "softmax", "log_softmax", "expit", "log_expit", "log_loss")
BACKENDS = [b for b in os.environ.get("FASTLOSS_REBIND_BACKENDS", "").split(",") if b]
CALLS = {backend: {name: 0 for name in NAMES} for backend in BACKENDS}


def _counted(name):
    fn = getattr(fastloss, name)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        CALLS[fastloss.get_backend()][name] += 1
        return fn(*args, **kwargs)

    return wrapper


WRAPPED = {name: _counted(name) for name in NAMES}


@pytest.fixture(autouse=True)
def fastloss_backend(request):
    with fastloss.set_backend(request.param):
        yield request.param


def pytest_generate_tests(metafunc):
    if "fastloss_backend" in metafunc.fixturenames:
        metafunc.parametrize("fastloss_backend", BACKENDS, indirect=True)


def pytest_collection_modifyitems(session, config, items):
    for module in {id(item.module): item.module for item in items if getattr(item, "module", None)}.values():
        for name, fn in WRAPPED.items():
            if hasattr(module, name):
                setattr(module, name, fn)


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("FASTLOSS_REBIND_REPORT")
    if path:
        with open(path, "w") as fh:
            json.dump({"calls": CALLS}, fh)
