"""Admin support: the guard (admin key, per-IP attempt limit), the audit log and cluster stats.

The routes themselves are in :mod:`trinity_beast.api.admin`; ``docs/admin.md`` describes them.
"""
