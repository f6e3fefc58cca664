"""Run the benchmarks in bench/ (all, or those named), each in its own bounded process.

    python bench/run_all.py                 # every benchmark
    python bench/run_all.py feeds_parse     # a subset, by module name
    python bench/run_all.py --quick         # short measurements (checks the harness, not speed)
    python bench/run_all.py --list

Each run (not ``--quick`` ones) is appended to ``bench/results/<UTC date>.json`` together with
the machine's details, and a Markdown summary is printed. The conventions a benchmark module
follows are in ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
HELPERS = frozenset({"run_all", "machine", "tools"})
"""Modules of bench/ that are not benchmarks (as are those whose name starts with ``_``)."""
DEFAULT_BUDGET_SECONDS = 300.0
TOTAL_BUDGET_SECONDS = 1800.0
RESULT_MARKER = "@@bench-result@@ "


def discover() -> list[str]:
    return sorted(path.stem for path in BENCH_DIR.glob("*.py")
                  if path.stem not in HELPERS and not path.stem.startswith("_"))


def _module_facts(name: str) -> tuple[bool, float]:
    """Whether the module defines ``main()``, and its ``TIME_BUDGET_SECONDS`` (read, not run)."""
    tree = ast.parse((BENCH_DIR / f"{name}.py").read_text(encoding="utf-8"))
    has_main, budget = False, DEFAULT_BUDGET_SECONDS
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "main":
            has_main = True
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "TIME_BUDGET_SECONDS"
            for target in node.targets
        ):
            budget = float(ast.literal_eval(node.value))
    return has_main, budget


def _child(name: str) -> int:
    """In the benchmark's own process: run ``main()`` and print the marked result line."""
    sys.path.insert(0, str(BENCH_DIR))
    module = importlib.import_module(name)
    tools = importlib.import_module("tools")
    try:
        result = module.main()
    except tools.Skip as skip:
        print(RESULT_MARKER + json.dumps({"skipped": str(skip)}), flush=True)
        return 0
    summary = getattr(module, "summary", None)
    markdown = summary(result) if callable(summary) else None
    print(RESULT_MARKER + json.dumps({"result": result, "markdown": markdown}), flush=True)
    return 0


def _last_json(stdout: str, marker: str | None) -> dict[str, Any] | None:
    """The last JSON object printed (on a line starting with ``marker``, when given)."""
    for line in reversed(stdout.splitlines()):
        if marker is not None:
            if not line.startswith(marker):
                continue
            line = line[len(marker):]
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _load_average() -> list[float]:
    """1, 5 and 15 minute load: anything else running skews a benchmark on a small machine."""
    return [round(load, 2) for load in os.getloadavg()]


def _kill_group(process: subprocess.Popen[str]) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate()


def run_one(name: str, timeout: float, env: dict[str, str]) -> dict[str, Any]:
    has_main, _ = _module_facts(name)
    command = ([sys.executable, __file__, "--child", name] if has_main
               else [sys.executable, str(BENCH_DIR / f"{name}.py")])
    started = time.monotonic()
    entry: dict[str, Any] = {"started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                             "load_average_before": _load_average()}
    # Its own session, so that on timeout the servers it started (nginx, uvicorn…) go too.
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        stdout, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        entry.update(status="timeout", error=f"stopped after its budget of {timeout:.0f}s")
    except BaseException:  # Ctrl-C: do not leave the benchmark running on its own
        _kill_group(process)
        raise
    else:
        parsed = _last_json(stdout, RESULT_MARKER if has_main else None)
        if process.returncode != 0 or parsed is None:
            entry.update(status="failed", error=f"exit {process.returncode}; no result"
                         if parsed is None else f"exit {process.returncode}")
        elif "skipped" in parsed and has_main:
            entry.update(status="skipped", reason=parsed["skipped"])
        elif has_main:
            entry.update(status="ok", result=parsed["result"], markdown=parsed["markdown"])
        else:
            entry.update(status="ok", result=parsed, markdown=None)
    entry["seconds"] = round(time.monotonic() - started, 1)
    entry["load_average_after"] = _load_average()
    return entry


def save(run: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{datetime.now(UTC).date().isoformat()}.json"
    history = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"runs": []}
    history["runs"].append(run)
    path.write_text(json.dumps(history, indent=2) + "\n", encoding="utf-8")
    return path


def summary_markdown(run: dict[str, Any]) -> str:
    machine = importlib.import_module("machine")
    parts = ["## Machine", "", machine.markdown(run["machine"]), ""]
    for name, entry in run["benchmarks"].items():
        load = entry.get("load_average_before", [0.0])[0]
        parts += [f"## {name} ({entry['status']}, {entry['seconds']} s, load {load} before)", ""]
        if entry["status"] == "ok":
            raw = json.dumps(entry["result"], indent=2)
            parts.append(entry["markdown"] or f"```json\n{raw}\n```")
        else:
            parts.append(entry.get("reason") or entry.get("error") or "")
        parts.append("")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help="benchmark modules to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="short measurements (BENCH_QUICK=1)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args.child)
    available = discover()
    if args.list:
        print("\n".join(available))
        return 0
    unknown = sorted(set(args.names) - set(available))
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; available: {available}")
    sys.path.insert(0, str(BENCH_DIR))
    run: dict[str, Any] = {"machine": importlib.import_module("machine").collect(),
                           "quick": args.quick, "benchmarks": {}}
    env = {**os.environ, **({"BENCH_QUICK": "1"} if args.quick else {})}
    deadline = time.monotonic() + TOTAL_BUDGET_SECONDS
    for name in args.names or available:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            run["benchmarks"][name] = {"status": "skipped", "seconds": 0.0,
                                       "reason": "the run's total time budget was used up"}
            continue
        print(f"run_all: {name}", file=sys.stderr, flush=True)
        run["benchmarks"][name] = run_one(name, min(_module_facts(name)[1], remaining), env)
    print(summary_markdown(run))
    if args.quick:
        print("\n(quick run: harness check only, not saved)")
    else:
        print(f"\nResults: {save(run).relative_to(ROOT)}")
    return 1 if any(e["status"] in {"failed", "timeout"} for e in run["benchmarks"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
