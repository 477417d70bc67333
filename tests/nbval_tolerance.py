"""Tolerance-aware output comparison for nbval: the second half of the reproducibility policy.

nbval compares a re-executed cell's text outputs with the stored ones, character for character.
That is the default here too. A cell that prints trained or sampled numbers, which cannot agree
bit for bit across a GPU, another CPU family, another BLAS or another torch, declares a tolerance
in its metadata, with the reason::

    "metadata": {"tolerance": {"abs": 0.03, "reason": "probe accuracies of trained encoders"}}

In such a cell the outputs must have the same kinds and counts as the stored ones; in each text,
everything but the numbers must match exactly (runs of whitespace count as one space, so that
right-aligned columns may shift by a character when a sign appears), the count of numbers must
match, and each number ``x`` must lie within ``abs + rel * |stored|`` of the stored one.

``book/conftest.py`` installs it, so every ``pytest --nbval`` of a chapter uses it.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections import defaultdict

# A number standing alone: not part of a word such as "ch08" or "x2". The minus may be ASCII
# or the typographic one (U+2212).
NUMBER = re.compile(r"(?<![\w.])[-\u2212]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?(?![\w])")
_WHITESPACE = re.compile(r"\s+")
_KEYS = {"abs", "rel", "reason"}


@dataclasses.dataclass(frozen=True)
class Tolerance:
    """``|fresh - stored| <= abs + rel * |stored|`` for every number of a cell's text."""

    abs: float = 0.0
    rel: float = 0.0
    reason: str = ""

    def allowed(self, stored: float) -> float:
        return self.abs + self.rel * abs(stored)


def cell_tolerance(metadata: dict) -> Tolerance | None:
    """The tolerance a cell declares, ``None`` for an exact cell; malformed ones are errors."""
    spec = metadata.get("tolerance")
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise TypeError(f"cell metadata 'tolerance' must be a dict; got {type(spec).__name__}")
    unknown = set(spec) - _KEYS
    if unknown:
        raise ValueError(f"cell metadata 'tolerance' has unknown keys {sorted(unknown)}")
    reason = spec.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError("cell metadata 'tolerance' needs a 'reason': one line saying why")
    values = {}
    for key in ("abs", "rel"):
        value = spec.get(key, 0.0)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"tolerance '{key}' must be a number; got {type(value).__name__}")
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"tolerance '{key}' must be finite and >= 0; got {value}")
        values[key] = float(value)
    if values["abs"] == 0 and values["rel"] == 0:
        raise ValueError("a tolerance needs 'abs' or 'rel' > 0 (leave it out for an exact cell)")
    return Tolerance(values["abs"], values["rel"], reason.strip())


def numbers(text: str) -> list[float]:
    """The numbers of ``text``, in order."""
    return [float(m.replace("\u2212", "-")) for m in NUMBER.findall(text)]


def skeleton(text: str) -> str:
    """``text`` with each number replaced by ``#`` and each run of whitespace by one space."""
    return _WHITESPACE.sub(" ", NUMBER.sub("#", text)).strip()


def compare_text(stored: str, fresh: str, tolerance: Tolerance) -> tuple[str | None, float]:
    """Compare one text output under ``tolerance``.

    Returns ``(None, worst)`` when it matches, with ``worst`` the largest difference as a fraction
    of what was allowed (0 for an exact match), else ``(message, worst)``.
    """
    want, got = numbers(stored), numbers(fresh)
    if len(want) != len(got):
        return f"{len(got)} numbers where the stored output has {len(want)}", math.inf
    if skeleton(stored) != skeleton(fresh):
        return "the text differs outside its numbers", math.inf
    worst = 0.0
    for i, (w, g) in enumerate(zip(want, got)):
        allowed = tolerance.allowed(w)
        diff = abs(g - w)
        if diff > allowed + 1e-12 * max(1.0, abs(w)):  # printed decimals are not exact binary
            return (
                f"number {i + 1} is {g:g} where the stored output has {w:g}: off by {diff:.3g}, "
                f"the tolerance allows {allowed:.3g} ({tolerance.reason})"
            ), diff / allowed
        worst = max(worst, diff / allowed)
    return None, worst


def _by_key(outputs, skip: tuple, sanitize) -> dict[str, list]:
    """nbval's view of a cell's outputs: per stream name or MIME type, the values in order."""
    found = defaultdict(list)
    for out in outputs:
        if out.get("output_type") == "stream":
            found[out["name"]].append(sanitize(out["text"]))
            continue
        for key, value in out.items():
            if key in skip:
                continue
            if key == "data":
                for mime, data in value.items():
                    if mime not in skip:
                        found[mime].append(sanitize(data))
            else:
                found[key].append(sanitize(value))
    return found


def compare_outputs(fresh, stored, tolerance: Tolerance, skip: tuple, sanitize):
    """Compare a cell's outputs; returns ``(messages, worst)``: no messages when they match."""
    want, got = _by_key(stored, skip, sanitize), _by_key(fresh, skip, sanitize)
    if set(want) != set(got):
        return [f"output kinds {sorted(got)} where the stored cell has {sorted(want)}"], math.inf
    worst = 0.0
    for key, values in want.items():
        if len(values) != len(got[key]):
            return [f"{len(got[key])} '{key}' outputs where the stored cell has {len(values)}"], (
                math.inf
            )
        for w, g in zip(values, got[key]):
            if isinstance(w, str) and isinstance(g, str):
                message, diff = compare_text(w, g, tolerance)
            else:
                message, diff = (None, 0.0) if w == g else (f"'{key}' differs", math.inf)
            if message:
                return [f"'{key}': {message}", "stored:", w, "fresh:", g], diff
            worst = max(worst, diff)
    return [], worst


# Cells that matched only within their tolerance, for the end-of-session summary.
inexact: list[tuple[str, float]] = []


def install(plugin_module) -> None:
    """Make nbval compare cells that declare a tolerance with it (others stay exact)."""
    cell_class = plugin_module.IPyNbCell
    if getattr(cell_class, "_ebmlab_tolerance", False):
        return
    exact = cell_class.compare_outputs

    def tolerant_compare_outputs(self, test, ref, skip_compare=None):
        tolerance = cell_tolerance(self.cell.get("metadata", {}))
        if tolerance is None:
            return exact(self, test, ref, skip_compare)
        skip = skip_compare or self.parent.skip_compare
        messages, worst = compare_outputs(test, ref, tolerance, skip, self.sanitize)
        self.comparison_traceback = messages
        if not messages and worst > 0:
            inexact.append((f"{self.parent.name} cell {self.cell_num}", worst))
        return not messages

    cell_class.compare_outputs = tolerant_compare_outputs
    cell_class._ebmlab_tolerance = True
