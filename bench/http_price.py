"""``GET /price`` over HTTP: ours vs nginx returning the same body statically vs FastAPI.

Goals, in requests per second: ours ≥ 0.40 of nginx and ≥ 5 times FastAPI.

Setup, all on loopback, every server pinned to core 0 and wrk to core 1 (``-t1 -c64``):

* **ours** — the real ``beast serve --replay --role APP_SERVER`` process (one process: the
  replay exchange feeding it, the price book, the HTTP server and the usage log to SQLite), with
  a ``partner`` key (no rate limit) made beforehand by ``beast keys create``. The per-client-IP
  guard stays on but is set to 10 million requests/s (``beast params set``): every wrk
  connection comes from 127.0.0.1, and its default of 2,000/s per IP would refuse the load.
* **nginx** (Debian package) — one worker, ``access_log off``, ``return 200`` with one body
  captured from ours (``_nginx.py``).
* **FastAPI** on uvicorn — one worker, uvloop + httptools, no access log, the handler written
  the usual way (``_fastapi_price.py``), answering the same fields.

Rounds alternate (ours, nginx, FastAPI, ours, …); medians are reported. Then ours and nginx
take half our peak rate from ``c/http_paced.c``, a constant-rate client: request k leaves at
t0 + k/rate on the next idle keep-alive connection, and its latency counts from that scheduled
time, so a stall is charged to every request it delays (no coordinated omission). wrk has no
rate option (wrk2 is not packaged for Debian), and a wrk Lua ``delay()`` (used before
2026-12-06) is served by millisecond timers that fire together: connections fell into step and
sent in clumps, which put a floor of about 0.5-0.9 ms under nginx's own p99.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from _nginx import NGINX, start_nginx
from tools import (
    Skip,
    compile_programs,
    ensure_apt,
    free_port,
    log,
    pin_cpu,
    run_load_client,
    run_wrk,
    wait_port,
)

QUICK = bool(os.environ.get("BENCH_QUICK"))
ROUND_SECONDS = 3 if QUICK else 8
ROUNDS = 1 if QUICK else 3
PACED_ROUNDS = 1 if QUICK else 2
WARMUP_SECONDS = 1 if QUICK else 2
CONNECTIONS = 64
SERVER_CORE, LOAD_CORE = 0, 1
PATH = "/price?asset=BTC"
GOAL_VS_NGINX = 0.40
GOAL_VS_FASTAPI = 5.0
LIMITED_TIER = "enterprise"
PACED_CONNECTIONS = 64
GOAL_HALF_PEAK_P99_MS = 1.0
TIME_BUDGET_SECONDS = 240

ROOT = Path(__file__).resolve().parent.parent
BEAST = ROOT / ".venv" / "bin" / "beast"
PYTHON = ROOT / ".venv" / "bin" / "python"
IP_GUARD_PARAMS = {"ip_rate_limit_qps": "10000000", "ip_rate_limit_burst": "10000000"}


# --- processes ---------------------------------------------------------------------------------

def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (from ``/proc/*/task/*/children``)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            children = (task / "children").read_text(encoding="ascii").split()
            pending += [int(child) for child in children]
    return found


def pin_tree(pid: int, core: int) -> int:
    """Pin every thread of ``pid`` and of its descendants to ``core``; the number pinned.
    Threads and processes started later inherit the affinity."""
    pinned = 0
    for process in process_tree(pid):
        for task in Path(f"/proc/{process}/task").glob("*"):
            pinned += pin_cpu(int(task.name), core)
    return pinned


def vm_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop(process: subprocess.Popen[Any], grace: float = 10.0) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=grace)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- our server --------------------------------------------------------------------------------

@dataclass
class BeastNode:
    """A running ``beast serve`` and what it was started with."""

    process: subprocess.Popen[bytes]
    http_port: int
    udp_port: int
    keys: dict[str, str] = field(default_factory=dict)
    """Tier → plaintext key."""

    def price_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}{PATH}"


def beast_env(directory: Path) -> dict[str, str]:
    """The environment of a throw-away node: SQLite and var dir under ``directory``, every
    listener on a free loopback port, role APP_SERVER."""
    return {**os.environ, "DATABASE_URL": f"sqlite:///{directory / 'beast.db'}",
            "BEAST_VAR_DIR": str(directory), "BEAST_HOST": "127.0.0.1",
            "SERVER_TYPE": "APP_SERVER", "TCP_PORT_LPO": str(free_port()),
            "UDP_PORT_LPO": str(free_udp_port()), "TCP_PORT_LRS": str(free_port()),
            "UDP_PORT_LRS": str(free_udp_port()), "WEBHOOK_HEALTH_PORT": str(free_port())}


def beast_command(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([str(BEAST), *args], env=env, capture_output=True, text=True,
                          check=False, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"beast {' '.join(args[:2])} failed: {done.stderr.strip()[-300:]}")
    return done.stdout.strip()


def wait_price(url: str, key: str, process: subprocess.Popen[bytes],
               timeout: float = 30.0) -> bytes:
    """Poll ``url`` until it answers 200 (the replay feed needs a moment); the body."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"beast serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(request, timeout=2) as answer:
                return bytes(answer.read())
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer 200 within {timeout:g}s")


@contextmanager
def beast_server(directory: Path, tiers: tuple[str, ...] = ("partner",),
                 params: dict[str, str] | None = None) -> Iterator[BeastNode]:
    """``beast serve --replay`` with a key per tier (created first: keys are read at start),
    ``params`` stored beforehand, pinned to the server core, answering ``/price``."""
    env = beast_env(directory)
    keys = {tier: beast_command(env, "keys", "create", "--tier", tier) for tier in tiers}
    for name, value in (params or {}).items():
        beast_command(env, "params", "set", name, value)
    with (directory / "beast.log").open("wb") as output:
        process = subprocess.Popen([str(BEAST), "serve", "--replay", "--role", "APP_SERVER"],
                                   env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        pin_cpu(process.pid, SERVER_CORE)
        node = BeastNode(process, int(env["TCP_PORT_LPO"]), int(env["UDP_PORT_LPO"]), keys)
        wait_price(node.price_url(), keys[tiers[0]], process)
        pin_tree(process.pid, SERVER_CORE)
        yield node
    finally:
        stop(process)


# --- references --------------------------------------------------------------------------------

@contextmanager
def nginx_server(directory: Path, body: bytes) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    process = start_nginx(directory, port, PATH.split("?")[0], body)
    try:
        pin_tree(process.pid, SERVER_CORE)
        yield port, process
    finally:
        stop(process)


@contextmanager
def fastapi_server(directory: Path, key: str,
                   body: bytes) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    env = {**os.environ, "BENCH_API_KEY": key, "BENCH_PRICE_BODY": body.decode()}
    command = [str(PYTHON), "-m", "uvicorn", "--factory", "--app-dir", str(ROOT / "bench"),
               "_fastapi_price:create_app", "--host", "127.0.0.1", "--port", str(port),
               "--workers", "1", "--loop", "uvloop", "--http", "httptools", "--no-access-log",
               "--log-level", "warning"]
    with (directory / "uvicorn.log").open("wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        pin_cpu(process.pid, SERVER_CORE)
        wait_port(port, timeout=30)
        pin_tree(process.pid, SERVER_CORE)
        yield port, process
    finally:
        stop(process)


def serving_pid(process: subprocess.Popen[Any]) -> int:
    """The process that answers: nginx's worker (the master's child), else the process."""
    tree = process_tree(process.pid)
    return tree[-1] if len(tree) > 1 else process.pid


# --- measuring ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Side:
    url: str
    pid: int
    """The serving process (for its CPU time and RSS)."""


def compact(figures: dict[str, Any]) -> dict[str, Any]:
    latency = figures["latency_ms"]
    return {"requests_per_s": round(figures["requests_per_s"]), "requests": figures["requests"],
            "p50_ms": latency["p50"], "p99_ms": latency["p99"], "max_ms": latency["max"],
            "non_2xx": figures["non_2xx_3xx"],
            "socket_errors": sum(figures["socket_errors"].values())}


def medians(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    names = [name for name in ("requests_per_s", "p50_ms", "p90_ms", "p99_ms", "p999_ms",
                               "max_ms", "server_cpu_us_per_request") if name in rounds[0]]
    return {name: round(statistics.median(r[name] for r in rounds), 3) for name in names} | {
        "non_2xx": sum(r["non_2xx"] for r in rounds),
        "socket_errors": sum(r["socket_errors"] for r in rounds)}


def wrk(url: str, key: str, seconds: float, connections: int = CONNECTIONS) -> dict[str, Any]:
    return compact(run_wrk(url, seconds, connections=connections, threads=1, core=LOAD_CORE,
                           headers={"Authorization": f"Bearer {key}"}))


def timed_wrk(side: Side, key: str, seconds: float) -> dict[str, Any]:
    """:func:`wrk`, plus the CPU time the serving process spent per answer (µs)."""
    before = cpu_seconds(side.pid)
    figures = wrk(side.url, key, seconds)
    spent = cpu_seconds(side.pid) - before
    return figures | {"server_cpu_us_per_request": round(spent / figures["requests"] * 1e6, 1)}


def paced(client: Path, port: int, key: str, rate: float) -> dict[str, Any]:
    """``http_paced`` at ``rate`` for a round (after a second of warm-up): its figures, with
    the latencies in milliseconds."""
    command = [str(client), str(port), PATH, f"Authorization: Bearer {key}", f"{rate:.0f}",
               str(ROUND_SECONDS), str(PACED_CONNECTIONS), "1"]
    out, _ = run_load_client(command, ROUND_SECONDS, LOAD_CORE)
    figures = json.loads(out)
    return {"requests_per_s": round(figures["requests_per_s"]),
            "requests": figures["measured"], "non_2xx": figures["non_2xx"],
            "socket_errors": figures["errors"]} | {
        f"{name}_ms": round(figures[f"{name}_us"] / 1000, 3)
        for name in ("p50", "p90", "p99", "p999", "max")}


def alternating_rounds(sides: dict[str, Side], key: str) -> dict[str, list[dict[str, Any]]]:
    for name, side in sides.items():
        log(f"http_price: warm-up {name}")
        wrk(side.url, key, WARMUP_SECONDS)
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in sides}
    for index in range(ROUNDS):
        for name, side in sides.items():
            rounds[name].append(timed_wrk(side, key, ROUND_SECONDS))
            log(f"http_price: round {index + 1} {name}: {rounds[name][-1]['requests_per_s']}/s")
    return rounds


def half_rate(client: Path, ports: dict[str, int], key: str, target: float) -> dict[str, Any]:
    """Each side at ``target`` requests/s from the constant-rate client, rounds alternating."""
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in ports}
    for _ in range(PACED_ROUNDS):
        for name, port in ports.items():
            rounds[name].append(paced(client, port, key, target))
            log(f"http_price: paced {name}: p99 {rounds[name][-1]['p99_ms']} ms")
    return {"target_per_s": round(target), "connections": PACED_CONNECTIONS,
            "sides": {name: {"rounds": rounds[name], "median": medians(rounds[name])}
                      for name in ports}}


def limited_key_probe(node: BeastNode, seconds: float) -> dict[str, Any]:
    """One short round with a rate-limited key: how many answers were refused (429)."""
    from trinity_beast.keys.model import TIER_LIMITS

    tier = TIER_LIMITS[LIMITED_TIER]
    figures = wrk(node.price_url(), node.keys[LIMITED_TIER], seconds)
    admitted = figures["requests"] - figures["non_2xx"]
    allowed = (tier.burst_limit or 0) + (tier.rate_limit_qps or 0) * seconds
    return {"tier": LIMITED_TIER, "rate_limit_qps": tier.rate_limit_qps,
            "burst_limit": tier.burst_limit, "seconds": seconds, **figures,
            "admitted": admitted, "admitted_at_most_if_limited": round(allowed),
            "limiter_enforced": admitted <= allowed * 1.5}


# --- main --------------------------------------------------------------------------------------

def _versions() -> dict[str, str]:
    nginx = subprocess.run([NGINX, "-v"], capture_output=True, text=True, check=False)
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    return {"nginx": nginx.stderr.strip().removeprefix("nginx version: nginx/"),
            "wrk": (wrk_version.stdout or wrk_version.stderr).split("[")[0].strip(),
            "fastapi": metadata.version("fastapi"), "uvicorn": metadata.version("uvicorn")}


def _require_tools() -> None:
    ensure_apt(["wrk", "nginx"])
    for package in ("fastapi", "uvicorn"):
        try:
            metadata.version(package)
        except metadata.PackageNotFoundError:
            raise Skip(f"{package} is missing: run `{PYTHON} -m pip install -r "
                       f"requirements-bench.lock` (make bench does)") from None
    if len(os.sched_getaffinity(0)) < 2:
        raise Skip("needs two cores: one for the servers, one for wrk")


def measure(directory: Path) -> dict[str, Any]:
    with ExitStack() as servers:
        node = servers.enter_context(beast_server(
            directory / "beast", ("partner", LIMITED_TIER), IP_GUARD_PARAMS))
        key = node.keys["partner"]
        body = wait_price(node.price_url(), key, node.process)
        nginx_port, nginx = servers.enter_context(nginx_server(directory / "nginx", body))
        fastapi_port, fastapi = servers.enter_context(fastapi_server(directory, key, body))
        sides = {"ours": Side(node.price_url(), node.process.pid),
                 "nginx": Side(f"http://127.0.0.1:{nginx_port}{PATH}", serving_pid(nginx)),
                 "fastapi": Side(f"http://127.0.0.1:{fastapi_port}{PATH}", serving_pid(fastapi))}
        rounds = alternating_rounds(sides, key)
        peak = statistics.median(r["requests_per_s"] for r in rounds["ours"])
        log(f"http_price: paced at half our peak, {peak / 2:.0f}/s")
        client = compile_programs(directory, ("http_paced",))["http_paced"]
        paced = half_rate(client, {"ours": node.http_port, "nginx": nginx_port}, key, peak / 2)
        log("http_price: limited-key probe")
        probe = limited_key_probe(node, 3)
        rss = {name: vm_rss_kib(side.pid) for name, side in sides.items()}
        pinned = {name: sorted(os.sched_getaffinity(side.pid)) for name, side in sides.items()}
    return {"body": body.decode(), "rounds": rounds, "half_rate": paced,
            "limited_key": probe, "rss_kib_after_load": rss, "server_affinity": pinned}


def capacity_ratios(sides: dict[str, Any]) -> dict[str, float]:
    """Ours ÷ theirs in requests per CPU-second of the serving process: what each would answer
    with a core to itself, whatever limited the round (a busy machine, wrk itself)."""
    ours = sides["ours"]["median"]["server_cpu_us_per_request"]
    return {f"cpu_capacity_ours_vs_{name}":
            round(sides[name]["median"]["server_cpu_us_per_request"] / ours, 3)
            for name in ("nginx", "fastapi")}


def main() -> dict[str, Any]:
    _require_tools()
    directory = Path(tempfile.mkdtemp(prefix="http-price-"))
    for sub in ("beast", "nginx"):
        (directory / sub).mkdir()
    try:
        measured = measure(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    sides = {name: {"rounds": rounds, "median": medians(rounds)}
             for name, rounds in measured.pop("rounds").items()}
    ours = sides["ours"]["median"]["requests_per_s"]
    ratios = {"ours_vs_nginx": round(ours / sides["nginx"]["median"]["requests_per_s"], 3),
              "ours_vs_fastapi": round(ours / sides["fastapi"]["median"]["requests_per_s"], 2),
              **capacity_ratios(sides)}
    half_p99 = measured["half_rate"]["sides"]["ours"]["median"]["p99_ms"]
    goals = {"ours_vs_nginx": {"goal": GOAL_VS_NGINX,
                               "met": ratios["ours_vs_nginx"] >= GOAL_VS_NGINX},
             "ours_vs_fastapi": {"goal": GOAL_VS_FASTAPI,
                                 "met": ratios["ours_vs_fastapi"] >= GOAL_VS_FASTAPI},
             "half_peak_p99_ms": {"goal": GOAL_HALF_PEAK_P99_MS,
                                  "met": half_p99 < GOAL_HALF_PEAK_P99_MS}}
    setup = {"path": PATH, "connections": CONNECTIONS, "wrk_threads": 1,
             "round_seconds": ROUND_SECONDS, "rounds": ROUNDS, "server_core": SERVER_CORE,
             "wrk_core": LOAD_CORE, "body_bytes": len(measured["body"].encode()),
             "ip_guard_params": IP_GUARD_PARAMS, "versions": _versions(),
             "python": sys.version.split()[0]}
    return {"setup": setup, "sides": sides, "ratios": ratios, "goals": goals, **measured}


# --- summary -----------------------------------------------------------------------------------

def _met(goal: dict[str, Any]) -> str:
    return "yes" if goal["met"] else "**no**"


def _main_table(result: dict[str, Any]) -> list[str]:
    sides, ratios, goals = result["sides"], result["ratios"], result["goals"]
    versions = result["setup"]["versions"]
    labels = {"ours": "ours, `beast serve` (partner key)",
              "nginx": f"nginx {versions['nginx']}, static `return 200`",
              "fastapi": f"FastAPI {versions['fastapi']} on uvicorn {versions['uvicorn']}"}
    rows = ["| server | req/s (median) | p50 ms | p99 ms | server CPU µs/req | non-2xx | "
            "ours ÷ it | goal | met? |", "|---|---:|---:|---:|---:|---:|---:|---|---|"]
    for name, label in labels.items():
        m = sides[name]["median"]
        ratio, goal, met = ("—", "—", "—") if name == "ours" else (
            f"{ratios[f'ours_vs_{name}']:g}", f"≥ {goals[f'ours_vs_{name}']['goal']:g}",
            _met(goals[f"ours_vs_{name}"]))
        rows.append(f"| {label} | {m['requests_per_s']:,.0f} | {m['p50_ms']:g} | "
                    f"{m['p99_ms']:g} | {m['server_cpu_us_per_request']:g} | {m['non_2xx']} | "
                    f"{ratio} | {goal} | {met} |")
    rows += ["", "Per CPU-second of the serving process (what a core to itself would answer): "
             f"ours ÷ nginx {ratios['cpu_capacity_ours_vs_nginx']:g}, ours ÷ FastAPI "
             f"{ratios['cpu_capacity_ours_vs_fastapi']:g}."]
    return rows


def _paced_table(result: dict[str, Any]) -> list[str]:
    paced, goal = result["half_rate"], result["goals"]["half_peak_p99_ms"]
    rows = [f"At half our peak ({paced['target_per_s']:,} req/s), from the constant-rate client "
            f"(`c/http_paced.c`, {paced['connections']} connections, latency counted from each "
            f"request's scheduled time). Goal: ours p99 < {goal['goal']:g} ms — {_met(goal)}.",
            "", "| server | achieved req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | "
            "non-2xx |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, side in paced["sides"].items():
        m = side["median"]
        rows.append(f"| {name} | {m['requests_per_s']:,.0f} | {m['p50_ms']:g} | {m['p90_ms']:g} | "
                    f"{m['p99_ms']:g} | {m['p999_ms']:g} | {m['max_ms']:g} | {m['non_2xx']} |")
    return rows


def summary(result: dict[str, Any]) -> str:
    setup, rss, probe = result["setup"], result["rss_kib_after_load"], result["limited_key"]
    notes = [f"RSS after the load: ours {rss['ours'] / 1024:.0f} MiB, nginx worker "
             f"{rss['nginx'] / 1024:.0f} MiB, uvicorn {rss['fastapi'] / 1024:.0f} MiB. "
             f"{setup['rounds']} alternating rounds of {setup['round_seconds']} s, wrk -t1 "
             f"-c{setup['connections']} on core {setup['wrk_core']}, servers on core "
             f"{setup['server_core']}, body {setup['body_bytes']} bytes.",
             "", f"Limited key ({probe['tier']}, {probe['rate_limit_qps']:g} QPS, burst "
             f"{probe['burst_limit']}), {probe['seconds']:g} s at full load: "
             f"{probe['admitted']:,} of {probe['requests']:,} answered 200 (at most "
             f"{probe['admitted_at_most_if_limited']:,} if limited), the rest 429, at "
             f"{probe['requests_per_s']:,} req/s — limiter "
             f"{'enforced' if probe['limiter_enforced'] else '**not enforced**'}."]
    return "\n".join([*_main_table(result), "", *_paced_table(result), "", *notes])


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
