"""The open loop of `make bench`'s HTTP run: when each client's requests are due."""

import asyncio
import itertools

import pytest

from ledgerdesk.bench.api import Pace, _load


def test_the_clients_share_the_rate_evenly_one_due_time_each() -> None:
    clients, rate, origin = 16, 400.0, 100.0
    paces = [Pace(rate, origin, clients, i) for i in range(clients)]
    due = sorted(pace.due(n) for pace in paces for n in range(1, 51))
    assert len(due) == len(set(due)) == 800
    assert due[0] == origin
    gaps = {round(later - earlier, 9) for earlier, later in itertools.pairwise(due)}
    assert gaps == {round(1 / rate, 9)}  # 2.5 ms apart: 400 a second over all clients
    # Each client: one every 40 ms.
    assert paces[3].due(2) - paces[3].due(1) == pytest.approx(clients / rate)


def test_a_client_behind_schedule_still_sends_every_request_due_and_is_charged_the_wait() -> None:
    """Against a loopback server answering in 50 ms, 2 clients can answer 40 a second: at 100
    a second for 0.5 s, all 50 requests due are sent (late), and their latencies grow with
    the backlog instead of staying at the server's 50 ms."""

    async def scenario() -> tuple[list[float], list[int]]:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                await reader.readexactly(length)
                await asyncio.sleep(0.05)
                writer.write(b"HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()

        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            latencies, errors, _ = await _load(f"http://127.0.0.1:{port}", "t", 2, 0.5, rate=100)
        return latencies, errors

    latencies, errors = asyncio.run(scenario())
    assert (len(latencies), errors) == (50, [])
    assert max(latencies) > 0.5  # the last was due near 0.5 s and answered near 1.25 s
