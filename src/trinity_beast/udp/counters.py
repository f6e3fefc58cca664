"""What a UDP listener counts (LPO :2679 and LRS :2680 alike), and the refusal rule they share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from trinity_beast.udp.guard import ReplyGuard


@dataclass(slots=True)
class UdpCounters:
    received: int = 0
    answered: int = 0
    """Reply datagrams sent (answers and errors)."""
    refused: int = 0
    """Datagrams not admitted (malformed, unauthenticated, over limits), replied to or not."""
    dropped_malformed: int = 0
    """Not admitted and not replied to because no error reply fits in the datagram's size."""
    dropped_amplification: int = 0
    """Not admitted and not replied to because the guard had no token for the source."""
    dropped_governor: int = 0
    """Admitted requests refused with ``overloaded`` because every work slot was taken."""
    errors: int = 0
    """Unexpected exceptions while handling a datagram (bugs; each is logged)."""
    socket_errors: int = 0
    """Errors the socket reported (e.g. ICMP port unreachable from a departed client)."""


def refusal_reply(counters: UdpCounters, guard: ReplyGuard, size: int, host: str,
                  full: bytes, short: Callable[[], bytes]) -> bytes | None:
    """The reply to a datagram of ``size`` bytes that was not admitted, or ``None`` (dropped):
    the full error if it is no larger than the datagram, else the short one if that is, and
    only while the guard has a token for ``host`` (docs/udp.md, "the port cannot amplify")."""
    counters.refused += 1
    reply = full
    if len(reply) > size:
        reply = short()
        if len(reply) > size:
            counters.dropped_malformed += 1
            return None
    if not guard.allow(host):
        counters.dropped_amplification += 1
        return None
    return reply
