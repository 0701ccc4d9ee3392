"""One bot process per database: an OS lock on a file beside it.

    lock = DatabaseLock("branchbot.sqlite3")
    lock.acquire()        # raises AlreadyRunning naming the file and the other pid
    ...
    lock.release()

Two `branchbot run` on one database both send every reminder.  The lock is
`flock` on `<database>.lock`, which holds the holder's pid for the message.
The kernel drops the lock when the holder's process ends, however it ends
(SIGKILL, a crash, a power cut), so a stale lock file never blocks a restart:
only a live process holds the lock.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType
from typing import Self

from bot.errors import BranchbotError

__all__ = ["AlreadyRunning", "DatabaseLock", "lock_path"]


class AlreadyRunning(BranchbotError):
    """Another live process holds the database's lock."""


def lock_path(database: str | Path) -> Path:
    """Return the lock file that guards `database`."""
    return Path(f"{database}.lock")


class DatabaseLock:
    """An exclusive, non-blocking lock on `<database>.lock`, released when the process ends."""

    def __init__(self, database: str | Path) -> None:
        self.database = Path(database)
        self.path = lock_path(database)
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock and write our pid into it, or raise AlreadyRunning at once."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise BranchbotError(
                f"cannot create the lock file {self.path}: {exc.strerror}; "
                "the database's directory must be writable by this user"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _read_pid(fd)
            os.close(fd)
            who = f"process {holder}" if holder else "another process"
            raise AlreadyRunning(
                f"database {self.database.resolve()} is in use by {who} "
                f"(lock {self.path}); only one branchbot may run on a database — "
                "stop the other one first"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Drop the lock (the file stays; an unlocked file means nobody holds it)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    """Return the pid the holder wrote, if it is readable."""
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
