"""SIGTERM for a run: the exception the CLI's handler raises, and a record that it came.

Python runs a signal handler between two bytecodes of the main thread, which may be inside a
finalizer (``__del__``, a weakref callback), where an exception is printed and dropped: the
run would go on. So the handler also sets :data:`RECEIVED`, and
:func:`sxplan.run_folder.output_folder` checks it before putting a run in place: a run that
received SIGTERM never replaces the previous one, whatever swallowed the exception.
"""

from __future__ import annotations

import threading

__all__ = ["RECEIVED", "Terminated"]

#: Set by the CLI's SIGTERM handler; cleared when a CLI command starts and when it ends.
RECEIVED = threading.Event()


class Terminated(BaseException):
    """SIGTERM arrived (``timeout``, systemd, Slurm, Kubernetes): unwind like Ctrl-C."""
