"""The typing surface: fastloss/losses.pyi is what fastloss/_stubs.py renders from the catalogue,
and the public functions and classes carry annotations on every parameter and the return (CI
runs mypy over them, configured in pyproject.toml; it is not run here, it takes too long)."""
import ast
import importlib.util
import inspect
import types
import typing

import numpy as np
import pytest

import fastloss
import fastloss.losses as fl
import fastloss.score
from fastloss import _stubs
from fastloss._api import special as special_api
from fastloss._api.losses import CLASSES, Loss, LossSums


def test_stub_is_current():
    """Adding or changing a loss in fastloss/_catalogue.py without ``python -m fastloss._stubs``
    fails here."""
    assert _stubs.STUB_PATH.exists(), f"{_stubs.STUB_PATH} is missing: run python -m fastloss._stubs"
    committed = _stubs.STUB_PATH.read_text(encoding="utf-8")
    assert committed == _stubs.render(), "fastloss/losses.pyi is stale: run python -m fastloss._stubs"
    assert _stubs.main(["--check"]) == 0


def test_stub_declares_every_public_name():
    tree = ast.parse(_stubs.render())
    declared = {node.name for node in tree.body if isinstance(node, ast.ClassDef)}
    declared |= {node.target.id for node in tree.body if isinstance(node, ast.AnnAssign)}
    declared |= {alias.asname or alias.name for node in tree.body if isinstance(node, ast.ImportFrom)
                 for alias in node.names}
    assert set(fl.__all__) <= declared
    stub_all = next(node.value for node in tree.body if isinstance(node, ast.Assign)
                    and node.targets[0].id == "__all__")
    assert ast.literal_eval(stub_all) == fl.__all__


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_stub_constructor_matches_runtime(cls):
    """The stub's keyword arguments and defaults are the ones the class takes: passing all of
    them, at the stub's defaults, builds the default loss."""
    stub = ast.parse(_stubs._class_stub(cls))
    init = next(node for node in ast.walk(stub) if isinstance(node, ast.FunctionDef))
    assert not init.args.args[1:], "constructor arguments are keyword-only"
    kwargs = {arg.arg: ast.literal_eval(default)
              for arg, default in zip(init.args.kwonlyargs, init.args.kw_defaults)}
    assert cls(**kwargs) == cls()
    assert set(kwargs) == set(cls().get_params())


def test_stub_refuses_an_unknown_parameter_kind():
    from fastloss._catalogue import Param, Spec

    spec = Spec("made_up", "elementwise", "real", (Param("p", 1.0, kind="complex"),))
    with pytest.raises(ValueError, match="no type for"):
        _stubs._arguments(spec)


# ---------------------------------------------------------------- annotations
def _missing(func):
    """Parameters (and "return") of ``func`` without an annotation; their hints must resolve."""
    sig = inspect.signature(func)
    missing = [name for name, p in sig.parameters.items()
               if name not in ("self", "cls") and p.annotation is inspect.Parameter.empty]
    if sig.return_annotation is inspect.Signature.empty:
        missing.append("return")
    typing.get_type_hints(func)  # a typo or a name the module does not import raises here
    return missing


def _methods(cls):
    """The methods a user calls: public ones and the protocol dunders, defined on ``cls``."""
    out = {}
    for name, value in vars(cls).items():
        if name.startswith("_") and name not in (
                "__init__", "__call__", "__enter__", "__exit__", "__getitem__", "__iter__", "__len__",
                "__eq__", "__hash__", "__repr__", "__getattr__"):
            continue
        if isinstance(value, property):
            value = value.fget
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        # written in the class's source (not made by @dataclass or NamedTuple)
        if isinstance(value, types.FunctionType) and value.__code__.co_filename == inspect.getfile(cls):
            out[f"{cls.__name__}.{name}"] = value
    return out


def _public_callables():
    items = {}
    for name in fastloss.__all__:
        obj = getattr(fastloss, name)
        if inspect.isclass(obj):
            items.update(_methods(obj))
        elif isinstance(obj, np.ufunc):
            # a real ufunc (typed as numpy.ufunc): check the function a build without Cython has
            items[f"fastloss.{name}"] = getattr(special_api, f"{obj.__name__}_function")
        elif callable(obj):
            items[f"fastloss.{name}"] = obj
    for name in fastloss.score.__all__:
        obj = getattr(fastloss.score, name)
        if getattr(obj, "__module__", None) != "fastloss.score":
            continue  # re-exported from the private _score package
        items.update(_methods(obj) if inspect.isclass(obj) else {f"fastloss.score.{name}": obj})
    items.update(_methods(Loss))
    items["fastloss.cli.main"] = importlib.import_module("fastloss.cli").main
    if importlib.util.find_spec("dask") is not None:
        fdask = importlib.import_module("fastloss.dask")
        items.update({f"fastloss.dask.{name}": getattr(fdask, name) for name in fdask.__all__})
    return items


PUBLIC = _public_callables()


def test_public_surface_is_collected():
    """The collector finds what it should (so the test below cannot pass by seeing nothing)."""
    for name in ("fastloss.expit", "fastloss.logsumexp", "fastloss.log_loss", "fastloss.config",
                 "fastloss.thread_limit", "set_backend.__init__", "set_backend.__exit__",
                 "Loss.loss", "Loss.loss_gradient", "Loss.sums", "fastloss.score.score_files",
                 "ScoreResult.to_dict", "fastloss.cli.main"):
        assert name in PUBLIC, name


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_public_callable_is_annotated(name):
    assert _missing(PUBLIC[name]) == [], f"{name} has unannotated parameters or return"


def test_missing_annotations_are_found():
    def half(x: float, y) -> float:
        return x

    def bare(x: int):
        return x

    assert _missing(half) == ["y"]
    assert _missing(bare) == ["return"]


def test_data_classes_are_annotated():
    assert set(LossSums.__annotations__) == set(LossSums._fields)
    fields = fastloss.score.ScoreResult.__dataclass_fields__
    assert set(typing.get_type_hints(fastloss.score.ScoreResult)) == set(fields)
