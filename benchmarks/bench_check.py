"""Throughput benchmark of `linkcheck check` against a local server with a fixed latency.

A separate process serves N article pages on 127.0.0.1; each answer waits `--latency`
seconds. With `--concurrency` requests in flight, no checker can finish faster than
N / (concurrency / latency) seconds: that is the physical limit, and the benchmark reports
every measured time as a ratio to it (1.00 = perfect overlap of all requests). With `--latency 0`
there is no such limit: links/s and the CPU time spent per link are what the table shows.

Two variants are measured, each `--repeat` times:
  * default     - `linkcheck check ...`               (one GET per URL; every page archived)
  * no-archive  - `linkcheck check ... --no-archive`  (one GET per URL; HTML only sniffed)
and each both ways:
  * wall        - the whole CLI as a subprocess (interpreter start, imports, reports)
  * in-process  - `pipeline.run_check` awaited in this process (the crawl itself)

Usage: python benchmarks/bench_check.py [--n 2000] [--concurrency 128] [--latency 0.1] [--page-kib 0] [--repeat 3]
Exit status: 0 when every run checked all N URLs as "ok", 1 otherwise.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from datetime import datetime
from pathlib import Path

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent
STATS_PATH = "/__stats"
TARGET_RATIO = 1.30
SERVER_START_TIMEOUT = 30.0
SERVER_STOP_TIMEOUT = 10.0

_WORDS = ("archive", "evidence", "citation", "method", "survey", "dataset", "review", "analysis",
          "journal", "protocol", "sample", "result", "appendix", "figure", "chapter", "source")


# --------------------------------------------------------------------------- server process

def _page(i: int, kib: int = 0) -> bytes:
    """A distinct HTML article whose title says nothing like 'not found': about 1.5 KB, or about
    `kib` KiB of paragraphs when that is larger (a real article page is tens to hundreds of KiB).

    The title and headings name the article as `D00404`, never as a bare number: a bare 404
    in a title is what the soft-404 check looks for."""
    name = f"D{i:05d}"
    words = [_WORDS[(i * 7 + k * 3) % len(_WORDS)] for k in range(12)]
    count = max(8, kib * 1024 // 190)  # a paragraph is about 190 bytes
    paragraphs = "\n".join(
        f"<p id=\"p{k}\">Paragraph {k} of article {i}: the {words[k % 12]} and the {words[(k + 5) % 12]} "
        f"are discussed with reference to document {i * 31 + k}. This sentence exists to give the "
        f"page a realistic size for a short article body.</p>"
        for k in range(count))
    html = (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>Article {name}: a study of {words[0]} and {words[1]}</title></head>\n"
            f"<body><article><h1>Article {name}</h1>\n<h2>On {words[2]}</h2>\n{paragraphs}\n"
            f"</article></body></html>\n")
    return html.encode("utf-8")


def serve(latency: float, page_kib: int = 0) -> None:
    """Run the page server until terminated; print `PORT <n>` once listening."""
    from aiohttp import web

    try:  # many concurrent sockets: lift the soft limit on open files as far as allowed
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):
        pass

    counts: Counter[str] = Counter()

    async def doc(request: web.Request) -> web.Response:
        counts[request.method] += 1
        await asyncio.sleep(latency)
        try:
            i = int(request.match_info["i"])
        except ValueError:
            raise web.HTTPNotFound() from None
        return web.Response(body=_page(i, page_kib), content_type="text/html", charset="utf-8")

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(dict(counts))

    async def main() -> None:
        app = web.Application()
        app.router.add_route("*", "/doc/{i}", doc)
        app.router.add_get(STATS_PATH, stats)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, HOST, 0, backlog=4096)
        await site.start()
        port = runner.addresses[0][1]
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        print(f"PORT {port}", flush=True)
        try:
            await stop.wait()
        finally:
            print(f"STATS {json.dumps(dict(counts))}", flush=True)
            await runner.cleanup()

    asyncio.run(main())


class Server:
    """The page server in a child process; always stopped on exit from the `with` block."""

    def __init__(self, latency: float, page_kib: int = 0) -> None:
        self.latency, self.page_kib = latency, page_kib
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0

    def __enter__(self) -> Server:
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--serve", "--latency", str(self.latency),
             "--page-kib", str(self.page_kib)],
            stdout=subprocess.PIPE, text=True, env=_child_env())
        try:
            assert self.proc.stdout is not None
            ready, _, _ = select.select([self.proc.stdout], [], [], SERVER_START_TIMEOUT)
            line = self.proc.stdout.readline() if ready else ""
            if not line.startswith("PORT "):
                raise RuntimeError(f"the benchmark server did not start (got {line.strip()!r})")
            self.port = int(line.split()[1])
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(SERVER_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(SERVER_STOP_TIMEOUT)

    def stats(self) -> Counter[str]:
        """Requests served so far, per method (the stats endpoint itself is not counted)."""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
        with opener.open(f"http://{HOST}:{self.port}{STATS_PATH}", timeout=10) as resp:
            return Counter(json.load(resp))


# --------------------------------------------------------------------------- benchmark

def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def _write_inputs(folder: Path, port: int, n: int) -> tuple[Path, Path]:
    submission = folder / "submission.md"
    lines = ["# Benchmark submission", ""]
    lines += [f"[source {i}](http://{HOST}:{port}/doc/{i})" for i in range(n)]
    submission.write_text("\n".join(lines) + "\n", encoding="utf-8")
    references = folder / "references.yaml"
    references.write_text("version: 1\ndocuments:\n  - submission.md\n", encoding="utf-8")
    return submission, references


def _verify(results: list[tuple[str, str]], n: int, what: str) -> None:
    """All N URLs checked and all ok, or exit 1 naming the first problems."""
    bad = [(url, verdict) for url, verdict in results if verdict != "ok"]
    if len(results) != n or bad:
        print(f"FAIL ({what}): {len(results)} results (expected {n}), {len(bad)} not ok", file=sys.stderr)
        for url, verdict in bad[:5]:
            print(f"  {verdict}: {url}", file=sys.stderr)
        sys.exit(1)


def _iso_seconds(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _children_cpu() -> float:
    """User + system seconds of every child process waited for so far (and of their children)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_cli(folder: Path, submission: Path, references: Path, variant: str, args: argparse.Namespace,
            run: int, budget: float) -> tuple[float, float, float]:
    """One CLI run as a subprocess: (wall seconds, report.json finished - started, CPU seconds of
    the CLI and its reading workers)."""
    report_dir = folder / f"reports-{variant}-{run}"
    cmd = [sys.executable, "-m", "linkcheck", "check", submission.name,
           "--references", references.name, "--report-dir", str(report_dir),
           "--state-dir", str(folder / f"state-{variant}-{run}"), "--allow-private",
           "--concurrency", str(args.concurrency), "--per-host", str(args.concurrency),
           "--timeout", "30", "--quiet"]
    if variant == "no-archive":
        cmd.append("--no-archive")
    cpu, start = _children_cpu(), time.perf_counter()
    proc = subprocess.run(cmd, cwd=folder, env=_child_env(), capture_output=True, text=True, timeout=budget)
    wall, cpu = time.perf_counter() - start, _children_cpu() - cpu
    report_path = report_dir / "report.json"
    if proc.returncode not in (0, 1) or not report_path.is_file():
        print(f"FAIL ({variant} CLI): exit status {proc.returncode}\n{proc.stderr[-2000:]}", file=sys.stderr)
        sys.exit(1)
    report = json.loads(report_path.read_text(encoding="utf-8"))
    _verify([(r["url"], r["verdict"]) for r in report["results"]], args.n, f"{variant} CLI")
    own = _iso_seconds(report["run"]["finished"]) - _iso_seconds(report["run"]["started"])
    return wall, own, cpu


def run_in_process(submission: Path, references: Path, variant: str, args: argparse.Namespace,
                   budget: float) -> float:
    """One `run_check` awaited here: seconds from the call to the finished report."""
    from linkcheck import pipeline
    from linkcheck.config import load_config

    config = load_config(references)
    settings = config.settings.replace(concurrency=args.concurrency, per_host=args.concurrency,
                                       timeout=30, allow_private=True)

    async def bounded() -> object:
        return await asyncio.wait_for(
            pipeline.run_check(config, [submission], settings=settings, archive=variant == "default",
                               state_dir=Path(tempfile.mkdtemp(prefix=f"bench-{variant}-"))),
            budget)

    start = time.perf_counter()
    report = asyncio.run(bounded())
    elapsed = time.perf_counter() - start
    _verify([(r.url, str(r.verdict)) for r in report.results], args.n, f"{variant} in-process")  # type: ignore[attr-defined]
    return elapsed


def _per_url(counts: Counter[str], urls: int) -> str:
    total = sum(counts.values())
    parts = " + ".join(f"{m} {c / urls:.2f}" for m, c in sorted(counts.items()))
    return f"{total / urls:.2f} ({parts})" if parts else "0.00"


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB elsewhere


def bench(args: argparse.Namespace) -> int:
    sys.path.insert(0, str(ROOT))
    from peer_hosts import compile_package  # beside this file

    compile_package(ROOT)
    limit = args.n / (args.concurrency / args.latency) if args.latency else 0.0  # no latency: no limit
    budget = max(120.0, 20 * limit)
    variants = ("default", "no-archive")
    walls: dict[str, list[float]] = {v: [] for v in variants}
    owns: dict[str, list[float]] = {v: [] for v in variants}
    inproc: dict[str, list[float]] = {v: [] for v in variants}
    requests: dict[str, Counter[str]] = {v: Counter() for v in variants}
    runs: dict[str, int] = {v: 0 for v in variants}
    cpus: dict[str, list[float]] = {v: [] for v in variants}

    print(f"N={args.n} URLs, concurrency={args.concurrency}, latency={args.latency:g} s, "
          f"pages {'about ' + str(args.page_kib) + ' KiB' if args.page_kib else '~1.5 KB'}, "
          f"repeat={args.repeat}; physical limit N/(c/latency) = {limit:.4f} s", flush=True)
    with tempfile.TemporaryDirectory(prefix="linkcheck-bench-") as tmp, Server(args.latency, args.page_kib) as server:
        folder = Path(tmp)
        submission, references = _write_inputs(folder, server.port, args.n)
        for run in range(args.repeat):
            for variant in variants:
                before = server.stats()
                wall, own, cpu = run_cli(folder, submission, references, variant, args, run, budget)
                elapsed = run_in_process(submission, references, variant, args, budget)
                requests[variant] += server.stats() - before
                runs[variant] += 2
                walls[variant].append(wall)
                cpus[variant].append(cpu)
                owns[variant].append(own)
                inproc[variant].append(elapsed)
                print(f"  run {run + 1} {variant:<10}  wall {wall:7.3f} s  in-process {elapsed:7.3f} s  "
                      f"CLI CPU {cpu / args.n * 1e6:5.0f} us/link", flush=True)
        peak_mb = _peak_rss_mb()  # the server is still running: this is the CLI runs' peak

    print()
    header = (f"{'variant':<11} {'wall med (s)':>12} {'report (s)':>10} {'in-proc med (s)':>15} "
              f"{'wall/limit':>10} {'in-proc/limit':>13} {'in-proc min-max':>15} {'links/s':>8} "
              f"{'CPU us/link':>11}  requests/URL")
    print(header)
    print("-" * len(header))
    for variant in variants:
        wall, inp = statistics.median(walls[variant]), statistics.median(inproc[variant])
        own = statistics.median(owns[variant])
        spread = f"{_ratio(min(inproc[variant]), limit)}-{_ratio(max(inproc[variant]), limit)}" if limit else "-"
        cpu = statistics.median(cpus[variant]) / args.n * 1e6
        print(f"{variant:<11} {wall:>12.3f} {own:>10.0f} {inp:>15.3f} {_ratio(wall, limit):>10} "
              f"{_ratio(inp, limit):>13} {spread:>15} {args.n / wall:>8.0f} {cpu:>11.0f}  "
              f"{_per_url(requests[variant], args.n * runs[variant])}")
    print()
    print(f"peak RSS of the CLI subprocess: {peak_mb:.1f} MiB")
    print("(report (s): run.finished - run.started from report.json, whole seconds only; links/s: of the "
          "whole CLI; CPU us/link: user + system time of the CLI and its reading workers, per URL)")
    if limit:
        ratio = statistics.median(inproc["default"]) / limit
        print(f"ratio (in-process, default mode) = {ratio:.2f} (target <= {TARGET_RATIO:.2f})")
    return 0


def _ratio(seconds: float, limit: float) -> str:
    return f"{seconds / limit:.2f}" if limit else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="distinct URLs cited [2000]")
    parser.add_argument("--concurrency", type=int, default=128, help="requests in flight (and per host) [128]")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds each server answer waits [0.1]")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each variant; medians are reported [3]")
    parser.add_argument("--page-kib", type=int, default=0, help="size of each page in KiB [about 1.5 KB]")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.latency, args.page_kib)
        return 0
    if args.n < 1 or args.concurrency < 1 or args.latency < 0 or args.repeat < 1 or args.page_kib < 0:
        parser.error("--n, --concurrency and --repeat must be >= 1, --latency and --page-kib >= 0")
    return bench(args)


if __name__ == "__main__":
    sys.exit(main())
