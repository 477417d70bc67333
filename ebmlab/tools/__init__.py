"""The instructor tools: :mod:`~ebmlab.tools.assign` (student notebooks and the exercise
table), :mod:`~ebmlab.tools.grade` with :mod:`~ebmlab.tools.gradebook` and
:mod:`~ebmlab.tools.feedback` (run and grade students' notebooks; the tables and each student's
feedback), :mod:`~ebmlab.tools.sandbox` (where a student's kernel runs),
:mod:`~ebmlab.tools.channel` and :mod:`~ebmlab.tools.remote` (the grader's requests to a
kernel, and the kernel's side), :mod:`~ebmlab.tools.review` (the review flag),
:mod:`~ebmlab.tools.gradescope` (the Gradescope autograder) and :mod:`~ebmlab.tools.cli` (the
``ebmlab`` command).

The notebook tools need ``nbformat``, ``nbclient`` and ``ipykernel`` (the ``grade`` extra) when
they run. ``import ebmlab`` never loads this package.
"""

from __future__ import annotations

from . import assign, cli, feedback, grade, gradebook, gradescope, sandbox

__all__ = ["assign", "grade", "gradebook", "cli", "feedback", "sandbox", "gradescope"]
