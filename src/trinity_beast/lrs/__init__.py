"""LRS, the Listener Report Service: usage and report-history reports over HTTP :9090 and UDP
:2680, with the monthly report allowance (docs/lrs.md).

Wiring (the composition root)::

    service = LrsService(engine, Authenticator(keys), params, Envelope("LRS", region, node))
    app = HttpApp(service.envelope, LrsRoutes(service).table())      # serve on :9090
    udp = UdpLrsServer(service, params); await udp.start(host, 2680)
    tasks.spawn("lrs:rollup", run_rollups(engine, params))            # optional, see rollup.py

For the sync job: :func:`rollup_usage` and :func:`reset_month`.
"""

from trinity_beast.lrs.allowance import reset_month
from trinity_beast.lrs.http import LrsRoutes
from trinity_beast.lrs.rollup import rollup_usage, run_rollups
from trinity_beast.lrs.service import LrsService
from trinity_beast.lrs.udp import UdpLrsServer

__all__ = ["LrsRoutes", "LrsService", "UdpLrsServer", "reset_month", "rollup_usage",
           "run_rollups"]
