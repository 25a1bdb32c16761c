"""Real-socket fakes for the gateway tests: a tiny HTTP/1.1 origin and a raw keep-alive client.

Both are written independently of the gateway's own parser so a parsing bug cannot cancel itself out.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import ssl
from typing import Any

from canaria.config import CanariaConfig


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_config(
    state_dir: str, stable_url: str, canary_url: str, *, service: str = "shop", **gateway: Any
) -> CanariaConfig:
    return CanariaConfig.model_validate(
        {
            "service": service,
            "state_dir": state_dir,
            "platform": {"kind": "local", "stable": {"url": stable_url}, "canary": {"url": canary_url}},
            "gateway": {
                "listen": "127.0.0.1:0",
                "admin_listen": "127.0.0.1:0",
                "admin_token": "s3cret",
                **gateway,
            },
        }
    )


async def _read_head(reader: asyncio.StreamReader) -> tuple[str, dict[str, str]]:
    raw = await reader.readuntil(b"\r\n\r\n")
    lines = raw.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            key = name.strip().lower()
            headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    return lines[0], headers


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":
                    pass
                return body
            body += await reader.readexactly(size)
            await reader.readexactly(2)
    length = int(headers.get("content-length", "0"))
    return await reader.readexactly(length) if length else b""


class FakeUpstream:
    """An origin whose behaviour is picked by path: /chunked, /slow, /status/N, /close, /hop, /big,
    /truncated; anything else answers JSON describing the request it received."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.requests = 0
        self.connections = 0
        self.last_headers: dict[str, str] = {}
        #: when set, the next request arriving on an already-used connection is dropped unanswered
        #: (what a keep-alive timeout racing a new request looks like from the gateway)
        self.drop_next_reused = False
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0
        self.scheme = "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    async def start(self, port: int = 0, *, tls: ssl.SSLContext | None = None) -> FakeUpstream:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port, ssl=tls)
        self.scheme = "https" if tls else "http"
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        served = 0
        try:
            while True:
                try:
                    request_line, headers = await _read_head(reader)
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                body = await _read_body(reader, headers)
                if served and self.drop_next_reused:
                    self.drop_next_reused = False
                    return
                served += 1
                self.requests += 1
                self.last_headers = headers
                method, target, _ = request_line.split(" ")
                if not await self._respond(writer, method, target, headers, body):
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _respond(
        self, writer: asyncio.StreamWriter, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> bool:
        path = target.split("?")[0]
        variant = f"X-Served-By: {self.name}\r\n"
        if path == "/chunked":
            writer.write(f"HTTP/1.1 200 OK\r\n{variant}Transfer-Encoding: chunked\r\n\r\n".encode())
            for i in range(10):
                piece = f"part-{i}\n".encode() * 100
                writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                await writer.drain()
                await asyncio.sleep(0.002)
            writer.write(b"0\r\n\r\n")
            return True
        if path == "/slow":
            await asyncio.sleep(1.0)
        if path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[1])
            writer.write(f"HTTP/1.1 {code} Custom\r\n{variant}Content-Length: 0\r\n\r\n".encode())
            return True
        if path == "/close":
            writer.write(
                f"HTTP/1.1 200 OK\r\n{variant}Connection: close\r\n\r\n".encode() + b"until-close" * 50
            )
            await writer.drain()
            return False
        if path == "/truncated":  # promises more than it sends, then hangs up
            writer.write(
                f"HTTP/1.1 200 OK\r\n{variant}Content-Length: 100000\r\n\r\n".encode() + b"x" * 70000
            )
            await writer.drain()
            return False
        if path == "/huge":  # more than the loopback socket buffers hold: 16 MiB
            piece = bytes(range(256)) * 4096
            writer.write(f"HTTP/1.1 200 OK\r\n{variant}Content-Length: {16 * len(piece)}\r\n\r\n".encode())
            for _ in range(16):
                writer.write(piece)
                await writer.drain()
            return True
        if path == "/big":
            payload = bytes(range(256)) * 4096  # 1 MiB
            writer.write(
                f"HTTP/1.1 200 OK\r\n{variant}Content-Length: {len(payload)}\r\n\r\n".encode() + payload
            )
            await writer.drain()
            return True
        extra = ""
        if path == "/hop":
            extra = (
                "Connection: X-Secret-Hop\r\nX-Secret-Hop: 1\r\nKeep-Alive: timeout=5\r\n"
                "Proxy-Authenticate: Basic\r\nTrailer: X-Checksum\r\nUpgrade: h2c\r\nX-End-To-End: yes\r\n"
            )
        payload = json.dumps(
            {
                "variant": self.name,
                "method": method,
                "target": target,
                "headers": headers,
                "body_len": len(body),
                "body_sha256": hashlib.sha256(body).hexdigest(),
            }
        ).encode()
        head = f"HTTP/1.1 200 OK\r\n{variant}{extra}Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        writer.write(head.encode() + (payload if method != "HEAD" else b""))
        await writer.drain()
        return headers.get("connection", "").lower() != "close"


class RawClient:
    """A minimal keep-alive HTTP/1.1 client: fast enough to push thousands of requests in a test."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self.connects = 0

    async def request(
        self, method: str = "GET", path: str = "/", headers: dict[str, str] | None = None, body: bytes = b""
    ) -> tuple[int, dict[str, str], bytes]:
        if self._writer is None or self._writer.is_closing():
            self._reader, self._writer = await asyncio.open_connection("127.0.0.1", self.port)
            self.connects += 1
        assert self._reader is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body:
            lines.append(f"Content-Length: {len(body)}")
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        status_line, response_headers = await _read_head(self._reader)
        status = int(status_line.split(" ")[1])
        if method == "HEAD" or status in (204, 304):
            data = b""
        elif "content-length" in response_headers or "transfer-encoding" in response_headers:
            data = await _read_body(self._reader, response_headers)
        else:
            data = await self._reader.read()
        if response_headers.get("connection", "").lower() == "close":
            await self.close()
        return status, response_headers, data

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except ConnectionError:
                pass
            self._writer = None
