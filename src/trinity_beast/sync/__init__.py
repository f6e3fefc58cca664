"""The sync job: PostgreSQL (or SQLite) → Valkey, the monthly reset and the 93-day retention.

``beast sync [--full]`` runs :func:`~trinity_beast.sync.job.run_sync` once (cron);
:func:`~trinity_beast.sync.schedule.run_nightly` runs it every night in the service. See
``docs/sync.md`` for the Valkey key layout and the choices made.
"""

from trinity_beast.sync.job import run_sync
from trinity_beast.sync.report import PartReport, SyncReport
from trinity_beast.sync.schedule import run_nightly

__all__ = ["PartReport", "SyncReport", "run_nightly", "run_sync"]
