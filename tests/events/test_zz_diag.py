import asyncio
import gc
import tracemalloc

from tests.events.test_many_streams import (
    STREAMS,
    Served,
    _at,
    eventually,
    finished,
    open_raw,
    open_streams,
    submit,
    wait_for_status,
)


async def test_diag(served: Served) -> None:
    runtime, before = served.runtime, open_streams()
    tracemalloc.start(25)
    keeper = await open_raw(served.port, "/api/events")
    [warmup] = await submit(runtime, owner="local")
    await keeper.read_until(finished(warmup))
    gc.collect()
    s0 = tracemalloc.take_snapshot()
    clients = [await open_raw(served.port, "/api/events") for _ in range(STREAMS)]
    await eventually(lambda: _at(before + 1 + STREAMS))
    [sid] = await submit(runtime, owner="local")
    await wait_for_status(runtime, [sid], {"succeeded"})
    await asyncio.gather(*(c.read_until(finished(sid)) for c in clients))
    gc.collect()
    s1 = tracemalloc.take_snapshot()
    for client in clients:
        client.close()
    await eventually(lambda: _at(before + 1))
    await asyncio.sleep(1)
    gc.collect()
    s2 = tracemalloc.take_snapshot()
    out = open("/tmp/diag.txt", "w")
    for title, a, b in (("open", s0, s1), ("left", s0, s2)):
        out.write(f"== {title}\n")
        for stat in b.compare_to(a, "filename")[:25]:
            out.write(f"{stat}\n")
    out.write("== left traceback\n")
    for stat in s2.compare_to(s0, "traceback")[:8]:
        out.write(f"{stat}\n")
        for line in stat.traceback.format()[-14:]:
            out.write(line + "\n")
    tracemalloc.stop()
    keeper.close()
