"""Where a student's kernel runs: a private copy of its folder, limits, and bubblewrap if present.

Every kernel the grader starts gets

- a **private copy** of the notebook's folder in a fresh temporary folder (other notebooks left
  out), which is its working folder and its ``HOME``; the original is never written;
- **resource limits** set in the kernel's own process before it starts (``resource.setrlimit``):
  address space (``memory_mb``), CPU seconds (``cpu_seconds``), size of a file it writes, no
  core dumps;

and, when `bubblewrap <https://github.com/containers/bubblewrap>`_ (``bwrap``, the Debian package
``bubblewrap``) is installed and works, a **sandbox**: new user, PID, IPC and network namespaces
(no network at all, not even the host's loopback: the kernel talks to the grader over Unix
sockets), a read-only view of the system, of Python and of ``ebmlab`` only, an empty ``/tmp``,
and read-write access to its private copy only. Without it only the copy and the limits remain:
the kernel can then read whatever the grader's user can read and open network connections.
:func:`protection` says which in one sentence, and ``ebmlab grade`` prints it.
"""

from __future__ import annotations

import functools
import os
import pathlib
import shutil
import subprocess
import sys
from dataclasses import dataclass

from .._validation import Instance, Int, Options, check_fields, checked

__all__ = ["Limits", "available", "kernel_env", "kernel_manager", "private_copy", "protection"]

# Run in the kernel's process before the kernel itself: set the limits, then become the kernel.
_LIMITS = (
    "import os, resource, sys\n"
    "mem, cpu, fsize = (int(v) for v in sys.argv[1:4])\n"
    "for what, n in ((resource.RLIMIT_AS, mem), (resource.RLIMIT_CPU, cpu),\n"
    "                (resource.RLIMIT_FSIZE, fsize), (resource.RLIMIT_CORE, 0)):\n"
    "    if n >= 0:\n"
    "        resource.setrlimit(what, (n, n))\n"
    "os.execv(sys.argv[4], sys.argv[4:])\n"
)


@dataclass(frozen=True)
class Limits:
    """Limits of one student's kernel.

    Attributes:
        memory_mb: address space in MiB (torch alone maps about 1.5 GiB).
        cpu_seconds: CPU seconds for the whole notebook and its checks.
        file_mb: the largest file the kernel may write, in MiB.
        sandbox: ``"auto"`` (bubblewrap when it works), ``"bwrap"`` (required) or ``"none"``.
    """

    memory_mb: int = 6144
    cpu_seconds: int = 1800
    file_mb: int = 512
    sandbox: str = "auto"

    def __post_init__(self):
        check_fields(
            self,
            {
                "memory_mb": Int(low=256),
                "cpu_seconds": Int(low=1),
                "file_mb": Int(low=1),
                "sandbox": Options(("auto", "bwrap", "none")),
            },
        )


@functools.cache
def _bwrap_works() -> bool:
    exe = shutil.which("bwrap")
    if exe is None:
        return False
    probe = [exe, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "true"]
    try:
        return subprocess.run(probe, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def available(limits: Limits | None = None) -> str:
    """The sandbox the kernels will run in: ``"bwrap"`` or ``"none"``.

    Raises:
        RuntimeError: when ``limits.sandbox == "bwrap"`` and bubblewrap does not work here.
    """
    limits = limits or Limits()
    if limits.sandbox == "none":
        return "none"
    if _bwrap_works():
        return "bwrap"
    if limits.sandbox == "bwrap":
        raise RuntimeError("sandbox: bubblewrap (bwrap) is not installed or does not work here")
    return "none"


@checked(kind=Options(("bwrap", "none")), limits=Instance(Limits, default=True))
def protection(kind: str, limits: Limits | None = None) -> str:
    """One sentence saying what protects the grader from the students' code."""
    common = (
        f"a private copy of its folder, at most {limits.memory_mb} MiB of memory and "
        f"{limits.cpu_seconds} s of CPU"
    )
    if kind == "bwrap":
        return (
            f"sandbox: bubblewrap — each notebook runs with no network, {common}, and sees "
            "only its copy, the system and Python (read-only)."
        )
    return (
        f"sandbox: NONE (bubblewrap is not installed: apt-get install bubblewrap) — each "
        f"notebook gets {common}, but it CAN read the grader's files and use the network; "
        "grade in a container or a throw-away account."
    )


def private_copy(notebook: pathlib.Path, into: pathlib.Path) -> pathlib.Path:
    """Copy ``notebook``'s folder into ``into`` (without other notebooks); the copy's path.

    Args:
        notebook: the student's notebook.
        into: an empty folder.

    Returns:
        The path of the notebook inside the copy.
    """
    source = notebook.parent.resolve()

    def skip(folder, names):
        here = pathlib.Path(folder)
        return [
            n
            for n in names
            if n == ".ipynb_checkpoints"
            or (n.endswith(".ipynb") and (here / n).resolve() != notebook.resolve())
            or (here / n).is_symlink()
        ]

    shutil.copytree(source, into, ignore=skip, dirs_exist_ok=True)
    return into / notebook.name


def _bwrap(workdir: pathlib.Path, runtime: pathlib.Path) -> list[str]:
    import ebmlab

    readonly = {"/usr", "/bin", "/sbin", "/lib", "/lib64", "/etc", sys.base_prefix, sys.prefix}
    readonly |= {str(pathlib.Path(p).resolve()) for p in (sys.executable, *ebmlab.__path__)}
    args = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session"]
    # an empty /tmp first: a later mount lies on top of an earlier one, so Python, a virtual
    # environment or the package that live under /tmp stay visible through it
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for path in sorted(readonly):
        if os.path.isfile(path):
            path = os.path.dirname(path)
        args += ["--ro-bind-try", path, path]
    for path in (workdir, runtime):
        args += ["--bind", str(path), str(path)]
    args += ["--chdir", str(workdir), "--setenv", "HOME", str(workdir)]
    # the grader's PID does not exist in the new PID namespace: the kernel would think its
    # parent gone and quit; --die-with-parent does that job instead
    return args + ["--unsetenv", "JPY_PARENT_PID", "--"]


def kernel_manager(
    workdir: pathlib.Path, runtime: pathlib.Path, limits: Limits, kind: str, kernel_name: str
):
    """A Jupyter kernel manager whose kernel runs in ``workdir`` under ``limits``.

    Args:
        workdir: the private copy (the kernel's working folder and home).
        runtime: a private folder for the connection file and the Unix sockets.
        limits: the :class:`Limits`.
        kind: ``"bwrap"`` or ``"none"`` (:func:`available`).
        kernel_name: the Jupyter kernel whose command is wrapped.

    Returns:
        A ``jupyter_client.AsyncKernelManager`` (not started).
    """
    from jupyter_client import AsyncKernelManager

    mib = 1024 * 1024
    numbers = [limits.memory_mb * mib, limits.cpu_seconds, limits.file_mb * mib]
    prefix = [sys.executable, "-c", _LIMITS, *map(str, numbers)]
    if kind == "bwrap":
        prefix = _bwrap(workdir, runtime) + prefix

    class SandboxedKernelManager(AsyncKernelManager):
        def format_kernel_cmd(self, extra_arguments=None):
            cmd = super().format_kernel_cmd(extra_arguments)
            return prefix + [shutil.which(cmd[0]) or cmd[0]] + cmd[1:]

    km = SandboxedKernelManager(kernel_name=kernel_name, transport="ipc", ip=str(runtime / "k"))
    km.connection_file = str(runtime / "kernel.json")
    if kind == "bwrap":  # a signal would reach bwrap, not the kernel: interrupt by message
        km.kernel_spec.interrupt_mode = "message"
    return km


def kernel_env(workdir: pathlib.Path, threads: int = 0) -> dict:
    """The kernel's environment: the grader's, with ``HOME`` in the copy and ``threads``
    (``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``; 0 keeps the grader's)."""
    env = {**os.environ, "HOME": str(workdir), "MPLBACKEND": "agg"}
    if threads:
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(threads)
    return env
