"""Initial schema: every table of the seed and the docs that the system uses, plus seed rows.

A migration is history: this file keeps its own copy of the tables and of the seed rows
(``rate_limit_template`` = API.md §3.1 plus ``demo``; ``application_parameter_profiles`` =
demo/performance/debug) instead of importing them, so later changes to the code cannot change
what it did. ``tests/db`` checks that the migrated database equals ``db/schema.py``.

Revision ID: 0001
Revises:
Create Date: 2026-06-20
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("CURRENT_TIMESTAMP")


def _id() -> sa.Column[str]:
    return sa.Column("id", sa.Text(), nullable=False)


def _text(name: str, nullable: bool = True, default: str | None = None) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=nullable, server_default=default)


def _int(name: str, default: int | None = None, *, big: bool = False,
         nullable: bool = False) -> sa.Column[int]:
    kind = sa.BigInteger() if big else sa.Integer()
    server_default = None if default is None else sa.text(str(default))
    return sa.Column(name, kind, nullable=nullable, server_default=server_default)


def _float(name: str, default: str | None = None, nullable: bool = False) -> sa.Column[float]:
    server_default = None if default is None else sa.text(default)
    return sa.Column(name, sa.Float(), nullable=nullable, server_default=server_default)


def _bool(name: str, default: bool) -> sa.Column[bool]:
    return sa.Column(name, sa.Boolean(), nullable=False,
                     server_default=sa.true() if default else sa.false())


def _time(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable,
                     server_default=None if nullable else NOW)


def _pk(table: str, *columns: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint(*columns, name=op.f(f"pk_{table}"))


def _unique(table: str, column: str) -> sa.UniqueConstraint:
    return sa.UniqueConstraint(column, name=op.f(f"uq_{table}_{column}"))


def _index(table: str, *columns: str) -> None:
    op.create_index(op.f(f"ix_{table}_{'_'.join(columns)}"), table, list(columns), unique=False)


def _create_core_tables() -> None:
    op.create_table(
        "users", _id(), _text("email", False), _text("name"), _text("tier"),
        _text("preferred_lang", False, "en"), _time("created_at"), _time("updated_at"),
        _pk("users", "id"), _unique("users", "email"),
    )
    op.create_table(
        "rate_limit_template", _text("tier", False), _int("query_limit", big=True, nullable=True),
        _float("rate_limit_qps", nullable=True), _int("burst_limit", nullable=True),
        _float("minimum_wait_seconds", "0"), _bool("reports_unlimited", False),
        _time("updated_at"), _pk("rate_limit_template", "tier"),
    )
    op.create_table(
        "api_keys", _id(), _text("key_id", False), _text("key_hash", False), _text("user_id"),
        _text("name"), _text("tier", False, "free"),
        _int("query_limit", 1000, big=True, nullable=True), _int("current_usage", 0, big=True),
        _float("rate_limit_qps", "10", nullable=True), _int("burst_limit", 20, nullable=True),
        _float("burst_tokens", "20"), _float("minimum_wait_seconds", "0.1"),
        _bool("lrs_enabled", False), _bool("revoked", False),
        _text("response_format", False, "tbc"), _text("api_lang", False, "en"),
        _text("stripe_customer_id"), _text("stripe_subscription_id"),
        _text("subscription_status"), _time("created_at"), _time("updated_at"),
        _time("last_used", nullable=True), _time("last_success", nullable=True),
        sa.ForeignKeyConstraint(["tier"], ["rate_limit_template.tier"], onupdate="CASCADE",
                                name=op.f("fk_api_keys_tier_rate_limit_template")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="SET NULL",
                                name=op.f("fk_api_keys_user_id_users")),
        _pk("api_keys", "id"), _unique("api_keys", "key_hash"), _unique("api_keys", "key_id"),
    )
    _index("api_keys", "updated_at")
    _index("api_keys", "user_id")


def _create_usage_tables() -> None:
    op.create_table(
        "usage_logs", _id(), _text("api_key_id", False), _text("asset"),
        _int("assets_count", 1), _text("source"), _text("cache_tier"),
        _int("response_time_us", 0, big=True), _int("status", 200), _text("endpoint"),
        _text("protocol", False, "http"), _text("node"), _time("created_at"),
        _pk("usage_logs", "id"),
    )
    _index("usage_logs", "api_key_id", "created_at", "id")
    _index("usage_logs", "created_at")
    op.create_table(
        "report_usage_logs", _id(), _text("api_key_id", False), _text("report_type", False),
        _text("format", False, "json"), _int("status", 200), _int("rows", 0),
        _int("response_time_us", 0, big=True), _text("protocol", False, "http"), _text("node"),
        _time("created_at"), _pk("report_usage_logs", "id"),
    )
    _index("report_usage_logs", "api_key_id", "created_at", "id")
    _index("report_usage_logs", "created_at")
    op.create_table(
        "report_count", _text("api_key_id", False), _text("month", False), _int("count", 0),
        _time("updated_at"), _pk("report_count", "api_key_id", "month"),
    )
    op.create_table(
        "monthly_report_counts", _text("api_key_id", False), _text("month", False),
        _int("count"), _time("archived_at"), _pk("monthly_report_counts", "api_key_id", "month"),
    )


def _create_config_tables() -> None:
    for table in ("application_parameters", "report_parameters"):
        op.create_table(
            table, _text("key", False), _text("value", False), _text("description"),
            _time("updated_at"), _pk(table, "key"),
        )
    op.create_table(
        "application_parameter_profiles", _text("profile_name", False), _float("qps"),
        _int("burst"), _text("log_level", False), _time("updated_at"),
        _pk("application_parameter_profiles", "profile_name"),
    )
    op.create_table(
        "exchange_asset_map", _text("exchange", False), _text("asset", False),
        _text("symbol", False), _bool("enabled", True), _time("updated_at"),
        _pk("exchange_asset_map", "exchange", "asset"),
    )


def _create_business_tables() -> None:
    op.create_table(
        "transactions", _id(), _text("type", False), _text("donor_email"),
        sa.Column("amount_usd", sa.Numeric(precision=12, scale=2), nullable=False,
                  server_default=sa.text("0")),
        _text("stripe_charge_id"), _text("stripe_event_id"), _text("tier"), _text("api_key_id"),
        _text("preferred_lang"), _time("created_at"), _pk("transactions", "id"),
        _unique("transactions", "stripe_charge_id"), _unique("transactions", "stripe_event_id"),
    )
    _index("transactions", "api_key_id")
    op.create_table(
        "webhook_subscriptions", _id(), _text("api_key_id", False), _text("tier", False),
        _text("assets", False), _int("interval_seconds"), _text("udp_target"),
        _text("https_url"), _text("signing_secret"), _text("verification_token"),
        _bool("verified", False), _int("sequence", 0, big=True), _int("pushes_this_month", 0),
        _bool("active", True), _time("created_at"), _time("updated_at"),
        _pk("webhook_subscriptions", "id"),
    )
    _index("webhook_subscriptions", "api_key_id")
    op.create_table(
        "support_tickets", _id(), _text("email", False), _text("api_key_id"),
        _text("subject", False), _text("body", False), _text("lang", False, "en"),
        _text("status", False, "open"), _time("created_at"), _time("updated_at"),
        _pk("support_tickets", "id"),
    )
    op.create_table(
        "demo_leads", _id(), _text("email", False), _text("name"), _text("company"),
        _text("message"), _text("source"), _time("created_at"), _pk("demo_leads", "id"),
    )
    op.create_table(
        "newsletter_subscribers", _id(), _text("email", False), _text("lang", False, "en"),
        _bool("confirmed", False), _time("unsubscribed_at", nullable=True), _time("created_at"),
        _pk("newsletter_subscribers", "id"), _unique("newsletter_subscribers", "email"),
    )


TIERS = [
    # tier, query_limit, rate_limit_qps, burst_limit, minimum_wait_seconds, reports_unlimited
    ("free", 1000, 1.0, 5, 1.0, False),
    ("pro", 50_000, 10.0, 20, 0.1, False),
    ("enterprise", 500_000, 50.0, 100, 0.02, False),
    ("unlimited", None, 100.0, 200, 0.01, True),
    ("lifetime", None, 100.0, 200, 0.01, True),
    ("partner", None, None, None, 0.0, True),
    ("demo", None, 3.0, 3, 0.0, False),
]

PROFILES = [
    # profile_name, qps, burst, log_level
    ("demo", 3.0, 3, "info"),
    ("performance", 1000.0, 1000, "error"),
    ("debug", 3.0, 3, "debug"),
]


def _seed() -> None:
    template = sa.table(
        "rate_limit_template", sa.column("tier", sa.Text()),
        sa.column("query_limit", sa.BigInteger()), sa.column("rate_limit_qps", sa.Float()),
        sa.column("burst_limit", sa.Integer()), sa.column("minimum_wait_seconds", sa.Float()),
        sa.column("reports_unlimited", sa.Boolean()),
    )
    op.bulk_insert(template, [
        {"tier": t, "query_limit": q, "rate_limit_qps": qps, "burst_limit": b,
         "minimum_wait_seconds": w, "reports_unlimited": r}
        for t, q, qps, b, w, r in TIERS
    ])
    profiles = sa.table(
        "application_parameter_profiles", sa.column("profile_name", sa.Text()),
        sa.column("qps", sa.Float()), sa.column("burst", sa.Integer()),
        sa.column("log_level", sa.Text()),
    )
    op.bulk_insert(profiles, [
        {"profile_name": n, "qps": q, "burst": b, "log_level": level}
        for n, q, b, level in PROFILES
    ])


def upgrade() -> None:
    _create_core_tables()
    _create_usage_tables()
    _create_config_tables()
    _create_business_tables()
    _seed()


def downgrade() -> None:
    for table in (
        "newsletter_subscribers", "demo_leads", "support_tickets", "webhook_subscriptions",
        "transactions", "exchange_asset_map", "application_parameter_profiles",
        "report_parameters", "application_parameters", "monthly_report_counts", "report_count",
        "report_usage_logs", "usage_logs", "api_keys", "rate_limit_template", "users",
    ):
        op.drop_table(table)
