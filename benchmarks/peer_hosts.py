"""The loopback side of `bench_peers.py`: page servers on many hosts, and whole-process measurement.

Servers: `--procs` processes share the hosts 127.0.1.1, 127.0.1.2, ...; each host listens on one port
and answers `GET /doc/<i>` with a small distinct HTML page after a fixed latency. They are plain
asyncio Protocols (no framework), so that serving costs far less CPU than any client spends, and
they count the requests they answer (`GET /__stats`) and report their own CPU time.

Measurement: a tool runs as one child process; this process becomes a child subreaper, so the
helpers that tool leaves behind (a forkserver and its workers) are reaped here too, and their CPU
time and peak memory are counted with the tool's.
"""
from __future__ import annotations

import asyncio
import ctypes
import http.client
import json
import os
import resource
import select
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SERVER_START_TIMEOUT = 30.0
STATS_PATH = b"/__stats"
_MAX_HEAD = 65536
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_PR_SET_CHILD_SUBREAPER = 36


def host_address(k: int) -> str:
    """The k-th benchmark host (0-based): 127.0.1.1, 127.0.1.2, ... (Linux routes all of 127/8 to lo)."""
    if not 0 <= k < 254:
        raise ValueError("at most 254 hosts")
    return f"127.0.1.{k + 1}"


def page(i: int) -> bytes:
    """A short distinct article; its title names it D00404 rather than with a bare number."""
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Article D{i:05d}: "
            f"a study of sources</title></head>\n<body><article><h1>Article D{i:05d}</h1>\n<p>This "
            f"article discusses the evidence of document {i * 31}, its method and its dataset, with "
            f"enough prose to look like a short page of a real site.</p>\n</article></body></html>\n"
            ).encode()


def _response(status: bytes, body: bytes, content_type: bytes, keep_alive: bool, head_only: bool) -> bytes:
    head = (b"HTTP/1.1 " + status + b"\r\nContent-Type: " + content_type + b"\r\nContent-Length: "
            + str(len(body)).encode() + (b"\r\n\r\n" if keep_alive else b"\r\nConnection: close\r\n\r\n"))
    return head if head_only else head + body


class _Http(asyncio.Protocol):
    """HTTP/1.1 with keep-alive, enough for GET and HEAD without a request body."""

    def __init__(self, latency: float, counts: Counter[str]) -> None:
        self.latency = latency
        self.counts = counts
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head, self.buffer = self.buffer[:end], self.buffer[end + 4:]
            self._answer(head)
        if len(self.buffer) > _MAX_HEAD and self.transport is not None:
            self.transport.close()

    def _answer(self, head: bytes) -> None:
        line, _, fields = head.partition(b"\r\n")
        method, target, version = (line.split(b" ") + [b"", b""])[:3]
        lowered = fields.lower()
        keep_alive = b"connection: close" not in lowered and (
            version == b"HTTP/1.1" or b"connection: keep-alive" in lowered)
        if target == STATS_PATH:
            self._send(_response(b"200 OK", json.dumps(dict(self.counts)).encode(), b"application/json",
                                 keep_alive, False), keep_alive)
            return
        self.counts[method.decode("ascii", "replace")] += 1
        number = target[5:] if target.startswith(b"/doc/") else b""
        if number.isdigit():
            status, body = b"200 OK", page(int(number))
        else:
            status, body = b"404 Not Found", b"<!DOCTYPE html><title>Not found</title>"
        response = _response(status, body, b"text/html; charset=utf-8", keep_alive, method == b"HEAD")
        if self.latency > 0:
            asyncio.get_running_loop().call_later(self.latency, self._send, response, keep_alive)
        else:
            self._send(response, keep_alive)

    def _send(self, response: bytes, keep_alive: bool) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.write(response)
        if not keep_alive:
            self.transport.close()


def compile_package(root: Path) -> None:
    """Write the bytecode of linkcheck's modules, as installing it does. Without it, a checkout
    whose sources changed since their bytecode was cached (or where PYTHONDONTWRITEBYTECODE is
    set) compiles them again in every timed process: some 0.1 s that no installed copy pays."""
    import compileall

    compileall.compile_dir(root / "linkcheck", quiet=1)


def raise_open_files_limit() -> None:
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):
        pass


def serve(hosts: list[str], latency: float) -> None:
    """Listen on every host (one port, the same for all where it is free); print `READY {host: port}`."""
    raise_open_files_limit()
    counts: Counter[str] = Counter()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        ports: dict[str, int] = {}
        servers = []
        port = 0
        for host in hosts:
            try:
                server = await loop.create_server(lambda: _Http(latency, counts), host, port, backlog=1024)
            except OSError:  # that port is taken on this address: any port will do
                server = await loop.create_server(lambda: _Http(latency, counts), host, 0, backlog=1024)
            servers.append(server)
            ports[host] = server.sockets[0].getsockname()[1]
            port = port or ports[host]
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        print(f"READY {json.dumps(ports)}", flush=True)
        await stop.wait()
        for server in servers:
            server.close()

    asyncio.run(main())


def process_cpu(pid: int) -> float:
    """User + system seconds a live process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


class Servers:
    """`procs` server processes sharing `hosts` loopback hosts."""

    def __init__(self, hosts: int, latency: float, procs: int, python: str = sys.executable) -> None:
        self.addresses = [host_address(k) for k in range(hosts)]
        self.latency = latency
        self.procs_wanted = max(1, min(procs, hosts))
        self.python = python
        self.procs: list[subprocess.Popen[str]] = []
        self.ports: dict[str, int] = {}
        self._first: list[str] = []

    def start(self) -> None:
        for k in range(self.procs_wanted):
            mine = self.addresses[k::self.procs_wanted]
            self.procs.append(subprocess.Popen(
                [self.python, str(Path(__file__).resolve()), "--serve", str(self.latency), *mine],
                stdout=subprocess.PIPE, text=True))
            self._first.append(mine[0])
        for proc in self.procs:
            assert proc.stdout is not None
            ready, _, _ = select.select([proc.stdout], [], [], SERVER_START_TIMEOUT)
            line = proc.stdout.readline() if ready else ""
            if not line.startswith("READY "):
                raise RuntimeError(f"a benchmark server did not start (got {line.strip()!r})")
            self.ports.update(json.loads(line[len("READY "):]))

    @property
    def pids(self) -> frozenset[int]:
        return frozenset(proc.pid for proc in self.procs)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)

    def requests(self) -> Counter[str]:
        """Requests answered so far by all server processes, per method."""
        total: Counter[str] = Counter()
        for host in self._first:
            conn = http.client.HTTPConnection(host, self.ports[host], timeout=10)
            try:
                conn.request("GET", STATS_PATH.decode())
                total.update(json.loads(conn.getresponse().read()))
            finally:
                conn.close()
        return total

    def cpu(self) -> float:
        return sum(process_cpu(proc.pid) for proc in self.procs)


@contextmanager
def serving(hosts: int, latency: float, procs: int) -> Iterator[Servers]:
    """Servers started, and always stopped on leaving the block."""
    servers = Servers(hosts, latency, procs)
    try:
        servers.start()
        yield servers
    finally:
        servers.stop()


@dataclass(frozen=True)
class Measure:
    """One whole-process run: wall seconds, CPU seconds (user + sys, its descendants included),
    the largest peak RSS of any one of its processes, and the sampled peak of their sum (MiB)."""

    wall: float
    cpu: float
    max_rss_mib: float
    tree_rss_mib: float
    returncode: int


def become_subreaper(on: bool = True) -> None:
    """Orphaned descendants of our tools are re-parented here (Linux), so their usage is counted."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0)


def _children() -> set[int]:
    return {pid for pid, parent in _parents().items() if parent == os.getpid()}


def _parents() -> dict[int, int]:
    table = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                table[int(entry.name)] = int(Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    return table


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class _TreeSampler(threading.Thread):
    """Every `period` seconds, the summed RSS of a process and all its descendants."""

    def __init__(self, root: int, ignore: frozenset[int], period: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.root, self.ignore, self.period = root, ignore, period
        self.peak_kib = 0
        self.done = threading.Event()

    def run(self) -> None:
        me = os.getpid()
        tree = {self.root}
        while not self.done.is_set():
            parents = _parents()
            for pid, parent in sorted(parents.items()):
                if parent in tree or (parent == me and pid not in self.ignore):
                    tree.add(pid)
            self.peak_kib = max(self.peak_kib, sum(_rss_kib(pid) for pid in tree if pid in parents))
            self.done.wait(self.period)


def measure(cmd: list[str], *, cwd: Path, env: dict[str, str], timeout: float, keep: frozenset[int],
            log: Path) -> Measure:
    """Run `cmd` to its end (killed after `timeout`), then reap what it left behind (all our children
    except the `keep` ones): wall time, and CPU and peak memory of the whole tree."""
    keep = keep | _children()  # children of ours from before (a test's servers) are not the tool's
    with open(log, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        sampler = _TreeSampler(proc.pid, keep)
        sampler.start()
        timer = threading.Timer(timeout, lambda: os.killpg(proc.pid, signal.SIGKILL))
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait for it
    cpu, rss = usage.ru_utime + usage.ru_stime, usage.ru_maxrss
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        left = _children() - keep
        if not left:
            break
        for pid in left:
            try:
                done, _, usage = os.wait4(pid, os.WNOHANG)
            except ChildProcessError:
                continue
            if done:
                cpu += usage.ru_utime + usage.ru_stime
                rss = max(rss, usage.ru_maxrss)
        time.sleep(0.05)
    sampler.done.set()
    sampler.join()
    return Measure(wall, cpu, rss / 1024, sampler.peak_kib / 1024, proc.returncode)


if __name__ == "__main__" and sys.argv[1:2] == ["--serve"]:
    serve(sys.argv[3:], float(sys.argv[2]))
