"""The grader's end of the channel to a student's kernel (the kernel's end is
:mod:`ebmlab.tools.remote`).

:class:`Kernel` sends one request per call as an extra code cell run without history, with a
fresh random token; it reads back only the line that starts with that token, decodes it without
running code, and turns it into the student's return value — or raises what the student's
function raised, as :class:`ebmlab.exercises.Reported`. A chapter's own check, run in the
grader's process on :meth:`Kernel.proxy`, then computes the references and compares.
"""

from __future__ import annotations

import base64
import pickle
import secrets

from ..exercises import Outcome, Reported
from . import remote

__all__ = ["Kernel", "KernelDied"]

_CALL = "__import__('ebmlab.tools.remote', fromlist=['serve']).serve(globals(), {token!r}, {req!r})"


class KernelDied(BaseException):  # noqa: N818 - passes through the checks' `except Exception`
    """The student's kernel died while it served a request."""


class Kernel:
    """Requests to a running student's kernel (an nbclient ``NotebookClient`` in a kernel).

    Args:
        client: the ``NotebookClient`` whose kernel has run the notebook.
        time_limit: seconds the student's function may run per call (its kernel enforces it
            with an alarm; the grader interrupts the kernel a little later).
    """

    def __init__(self, client, time_limit: float):
        self.client = client
        self.time_limit = float(time_limit)

    def request(self, req: dict) -> dict:
        """Send ``req`` (see :func:`ebmlab.tools.remote.serve`); the kernel's answer, a dict."""
        from nbclient.exceptions import DeadKernelError
        from nbformat.v4 import new_code_cell

        token = "@@ebmlab-" + secrets.token_hex(16) + "@@"
        payload = base64.b64encode(pickle.dumps(req, protocol=pickle.HIGHEST_PROTOCOL)).decode()
        nb = self.client.nb
        nb.cells.append(new_code_cell(_CALL.format(token=token, req=payload)))
        index = len(nb.cells) - 1
        errors = []
        hook = self.client.on_cell_error
        self.client.on_cell_error = lambda cell, cell_index, execute_reply: errors.append(
            execute_reply["content"]
        )
        try:
            self.client.execute_cell(nb.cells[index], index, store_history=False)
        except DeadKernelError as exc:
            raise KernelDied(str(exc)) from None
        finally:
            self.client.on_cell_error = hook
            cell = nb.cells.pop()
        return _answer(cell, token, errors)

    def proxy(self, function: str):
        """A stand-in for the student's function named ``function``: each call runs in the
        kernel; what it returned comes back, what it raised is raised as ``Reported``."""

        def student(*args, **kwargs):
            try:
                call = remote.dumps((args, kwargs))
            except Exception as exc:  # a case the channel cannot carry: the grader's problem
                error = f"the grader cannot send: {exc!r}"
                raise Reported(Outcome("raised", error=error)) from None
            req = {"op": "run", "function": function, "call": call}
            answer = self.request({**req, "time_limit": self.time_limit})
            kind = answer.get("kind")
            if kind == "value":
                return remote.decode(answer.get("value"))
            if kind == "todo":
                raise NotImplementedError
            error = str(answer.get("error", ""))[:600]
            if kind == "missing":
                error = f"no function named {function} is defined in the notebook"
            outcome = Outcome(kind if kind in ("raised", "timeout") else "raised", error=error)
            raise Reported(outcome)

        student.__name__ = student.__qualname__ = function
        return student


def _answer(cell, token: str, errors: list) -> dict:
    text = "".join(o.get("text", "") for o in cell.get("outputs", []) if "text" in o)
    for line in reversed(text.splitlines()):
        if line.startswith(token):
            try:
                answer = remote.unpack(line[len(token) :])
            except Exception:  # noqa: BLE001 - the student's kernel wrote it
                break
            return answer if isinstance(answer, dict) else {"kind": "garbled"}
    ename = errors[-1].get("ename", "") if errors else ""
    if ename in ("Timeout", "KeyboardInterrupt"):
        return {"kind": "timeout", "error": "interrupted by the grader"}
    why = f"{ename}: {errors[-1].get('evalue', '')}" if errors else "no answer"
    return {"kind": "raised", "error": f"the kernel gave no readable answer ({why[:200]})"}
