"""Helpers every benchmark may use: system packages, CPU pinning, ports, and wrk.

Benchmarks load only this machine's loopback: :func:`run_wrk` refuses any other host.
A benchmark that cannot run here (a tool missing and not installable) raises :class:`Skip`;
``run_all.py`` records it as skipped, with the reason, instead of failing the whole run.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
C_DIR = Path(__file__).resolve().parent / "c"
_APT_ENV = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
_apt_updated = False


class Skip(Exception):
    """This benchmark cannot run on this machine; the message says why."""


def log(message: str) -> None:
    """Progress goes to stderr: stdout is reserved for the result (see README.md)."""
    print(message, file=sys.stderr, flush=True)


def _installed(package: str) -> bool:
    if shutil.which("dpkg-query") is None:
        return False
    probe = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package],
                           capture_output=True, text=True, check=False)
    return probe.returncode == 0 and probe.stdout.strip() == "install ok installed"


def ensure_apt(packages: Sequence[str]) -> None:
    """Install the Debian ``packages`` that are missing (``apt-get update`` once, then
    ``apt-get install -y``). Raises :class:`Skip` saying why when that is not possible."""
    global _apt_updated
    missing = [package for package in packages if not _installed(package)]
    if not missing:
        return
    if shutil.which("apt-get") is None:
        raise Skip(f"missing Debian packages {missing} and there is no apt-get on this machine")
    if os.geteuid() != 0:
        raise Skip(f"missing Debian packages {missing}; install them as root: "
                   f"apt-get install -y {' '.join(missing)}")
    steps = [] if _apt_updated else [["apt-get", "update", "-q"]]
    steps.append(["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing])
    for step in steps:
        log(f"tools: {' '.join(step)}")
        done = subprocess.run(step, capture_output=True, text=True, env=_APT_ENV, check=False,
                              timeout=600)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise Skip(f"`{' '.join(step)}` failed ({done.returncode}): {' | '.join(tail)}")
        _apt_updated = _apt_updated or step[1] == "update"
    still = [package for package in missing if not _installed(package)]
    if still:
        raise Skip(f"Debian packages {still} are still missing after apt-get install")


def compile_programs(directory: Path, names: Sequence[str]) -> dict[str, Path]:
    """``gcc -O2`` each of ``bench/c/<name>.c`` into ``directory``; name → binary."""
    if shutil.which("gcc") is None:
        ensure_apt(["gcc", "libc6-dev"])
    built = {}
    for name in names:
        binary = directory / name
        done = subprocess.run(["gcc", "-O2", "-Wall", "-o", str(binary), str(C_DIR / f"{name}.c")],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise Skip(f"gcc cannot build {name}.c: {done.stderr.strip()[-300:]}")
        built[name] = binary
    return built


def pin_cpu(pid: int, core: int) -> bool:
    """Run process ``pid`` (0 = this one) on CPU ``core`` only; False (and a note) if it can't."""
    try:
        os.sched_setaffinity(pid, {core})
    except (OSError, ValueError) as exc:
        log(f"tools: cannot pin pid {pid} to core {core}: {exc}")
        return False
    return True


def usable_cores() -> list[int]:
    """The CPUs this process may run on, in order."""
    return sorted(os.sched_getaffinity(0))


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now (bind to port 0 and ask)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def wait_port(port: int, host: str = "127.0.0.1", timeout: float = 10.0) -> None:
    """Block until something accepts TCP connections on ``host:port``; raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:g}s") from None
            time.sleep(0.05)


def require_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if host not in LOOPBACK_HOSTS:
        raise ValueError(f"benchmarks load only this machine's loopback, not {host!r}")


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_DURATION = re.compile(r"([\d.]+)(us|ms|s|m|h)$")


def _ms(text: str) -> float:
    """wrk's ``123.45us`` / ``2.00ms`` / ``1.20s`` as milliseconds."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise ValueError(f"not a wrk duration: {text!r}")
    return round(float(match.group(1)) * _UNIT_MS[match.group(2)], 6)


def parse_wrk(output: str) -> dict[str, Any]:
    """The figures of ``wrk --latency`` output: requests/s, latency (ms) avg/max/percentiles,
    request count, non-2xx/3xx answers and socket errors."""
    result: dict[str, Any] = {"latency_ms": {}, "non_2xx_3xx": 0,
                              "socket_errors": {"connect": 0, "read": 0, "write": 0, "timeout": 0}}
    latency = result["latency_ms"]
    for raw in output.splitlines():
        line = raw.strip()
        fields = line.split()
        if line.startswith("Latency") and len(fields) >= 4:
            latency["avg"], latency["max"] = _ms(fields[1]), _ms(fields[3])
        elif re.fullmatch(r"\d+(\.\d+)?% +\S+", line):
            latency[f"p{fields[0].rstrip('%').removesuffix('.000')}"] = _ms(fields[1])
        elif " requests in " in line:
            result["requests"] = int(fields[0])
            result["duration_s"] = _ms(fields[3].rstrip(",")) / 1000
        elif line.startswith("Requests/sec:"):
            result["requests_per_s"] = float(fields[1])
        elif line.startswith("Non-2xx or 3xx responses:"):
            result["non_2xx_3xx"] = int(fields[-1])
        elif line.startswith("Socket errors:"):
            for name, count in re.findall(r"(connect|read|write|timeout) (\d+)", line):
                result["socket_errors"][name] = int(count)
    if "requests_per_s" not in result:
        raise ValueError(f"wrk printed no Requests/sec line:\n{output[-500:]}")
    return result


def run_load_client(command: Sequence[str], seconds: float,
                    core: int | None = None) -> tuple[str, str]:
    """Run a load generator that stops by itself after about ``seconds``, pinned to ``core``;
    its stdout and stderr. Raises when it exits non-zero or runs 30 s past ``seconds``."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if core is not None:
        pin_cpu(process.pid, core)
    try:
        out, err = process.communicate(timeout=seconds + 30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    if process.returncode != 0:
        name = Path(command[0]).name
        raise RuntimeError(f"{name} exited {process.returncode}: {err.strip()[-300:]}")
    return out, err


def run_wrk(url: str, seconds: float, connections: int = 50, threads: int = 1,
            core: int | None = None, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Load ``url`` (loopback only) with wrk for ``seconds``; return :func:`parse_wrk`'s figures
    plus the command. ``core`` pins wrk to one CPU (keep the server on another)."""
    require_loopback(url)
    ensure_apt(["wrk"])
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
               "--latency", "--timeout", "5s"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    command.append(url)
    out, _ = run_load_client(command, seconds, core)
    result = parse_wrk(out)
    result.update(command=" ".join(command), wrk_core=core)
    return result
