"""What the queued clients did with their events: counts, and the error hook that hears of every
event that could not be stored."""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .answers import IngestReceipt
from .batches import FailedPart, after_failure
from .errors import InvalidEventError, UnavailableError, VigilError
from .event import EventInput

logger = logging.getLogger("vigil_audit")

#: Called with the error and the events it cost as soon as a batch's retries are spent or the
#: server refuses it, or the client gives up on events at close (an event that could not even be
#: built comes with an empty list). The buffered client calls it on its event loop; the threaded
#: one on its sender thread, or on the caller's thread for an event it could not queue and for
#: what `close()` gives up on. Keep it quick: spool the events to disk, raise an alert.
ErrorHook = Callable[[VigilError, list[EventInput]], None]


@dataclass
class DeliveryStats:
    """Events by fate, since the client was made (or since `os.fork`, in a child)."""

    #: Stored.
    delivered: int = 0
    #: Already stored by an earlier attempt: nothing lost, nothing doubled.
    duplicates: int = 0
    #: Not stored: refused by the server, unbuildable, or retries spent.
    failed: int = 0
    #: Never queued: the queue was full or the client closed.
    dropped: int = 0


@dataclass
class BatchReport:
    """The fate of one queued batch, gathered while sending and applied to the stats at once."""

    delivered: int = 0
    duplicates: int = 0
    failed: list[FailedPart] = field(default_factory=list)

    def stored(self, receipts: Iterable[IngestReceipt]) -> None:
        for receipt in receipts:
            if receipt.duplicate:
                self.duplicates += 1
            else:
                self.delivered += 1

    def apply_to(self, stats: DeliveryStats) -> None:
        stats.delivered += self.delivered
        stats.duplicates += self.duplicates
        stats.failed += sum(len(part.events) for part in self.failed)


def report_failures(failed: Iterable[FailedPart], on_error: ErrorHook | None) -> None:
    """Logs each failed part and hands it to the hook; a hook that raises is logged, never
    allowed to stop the sender."""
    for part in failed:
        logger.error("vigil: %d audit event(s) were not stored: %s", len(part.events), part.error)
        if on_error is None:
            continue
        try:
            on_error(part.error, part.events)
        except Exception:
            logger.exception("vigil: the on_error hook raised")


#: A batch's result: the receipts, or why it was not stored.
Result = list[IngestReceipt] | VigilError


@dataclass
class Sending:
    """A queued batch on its way. The piece being posted is `current`; `todo` holds the pieces
    still to post (a refused batch is split), last first; `report` what is settled. A sender cut
    off part way (`aclose()`'s timeout, `close()` giving up) reports what it never settled,
    and no more: pieces already stored stay delivered."""

    #: Events in the batch, settled or not.
    count: int
    todo: list[list[EventInput]]
    current: list[EventInput] = field(default_factory=list)
    report: BatchReport = field(default_factory=BatchReport)
    #: Set when the client gave up on the batch; the sender then drops what it learns later.
    abandoned: bool = False

    @classmethod
    def of(cls, batch: list[EventInput]) -> "Sending":
        return cls(len(batch), [batch])

    def next_piece(self) -> list[EventInput] | None:
        """The next piece to post, now `current`; None when the batch is settled."""
        if self.abandoned or not self.todo:
            return None
        self.current = self.todo.pop()
        return self.current

    def settle(self, result: Result) -> None:
        """What became of `current`: stored, or refused (and maybe split to send again)."""
        if isinstance(result, VigilError):
            outcome = after_failure(self.current, result)
            self.todo.extend(reversed(outcome.resend))
            self.report.failed.extend(outcome.failed)
        else:
            self.report.stored(result)
        self.current = []

    def cut_off(self) -> None:
        """Gives up on what is unsettled: counted failed. The piece being posted may have been
        stored; the rest never went out (or was refused whole, so was not stored)."""
        if self.current:
            why = "closed while it was being sent; it may or may not have been stored"
            self.report.failed.append(FailedPart(self.current, UnavailableError(0, None, why)))
        rest = [event for piece in self.todo for event in piece]
        if rest:
            why = "closed before it could be sent"
            self.report.failed.append(FailedPart(rest, UnavailableError(0, None, why)))
        self.current, self.todo = [], []


def as_failure(error: Exception, doing: str) -> VigilError:
    """`error` as the hook receives it: an event that could not be built or queued (an
    OverflowError, a RecursionError, a bug in a caller's builder) is an `InvalidEventError`."""
    if isinstance(error, VigilError):
        return error
    failure = InvalidEventError("event", f"could not be {doing}: {error!r}")
    failure.__cause__ = error
    return failure


def unexpected(error: Exception) -> VigilError:
    """A bug while sending: must not stop the sender for good."""
    return VigilError(f"unexpected error while sending: {error!r}")
