"""UDP price requests: our LPO listener (:2679) vs a minimal C echo server.

Goal: ours ≥ 50 % of the C echo's replies per second, for the JSON and the text request.

Setup, all on loopback, both servers pinned to core 0 and the load client to core 1:

* **ours** — the real ``beast serve --replay --role APP_SERVER`` process (as in
  ``http_price.py``: replay feed, price book, usage log to SQLite), with a ``partner`` key (no
  rate limit); its UDP LPO listener on a free port (``UDP_PORT_LPO``). Requests:
  ``{"api_key":KEY,"asset":"btc"}`` and ``KEY|btc`` (docs/udp.md), all Tier 1 hits.
* **C echo** — ``c/udp_echo.c``: ``recvmmsg`` up to 64 datagrams, ``sendmmsg`` them back
  unchanged. The kernel's cost of a loopback request/reply with next to no user-space work.
* **load** — ``c/udp_load.c``: one connected socket keeps 64 requests in flight (``sendmmsg``
  / ``recvmmsg``), counts replies for a fixed time, and counts apart the replies that are the
  expected answer (``"status_code":200`` / ``BTC|``) so that errors are not counted as speed.

Both C programs are compiled with ``gcc -O2`` into a temporary directory at the start. Rounds
alternate (ours, echo, ours, …) per request form; medians are reported, with each server's
CPU time per reply (user + system, from ``/proc``), which a busy machine disturbs less.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from http_price import beast_server, cpu_seconds, free_udp_port, pin_tree, stop, vm_rss_kib
from tools import Skip, compile_programs, log, pin_cpu, run_load_client

QUICK = bool(os.environ.get("BENCH_QUICK"))
ROUND_SECONDS = 2 if QUICK else 5
ROUNDS = 1 if QUICK else 3
WARMUP_SECONDS = 1
WINDOW = 64
SERVER_CORE, LOAD_CORE = 0, 1
GOAL_VS_ECHO = 0.50
ECHO_LIFETIME_SECONDS = 300
TIME_BUDGET_SECONDS = 180

PROGRAMS = ("udp_echo", "udp_load")


def wait_udp_reply(port: int, payload: bytes, timeout: float = 15.0) -> bytes:
    """Send ``payload`` to ``127.0.0.1:port`` until a reply comes; the reply."""
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.2)
        while time.monotonic() < deadline:
            sock.sendto(payload, ("127.0.0.1", port))
            try:
                return sock.recv(2048)
            except (TimeoutError, ConnectionRefusedError):
                continue
    raise TimeoutError(f"no UDP reply from 127.0.0.1:{port} within {timeout:g}s")


def load(client: Path, port: int, payload: bytes, expect: bytes, seconds: float,
         server_pid: int) -> dict[str, Any]:
    """One round of the C client; its figures plus the server's CPU µs per reply."""
    before = cpu_seconds(server_pid)
    out, err = run_load_client([str(client), str(port), f"{seconds:g}", str(WINDOW),
                                payload.decode(), expect.decode()], seconds, LOAD_CORE)
    spent = cpu_seconds(server_pid) - before
    figures: dict[str, Any] = json.loads(out)
    figures["expected_per_s"] = round(figures["expected"] / figures["seconds"])
    figures["server_cpu_us_per_reply"] = round(spent / max(figures["replies"], 1) * 1e6, 2)
    unexpected = err.partition("first unexpected reply: ")[2].strip()
    if unexpected:
        figures["first_unexpected_reply"] = unexpected[:400]
    return figures


def medians(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    return {"replies_per_s": round(statistics.median(r["expected_per_s"] for r in rounds)),
            "server_cpu_us_per_reply": round(statistics.median(
                r["server_cpu_us_per_reply"] for r in rounds), 2),
            "unexpected_replies": sum(r["replies"] - r["expected"] for r in rounds),
            "lost": sum(r["lost"] for r in rounds)}


def request_forms(key: str) -> dict[str, tuple[bytes, bytes]]:
    """Form → (request datagram, text every good reply contains)."""
    return {"json": (json.dumps({"api_key": key, "asset": "btc"}, separators=(",", ":")).encode(),
                     b'"status_code":200'),
            "text": (f"{key}|btc".encode(), b"BTC|")}


def measure_form(client: Path, targets: dict[str, tuple[int, int]], payload: bytes,
                 expect: bytes, form: str) -> dict[str, Any]:
    """Alternating rounds of one request form against every target (name → port, pid)."""
    for port, pid in targets.values():
        load(client, port, payload, expect, WARMUP_SECONDS, pid)
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
    for index in range(ROUNDS):
        for name, (port, pid) in targets.items():
            wanted = expect if name == "ours" else payload  # the echo answers the request
            rounds[name].append(load(client, port, payload, wanted, ROUND_SECONDS, pid))
            log(f"udp_price: {form} round {index + 1} {name}: "
                f"{rounds[name][-1]['expected_per_s']}/s")
    sides: dict[str, dict[str, Any]] = {name: {"rounds": r, "median": medians(r)}
                                        for name, r in rounds.items()}
    ours, echo = sides["ours"]["median"], sides["echo"]["median"]
    ratio = round(ours["replies_per_s"] / echo["replies_per_s"], 3)
    return {"request_bytes": len(payload), "sides": sides, "ratio_ours_vs_echo": ratio,
            "cpu_capacity_ours_vs_echo": round(
                echo["server_cpu_us_per_reply"] / ours["server_cpu_us_per_reply"], 3),
            "goal": GOAL_VS_ECHO, "goal_met": ratio >= GOAL_VS_ECHO}


def measure(directory: Path, programs: dict[str, Path]) -> dict[str, Any]:
    echo_port = free_udp_port()
    echo = subprocess.Popen([str(programs["udp_echo"]), str(echo_port),
                             str(ECHO_LIFETIME_SECONDS)])
    try:
        pin_cpu(echo.pid, SERVER_CORE)
        wait_udp_reply(echo_port, b"ping")
        with beast_server(directory / "beast") as node:
            forms = request_forms(node.keys["partner"])
            replies = {form: wait_udp_reply(node.udp_port, payload).decode()
                       for form, (payload, _) in forms.items()}
            pin_tree(node.process.pid, SERVER_CORE)
            targets = {"ours": (node.udp_port, node.process.pid), "echo": (echo_port, echo.pid)}
            results = {form: measure_form(programs["udp_load"], targets, payload, expect, form)
                       for form, (payload, expect) in forms.items()}
            for form, reply in replies.items():
                results[form]["reply"] = reply
                results[form]["reply_bytes"] = len(reply.encode())
            rss = vm_rss_kib(node.process.pid)
    finally:
        stop(echo)
    return {"forms": results, "ours_rss_kib_after_load": rss}


def main() -> dict[str, Any]:
    if len(os.sched_getaffinity(0)) < 2:
        raise Skip("needs two cores: one for the servers, one for the load client")
    directory = Path(tempfile.mkdtemp(prefix="udp-price-"))
    (directory / "beast").mkdir()
    try:
        programs = compile_programs(directory, PROGRAMS)
        measured = measure(directory, programs)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    setup = {"window": WINDOW, "round_seconds": ROUND_SECONDS, "rounds": ROUNDS,
             "server_core": SERVER_CORE, "load_core": LOAD_CORE, "compiler": _gcc_version()}
    return {"setup": setup, **measured}


def _gcc_version() -> str:
    done = subprocess.run(["gcc", "--version"], capture_output=True, text=True, check=False)
    return done.stdout.splitlines()[0] if done.stdout else "unknown"


def summary(result: dict[str, Any]) -> str:
    setup = result["setup"]
    rows = ["| request | ours replies/s | C echo replies/s | ours ÷ echo | goal | met? | "
            "ours CPU µs/reply | echo CPU µs/reply | ours ÷ echo per CPU-second |",
            "|---|---:|---:|---:|---|---|---:|---:|---:|"]
    for form, figures in result["forms"].items():
        ours, echo = figures["sides"]["ours"]["median"], figures["sides"]["echo"]["median"]
        met = "yes" if figures["goal_met"] else "**no**"
        rows.append(f"| {form} ({figures['request_bytes']} B → {figures['reply_bytes']} B) | "
                    f"{ours['replies_per_s']:,} | {echo['replies_per_s']:,} | "
                    f"{figures['ratio_ours_vs_echo']:g} | ≥ {figures['goal']:g} | {met} | "
                    f"{ours['server_cpu_us_per_reply']:g} | {echo['server_cpu_us_per_reply']:g} "
                    f"| {figures['cpu_capacity_ours_vs_echo']:g} |")
    odd = {form: f["sides"]["ours"]["median"]["unexpected_replies"] + f["sides"]["ours"][
        "median"]["lost"] for form, f in result["forms"].items()}
    rows += ["", f"Medians of {setup['rounds']} alternating rounds of {setup['round_seconds']} s; "
             f"{setup['window']} requests in flight; servers on core {setup['server_core']}, "
             f"load client on core {setup['load_core']}. Our replies that were not the expected "
             f"answer, or lost: {odd}. Our RSS after the load: "
             f"{result['ours_rss_kib_after_load'] / 1024:.0f} MiB."]
    return "\n".join(rows)


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
