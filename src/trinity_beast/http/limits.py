"""Size limits and timeouts of the HTTP server, one frozen value per server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trinity_beast.params.values import Parameters


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """What one connection may cost; every timeout is in seconds.

    ``read_header_timeout`` runs from a request's first byte (or from accept, for the first
    request) to the end of its head; ``read_timeout`` from the end of the head to the end of
    the body; ``idle_timeout`` between requests on a keep-alive connection; ``write_timeout``
    while the client does not read what we send. ``max_pipelined`` is how many responses may
    wait in one connection's queue before the server stops reading from it.
    """

    max_header_bytes: int = 16384
    max_body_bytes: int = 65536
    read_header_timeout: float = 5.0
    read_timeout: float = 5.0
    write_timeout: float = 5.0
    idle_timeout: float = 300.0
    max_pipelined: int = 64

    def __post_init__(self) -> None:
        for name in ("max_header_bytes", "max_body_bytes", "max_pipelined"):
            if getattr(self, name) < 1:
                raise ValueError(f"HttpLimits.{name} must be at least 1")
        for name in ("read_header_timeout", "read_timeout", "write_timeout", "idle_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"HttpLimits.{name} must be a positive number of seconds")

    @classmethod
    def from_parameters(cls, params: Parameters, *, max_pipelined: int = 64) -> HttpLimits:
        """The limits named by the ``http_*`` application parameters (read at start-up)."""
        return cls(
            max_header_bytes=params.get_int("http_max_header_bytes"),
            max_body_bytes=params.get_int("http_max_body_bytes"),
            read_header_timeout=params.get_float("http_read_header_timeout_seconds"),
            read_timeout=params.get_float("http_read_timeout_seconds"),
            write_timeout=params.get_float("http_write_timeout_seconds"),
            idle_timeout=params.get_float("http_idle_timeout_seconds"),
            max_pipelined=max_pipelined,
        )

    @property
    def shortest_timeout(self) -> float:
        return min(self.read_header_timeout, self.read_timeout, self.write_timeout,
                   self.idle_timeout)
