"""The grader's channel into a student's kernel: what the kernel runs, and how results come back.

The grader (:mod:`ebmlab.tools.grade`) sends the kernel one request per case, as a code cell
``serve(globals(), TOKEN, REQUEST)``: ``TOKEN`` is fresh and random for that request, and
``REQUEST`` is the pickled call (the arguments the grader's check passes, functions defined
inside the checks included, by value: :func:`dumps`). The kernel calls the student's
function once (:func:`ebmlab.exercises.run_case`) and prints one line, ``TOKEN`` then the
encoded :class:`~ebmlab.exercises.Outcome`. Nothing else happens in the kernel: the references,
the comparison and the grade are computed in the grader's own process (:func:`decode` there).

Everything the kernel prints is the student's to forge, so the channel is built to make forging
useless rather than impossible:

- a line counts only if it starts with this request's token, which did not exist when the
  student's cells ran (their earlier prints cannot be taken for a result);
- the line carries what the function *returned*, never a verdict; the grader decodes it with
  ``torch.load(weights_only=True)`` (no code runs) and then :func:`decode`, which rebuilds
  tensors, numpy arrays, numbers, strings, tuples, lists and dicts only. A result forged by
  the student's code is judged exactly as if the function had returned it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import pickle
import sys
import types
from collections.abc import Callable

import numpy as np
import torch

__all__ = ["decode", "describe", "dumps", "encode", "pack", "serve", "unpack"]

_DEPTH = 32  # nesting kept in a result


def encode(value, depth: int = 0):
    """``value`` as plain data that ``torch.load(weights_only=True)`` reads back."""
    if depth > _DEPTH:
        return {"@": "object", "type": "nested too deeply"}
    if value is None or isinstance(value, bool):
        return value if value is None else bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, complex):
        return {"@": "complex", "v": [float(value.real), float(value.imag)]}
    if isinstance(value, torch.Tensor) and value.layout == torch.strided:
        return {"@": "tensor", "v": value.detach().cpu().as_subclass(torch.Tensor).clone()}
    if isinstance(value, (np.ndarray, np.generic)) and value.dtype.kind in "biufc":
        array = np.ascontiguousarray(value)
        shape = None if isinstance(value, np.generic) else list(array.shape)
        return {"@": "ndarray", "dtype": array.dtype.str, "shape": shape, "v": array.tobytes()}
    if isinstance(value, tuple):
        return {"@": "tuple", "v": [encode(v, depth + 1) for v in value]}
    if isinstance(value, list):
        return [encode(v, depth + 1) for v in value]
    if isinstance(value, dict):
        items = list(value.items())
        return {
            "@": "dict",
            "k": [encode(k, depth + 1) for k, _ in items],
            "v": [encode(v, depth + 1) for _, v in items],
        }
    return {"@": "object", "type": type(value).__name__}


def _foreign(name) -> object:
    """A stand-in for an object the channel does not carry, named after its type."""
    name = "".join(c for c in str(name) if c.isalnum() or c == "_")[:40] or "object"
    return type(name if name[0].isalpha() else "object", (), {"__repr__": lambda s: name})()


def decode(data, depth: int = 0):
    """The value :func:`encode` described, rebuilt from plain data only (never raises)."""
    if depth > _DEPTH + 1:
        return _foreign("nested")
    if data is None or type(data) in (bool, int, float, str):
        return data
    if type(data) is list:
        return [decode(v, depth + 1) for v in data]
    if type(data) is not dict:
        return _foreign(type(data).__name__)
    tag, v = data.get("@"), data.get("v")
    try:
        if tag == "tensor" and type(v) is torch.Tensor:
            return v
        if tag == "tuple" and type(v) is list:
            return tuple(decode(x, depth + 1) for x in v)
        if tag == "dict" and type(v) is list and type(data.get("k")) is list:
            keys = [decode(k, depth + 1) for k in data["k"]]
            return {k: decode(x, depth + 1) for k, x in zip(keys, v) if k.__hash__ is not None}
        if tag == "complex":
            return complex(float(v[0]), float(v[1]))
        if tag == "ndarray" and type(v) is bytes:
            dtype = np.dtype(str(data["dtype"]))
            if dtype.kind not in "biufc":
                return _foreign("ndarray")
            array = np.frombuffer(v, dtype=dtype).copy()
            shape = data.get("shape")
            return array[0] if shape is None else array.reshape([int(s) for s in shape])
    except Exception:  # malformed data: the student's kernel wrote it
        return _foreign(str(tag))
    return _foreign(data.get("type", tag))


def pack(obj) -> str:
    """``obj`` as one line of text: ``torch.save`` then base64."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def unpack(line: str):
    """The object of a :func:`pack` line, loaded with ``weights_only=True`` (no code runs)."""
    import warnings

    raw = base64.b64decode(line.strip(), validate=True)
    with warnings.catch_warnings():  # a forged line may use any pickle protocol: it fails
        warnings.simplefilter("ignore")
        return torch.load(io.BytesIO(raw), weights_only=True)


def _rebuild(code: bytes, module: str, name: str, defaults, closure):
    import importlib
    import marshal

    namespace = importlib.import_module(module).__dict__ if module else {}
    cells = None if closure is None else tuple(types.CellType(v) for v in closure)
    return types.FunctionType(marshal.loads(code), namespace, name, defaults, cells)


class _Pickler(pickle.Pickler):
    """Pickles a function defined inside another (a case's energy, a lambda) by value."""

    def reducer_override(self, obj):
        import marshal

        if isinstance(obj, types.FunctionType) and "<" in obj.__qualname__:
            cells = obj.__closure__
            closure = None if cells is None else tuple(c.cell_contents for c in cells)
            code = marshal.dumps(obj.__code__)
            return _rebuild, (code, obj.__module__, obj.__name__, obj.__defaults__, closure)
        return NotImplemented


def dumps(obj) -> bytes:
    """Pickle the grader's ``obj`` (a case's arguments) for the kernel, closures included."""
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buffer.getvalue()


# -- the review flag: what a function uses of the package ---------------------------------------


def _qualname(obj) -> str:
    return f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', '')}"


def _is_package(obj) -> bool:
    module = obj.__name__ if isinstance(obj, types.ModuleType) else getattr(obj, "__module__", "")
    return isinstance(module, str) and (module == "ebmlab" or module.startswith("ebmlab."))


def _codes(code: types.CodeType):
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _codes(const)


def describe(fn, *, into: tuple[str, ...] = (), depth: int = 4) -> dict:
    """What ``fn`` uses of ``ebmlab``, and digests of its own bytecode.

    Follows ``functools.partial``, ``__wrapped__``, bound methods, closures, the global names
    its code reads (modules, attributes of modules it names) and the functions it calls that
    are defined outside the package, ``depth`` levels deep.

    Args:
        fn: the function.
        into: module prefixes inside ``ebmlab`` to look into rather than record
            (the grader passes ``("ebmlab.exercises",)`` for a reference solution).
        depth: how many levels of functions to follow.

    Returns:
        ``{"uses": [qualified names of ebmlab callables], "code": [sha256 of bytecode]}``.
    """
    uses: set[str] = set()
    digests: set[str] = set()
    seen: set[int] = set()

    def visit(obj, level):
        if id(obj) in seen or level > depth:
            return
        seen.add(id(obj))
        obj = obj.func if isinstance(obj, functools.partial) else obj
        obj = getattr(obj, "__func__", obj)
        inner = getattr(obj, "__wrapped__", None)
        if inner is not None and inner is not obj:
            visit(inner, level)
        module = getattr(obj, "__module__", "") or ""
        if _is_package(obj) and callable(obj) and not module.startswith(into or ("\0",)):
            uses.add(_qualname(obj))
            return
        if not isinstance(obj, types.FunctionType):
            call = vars(type(obj)).get("__call__")
            if isinstance(call, types.FunctionType) and not _is_package(type(obj)):
                visit(call, level + 1)
            return
        names: set[str] = set()
        for code in _codes(obj.__code__):
            names.update(code.co_names)
            if len(code.co_code) >= 64:
                digests.add(hashlib.sha256(code.co_code).hexdigest())
        values = [c.cell_contents for c in (obj.__closure__ or ()) if _filled(c)]
        values += [obj.__globals__[n] for n in names if n in obj.__globals__]
        for value in values:
            if isinstance(value, types.ModuleType):
                visit_module(value, names, level, 0)
            elif callable(value):
                visit(value, level + 1)

    def visit_module(module, names, level, hops):
        if hops > 3 or not _is_package(module):
            return
        for name in names:
            value = getattr(module, name, None)
            if isinstance(value, types.ModuleType):
                visit_module(value, names, level, hops + 1)
            elif callable(value):
                visit(value, level + 1)

    try:
        visit(fn, 0)
    except Exception:  # an object that resists inspection: report what was found
        pass
    return {"uses": sorted(uses), "code": sorted(digests)}


def _filled(cell) -> bool:
    try:
        cell.cell_contents  # noqa: B018 - an empty cell raises
    except ValueError:
        return False
    return True


# -- the kernel's side --------------------------------------------------------------------------


def _lookup(namespace: dict, name: str) -> Callable | None:
    fn = namespace.get(name)
    return fn if callable(fn) else None


def serve(namespace: dict, token: str, request: str) -> None:
    """Run one grader request in the student's kernel and print ``token`` + the answer.

    Args:
        namespace: the notebook's globals.
        token: this request's token.
        request: a base64 pickle of a dict from the grader: ``op`` (``"run"`` or
            ``"describe"``), ``function`` (a name in ``namespace``) and, to run, ``call`` (the
            arguments and keyword arguments, pickled by :func:`dumps`) and ``time_limit``.
    """
    from ..exercises import Case, Outcome, run_case

    try:
        req = pickle.loads(base64.b64decode(request))
        fn = _lookup(namespace, req["function"])
        if fn is None:
            answer = {"kind": "missing"}
        elif req["op"] == "describe":
            answer = {"kind": "info", **describe(fn)}
        else:
            args, kwargs = pickle.loads(req["call"])
            outcome = run_case(fn, Case(tuple(args), dict(kwargs)), time_limit=req["time_limit"])
            answer = {"kind": outcome.kind, "value": encode(outcome.value), "error": outcome.error}
    except KeyboardInterrupt:  # the grader interrupted a function that ignored its alarm
        answer = {"kind": "timeout", "value": None, "error": "interrupted by the grader"}
    except BaseException as exc:  # noqa: BLE001 - whatever happens, the grader gets a line
        outcome = Outcome("raised", error=f"the kernel could not serve the request: {exc!r}"[:300])
        answer = {"kind": outcome.kind, "value": None, "error": outcome.error}
    try:
        line = pack(answer)
    except Exception as exc:  # a result torch cannot save
        line = pack({"kind": "raised", "value": None, "error": f"unsendable result: {exc!r}"})
    stream = sys.stdout
    stream.write(f"\n{token}{line}\n")
    stream.flush()
