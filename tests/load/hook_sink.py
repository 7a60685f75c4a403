#!/usr/bin/python3
"""A webhook receiver for tests/load/bench-webhooks.sh: answers every POST
with 204 at once and counts them (the count is printed on SIGTERM and written
to the file given as the third argument every 0.2 s). Usage:
hook_sink.py ADDR PORT COUNT_FILE"""
import asyncio
import signal
import sys

count = 0


async def serve(reader, writer):
    global count
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
            count += 1
            writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    writer.close()


async def report(path):
    while True:
        with open(path, "w") as f:
            f.write(str(count))
        await asyncio.sleep(0.2)


async def main():
    server = await asyncio.start_server(serve, sys.argv[1], int(sys.argv[2]), backlog=512)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    task = asyncio.create_task(report(sys.argv[3]))
    async with server:
        await stop.wait()
    task.cancel()
    with open(sys.argv[3], "w") as f:
        f.write(str(count))


asyncio.run(main())
