"""The instructor tools: :mod:`~ebmlab.tools.assign` (student notebooks and the exercise
table), :mod:`~ebmlab.tools.grade` with :mod:`~ebmlab.tools.gradebook` (run and grade students'
notebooks), and :mod:`~ebmlab.tools.cli` (the ``ebmlab`` command).

The notebook tools need ``nbformat``, ``nbclient`` and ``ipykernel`` (the ``grade`` extra) when
they run. ``import ebmlab`` never loads this package.
"""

from __future__ import annotations

from . import assign, cli, grade, gradebook

__all__ = ["assign", "grade", "gradebook", "cli"]
