"""What the queued clients did with their events: counts, and the error hook that hears of every
event that could not be stored."""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .answers import IngestReceipt
from .batches import FailedPart
from .errors import VigilError
from .event import EventInput

logger = logging.getLogger("vigil_audit")

#: Called with the error and the events it cost, from the sending task or thread, as soon as a
#: batch's retries are spent or the server refuses it (an event that could not even be built
#: comes with an empty list). Keep it quick: spool the events to disk, raise an alert.
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
