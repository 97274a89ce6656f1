"""The references' own test suites, run against fastloss (issue 11, item 3): SciPy's
test_logsumexp.py (logsumexp, softmax, log_softmax, complex input included) and test_logit.py
(expit, log_expit), and scikit-learn's log_loss tests, with those names rebound to fastloss's
(tests/_rebind_plugin.py). Any divergence from the installed references fails here, on each
backend. Each suite runs in one subprocess with its own library's conftest, every test once per
backend (the plugin parametrises them)."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import fastloss

HERE = Path(__file__).resolve().parent
SUITES = {
    "scipy_logsumexp": (["--pyargs", "scipy.special.tests.test_logsumexp"],
                        ("logsumexp", "softmax", "log_softmax")),
    "scipy_logit": (["--pyargs", "scipy.special.tests.test_logit"], ("expit", "log_expit")),
    "sklearn_log_loss": (["--pyargs", "sklearn.metrics.tests.test_classification", "-k", "log_loss"],
                         ("log_loss",)),
}


@pytest.mark.parametrize("suite", list(SUITES))
def test_reference_suite_passes_whole(suite, tmp_path):
    args, names = SUITES[suite]
    backends = fastloss.available_backends()
    report = tmp_path / "calls.json"
    env = dict(os.environ, FASTLOSS_REBIND_BACKENDS=",".join(backends), FASTLOSS_REBIND_REPORT=str(report),
               PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p",
                        "_rebind_plugin", "-W", "ignore::pytest.PytestUnknownMarkWarning", *args],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    tail = "\n".join(r.stdout.splitlines()[-30:])
    assert r.returncode == 0, f"{suite} on {backends}:\n{tail}\n{r.stderr[-2000:]}"
    summary = r.stdout.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary) and "failed" not in summary and "error" not in summary, summary
    calls = json.loads(report.read_text())["calls"]
    for backend in backends:  # fastloss's function really was the one under test, on each backend
        for name in names:
            assert calls[backend][name] > 0, (backend, name, calls)
