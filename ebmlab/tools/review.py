"""The review flag: a function that is, or merely wraps, the package's own implementation.

The kernel reports what the student's function uses of ``ebmlab``
(:func:`ebmlab.tools.remote.describe`: the package's callables its code reaches through global
names, attributes of modules, closures, ``functools.partial`` and the student's own helpers)
and digests of its bytecode. The grader compares them with the exercise's implementation, found
the same way from the reference solution in its own process: the package functions the
reference calls and their private cores. A match flags the row for review; it changes no score.

It catches ``my_shrink = sparse.shrink``, ``def my_shrink(x, t): return sparse.shrink(x, t)``,
a call through a helper or through ``ebmlab.exercises.ch06``'s reference, and a verbatim copy of
the package's code (same bytecode, whatever the names of the local variables). It misses a
function reached by a computed name (``getattr(m, "shr" + "ink")``, ``importlib``, ``exec``), a
copy that changes the code, and anything done to hide it from the kernel's inspection. It can
also flag an honest answer that happens to have the very same bytecode as the package (a short
one-liner; bytecode shorter than 64 bytes is never compared).
"""

from __future__ import annotations

import inspect
import types

from .remote import describe

__all__ = ["flag", "implementation"]

_SHARED = ("ebmlab._validation", "ebmlab.runtime")  # helpers any answer may use


def _package_callables(fn) -> dict[str, object]:
    fn = inspect.unwrap(fn)
    names = set()
    code = getattr(fn, "__code__", None)
    stack = [code] if code is not None else []
    while stack:
        c = stack.pop()
        names.update(c.co_names)
        stack += [k for k in c.co_consts if isinstance(k, types.CodeType)]
    found = {}
    for name in names:
        value = getattr(fn, "__globals__", {}).get(name)
        module = getattr(value, "__module__", "") or ""
        if callable(value) and module.startswith("ebmlab") and not module.startswith(_SHARED):
            found[f"{module}.{value.__qualname__}"] = value
    return found


def implementation(reference) -> dict:
    """What counts as the package's implementation of an exercise whose reference is given.

    Args:
        reference: the exercise's reference solution.

    Returns:
        ``{"uses": set of qualified names, "code": {bytecode digest: qualified name}}``.
    """
    names = set(describe(reference, into=("ebmlab.exercises",))["uses"])
    names.add(f"{reference.__module__}.{reference.__qualname__}")
    objects = {}
    for fn in [reference, *_package_callables(reference).values()]:
        objects[f"{fn.__module__}.{fn.__qualname__}"] = fn
        for name, core in _package_callables(fn).items():
            if core.__name__.startswith("_") and not core.__name__.startswith("_check"):
                # a private core of the public function (argument checks excepted)
                objects[name] = core
                names.add(name)
    code = {}
    for name, fn in objects.items():
        if name in names or fn is reference:
            for digest in describe(inspect.unwrap(fn), into=("ebmlab",), depth=0)["code"]:
                code[digest] = name
    return {"uses": names, "code": code}


def flag(info: dict, exercise: dict) -> str:
    """The review note for a student's function, ``""`` when nothing matches.

    Args:
        info: what the kernel reported (:func:`ebmlab.tools.remote.describe`).
        exercise: :func:`implementation` of the exercise.
    """
    uses = info.get("uses", []) if isinstance(info, dict) else []
    codes = info.get("code", []) if isinstance(info, dict) else []
    hits = sorted({str(u) for u in uses if isinstance(u, str)} & exercise["uses"])
    if hits:
        return "review: calls the package's own " + ", ".join(hits)[:200]
    known = exercise["code"]
    same = sorted({known[c] for c in codes if isinstance(c, str) and c in known})
    if same:
        return "review: same bytecode as the package's " + ", ".join(same)[:200]
    return ""
