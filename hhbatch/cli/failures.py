"""How a command ends when it does not end well: the sentence, the signal, the closed pipe.

Why here and not in each command: a wrong key, a SIGTERM from a scheduler or ``| head`` can
happen under any command, and each must end the same way: one sentence a person can act on (in
the interface language), the documented exit code, and never a Python traceback.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import sys
from collections.abc import Callable, Iterator
from typing import Any

from hhbatch import errors, spec
from hhbatch.i18n import _


class Terminated(BaseException):
    """SIGTERM (or Ctrl-Break on Windows) arrived outside a run's own stop handling; like
    KeyboardInterrupt it is not an error but a request to stop."""


def message_for(err: errors.HhbatchError) -> str:
    """The sentence shown for an error: what happened and what to do, in the user's language."""
    if isinstance(err, errors.AuthError):
        return _(
            "The HappyHorse API refused the API key in {env} ({reason}). Check that the whole "
            "key was copied, or create a new one in the HappyHorse Dashboard / Settings / API "
            "Keys, set {env} to it, and run the same command again."
        ).format(env=spec.ENV_API_KEY, reason=str(err).rstrip("."))
    return str(err)


def termination_signals() -> list[int]:
    """SIGTERM where the platform delivers it; Windows sends Ctrl-Break (SIGBREAK) instead when a
    console or a service manager asks a program to stop."""
    found = []
    for name in ("SIGTERM", "SIGBREAK"):
        number = getattr(signal, name, None)
        if number is not None:
            found.append(number)
    return found


@contextlib.contextmanager
def handling(signals: list[int], handler: Callable[[int, Any], None]) -> Iterator[None]:
    """Install ``handler`` for ``signals`` for the duration, then put the old ones back.

    Signal handlers can only be set from the main thread (a library caller may run hhbatch
    elsewhere): then nothing is installed and the default behaviour stays."""
    previous: dict[int, Any] = {}
    for number in signals:
        try:
            previous[number] = signal.signal(number, handler)
        except (ValueError, OSError, RuntimeError):
            continue
    try:
        yield
    finally:
        for number, old in previous.items():
            with contextlib.suppress(ValueError, OSError, RuntimeError):
                signal.signal(number, old)


@contextlib.contextmanager
def terminate_raises() -> Iterator[None]:
    """Outside a run's submit/wait phase, SIGTERM ends the command like Ctrl-C does: an
    exception that unwinds (closing the journal) and a sentence, exit 143."""

    def raise_terminated(signum: int, frame: object) -> None:
        raise Terminated

    with handling(termination_signals(), raise_terminated):
        yield


def reader_gone(err: BaseException, stream: Any = None) -> bool:
    """Whether ``err``, raised by a write or flush, means the reader of ``stream`` went away:
    a broken pipe (EPIPE; Windows says EINVAL), or the stream closed under us."""
    if isinstance(err, BrokenPipeError):
        return True
    if isinstance(err, OSError):
        return err.errno in (errno.EPIPE, errno.EINVAL)
    return isinstance(err, ValueError) and bool(getattr(stream, "closed", False))


class GuardedStream:
    """``sys.stdout`` / ``sys.stderr`` while a command runs.

    Why: the reader of our output may leave at any moment (``| head``, a log collector that
    died), and the write that finds out can be anywhere: a plan line, a progress bar, the
    status-line thread, the final JSON. One rule for all of them: the output is lost, the work
    is not. The first failed write points the stream at the null device (nothing, not even the
    interpreter's final flush, prints an error about it), later writes are dropped quietly, and
    the command goes on to its end and exits with the code its work has."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.reader_left = False

    def write(self, text: str) -> int:
        if not self.reader_left:
            try:
                return int(self._inner.write(text))
            except (OSError, ValueError) as err:
                if not reader_gone(err, self._inner):
                    raise
                self._left()
        return len(text)

    def flush(self) -> None:
        if self.reader_left:
            return
        try:
            self._inner.flush()
        except (OSError, ValueError) as err:
            if not reader_gone(err, self._inner):
                raise
            self._left()

    def _left(self) -> None:
        self.reader_left = True
        _point_at_null_device(self._inner)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@contextlib.contextmanager
def guarded_output() -> Iterator[tuple[GuardedStream, GuardedStream]]:
    """Run a command with :class:`GuardedStream` as stdout and stderr; put the streams back
    after (a library caller or a test keeps its own)."""
    saved = sys.stdout, sys.stderr
    out, err = GuardedStream(sys.stdout), GuardedStream(sys.stderr)
    sys.stdout, sys.stderr = out, err  # type: ignore[assignment]
    try:
        yield out, err
    finally:
        for stream in (out, err):
            stream.flush()
        sys.stdout, sys.stderr = saved


def silence_broken_pipe() -> None:
    """The reader of our output went away outside a guarded command: point stdout and stderr at
    the null device so that nothing, not even the interpreter's final flush, prints an error
    about it (the Python documentation's recipe for SIGPIPE)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
            continue
        except (BrokenPipeError, ValueError, OSError):
            pass
        _point_at_null_device(stream)


def _point_at_null_device(stream: Any) -> None:
    try:
        fileno = stream.fileno()
    except (AttributeError, ValueError, OSError):
        return  # not a real file (a test's capture): nothing will flush it at exit
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fileno)
    finally:
        os.close(devnull)
