"""End notices: the batch script's ``exitcode`` file says an attempt's command has exited, so
Petaport looks at that job in Slurm at once instead of at the next full poll.

Invariants:
- a notice is a hint, never a result: only its existence and modification time are read, and
  the attempt's end (state, exit code, times) is whatever Slurm then says. The job itself can
  write the file; a forged or early notice costs a few extra one-job ``squeue`` calls;
- looks at a noticed attempt are spaced out: again after ``RELOOK_S`` while Slurm still shows
  the job (it is completing), then ever more rarely (half the notice's age), and never once the
  notice is ``STALE_S`` old (from then on the attempt waits for the full poll like any other);
- checking costs one ``stat`` per watched attempt, no Slurm command, and never more than
  ``STATS_PER_S`` of them a second (with thousands of running attempts the checks space out
  and the full poll matters more); safe from the launch threads (``watch``) and the
  scheduling loop (``claim_due``) at once.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from petaport.backends.slurm.submission import EXIT_FILE

RELOOK_S = 0.05  # the soonest a noticed attempt is looked at again
STALE_S = 60.0  # a notice older than this no longer brings looks
STATS_PER_S = 5000.0  # the most attempt directories checked per second


class EndNotices:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock  # wall time: compared with the files' modification times
        self._lock = threading.Lock()
        self._dirs: dict[str, Path] = {}  # attempt id -> attempt directory
        self._looked: dict[str, float] = {}  # attempt id -> when a noticed one was last claimed
        self._checked_at = -math.inf

    def watch(self, attempt_id: str, attempt_dir: Path) -> None:
        with self._lock:
            self._dirs[attempt_id] = attempt_dir

    def forget(self, attempt_ids: Iterable[str]) -> None:
        with self._lock:
            for attempt_id in attempt_ids:
                self._dirs.pop(attempt_id, None)
                self._looked.pop(attempt_id, None)

    def claim_due(self) -> set[str]:
        """The watched attempts whose notice calls for a look now; each is counted as looked
        at (the caller polls it)."""
        now = self._clock()
        with self._lock:
            watched = list(self._dirs.items())
        gap = len(watched) / STATS_PER_S  # (below RELOOK_S the loop's own tick spaces checks)
        if gap > RELOOK_S and now - self._checked_at < gap:
            return set()
        self._checked_at = now
        due = {attempt_id for attempt_id, d in watched if self._is_due(attempt_id, d, now)}
        with self._lock:
            self._looked.update(dict.fromkeys(due, now))
        return due

    def _is_due(self, attempt_id: str, attempt_dir: Path, now: float) -> bool:
        try:
            # lstat: the job owns the directory and could make the file a link to anywhere
            noticed_at = (attempt_dir / EXIT_FILE).lstat().st_mtime
        except OSError:
            return False  # no notice (yet): the command is still running, or died unseen
        if now - noticed_at > STALE_S:
            return False
        last = self._looked.get(attempt_id)
        return last is None or now - last >= max(RELOOK_S, (last - noticed_at) / 2)
