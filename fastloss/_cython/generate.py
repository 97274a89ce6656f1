"""Build step: writes fastloss/_cython/losses.pyx from fastloss/_formulas.py, fastloss/_catalogue.py
and the loop template losses.pyx.tp (as scikit-learn's _loss.pyx.tp). Run by setup.py before
cythonize; ``python fastloss/_cython/generate.py`` does the same by hand.

Each function of _formulas.py becomes a ``cdef inline ... noexcept nogil`` C function: its Python
body is kept as it is (the subset _formulas.py's docstring describes) and its argument and local
types are declared from these rules -- float64 everywhere, ``Py_ssize_t`` for loop indices, names
annotated ``: int`` and the ``k``/``y``/``mode`` arguments of row functions (those that take
``z``/``g``/``h``), ``double*`` for ``z, sm, g, h, t`` -- and a ctuple return for ``-> tuple``.
Math names map to flmath.h's exp/expm1/log/log1p (libm, or fastmath.h in the AVX2 build), others to libm
(``lgamma`` to the thread-safe ``lgamma_r``).
This module imports nothing of fastloss (it runs before the package is built).
"""
import ast
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = os.path.dirname(HERE)
ROW_ARRAYS = ("z", "sm", "g", "h", "t")
ROW_INTS = ("k", "y", "mode")
RENAME = {"inf": "INFINITY", "nan": "NAN", "abs": "fabs", "lgamma": "fl_lgamma"}


def _load(name):
    spec = importlib.util.spec_from_file_location(f"_fastloss_build_{name}", os.path.join(PACKAGE, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses looks the module up while building the class
    spec.loader.exec_module(module)
    return module


class _Rename(ast.NodeTransformer):
    def visit_Name(self, node):
        if node.id in RENAME:
            return ast.copy_location(ast.Name(RENAME[node.id], node.ctx), node)
        return node


def _return_arity(fn):
    for node in ast.walk(fn):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple):
            return len(node.value.elts)
    raise ValueError(f"{fn.name}: annotated -> tuple but returns no tuple")


def _names(fn):
    """(loop indices and int-annotated names, other assigned names) in first-seen order."""
    ints, floats = [], []
    for node in ast.walk(fn):
        if isinstance(node, ast.For):
            ints.append(node.target.id)
        elif isinstance(node, ast.AnnAssign):
            (ints if ast.unparse(node.annotation) == "int" else floats).append(node.target.id)
        elif isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                for elt in (t.elts if isinstance(t, ast.Tuple) else [t]):
                    if isinstance(elt, ast.Name):
                        floats.append(elt.id)
    args = {a.arg for a in fn.args.args}
    ints = list(dict.fromkeys(n for n in ints if n not in args))
    floats = list(dict.fromkeys(n for n in floats if n not in args and n not in ints))
    return ints, floats


class _StripAnn(ast.NodeTransformer):
    def visit_AnnAssign(self, node):
        return ast.copy_location(ast.Assign([node.target], node.value, lineno=node.lineno), node)


def translate_function(fn):
    is_row = any(a.arg in ("z", "g", "h") for a in fn.args.args)
    args = []
    for a in fn.args.args:
        if is_row and a.arg in ROW_ARRAYS:
            args.append(f"double* {a.arg}")
        elif is_row and a.arg in ROW_INTS:
            args.append(f"Py_ssize_t {a.arg}")
        else:
            args.append(f"double {a.arg}")
    if fn.returns is not None and ast.unparse(fn.returns) == "tuple":
        ret = "(" + ", ".join(["double"] * _return_arity(fn)) + ")"
    else:
        ret = "double"
    ints, floats = _names(fn)
    body = list(fn.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    module = ast.Module(body=body, type_ignores=[])
    module = ast.fix_missing_locations(_Rename().visit(_StripAnn().visit(module)))
    lines = [f"cdef inline {ret} {fn.name}({', '.join(args)}) noexcept nogil:"]
    if ints:
        lines.append("    cdef Py_ssize_t " + ", ".join(ints))
    if floats:
        lines.append("    cdef double " + ", ".join(floats))
    lines += ["    " + line for line in ast.unparse(module).splitlines()]
    return "\n".join(lines)


def translate_formulas(path):
    with open(path) as fh:
        tree = ast.parse(fh.read())
    out = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for t in node.targets:
                out.append(f"cdef double {t.id} = {node.value.value!r}")
        elif isinstance(node, ast.FunctionDef):
            out.append(translate_function(node))
    return "\n\n\n".join(out)


def generate(target=os.path.join(HERE, "losses.pyx")):
    from Cython import Tempita

    catalogue = _load("_catalogue")
    formulas = translate_formulas(os.path.join(PACKAGE, "_formulas.py"))
    with open(os.path.join(HERE, "losses.pyx.tp")) as fh:
        template = Tempita.Template(fh.read(), name="losses.pyx.tp")
    text = template.substitute(specs=catalogue.SPECS, formulas=formulas)
    header = "# GENERATED by fastloss/_cython/generate.py from losses.pyx.tp and fastloss/_formulas.py: do not edit.\n"
    text = header + text
    old = None
    if os.path.exists(target):
        with open(target) as fh:
            old = fh.read()
    if old != text:  # leave the file (and its mtime) alone when nothing changed
        with open(target, "w") as fh:
            fh.write(text)
    return target


if __name__ == "__main__":
    print(generate())
