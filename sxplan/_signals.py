"""SIGTERM and Ctrl-C for a run: the exception the CLI's handler raises, and a record of it.

Python runs a signal handler between two bytecodes of the main thread, which may be inside a
finalizer (``__del__``, a weakref callback), where an exception is printed and dropped: the
run would go on. So the handler also sets :data:`RECEIVED` (:data:`INTERRUPTED` for Ctrl-C),
and :func:`sxplan.run_folder.output_folder` checks both before putting a run in place: a run
that received SIGTERM or Ctrl-C never replaces the previous one, whatever swallowed the
exception.
"""

from __future__ import annotations

import threading

__all__ = ["INTERRUPTED", "RECEIVED", "Terminated"]

#: Set by the CLI's SIGTERM handler; cleared when a CLI command starts and when it ends.
RECEIVED = threading.Event()

#: Set by the CLI's SIGINT (Ctrl-C) handler, for the same reason: a ``KeyboardInterrupt``
#: raised inside a finalizer is dropped too, and the run then went on to exit 0 (seen once in
#: the interrupt tests under load); cleared like :data:`RECEIVED`.
INTERRUPTED = threading.Event()


class Terminated(BaseException):
    """SIGTERM arrived (``timeout``, systemd, Slurm, Kubernetes): unwind like Ctrl-C."""
