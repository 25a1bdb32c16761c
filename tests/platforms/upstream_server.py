"""A tiny HTTP/1.1 keep-alive origin run as its own process by the proxy tests.

`python upstream_server.py PORT NAME [ERROR_RATE]`: answers every request with its NAME (500 with
probability ERROR_RATE), `/health` with 200, and `/__count` with how many other requests it served and when the last one was —
so a test measures the split where it happens, at the upstreams.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time

COUNT = 0
LAST = 0.0  # wall-clock time of the last request served (the bench's 'last canary request')


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, name: str, error_rate: float) -> None:
    global COUNT, LAST
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            line = head.split(b"\r\n", 1)[0].decode()
            path = line.split(" ")[1] if " " in line else "/"
            status = 200
            if path == "/__count":
                body = json.dumps({"name": name, "count": COUNT, "last": LAST}).encode()
            elif path == "/health":
                body = b'{"status":"ok"}'
            else:
                COUNT += 1
                LAST = time.time()
                if error_rate and random.random() < error_rate:
                    status = 500
                body = name.encode()
            reason = b"OK" if status == 200 else b"Internal Server Error"
            writer.write(b"HTTP/1.1 %d %s\r\nContent-Length: %d\r\nContent-Type: text/plain\r\n\r\n%s"
                         % (status, reason, len(body), body))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def main() -> None:
    port, name = int(sys.argv[1]), sys.argv[2]
    error_rate = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    server = await asyncio.start_server(lambda r, w: handle(r, w, name, error_rate), "127.0.0.1", port,
                                        reuse_address=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
