"""Every application parameter we use: name, type, default (the seed's §9/§10), bounds, reload rule.

Values travel as text (that is how ``application_parameters.value`` and the Valkey hash
``app:config`` hold them); :func:`parse_value` turns text into the typed value or raises
:class:`InvalidParameter` with a message a person can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["int", "float", "str", "bool", "assets", "choice"]
ParamValue = int | float | str | bool | tuple[str, ...]


class InvalidParameter(ValueError):
    """A parameter name that does not exist or a value its definition refuses."""


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    kind: Kind
    default: str
    description: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    hot: bool = True
    """Hot-reloadable; when false a change takes effect at the next restart."""


COINBASE_ASSETS = (
    "btc,eth,sol,doge,xrp,link,dot,ltc,avax,uni,pepe,xlm,rndr,jasmy,icp,eos,egld,zec,enj,ankr,"
    "lrc,skl,coti,rlc"
)
GEMINI_ASSETS = (
    "aave,ada,matic,atom,near,arb,mkr,crv,grt,fil,shib,bat,mana,sand,axs,chz,storj,amp,ren,uma,"
    "bond,ctsi,rly,rad"
)
KRAKEN_ASSETS = (
    "nano,sc,lsk,kava,bico,rari,ocean,cfg,cqt,algo,fet,flow,mina,glmr,movr,ksm,astr,phala,nodl,"
    "para,kilt,aca,teer,lit"
)
GATEIO_ASSETS = (
    "bnb,trx,apt,inj,op,sui,vet,hbar,ftm,celr,dent,hot,one,reef,win,tfuel,stmx,troy,vite,oax,"
    "pundix,ach,bel,chess"
)
BYBIT_ASSETS = (
    "ton,wld,ape,blur,imx,ens,ldo,snx,comp,1inch,sushi,gala,magic,rdnt,hook,id,edu,cyber,arkm,"
    "ntrn,mav,sei,woo,agld"
)
OKX_ASSETS = (
    "kas,tia,jup,strk,pyth,w,zro,pendle,ondo,render,wif,floki,people,mask,looks,high,rss3,perp,"
    "badger,alcx,fxs,tribe,alpha,dodo"
)

PREWARM_DEFAULTS = {
    "coinbase": COINBASE_ASSETS,
    "gemini": GEMINI_ASSETS,
    "kraken": KRAKEN_ASSETS,
    "gateio": GATEIO_ASSETS,
    "bybit": BYBIT_ASSETS,
    "okx": OKX_ASSETS,
}


def _p(name: str, kind: Kind, default: str, description: str, **kw: object) -> Param:
    return Param(name, kind, default, description, **kw)  # type: ignore[arg-type]


_DEFINITIONS: list[Param] = [
    *(
        _p(f"{ex}_prewarm_assets", "assets", assets, f"{ex} WebSocket subscription list")
        for ex, assets in PREWARM_DEFAULTS.items()
    ),
    _p("prewarm_assets", "assets", f"{COINBASE_ASSETS},{GEMINI_ASSETS}",
       "Legacy combined prewarm list (Coinbase + Gemini); informational"),
    _p("prewarm_interval", "int", "3", "General prewarm cycle interval, minutes", minimum=1,
       maximum=1440),
    _p("kraken_prewarm_interval_minutes", "int", "3", "Kraken REST batch poll interval, minutes",
       minimum=1, maximum=1440),
    _p("kraken_prewarm_offset_seconds", "int", "15",
       "Stagger of the Kraken batch poll so nodes do not poll together", minimum=0, maximum=3600),
    # Feeds and the three price tiers (our choices; documented in docs/prices.md).
    _p("price_stale_seconds", "float", "60",
       "A feed quote older than this is not served unless its feed is live", minimum=0.1,
       maximum=86400),
    _p("feed_idle_timeout_seconds", "float", "60",
       "No data frame for this long: the connection is dead, reconnect", minimum=0.2,
       maximum=3600),
    _p("feed_backoff_initial_seconds", "float", "0.5", "First reconnect delay", minimum=0.01,
       maximum=60),
    _p("feed_backoff_max_seconds", "float", "30", "Reconnect delay cap", minimum=0.1,
       maximum=600),
    _p("feed_connect_stagger_ms", "int", "200", "Delay between the first connects of two feeds",
       minimum=0, maximum=60000),
    _p("price_flush_interval_seconds", "float", "30", "Tier 1 → Tier 2 flush period",
       minimum=0.1, maximum=3600),
    _p("rest_timeout_ms", "int", "2000", "Timeout of one REST ticker call", minimum=50,
       maximum=30000),
    _p("aggregate_min_providers", "int", "2", "Fresh quotes needed for the median aggregate",
       minimum=1, maximum=6),
    _p("aggregate_max_deviation_pct", "float", "5",
       "Quotes further than this from the median are left out of it", minimum=0.01, maximum=100),
    _p("unknown_asset_ttl_seconds", "int", "300",
       "How long an asset no exchange lists is remembered as unknown", minimum=0,
       maximum=86400),
    _p("rest_preference", "str", "coinbase,kraken,gemini,okx,bybit,gateio",
       "Exchanges asked, best first, for an asset no feed subscribes"),
    _p("cache_ttl_seconds", "int", "9",
       "How long an on-demand (REST) price is reused before asking again", minimum=0,
       maximum=3600),
    # Governor and pools (seed §10).
    _p("adaptive_max_concurrent", "int", "6000",
       "Cluster-wide cap of concurrent TCP requests", minimum=1, maximum=10_000_000),
    _p("adaptive_success_threshold", "float", "0.50", "Governor throttle trigger threshold",
       minimum=0, maximum=1),
    _p("adaptive_throttle_delay_ms", "int", "0", "Artificial delay when throttling",
       minimum=0, maximum=10000),
    _p("udp_max_concurrent_lpo", "int", "3000", "UDP LPO blocking governor per node",
       minimum=1, maximum=1_000_000, hot=False),
    _p("udp_max_concurrent_lrs", "int", "3000", "UDP LRS blocking governor per node",
       minimum=1, maximum=1_000_000, hot=False),
    _p("db_max_open_conns", "int", "150", "Database connection pool per node", minimum=1,
       maximum=10000),
    _p("db_max_idle_conns", "int", "75", "Idle database connections kept warm", minimum=0,
       maximum=10000),
    _p("cache_pool_size", "int", "300", "Valkey connection pool per node", minimum=1,
       maximum=10000, hot=False),
    _p("cache_min_idle_conns", "int", "60", "Idle Valkey connections kept warm", minimum=0,
       maximum=10000, hot=False),
    _p("cache_dial_timeout_ms", "int", "500", "Valkey connect timeout", minimum=1,
       maximum=60000, hot=False),
    _p("cache_read_timeout_ms", "int", "500", "Valkey read timeout", minimum=1, maximum=60000,
       hot=False),
    _p("cache_write_timeout_ms", "int", "500", "Valkey write timeout", minimum=1,
       maximum=60000, hot=False),
    _p("cache_max_retries", "int", "3", "Retries of a failed Valkey call", minimum=0,
       maximum=10),
    # Usage-log queue batching (seed §10 sqs_*; same meaning for our queue).
    _p("sqs_batch_size", "int", "10", "Records per queue hand-off", minimum=1, maximum=10000),
    _p("sqs_flush_ms", "int", "100", "Queue producer flush interval", minimum=1, maximum=60000),
    _p("sqs_buffer_size", "int", "50000", "Queue producer buffer capacity", minimum=100,
       maximum=10_000_000),
    _p("sqs_timeout_ms", "int", "3000", "Per-batch queue call timeout", minimum=10,
       maximum=60000),
    _p("usage_log_batch_size", "int", "300", "Rows per usage_logs insert", minimum=1,
       maximum=100000),
    _p("usage_log_flush_ms", "int", "100", "Usage writer flush interval", minimum=1,
       maximum=60000),
    # HTTP (restart-only, seed §10 and API.md §17).
    _p("http_idle_timeout_seconds", "int", "300", "Keep-alive connections held open",
       minimum=1, maximum=86400, hot=False),
    _p("http_read_timeout_seconds", "int", "5", "Fast-fail on slow reads", minimum=1,
       maximum=3600, hot=False),
    _p("http_write_timeout_seconds", "int", "5", "Fast-fail on slow writes", minimum=1,
       maximum=3600, hot=False),
    _p("http_read_header_timeout_seconds", "int", "5", "Time allowed for request headers",
       minimum=1, maximum=3600, hot=False),
    _p("http_max_header_bytes", "int", "16384", "Largest request head accepted",
       minimum=1024, maximum=1_048_576, hot=False),
    _p("http_max_body_bytes", "int", "65536", "Largest request body accepted", minimum=1024,
       maximum=16_777_216, hot=False),
    # Per-client-IP limits in front of everything (our own WAF-like guard; 0 disables).
    _p("ip_rate_limit_qps", "float", "2000", "Requests per second one client IP may send",
       minimum=0, maximum=10_000_000),
    _p("ip_rate_limit_burst", "int", "4000", "Burst one client IP may send", minimum=1,
       maximum=10_000_000),
    # Keys, tiers, modes (API.md §2, §4, §17).
    _p("log_level", "choice", "error", "Minimal logging in performance mode",
       choices=("debug", "info", "warning", "error", "critical")),
    _p("demo_api_key", "str", "demo-public-2026-03-01-abc123", "The public demo key"),
    _p("qps", "float", "3", "Rate of the demo key (the active profile sets it)", minimum=0.01,
       maximum=1_000_000),
    _p("burst", "int", "3", "Burst of the demo key (the active profile sets it)", minimum=1,
       maximum=1_000_000),
    _p("usage_warning_green_pct", "int", "50", "Usage warning: green up to", minimum=0,
       maximum=100),
    _p("usage_warning_yellow_pct", "int", "81", "Usage warning: yellow up to", minimum=0,
       maximum=100),
    _p("usage_warning_red_pct", "int", "99", "Usage warning: red from", minimum=0, maximum=100),
    _p("payment_grace_period_days", "int", "3", "Grace after a failed payment", minimum=0,
       maximum=90),
    _p("lrs_monthly_report_limit", "int", "10",
       "Reports per month for free/pro/enterprise keys without the add-on", minimum=0,
       maximum=1_000_000),
    _p("application_parameter_interval_minutes", "int", "5", "Parameter reload period",
       minimum=1, maximum=1440),
    _p("retention_days", "int", "93", "Rolling retention of usage_logs and report_usage_logs",
       minimum=1, maximum=3650),
    _p("sync_schedule_time", "str", "01:00", "Nightly sync time (HH:MM) in sync_schedule_tz"),
    _p("sync_schedule_tz", "str", "America/New_York", "Time zone of the nightly sync"),
]

PARAMS: dict[str, Param] = {p.name: p for p in _DEFINITIONS}


def parse_value(param: Param, text: str) -> ParamValue:
    """The typed value of ``text`` for ``param``; :class:`InvalidParameter` when refused."""
    raw = text.strip()
    name = param.name
    if param.kind == "str":
        return raw
    if param.kind == "bool":
        low = raw.lower()
        if low in {"1", "true", "yes", "on"}:
            return True
        if low in {"0", "false", "no", "off"}:
            return False
        raise InvalidParameter(f"{name}: expected true or false, got {text!r}")
    if param.kind == "choice":
        low = raw.lower()
        if low not in param.choices:
            allowed = ", ".join(param.choices)
            raise InvalidParameter(f"{name}: expected one of {allowed}, got {text!r}")
        return low
    if param.kind == "assets":
        items = tuple(dict.fromkeys(a.strip().upper() for a in raw.split(",") if a.strip()))
        bad = [a for a in items if not a.isalnum() or len(a) > 20]
        if bad:
            raise InvalidParameter(f"{name}: not asset codes: {', '.join(bad)}")
        return items
    number: int | float
    try:
        number = int(raw) if param.kind == "int" else float(raw)
    except ValueError as exc:
        wanted = "an integer" if param.kind == "int" else "a number"
        raise InvalidParameter(f"{name}: expected {wanted}, got {text!r}") from exc
    if number != number or number in (float("inf"), float("-inf")):
        raise InvalidParameter(f"{name}: expected a finite number, got {text!r}")
    if param.minimum is not None and number < param.minimum:
        raise InvalidParameter(f"{name}: must be at least {param.minimum:g}, got {text!r}")
    if param.maximum is not None and number > param.maximum:
        raise InvalidParameter(f"{name}: must be at most {param.maximum:g}, got {text!r}")
    return number


def format_value(value: ParamValue) -> str:
    """The text form of a typed value (inverse of :func:`parse_value`)."""
    if isinstance(value, tuple):
        return ",".join(a.lower() for a in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


PROFILES: dict[str, dict[str, str]] = {
    "demo": {"qps": "3", "burst": "3", "log_level": "info"},
    "performance": {"qps": "1000", "burst": "1000", "log_level": "error"},
    "debug": {"qps": "3", "burst": "3", "log_level": "debug"},
}
"""Rows of ``application_parameter_profiles`` (API.md §11: name, qps, burst, log_level)."""
