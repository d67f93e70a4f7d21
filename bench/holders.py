#!/usr/bin/env python3
"""bench/holders.py PORT N VERSION EXECUTOR READY_FILE: N pods holding on GET /v1/hold at once.

Opens N connections, each long-polling /v1/hold?version=VERSION&executor=EXECUTOR&timeout=60 and
asking again after each 409 (bound passed), as the preStop snippets do. Writes READY_FILE once all
N are sent. On SIGUSR1 it takes that moment as "the version became safe" and, once every holder
got its 200, prints: holders=N released=K release_p50_ms=.. release_max_ms=.. (from SIGUSR1).
"""
import selectors, signal, socket, sys, time

port, n, version, executor, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
req = (f"GET /v1/hold?version={version}&executor={executor}&timeout=60 HTTP/1.1\r\n"
       f"Host: 127.0.0.1\r\n\r\n").encode()
sel = selectors.DefaultSelector()
t0 = None
def on_usr1(*_):
    global t0
    t0 = time.monotonic()
signal.signal(signal.SIGUSR1, on_usr1)
bufs, released = {}, {}
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(req)
    s.setblocking(False)
    bufs[s] = b""
    sel.register(s, selectors.EVENT_READ)
open(ready, "w").write("ready\n")
deadline = None
while len(released) < n:
    if t0 is not None and deadline is None:
        deadline = t0 + 120
    if deadline and time.monotonic() > deadline:
        break
    for key, _ in sel.select(timeout=0.2):
        s = key.fileobj
        try:
            data = s.recv(65536)
        except BlockingIOError:
            continue
        if not data:
            sel.unregister(s)
            released.setdefault(s, None)
            continue
        bufs[s] += data
        head, sep, rest = bufs[s].partition(b"\r\n\r\n")
        if not sep:
            continue
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        if len(rest) < length:
            continue
        bufs[s] = rest[length:]
        status = int(head.split(b" ")[1])
        if status == 200:
            released[s] = time.monotonic()
            sel.unregister(s)
        else:
            s.sendall(req)  # 409: bound passed, still held: ask again
ok = [t for t in released.values() if t is not None]
lat = sorted((t - t0) * 1000 for t in ok) if t0 else []
p50 = lat[len(lat) // 2] if lat else -1
mx = lat[-1] if lat else -1
print(f"holders={n} released={len(ok)} release_p50_ms={p50:.0f} release_max_ms={mx:.0f}")
