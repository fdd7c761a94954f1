"""Hostile clients for ctrd's socket, for hostile_clients.sh.

usage: hostile_clients.py storm SOCKET CTRD_PID STOP_FILE READY_FILE
           --clients N --max-request-bytes B
       hostile_clients.py limit SOCKET --max-connections N

storm keeps N connections busy with bad behaviour until STOP_FILE
exists.  They send malformed JSON, lines over B bytes, truncated lines,
invalid UTF-8, deep nesting, NUL bytes, huge numbers and byte-by-byte
requests.  Some watch jobs and never read, some watch a job, shut down
their side and close, and some close at once.  Each bad request must get
the error code proto/API.md gives it.  Meanwhile a prober opens a fresh
connection every 50 ms, and each of its well-formed requests must get
its reply within PROBE_TIMEOUT seconds.  The script prints a JSON
summary line to stdout: ctrd's peak RSS in KiB and peak count of open
sockets, the counts of each behaviour run and the probe latencies.  It
touches READY_FILE once its clients have had time to connect.

limit fills ctrd's N connections, checks that each client over the limit
gets one too-many-connections line and is closed, and that a slot freed by
a closing client serves a new one.

Both exit 1 and list each failure on stderr when a check fails.
"""
import argparse
import asyncio
import contextlib
import json
import os
import socket
import sys
import time

PROBE_INTERVAL = 0.05
PROBE_TIMEOUT = 5.0
# ctrd replies to each request within this many seconds, even mid-storm.
REPLY_TIMEOUT = 10.0

failures = []
counts = {}


def fail(behaviour, message):
    failures.append(f"{behaviour}: {message}")


class Client:
    """One raw connection, read only when a read method is called."""

    def __init__(self, loop, sock):
        self.loop = loop
        self.sock = sock
        self.buffered = b""

    @classmethod
    async def connect(cls, path):
        """Connect, retrying while ctrd's listen backlog is full.

        A non-blocking connect to a Unix socket fails with EAGAIN then, and
        never completes later, which asyncio's sock_connect does not expect.
        """
        deadline = time.monotonic() + REPLY_TIMEOUT
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.setblocking(False)
            try:
                sock.connect(path)
                return cls(asyncio.get_running_loop(), sock)
            except BlockingIOError:
                sock.close()
                if time.monotonic() > deadline:
                    raise TimeoutError(f"backlog of {path} full for {REPLY_TIMEOUT} s")
                await asyncio.sleep(0.01)

    async def send(self, data):
        """Send `data`; return False when ctrd already closed the socket."""
        try:
            await self.loop.sock_sendall(self.sock, data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    async def read_line(self, timeout=REPLY_TIMEOUT):
        """Return the next line as an object, or None at end of file."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffered:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no line within {timeout} s")
            try:
                chunk = await asyncio.wait_for(
                    self.loop.sock_recv(self.sock, 65536), left)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                if self.buffered:
                    raise ValueError(f"unterminated line {self.buffered[:80]!r}")
                return None
            self.buffered += chunk
        line, self.buffered = self.buffered.split(b"\n", 1)
        return json.loads(line)

    async def read_reply(self, timeout=REPLY_TIMEOUT):
        """Return the next reply, skipping event lines, or None at EOF."""
        while True:
            message = await self.read_line(timeout)
            if message is None or "event" not in message:
                return message

    async def read_eof(self, timeout=REPLY_TIMEOUT):
        """Return whether ctrd closes the connection within `timeout`."""
        try:
            while await self.read_line(timeout) is not None:
                pass
            return True
        except (TimeoutError, ValueError):
            return False

    def close(self):
        self.sock.close()


@contextlib.asynccontextmanager
async def connected(path):
    """Yield a Client connected to `path`, closed on leaving."""
    client = await Client.connect(path)
    try:
        yield client
    finally:
        client.close()


def error_code(reply):
    if not isinstance(reply, dict):
        return None
    return (reply.get("error") or {}).get("code")


def expect_error(behaviour, reply, code, field=None):
    if error_code(reply) != code:
        fail(behaviour, f"expected error {code}, got {str(reply)[:200]}")
    elif field is not None and reply["error"].get("field") != field:
        fail(behaviour, f"expected field {field!r}, got {str(reply)[:200]}")


def expect_info(behaviour, reply, request_id):
    if not isinstance(reply, dict) or "version" not in (reply.get("result") or {}):
        fail(behaviour, f"expected an info result, got {str(reply)[:200]}")
    elif reply.get("id") != request_id:
        fail(behaviour, f"expected id {str(request_id)[:60]}, got {str(reply.get('id'))[:60]}")


def line(obj):
    return (json.dumps(obj) + "\n").encode()


INFO = line({"id": "after", "method": "info"})


def bad_lines(max_request_bytes):
    """Return (name, line, expected code, expected field) cases.

    Each is followed by an info on the same connection, which must still
    get its reply.
    """
    deep_arrays = b"[" * 100000 + b"]" * 100000
    deep_objects = b'{"a":' * 30000 + b"1" + b"}" * 30000
    cases = [
        ("malformed JSON", b'{"id": 1, "method": "info"', "parse-error", None),
        ("JSON array", b"[1, 2, 3]", "parse-error", None),
        ("invalid UTF-8 in method", b'{"id": 1, "method": "\xff\xfeinfo"}',
         "parse-error", None),
        ("invalid UTF-8 in id", b'{"id": "\xc3\x28", "method": "info"}',
         "parse-error", None),
        ("overlong UTF-8", b'{"id": "\xc0\xaf", "method": "info"}',
         "parse-error", None),
        ("100000 nested arrays", deep_arrays, "parse-error", None),
        ("30000 nested objects", deep_objects, "parse-error", None),
        ("deep id past the parser limit",
         b'{"id": ' + b"[" * 5000 + b"]" * 5000 + b', "method": "info"}',
         "parse-error", None),
        ("raw NUL bytes", b'{"id": 1,\x00 "method": "info"}', "parse-error",
         None),
        ("only NUL bytes", b"\x00\x00\x00\x00", "parse-error", None),
        ("escaped NUL in method", b'{"id": 1, "method": "in\\u0000fo"}',
         "method-not-found", "method"),
        ("escaped NUL in job", b'{"id": 1, "method": "status", '
         b'"params": {"job": "ab\\u0000cd"}}', "invalid-params", "job"),
        ("huge real id", b'{"id": 1e999999, "method": "info"}', "parse-error",
         None),
        ("huge integer id",
         b'{"id": 123456789012345678901234567890, "method": "info"}',
         "parse-error", None),
        ("5000-digit number", b'{"id": ' + b"7" * 5000 + b', "method": "info"}',
         "parse-error", None),
        ("log_level at INT64_MAX", line({"id": 1, "method": "restore", "params": {
            "images_dir": "/nonexistent", "log_level": 2 ** 63 - 1}})[:-1],
         "invalid-params", "log_level"),
        ("log_level below zero", line({"id": 1, "method": "restore", "params": {
            "images_dir": "/nonexistent", "log_level": -2 ** 63}})[:-1],
         "invalid-params", "log_level"),
        ("unknown member", b'{"id": 1, "method": "info", "bogus": 1}',
         "invalid-request", "bogus"),
        ("missing method", b'{"id": 1}', "invalid-request", "method"),
        ("params array", b'{"id": 1, "method": "info", "params": [1]}',
         "invalid-request", "params"),
        ("unknown method", b'{"id": 1, "method": "reboot"}',
         "method-not-found", "method"),
        ("long images_dir", line({"id": 1, "method": "restore", "params": {
            "images_dir": "/" + "d" * (max_request_bytes // 2)}})[:-1],
         "invalid-params", "images_dir"),
        ("duplicate member", b'{"id": 1, "method": "info", "method": "list"}',
         "parse-error", None),
    ]
    return cases


async def run_bad_line(path, case):
    name, data, code, field = case
    async with connected(path) as client:
        await client.send(data + b"\n" + INFO)
        expect_error(name, await client.read_reply(), code, field)
        expect_info(name, await client.read_reply(), "after")


def oversized_lines(max_request_bytes):
    """Return (name, data) cases of lines over max_request_bytes."""
    return [
        # A string member keeps the line valid JSON apart from its size.
        ("line over max_request_bytes", b'{"id": "' +
         b"x" * (max_request_bytes + 4096) + b'", "method": "info"}\n'),
        ("unterminated line over max_request_bytes",
         b" " * 10 + b"[" * (max_request_bytes + 10)),
    ]


async def run_oversized(path, case):
    name, data = case
    async with connected(path) as client:
        await client.send(data)
        expect_error(name, await client.read_reply(), "request-too-large")
        if not await client.read_eof():
            fail(name, "connection still open after request-too-large")


async def run_truncated_close(path, _):
    client = await Client.connect(path)
    await client.send(b'{"id": 1, "method": "inf')
    client.close()


async def run_connect_close(path, _):
    client = await Client.connect(path)
    client.close()


async def run_shutdown_silent(path, _):
    """Connect, send nothing and shut down writing: ctrd closes."""
    async with connected(path) as client:
        client.sock.shutdown(socket.SHUT_WR)
        if not await client.read_eof():
            fail("silent shutdown", "ctrd did not close the connection")


async def run_tail_without_newline(path, _):
    """A last request without a newline is handled at shutdown."""
    name = "last request without newline"
    async with connected(path) as client:
        await client.send(b'{"id": "tail", "method": "info"}')
        client.sock.shutdown(socket.SHUT_WR)
        expect_info(name, await client.read_reply(), "tail")
        if not await client.read_eof():
            fail(name, "connection still open after the reply")


async def run_blank_and_crlf(path, _):
    name = "blank lines and CRLF"
    async with connected(path) as client:
        await client.send(b"\n \t\r\n" * 500 + b'{"id": "crlf", "method": "info"}\r\n')
        expect_info(name, await client.read_reply(), "crlf")


async def run_pipelined(path, _):
    """Good and bad requests in one write: replies in order, ids echoed."""
    name = "pipelined requests"
    async with connected(path) as client:
        data = b""
        for i in range(50):
            if i % 3 == 0:
                data += b'{"id": %d, "method": "info"\n' % i
            else:
                data += line({"id": i, "method": "info"})
        await client.send(data)
        for i in range(50):
            reply = await client.read_reply()
            if reply is None or reply.get("id") != (None if i % 3 == 0 else i):
                fail(name, f"reply {i}: got {str(reply)[:120]}")
                break


async def run_deep_id_echo(path, _):
    """An id nested just under jansson's depth limit of 2048 is echoed."""
    name = "deeply nested id echoed"
    request_id = []
    for _ in range(2000):
        request_id = [request_id]
    async with connected(path) as client:
        await client.send(line({"id": request_id, "method": "info"}))
        expect_info(name, await client.read_reply(), request_id)


async def run_slowloris(path, stop):
    """Send a request one byte at a time; the reply must still come."""
    name = "byte-by-byte request"
    async with connected(path) as client:
        for byte in b'{"id": "slow", "method": "info"}\n':
            if stop.is_set():
                return
            await client.send(bytes([byte]))
            await asyncio.sleep(0.05)
        expect_info(name, await client.read_reply(), "slow")


async def run_stalled(path, stop):
    """Hold half a request until the storm ends, then close."""
    async with connected(path) as client:
        await client.send(b'{"id": "stalled", "met')
        while not stop.is_set():
            await asyncio.sleep(0.2)


async def run_never_reads(path, stop, jobs):
    """Watch every job and pile up replies, reading none of them."""
    async with connected(path) as client:
        data = b"".join(line({"id": i, "method": "watch",
                              "params": {"job": job}})
                        for i, job in enumerate(sorted(jobs)))
        data += line({"id": "list", "method": "list"}) * 200
        if not await client.send(data):
            return
        while not stop.is_set():
            await asyncio.sleep(0.2)


async def run_watch_half_close(path, jobs):
    """Watch a job, shut down writing, read the reply, then close.

    The job is the newest still restored, whose next event may be far off,
    so ctrd must notice the close by itself: after the storm the test
    counts ctrd's sockets.
    """
    name = "watch, shut down, close"
    async with connected(path) as client:
        restored = [job for job, state in jobs.items() if state == "restored"]
        job = restored[-1] if restored else "0000000000000000"
        await client.send(line({"id": "w", "method": "watch",
                                "params": {"job": job}}))
        client.sock.shutdown(socket.SHUT_WR)
        reply = await client.read_reply()
        if not isinstance(reply, dict) or reply.get("id") != "w":
            fail(name, f"expected the reply to watch, got {str(reply)[:200]}")


async def probe(path, stop, jobs, latencies):
    """Send well-formed requests on fresh connections until `stop`."""
    n = 0
    while not stop.is_set():
        n += 1
        started = time.monotonic()
        try:
            client = await asyncio.wait_for(Client.connect(path), PROBE_TIMEOUT)
            try:
                await client.send(line({"id": n, "method": "info"}) +
                                  line({"id": "list", "method": "list"}))
                info = await client.read_reply(PROBE_TIMEOUT)
                listed = await client.read_reply(PROBE_TIMEOUT)
            finally:
                client.close()
        except (OSError, TimeoutError, asyncio.TimeoutError, ValueError) as err:
            fail("probe", f"request {n}: {type(err).__name__}: {err}")
            await asyncio.sleep(PROBE_INTERVAL)
            continue
        latencies.append(time.monotonic() - started)
        expect_info("probe", info, n)
        if not isinstance(listed, dict) or "jobs" not in (listed.get("result") or {}):
            fail("probe", f"expected a list result, got {str(listed)[:200]}")
        else:
            jobs.update((job["job"], job["state"])
                        for job in listed["result"]["jobs"])
        await asyncio.sleep(PROBE_INTERVAL)


def count_sockets(pid):
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            count += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except OSError:
            pass  # closed between the listing and the readlink
    return count


def read_rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for text in status:
            if text.startswith("VmRSS:"):
                return int(text.split()[1])
    return 0


async def sample_ctrd(pid, stop, peak):
    """Record ctrd's peak RSS and peak count of open sockets."""
    while not stop.is_set():
        try:
            peak["rss_kib"] = max(peak["rss_kib"], read_rss_kib(pid))
            peak["sockets"] = max(peak["sockets"], count_sockets(pid))
        except OSError as err:
            fail("ctrd", f"cannot read /proc/{pid}/status: {err}")
            return
        await asyncio.sleep(0.1)


async def hostile_client(index, args, stop, jobs):
    """Run one behaviour after another, choosing by index and round."""
    bad = bad_lines(args.max_request_bytes)
    oversized = oversized_lines(args.max_request_bytes)
    simple = [
        run_truncated_close, run_connect_close, run_shutdown_silent,
        run_tail_without_newline, run_blank_and_crlf, run_pipelined,
        run_deep_id_echo,
    ]
    rounds = 0
    while not stop.is_set():
        choice = (index + rounds * 7) % 12
        rounds += 1
        try:
            if choice < 4:
                case = bad[(index + rounds) % len(bad)]
                label = case[0]
                await run_bad_line(args.socket, case)
            elif choice in (4, 5):
                label = oversized[choice - 4][0]
                await run_oversized(args.socket, oversized[choice - 4])
            elif choice == 6:
                label = "byte-by-byte request"
                await run_slowloris(args.socket, stop)
            elif choice == 7 and index % 8 == 0:
                label = "stalled half request"
                await run_stalled(args.socket, stop)
            elif choice == 8 and index % 8 == 1:
                label = "never reads while watching"
                await run_never_reads(args.socket, stop, list(jobs))
            elif choice == 9:
                label = "watch, shut down, close"
                await run_watch_half_close(args.socket, dict(jobs))
            else:
                handler = simple[(index + rounds) % len(simple)]
                label = handler.__name__
                await handler(args.socket, stop)
        except (OSError, TimeoutError, asyncio.TimeoutError, ValueError) as err:
            fail(label, f"{type(err).__name__}: {err}")
            await asyncio.sleep(0.1)
            continue
        counts[label] = counts.get(label, 0) + 1


async def wait_for_file(path, stop):
    while not os.path.exists(path):
        await asyncio.sleep(0.1)
    stop.set()


async def storm(args):
    stop = asyncio.Event()
    jobs = {}  # id to state, oldest first, as the probe's list saw them
    latencies = []
    peak = {"rss_kib": 0, "sockets": 0}
    clients = [asyncio.create_task(hostile_client(i, args, stop, jobs))
               for i in range(args.clients)]
    others = [
        asyncio.create_task(probe(args.socket, stop, jobs, latencies)),
        asyncio.create_task(sample_ctrd(args.ctrd_pid, stop, peak)),
    ]
    await asyncio.sleep(0.5)
    with open(args.ready_file, "w"):
        pass
    await wait_for_file(args.stop_file, stop)
    await asyncio.wait_for(asyncio.gather(*clients, *others), 30)
    latencies.sort()
    print(json.dumps({
        "peak_rss_kib": peak["rss_kib"],
        "peak_sockets": peak["sockets"],
        "probes": len(latencies),
        "probe_p50_ms": round(latencies[len(latencies) // 2] * 1000, 1)
        if latencies else None,
        "probe_max_ms": round(latencies[-1] * 1000, 1) if latencies else None,
        "jobs_seen": len(jobs),
        "behaviours": counts,
    }, sort_keys=True))
    if not latencies:
        fail("probe", "no probe got a reply")


async def limit(args):
    held_clients = []
    try:
        for i in range(args.max_connections):
            client = await Client.connect(args.socket)
            held_clients.append(client)
            # A reply proves ctrd accepted and counts this connection.
            await client.send(line({"id": i, "method": "info"}))
            expect_info("held connection", await client.read_reply(), i)
        for _ in range(40):
            extra = await Client.connect(args.socket)
            reply = await extra.read_line()
            expect_error("over the limit", reply, "too-many-connections")
            if reply is not None and reply.get("id") is not None:
                fail("over the limit", f"expected id null, got {reply}")
            if not await extra.read_eof():
                fail("over the limit", "rejected connection stayed open")
            extra.close()
        # ctrd frees the slot once it has seen the close.
        held_clients.pop().close()
        deadline = time.monotonic() + 5
        while True:
            fresh = await Client.connect(args.socket)
            await fresh.send(line({"id": "freed", "method": "info"}))
            reply = await fresh.read_reply()
            fresh.close()
            if error_code(reply) != "too-many-connections":
                expect_info("freed slot", reply, "freed")
                break
            if time.monotonic() > deadline:
                fail("freed slot", "still too-many-connections 5 s after a close")
                break
            await asyncio.sleep(0.05)
    finally:
        for client in held_clients:
            client.close()


def parse_args():
    parser = argparse.ArgumentParser()
    modes = parser.add_subparsers(dest="mode", required=True)
    storm_mode = modes.add_parser("storm")
    storm_mode.add_argument("socket")
    storm_mode.add_argument("ctrd_pid", type=int)
    storm_mode.add_argument("stop_file")
    storm_mode.add_argument("ready_file")
    storm_mode.add_argument("--clients", type=int, required=True)
    storm_mode.add_argument("--max-request-bytes", type=int, required=True)
    limit_mode = modes.add_parser("limit")
    limit_mode.add_argument("socket")
    limit_mode.add_argument("--max-connections", type=int, required=True)
    return parser.parse_args()


def main():
    args = parse_args()
    # Python's own JSON coder recurses once per level of the nested id.
    sys.setrecursionlimit(20000)
    asyncio.run(storm(args) if args.mode == "storm" else limit(args))
    for failure in failures[:50]:
        print("  " + failure, file=sys.stderr)
    if len(failures) > 50:
        print(f"  ... and {len(failures) - 50} more", file=sys.stderr)
    return 1 if failures else 0


sys.exit(main())
