"""nginx as a static reference: one worker answering one fixed body with ``return 200``.

The Debian package's binary is used with a configuration generated in a temporary directory
(pid file, error log and temp paths inside it), so nothing of the system's nginx setup is read
or touched. ``access_log off`` and a keep-alive that never runs out of requests
(``keepalive_requests``; nginx's default of 1,000 would make wrk reconnect) give nginx its
best case for a small answer.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tools import ensure_apt, wait_port

NGINX = "/usr/sbin/nginx"

_CONFIG = """\
daemon off;
master_process on;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location = {path} {{
            default_type application/json;
            return 200 '{body}';
        }}
    }}
}}
"""


def nginx_string(body: bytes) -> str:
    """``body`` as the inside of a single-quoted nginx string. nginx has no escape for ``$``
    (it would start a variable), so a body containing one is refused."""
    text = body.decode("utf-8")
    if "$" in text:
        raise ValueError("nginx cannot return a literal '$' with `return`; change the body")
    return text.replace("\\", "\\\\").replace("'", "\\'")


def write_config(directory: Path, port: int, path: str, body: bytes) -> Path:
    config = directory / "nginx.conf"
    config.write_text(_CONFIG.format(dir=directory, port=port, path=path,
                                     body=nginx_string(body)), encoding="utf-8")
    return config


def start_nginx(directory: Path, port: int, path: str, body: bytes) -> subprocess.Popen[bytes]:
    """nginx in the foreground (master + one worker) on ``127.0.0.1:port``, answering ``GET
    path`` with ``body``; the caller stops it (``terminate`` makes nginx exit at once)."""
    ensure_apt(["nginx"])
    config = write_config(directory, port, path, body)
    command = [NGINX, "-p", str(directory), "-c", str(config), "-e", str(directory / "error.log")]
    check = subprocess.run([*command, "-t", "-q"], capture_output=True, text=True, check=False)
    if check.returncode != 0:
        raise RuntimeError(f"nginx refused the generated config: {check.stderr.strip()[-300:]}")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
    except TimeoutError:
        process.kill()
        raise
    return process
