"""What one UDP listener may spend, as one frozen value (read at start-up, like ``HttpLimits``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from trinity_beast.udp.signing import DEFAULT_MAX_NONCES_PER_KEY, DEFAULT_WINDOW_SECONDS

if TYPE_CHECKING:
    from trinity_beast.params.values import Parameters


@dataclass(frozen=True, slots=True)
class UdpLimits:
    """``max_concurrent`` is the governor's number of Tier 2/3 work slots. The ``error_*``
    buckets bound replies to datagrams that were not admitted: ``error_rate`` per second and
    ``error_burst`` per source address, ``global_error_rate``/``global_error_burst`` for the
    whole listener. ``signature_window`` is how far a signed request's ``ts`` may be from the
    server's clock, in seconds. Socket buffers follow the seed (8 MB each; the kernel may cap
    them at ``net.core.rmem_max``/``wmem_max``)."""

    max_concurrent: int = 3000
    error_rate: float = 5.0
    error_burst: float = 10.0
    global_error_rate: float = 2000.0
    global_error_burst: float = 2000.0
    signature_window: float = DEFAULT_WINDOW_SECONDS
    max_nonces_per_key: int = DEFAULT_MAX_NONCES_PER_KEY
    receive_buffer_bytes: int = 8 * 1024 * 1024
    send_buffer_bytes: int = 8 * 1024 * 1024

    def __post_init__(self) -> None:
        if self.max_concurrent < 1 or self.max_nonces_per_key < 1:
            raise ValueError("UdpLimits.max_concurrent and max_nonces_per_key must be >= 1")
        rates = (self.error_rate, self.error_burst, self.global_error_rate,
                 self.global_error_burst, self.signature_window)
        if any(not value > 0 for value in rates):
            raise ValueError("UdpLimits rates, bursts and the signature window must be > 0")

    @classmethod
    def from_parameters(cls, params: Parameters) -> UdpLimits:
        """The limits named by application parameters (``udp_max_concurrent_lpo``)."""
        return cls(max_concurrent=params.get_int("udp_max_concurrent_lpo"))
