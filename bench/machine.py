"""The details of the machine a benchmark ran on, recorded next to every result.

Speed figures mean nothing without them: CPU model and count, memory, kernel, hypervisor,
Python and the versions of the libraries on the hot path, and the git commit measured.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("uvloop", "msgspec", "httptools", "websockets", "aiohttp", "cryptofeed", "fastapi",
            "uvicorn")


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError:
        return ""


def _field(text: str, name: str) -> str | None:
    match = re.search(rf"^{re.escape(name)}\s*:\s*(.+)$", text, re.MULTILINE)
    return match.group(1).strip() if match else None


def _os_name() -> str:
    match = re.search(r'^PRETTY_NAME="?([^"\n]+)"?$', _read("/etc/os-release"), re.MULTILINE)
    return match.group(1) if match else platform.platform()


def _hypervisor() -> str | None:
    flags = _field(_read("/proc/cpuinfo"), "flags") or ""
    if "hypervisor" not in flags.split():
        return None
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10,
                               check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        lscpu = ""
    vendor = _field(lscpu, "Hypervisor vendor") or _read("/sys/class/dmi/id/sys_vendor").strip()
    return vendor or "yes (vendor unknown)"


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True,
                              timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def collect() -> dict[str, Any]:
    cpuinfo = _read("/proc/cpuinfo")
    mem_kb = _field(_read("/proc/meminfo"), "MemTotal")
    commit = _git("rev-parse", "HEAD")
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "collected_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu_model": _field(cpuinfo, "model name") or platform.processor() or "unknown",
        "cpu_mhz": _field(cpuinfo, "cpu MHz"),
        "logical_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "memory_gib": round(int(mem_kb.split()[0]) / 1024 / 1024, 1) if mem_kb else None,
        "hypervisor": _hypervisor(),
        "os": _os_name(),
        "kernel": platform.release(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "packages": {name: _version(name) for name in PACKAGES},
        "git_commit": commit,
        "git_dirty": bool(dirty) if dirty is not None else None,
    }


def markdown(info: dict[str, Any]) -> str:
    packages = ", ".join(f"{name} {version}" for name, version in info["packages"].items()
                         if version)
    commit = info["git_commit"] or "unknown"
    if info["git_dirty"]:
        commit += " (with uncommitted changes)"
    rows = [
        ("CPU", f"{info['cpu_model']} @ {info['cpu_mhz']} MHz, {info['logical_cores']} logical "
                f"cores ({info['usable_cores']} usable)"),
        ("Memory", f"{info['memory_gib']} GiB"),
        ("Virtualisation", info["hypervisor"] or "none detected"),
        ("OS / kernel", f"{info['os']} / Linux {info['kernel']}"),
        ("Python", info["python"]),
        ("Packages", packages),
        ("Commit", commit),
        ("Collected", info["collected_at"]),
    ]
    return "\n".join(["| | |", "|---|---|", *(f"| {key} | {value} |" for key, value in rows)])


if __name__ == "__main__":
    print(markdown(collect()))
