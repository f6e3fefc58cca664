"""The schema, defined once: every table as SQLAlchemy Core (Alembic migrations create it).

Conventions: ids are text (UUIDs, or the record id for usage rows so a re-delivered record is
de-duplicated by its primary key); every timestamp is timezone-aware UTC (:class:`UtcDateTime`);
``api_key_id`` in usage, report, billing and webhook tables is the non-secret ``api_keys.key_id``
(``ak_live_…``), never a key. Every write to ``api_keys`` sets ``updated_at``: it is the sync
job's high-water mark.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """``TIMESTAMP WITH TIME ZONE``; always aware UTC in Python, also on SQLite (stored as UTC)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _created() -> sa.Column[datetime]:
    return sa.Column("created_at", UtcDateTime(), nullable=False,
                     server_default=sa.func.current_timestamp())


def _updated() -> sa.Column[datetime]:
    return sa.Column("updated_at", UtcDateTime(), nullable=False,
                     server_default=sa.func.current_timestamp())


def _text_id() -> sa.Column[str]:
    return sa.Column("id", sa.Text(), primary_key=True)


users = sa.Table(
    "users", metadata,
    _text_id(),
    sa.Column("email", sa.Text(), nullable=False, unique=True),
    sa.Column("name", sa.Text()),
    sa.Column("tier", sa.Text()),
    sa.Column("preferred_lang", sa.Text(), nullable=False, server_default="en"),
    _created(), _updated(),
)

rate_limit_template = sa.Table(
    "rate_limit_template", metadata,
    sa.Column("tier", sa.Text(), primary_key=True),
    sa.Column("query_limit", sa.BigInteger()),
    sa.Column("rate_limit_qps", sa.Float()),
    sa.Column("burst_limit", sa.Integer()),
    sa.Column("minimum_wait_seconds", sa.Float(), nullable=False, server_default=sa.text("0")),
    sa.Column("reports_unlimited", sa.Boolean(), nullable=False, server_default=sa.false()),
    _updated(),
)

api_keys = sa.Table(
    "api_keys", metadata,
    _text_id(),
    sa.Column("key_id", sa.Text(), nullable=False, unique=True),
    sa.Column("key_hash", sa.Text(), nullable=False, unique=True),
    sa.Column("user_id", sa.Text(), sa.ForeignKey("users.id", ondelete="SET NULL"), index=True),
    sa.Column("name", sa.Text()),
    sa.Column("tier", sa.Text(), sa.ForeignKey("rate_limit_template.tier", onupdate="CASCADE"),
              nullable=False, server_default="free"),
    # Defaults of API.md §3.4; keys are provisioned from rate_limit_template anyway.
    sa.Column("query_limit", sa.BigInteger(), server_default=sa.text("1000")),
    sa.Column("current_usage", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
    sa.Column("rate_limit_qps", sa.Float(), server_default=sa.text("10")),
    sa.Column("burst_limit", sa.Integer(), server_default=sa.text("20")),
    sa.Column("burst_tokens", sa.Float(), nullable=False, server_default=sa.text("20")),
    sa.Column("minimum_wait_seconds", sa.Float(), nullable=False, server_default=sa.text("0.1")),
    sa.Column("lrs_enabled", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("revoked", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("response_format", sa.Text(), nullable=False, server_default="tbc"),
    sa.Column("api_lang", sa.Text(), nullable=False, server_default="en"),
    sa.Column("stripe_customer_id", sa.Text()),
    sa.Column("stripe_subscription_id", sa.Text()),
    sa.Column("subscription_status", sa.Text()),
    _created(), _updated(),
    sa.Column("last_used", UtcDateTime()),
    sa.Column("last_success", UtcDateTime()),
    sa.Index(None, "updated_at"),
)

usage_logs = sa.Table(
    "usage_logs", metadata,
    _text_id(),
    sa.Column("api_key_id", sa.Text(), nullable=False),
    sa.Column("asset", sa.Text()),
    sa.Column("assets_count", sa.Integer(), nullable=False, server_default=sa.text("1")),
    sa.Column("source", sa.Text()),
    sa.Column("cache_tier", sa.Text()),
    sa.Column("response_time_us", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
    sa.Column("status", sa.Integer(), nullable=False, server_default=sa.text("200")),
    sa.Column("endpoint", sa.Text()),
    sa.Column("protocol", sa.Text(), nullable=False, server_default="http"),
    sa.Column("node", sa.Text()),
    _created(),
    sa.Index(None, "api_key_id", "created_at", "id"),
    sa.Index(None, "created_at"),
)

report_usage_logs = sa.Table(
    "report_usage_logs", metadata,
    _text_id(),
    sa.Column("api_key_id", sa.Text(), nullable=False),
    sa.Column("report_type", sa.Text(), nullable=False),
    sa.Column("format", sa.Text(), nullable=False, server_default="json"),
    sa.Column("status", sa.Integer(), nullable=False, server_default=sa.text("200")),
    sa.Column("rows", sa.Integer(), nullable=False, server_default=sa.text("0")),
    sa.Column("response_time_us", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
    sa.Column("protocol", sa.Text(), nullable=False, server_default="http"),
    sa.Column("node", sa.Text()),
    _created(),
    sa.Index(None, "api_key_id", "created_at", "id"),
    sa.Index(None, "created_at"),
)

report_count = sa.Table(
    "report_count", metadata,
    sa.Column("api_key_id", sa.Text(), primary_key=True),
    sa.Column("month", sa.Text(), primary_key=True),  # YYYY-MM (UTC)
    sa.Column("count", sa.Integer(), nullable=False, server_default=sa.text("0")),
    _updated(),
)

monthly_report_counts = sa.Table(
    "monthly_report_counts", metadata,
    sa.Column("api_key_id", sa.Text(), primary_key=True),
    sa.Column("month", sa.Text(), primary_key=True),  # YYYY-MM (UTC)
    sa.Column("count", sa.Integer(), nullable=False),
    sa.Column("archived_at", UtcDateTime(), nullable=False,
              server_default=sa.func.current_timestamp()),
)

transactions = sa.Table(
    "transactions", metadata,
    _text_id(),
    sa.Column("type", sa.Text(), nullable=False),
    sa.Column("donor_email", sa.Text()),
    sa.Column("amount_usd", sa.Numeric(12, 2), nullable=False, server_default=sa.text("0")),
    sa.Column("stripe_charge_id", sa.Text(), unique=True),
    sa.Column("stripe_event_id", sa.Text(), unique=True),
    sa.Column("tier", sa.Text()),
    sa.Column("api_key_id", sa.Text(), index=True),
    sa.Column("preferred_lang", sa.Text()),
    _created(),
)

application_parameters = sa.Table(
    "application_parameters", metadata,
    sa.Column("key", sa.Text(), primary_key=True),
    sa.Column("value", sa.Text(), nullable=False),
    sa.Column("description", sa.Text()),
    _updated(),
)

application_parameter_profiles = sa.Table(
    "application_parameter_profiles", metadata,
    sa.Column("profile_name", sa.Text(), primary_key=True),
    sa.Column("qps", sa.Float(), nullable=False),
    sa.Column("burst", sa.Integer(), nullable=False),
    sa.Column("log_level", sa.Text(), nullable=False),
    _updated(),
)

exchange_asset_map = sa.Table(
    "exchange_asset_map", metadata,
    sa.Column("exchange", sa.Text(), primary_key=True),
    sa.Column("asset", sa.Text(), primary_key=True),
    sa.Column("symbol", sa.Text(), nullable=False),  # the exchange's pair, e.g. BTC_USDT
    sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
    _updated(),
)

report_parameters = sa.Table(
    "report_parameters", metadata,
    sa.Column("key", sa.Text(), primary_key=True),
    sa.Column("value", sa.Text(), nullable=False),
    sa.Column("description", sa.Text()),
    _updated(),
)

webhook_subscriptions = sa.Table(
    "webhook_subscriptions", metadata,
    _text_id(),
    sa.Column("api_key_id", sa.Text(), nullable=False, index=True),
    sa.Column("tier", sa.Text(), nullable=False),  # starter/standard/professional/enterprise
    sa.Column("assets", sa.Text(), nullable=False),  # comma list
    sa.Column("interval_seconds", sa.Integer(), nullable=False),
    sa.Column("udp_target", sa.Text()),  # host:port
    sa.Column("https_url", sa.Text()),
    sa.Column("signing_secret", sa.Text()),  # HMAC-SHA256 key of the HTTPS pushes
    sa.Column("verification_token", sa.Text()),
    sa.Column("verified", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("sequence", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
    sa.Column("pushes_this_month", sa.Integer(), nullable=False, server_default=sa.text("0")),
    sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
    _created(), _updated(),
)

support_tickets = sa.Table(
    "support_tickets", metadata,
    _text_id(),
    sa.Column("email", sa.Text(), nullable=False),
    sa.Column("api_key_id", sa.Text()),
    sa.Column("subject", sa.Text(), nullable=False),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("lang", sa.Text(), nullable=False, server_default="en"),
    sa.Column("status", sa.Text(), nullable=False, server_default="open"),
    _created(), _updated(),
)

demo_leads = sa.Table(
    "demo_leads", metadata,
    _text_id(),
    sa.Column("email", sa.Text(), nullable=False),
    sa.Column("name", sa.Text()),
    sa.Column("company", sa.Text()),
    sa.Column("message", sa.Text()),
    sa.Column("source", sa.Text()),
    _created(),
)

newsletter_subscribers = sa.Table(
    "newsletter_subscribers", metadata,
    _text_id(),
    sa.Column("email", sa.Text(), nullable=False, unique=True),
    sa.Column("lang", sa.Text(), nullable=False, server_default="en"),
    sa.Column("confirmed", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("unsubscribed_at", UtcDateTime()),
    _created(),
)


# ---------------------------------------------------------------------------------------------
# LRS report rollups (migration 0002). Owned by the LRS (src/trinity_beast/lrs/, docs/lrs.md):
# filled by ``lrs.rollup.rollup_usage`` and read by ``/reports/summary``.
# ---------------------------------------------------------------------------------------------

USAGE_LATENCY_BUCKETS = 64
"""Buckets of the latency histograms of ``usage_daily`` (bounds: ``lrs/latency.py``)."""

usage_daily = sa.Table(
    "usage_daily", metadata,
    # One row per key, UTC day and (asset, source, cache_tier, status); '' stands for NULL.
    sa.Column("api_key_id", sa.Text(), primary_key=True),
    sa.Column("day", sa.Date(), primary_key=True),
    sa.Column("asset", sa.Text(), primary_key=True),
    sa.Column("source", sa.Text(), primary_key=True),
    sa.Column("cache_tier", sa.Text(), primary_key=True),
    sa.Column("status", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("requests", sa.BigInteger(), nullable=False),
    sa.Column("sum_us", sa.BigInteger(), nullable=False),
    sa.Column("min_us", sa.BigInteger(), nullable=False),
    sa.Column("max_us", sa.BigInteger(), nullable=False),
    # JSON object of the non-empty buckets: {"8": 120, "9": 31} (bucket number → requests).
    sa.Column("latency_histogram", sa.Text(), nullable=False),
    sa.Index(None, "day"),
)

usage_rollup_state = sa.Table(
    "usage_rollup_state", metadata,
    sa.Column("name", sa.Text(), primary_key=True),
    sa.Column("rolled_through", sa.Date(), nullable=False),  # every day up to this one is rolled
    _updated(),
)
