"""Guards around an output folder: user data never in it, one run at a time, stale staging cleaned.

A run writes into a hidden staging folder ``.<out>.partial-<pid>`` beside ``--out`` and renames
it into place at the end (:func:`sxplan.run_folder.output_folder`). This module holds the rules
around that:

- :func:`check_out_is_safe`: ``--out`` may not be, or contain, an input file or folder, the
  config file, the config's folder (the project) or the current working directory, and may not
  lie inside an input (a folder given as an input, such as a File Geodatabase).
- :func:`is_run_folder`: ``--overwrite`` removes only folders sxplan wrote, recognised by their
  ``run.json`` carrying the key :data:`RUN_MARK_KEY`.
- :func:`out_lock`: an ``O_EXCL`` lock file ``.<out>.lock`` beside ``--out`` holding the pid, so
  a second run into the same folder stops with a clear message; a lock whose pid is dead is
  taken over.
- :func:`clean_stale`: staging folders ``.<out>.partial-<pid>`` whose pid is dead and which carry
  the staging mark :data:`STAGING_MARK`, or sxplan's ``run.json`` once the run was finished
  (left by SIGKILL, a power cut), or nothing at all, are removed; a previous
  run folder set aside as ``.<out>.old-<pid>`` by a run killed during the final swap is put
  back when ``--out`` is missing, else removed.
- :func:`remove_marked`: removes a staging or run folder with its marks last, so a folder a
  SIGKILL stops part-way through its removal still carries them (or is empty) and the next
  run's :func:`clean_stale` recognises it.

Inputs: paths. Outputs: the lock file and the staging mark (both removed by a finished run).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

from sxplan.errors import ConfigError, OutputExistsError, RunFolderError

__all__ = [
    "RUN_MARK_KEY",
    "STAGING_MARK",
    "check_out_is_safe",
    "clean_stale",
    "is_run_folder",
    "lock_path",
    "old_path",
    "os_error_message",
    "out_lock",
    "pid_alive",
    "refuse_existing",
    "remove_marked",
    "staging_path",
]

RUN_MARK_KEY = "sxplan_run"  # run.json key that marks a folder sxplan wrote
STAGING_MARK = ".sxplan-staging"  # file in a staging folder; holds the writing process's pid
_MARKS = (STAGING_MARK, "run.json")  # what clean_stale recognises a folder by: removed last


def staging_path(out: Path, pid: int | None = None) -> Path:
    """The staging folder of ``out`` for process ``pid`` (default: this process)."""
    return out.parent / f".{out.name}.partial-{os.getpid() if pid is None else pid}"


def old_path(out: Path, pid: int | None = None) -> Path:
    """Where the previous ``out`` is set aside during the final swap."""
    return out.parent / f".{out.name}.old-{os.getpid() if pid is None else pid}"


def lock_path(out: Path) -> Path:
    """The lock file of ``out`` (beside it, so it survives the folder's replacement)."""
    return out.parent / f".{out.name}.lock"


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this machine."""
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process on Windows
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def _windows_pid_alive(pid: int) -> bool:  # pragma: no cover - exercised on Windows only
    import ctypes

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return ctypes.GetLastError() == 5  # access denied: it exists
    try:
        code = ctypes.c_ulong()
        kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        return code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


#: Folders that commands adding to a finished run write inside it (``sxplan backtest``).
RUN_SUBFOLDERS = frozenset({"backtest"})


def is_run_folder(path: Path) -> bool:
    """Whether sxplan wrote ``path``.

    True when its run.json has :data:`RUN_MARK_KEY`, or it is one of :data:`RUN_SUBFOLDERS`
    inside such a run folder.
    """
    path = Path(path)
    if path.name in RUN_SUBFOLDERS and path.parent != path and is_run_folder(path.parent):
        return True
    run_json = path / "run.json"
    try:
        data = json.loads(run_json.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and RUN_MARK_KEY in data


def check_out_is_safe(
    out: Path, inputs: dict[str, Path], config: Path | None, cwd: Path | None = None
) -> None:
    """Refuse an ``out`` that is or holds user data, or lies inside an input.

    Parameters
    ----------
    out : pathlib.Path
        The output folder (resolved).
    inputs : dict of str to pathlib.Path
        Input name -> path of every file or folder the run reads.
    config : pathlib.Path or None
        The config file; its folder (the project) is protected too.
    cwd : pathlib.Path, optional
        The working directory (default: the current one).

    Raises
    ------
    ConfigError
        Naming ``--out``, the protected path and the fix.
    """
    out = Path(out).resolve()
    protected: list[tuple[str, Path, bool]] = []  # (label, path, refuse out inside it)
    for name, p in inputs.items():
        protected.append((f"input '{name}'", Path(p), True))
    if config is not None:
        protected.append(("the config file", Path(config), True))
        protected.append(("the project folder (the config's folder)", Path(config).parent, False))
    protected.append(("the current working directory", Path(cwd or os.getcwd()), False))
    clashes = []  # (rank, how, label, path): the plainest clash is named
    for label, path, no_inside in protected:
        p = path.resolve()
        if out == p:
            clashes.append((0, "is", label, p))
        elif p.is_relative_to(out):
            clashes.append((1, "contains", label, p))
        elif no_inside and out.is_relative_to(p):
            clashes.append((2, "lies inside", label, p))
    if clashes:
        _, how, label, p = min(clashes, key=lambda c: c[0])
        raise ConfigError(
            f"--out {out} {how} {label} {p}; a run folder is built aside and replaces --out "
            "as a whole, so it must never hold files you gave sxplan. Choose a new folder "
            f"for the results, e.g. --out {_suggest(out, p)}"
        )


def _suggest(out: Path, protected: Path) -> Path:
    """A new folder beside ``out`` (it cannot hold anything yet)."""
    if out.is_relative_to(protected) and out != protected:
        out = protected  # inside an input folder: step out of it
    return out.parent / f"{out.name or 'sxplan'}-run"


@contextlib.contextmanager
def out_lock(out: Path) -> Iterator[Path]:
    """Hold ``.<out>.lock`` (created with ``O_EXCL``, holding the pid) for the block.

    A lock left by a dead process (SIGKILL, power cut) is taken over.

    Raises
    ------
    RunFolderError
        If a live process holds the lock (naming its pid, the lock file and the fix).
    """
    lock = lock_path(out)
    for attempt in (1, 2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            pid = _lock_pid(lock)
            if attempt == 1 and pid is not None and not pid_alive(pid):
                with contextlib.suppress(FileNotFoundError):
                    lock.unlink()  # stale: its process is gone
                continue
            raise RunFolderError(
                f"another sxplan run (pid {pid if pid is not None else 'unknown'}) is writing "
                f"{out} (lock file {lock}); wait for it to finish or choose another --out. If no "
                f"sxplan is running, delete {lock}"
            ) from None
        except OSError as exc:
            raise RunFolderError(os_error_message(exc, out)) from exc
        with os.fdopen(fd, "w") as fh:
            fh.write(str(os.getpid()))
        break
    try:
        yield lock
    finally:
        if _lock_pid(lock) == os.getpid():
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()


def refuse_live_lock(out: Path) -> None:
    """Refuse early (before the pre-flight) when a live run holds ``.<out>.lock``.

    :func:`out_lock` takes the lock later; this check only spares the user a pre-flight whose
    run could not start. A lock of a dead process is left for :func:`out_lock` to take over.
    """
    lock = lock_path(out)
    pid = _lock_pid(lock) if lock.is_file() else None
    if pid is not None and pid != os.getpid() and pid_alive(pid):
        raise RunFolderError(
            f"another sxplan run (pid {pid}) is writing {out} (lock file {lock}); wait for it "
            f"to finish or choose another --out. If no sxplan is running, delete {lock}"
        )


def _lock_pid(lock: Path) -> int | None:
    try:
        return int(lock.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None


def _stale_pid(path: Path, out: Path, kind: str) -> int | None:
    """The pid in ``.<out>.<kind>-<pid>`` when that process is dead and not us, else None."""
    match = re.fullmatch(rf"\.{re.escape(out.name)}\.{kind}-(\d+)", path.name)
    if not match or not path.is_dir():
        return None
    pid = int(match.group(1))
    return None if pid == os.getpid() or pid_alive(pid) else pid


def clean_stale(out: Path, log: Callable[[str], None] | None = None) -> list[Path]:
    """Remove what dead runs into ``out`` left beside it; return the paths handled.

    Only names of sxplan's exact pattern with a dead pid are touched, and only when they carry
    sxplan's mark (the staging mark, or a run.json of a run folder: a finished run removes the
    staging mark just before its final rename, so a SIGKILL in between leaves only that) or
    are empty (a SIGKILL between a folder's creation and its mark, or after
    :func:`remove_marked` removed the marks but before the folder).
    """
    handled = []
    if not out.parent.is_dir():
        return handled
    for path in sorted(out.parent.iterdir()):
        # a staging folder carries the mark until its run is finished, then a run.json with
        # RUN_MARK_KEY: a SIGKILL between removing the mark and the final rename leaves that
        if _stale_pid(path, out, "partial") is not None and (
            (path / STAGING_MARK).is_file() or is_run_folder(path) or _is_empty(path)
        ):
            remove_marked(path)
            handled.append(path)
            if log:
                log(f"  removed staging folder {path} left by an interrupted run")
        elif _stale_pid(path, out, "old") is not None and is_run_folder(path):
            if not out.exists():
                path.rename(out)
                if log:
                    log(f"  restored {out} from {path} (a run was killed while replacing it)")
            else:
                remove_marked(path)
            handled.append(path)
        elif _stale_pid(path, out, "old") is not None and _is_empty(path):
            with contextlib.suppress(OSError):
                path.rmdir()
            handled.append(path)
    return handled


def _is_empty(folder: Path) -> bool:
    try:
        with os.scandir(folder) as entries:
            return next(entries, None) is None
    except OSError:
        return False


def remove_marked(folder: Path) -> None:
    """Remove a staging or run folder: everything else first, then its marks, then itself.

    ``shutil.rmtree`` removes entries in the order the directory lists them, so a SIGKILL
    part-way could leave a folder that had lost its ``run.json`` and staging mark but kept
    other files: :func:`clean_stale` must leave such a folder alone (it cannot tell it from a
    user's), and it outlived every later run (a CI run's ``test_kill_points_...``, s42: the
    previous run, exchanged to the staging path, was being removed). Here a folder stopped at
    any point still has a mark, or is empty, or is gone.
    """
    folder = Path(folder)
    try:
        with os.scandir(folder) as listing:
            entries = [(e.name, e.path, e.is_dir(follow_symlinks=False)) for e in listing]
    except FileNotFoundError:
        return
    except OSError:
        shutil.rmtree(folder, ignore_errors=True)
        return
    for name, path, is_dir in entries:
        if name in _MARKS:
            continue
        if is_dir:
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(path)
    for name in _MARKS:
        with contextlib.suppress(OSError):
            os.unlink(folder / name)
    shutil.rmtree(folder, ignore_errors=True)  # itself, and whatever a writer added meanwhile


def os_error_message(exc: BaseException, out: Path, full: bool = False) -> str:
    """A message for an OS error while writing a run folder: the path, the cause, the fix.

    ``full``: the disk was found full after the failure (whatever the error said).
    """
    code = getattr(exc, "errno", None)
    where = getattr(exc, "filename", None) or out
    text = str(exc)
    if full or code == errno.ENOSPC or "No space left" in text:
        where = f"{where} (the error was: {text[:300]})" if full else where
        free = ""
        with contextlib.suppress(OSError):
            free = f" ({shutil.disk_usage(out.parent).free / 1e6:.1f} MB free)"
        return (
            f"no space left on the device holding {out}{free} while writing {where}; nothing "
            "was written. Free some space there or choose --out on another disk"
        )
    if code in (errno.EROFS, errno.EACCES, errno.EPERM) or "Read-only file system" in text:
        cause = getattr(exc, "strerror", None) or text
        return (
            f"cannot write the output folder {out}: {cause} ({where}); choose --out in a "
            "folder you can write to, or fix its permissions"
        )
    return f"cannot write the output folder {out} ({where}): {text}; choose another --out"


def refuse_existing(out: Path, overwrite: bool) -> None:
    """Refuse an existing ``out`` unless it is empty, or ``overwrite`` and a run folder."""
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"output {out} exists and is not a folder; choose another --out")
    if not out.exists() or not any(out.iterdir()):
        return
    if not overwrite:
        raise OutputExistsError(
            f"output folder {out} already has files; pass --overwrite to replace it (only a "
            "run folder sxplan wrote can be replaced), or choose another --out"
        )
    if not is_run_folder(out):
        raise OutputExistsError(
            f"output folder {out} has files but is not a run folder sxplan wrote (no run.json "
            f"with '{RUN_MARK_KEY}'); --overwrite only replaces sxplan's own run folders. Move "
            "or delete it yourself if it holds nothing you need, or choose another --out"
        )
