"""pytest plugin (loaded by tests/test_reference_suites.py in a subprocess): runs a reference
library's own test module with its functions rebound to fastloss's.

Every collected test module that has one of NAMES as a global gets fastloss's function instead,
wrapped to count its calls; at the end the counts go to $FASTLOSS_REBIND_REPORT (JSON), so the
caller can check that fastloss was really the function under test."""
import functools
import json
import os

import fastloss

NAMES = ("logsumexp", "softmax", "log_softmax", "expit", "log_expit", "log_loss")
CALLS = {name: 0 for name in NAMES}


def _counted(name):
    fn = getattr(fastloss, name)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        CALLS[name] += 1
        return fn(*args, **kwargs)

    return wrapper


WRAPPED = {name: _counted(name) for name in NAMES}


def pytest_collection_modifyitems(session, config, items):
    for module in {id(item.module): item.module for item in items if getattr(item, "module", None)}.values():
        for name, fn in WRAPPED.items():
            if hasattr(module, name):
                setattr(module, name, fn)


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("FASTLOSS_REBIND_REPORT")
    if path:
        with open(path, "w") as fh:
            json.dump({"calls": CALLS, "backend": fastloss.get_backend()}, fh)
