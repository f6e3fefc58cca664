"""A byte-level HTTP/1.1 client for the server tests: write exact bytes, read exact answers."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

WAIT = 5.0
"""Seconds any single read may take before a test fails; generous on purpose."""


@dataclass
class RawResponse:
    status: int
    reason: str
    headers: dict[str, str]
    body: bytes
    head: bytes
    header_names: list[str] = field(default_factory=list)

    def json_text(self) -> str:
        return self.body.decode()


class RawClient:
    """One TCP connection to the server under test."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int) -> RawClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def response(self, *, head_only: bool = False) -> RawResponse:
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), WAIT)
        status_line, *lines = head.decode("latin-1").split("\r\n")[:-2]
        version, status, reason = status_line.split(" ", 2)
        assert version == "HTTP/1.1"
        headers: dict[str, str] = {}
        names: list[str] = []
        for line in lines:
            name, _, value = line.partition(":")
            names.append(name)
            headers[name.lower()] = value.strip()
        body = b""
        if not head_only and "content-length" in headers:
            length = int(headers["content-length"])
            body = await asyncio.wait_for(self.reader.readexactly(length), WAIT)
        return RawResponse(int(status), reason, headers, body, head, names)

    async def read_to_end(self) -> bytes:
        """Everything until the server closes the connection."""
        return await asyncio.wait_for(self.reader.read(), WAIT)

    async def closed_by_server(self) -> bool:
        """Whether the server closed (EOF or reset) with nothing more to read."""
        try:
            rest = await asyncio.wait_for(self.reader.read(), WAIT)
        except ConnectionResetError:
            return True
        return rest == b""

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()


def get(path: str = "/", *headers: str, version: str = "1.1", method: str = "GET") -> bytes:
    """The bytes of a body-less request; ``headers`` are ``"Name: value"`` lines."""
    lines = [f"{method} {path} HTTP/{version}", "Host: test", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def post(path: str, body: bytes, *headers: str) -> bytes:
    head = get(path, f"Content-Length: {len(body)}", *headers, method="POST")
    return head + body
