"""The seed's "blocking governor" for UDP: ``udp_max_concurrent_lpo`` work slots.

A datagram answered from memory holds no slot: it is finished before the next one is read.
Only a request that must wait for Tier 2/3 takes a slot for as long as its task runs. A
datagram callback cannot block, so when every slot is taken the request is refused at once
(``try_acquire`` returns ``False``) instead of queueing behind the others.
"""

from __future__ import annotations


class WorkGovernor:
    __slots__ = ("in_flight", "limit", "refused")

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("the governor needs at least one work slot")
        self.limit = limit
        self.in_flight = 0
        self.refused = 0

    def try_acquire(self) -> bool:
        """Take a slot if one is free; count a refusal otherwise."""
        if self.in_flight >= self.limit:
            self.refused += 1
            return False
        self.in_flight += 1
        return True

    def release(self) -> None:
        if self.in_flight <= 0:
            raise ValueError("released a work slot that was not taken")
        self.in_flight -= 1
