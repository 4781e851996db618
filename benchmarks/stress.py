"""`make stress`: linkcheck against hostile servers and documents, each run a real process with a
deadline and a memory cap; prints one line of totals (details of each scenario go to stderr)."""
from __future__ import annotations

import asyncio
import gzip
import io
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from warcio.archiveiterator import ArchiveIterator

ROOT = Path(__file__).resolve().parent.parent
SECRET = "s3cretPa55word"
TOKEN = "tok9f8e7d6c5b4a3"
HOSTS = [f"127.0.1.{i}" for i in range(1, 65)]
MB = 1024 * 1024


# --- the hostile web --------------------------------------------------------------------------

def alternating(other: str) -> bytes:
    words = " ".join("the" if i % 2 == 0 else other + "abcdefg"[i % 7] for i in range(3000))
    return f"<html><head><title>Article</title></head><body><article><p>{words}</p></article></body></html>".encode()


class Web:
    """One aiohttp server, on 127.0.0.1 and on 64 more loopback addresses, in a thread of its own."""

    def __init__(self) -> None:
        fine = b"<html><head><title>Fine</title></head><body><p>Fine words.</p></body></html>"
        self.pages: dict[str, bytes] = {"/ok": fine}
        self.bomb = gzip.compress(b"\0" * (256 * MB), 9)
        heavy = "".join(f"<div class='c{i % 9}'><p>paragraph {i} with <b>some</b> <i>nested</i> words</p></div>"
                        for i in range(200_000))
        self.pages["/heavy"] = f"<html><body>{heavy}</body></html>".encode()
        self.port = 0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    async def page(self, request: web.Request) -> web.StreamResponse:
        body = self.pages.get(request.path)
        if body is None:
            return web.Response(status=404, text="not found")
        return web.Response(body=body, content_type="text/html")

    async def slow(self, request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.2)
        return web.Response(text=f"<html><title>Slow {request.query_string}</title><p>{'x' * 3000}</p></html>",
                            content_type="text/html")

    async def endless(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        await response.prepare(request)
        chunk = b"<p>" + b"endless " * 8000 + b"</p>"
        try:
            while True:
                await response.write(chunk)
        except (ConnectionError, asyncio.CancelledError):
            pass
        return response

    async def gzip_bomb(self, request: web.Request) -> web.StreamResponse:
        return web.Response(body=self.bomb, headers={"Content-Type": "text/html", "Content-Encoding": "gzip"})

    async def slowloris(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        await response.prepare(request)
        try:
            for _ in range(600):
                await response.write(b"<")
                await asyncio.sleep(1)
        except (ConnectionError, asyncio.CancelledError):
            pass
        return response

    async def silent(self, request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(600)
        return web.Response(text="late")

    async def loop(self, request: web.Request) -> web.StreamResponse:
        target = "/loop/b" if request.path == "/loop/a" else "/loop/a"
        return web.Response(status=302, headers={"Location": target})

    async def huge_headers(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text="ok", headers={f"X-Filler-{i}": "y" * 4000 for i in range(64)})

    async def _serve(self) -> None:
        app = web.Application()
        for path, handler in (("/slow", self.slow), ("/endless/{n}", self.endless), ("/gzip-bomb", self.gzip_bomb),
                              ("/slowloris", self.slowloris), ("/silent", self.silent), ("/loop/{x}", self.loop),
                              ("/huge-headers", self.huge_headers), ("/{tail:.*}", self.page)):
            app.router.add_get(path, handler)
        runner = web.AppRunner(app, handler_cancellation=True)
        await runner.setup()
        first = web.TCPSite(runner, "127.0.0.1", 0)
        await first.start()
        self.port = first._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        for host in HOSTS:
            await web.TCPSite(runner, host, self.port).start()
        self._ready.set()
        await asyncio.Event().wait()

    def start(self) -> None:
        def main() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self._serve())

        threading.Thread(target=main, daemon=True).start()
        if not self._ready.wait(30):
            raise SystemExit("stress: the test server did not start")

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


# --- running linkcheck ------------------------------------------------------------------------

@dataclass
class Run:
    code: int | None
    seconds: float
    peak_mb: float
    stdout: str
    stderr: str

    @property
    def hung(self) -> bool:
        return self.code is None


def _tree_rss(root: int) -> int:
    """Resident bytes of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


def run(args: list[str], cwd: Path, deadline: float, *, kill_after: float | None = None,
        env: dict[str, str] | None = None) -> Run:
    """`python -m linkcheck ARGS` in `cwd`, its process tree's memory polled; killed at the deadline
    (a hang) or, with `kill_after`, by SIGKILL at that moment."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "linkcheck", *args], cwd=cwd, env=environment,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    peak = 0
    output: list[bytes] = []
    reader = threading.Thread(target=lambda: output.extend(process.communicate()), daemon=True)
    reader.start()
    limit = kill_after if kill_after is not None else deadline
    while process.poll() is None and time.perf_counter() - started < limit:
        peak = max(peak, _tree_rss(process.pid))
        time.sleep(0.02)
    code = process.poll()
    if code is None:
        os.killpg(process.pid, signal.SIGKILL)  # the whole group: the reader's workers too
        process.wait()
        code = None if kill_after is None else process.returncode
    reader.join(10)
    out, err = (output + [b"", b""])[:2]
    return Run(code, time.perf_counter() - started, peak / MB, out.decode("utf-8", "replace"),
               err.decode("utf-8", "replace"))


# --- checks after a run -----------------------------------------------------------------------

def integrity(state: Path) -> list[str]:
    """What is wrong with a state dir: the database's integrity check and every WARC read to its end."""
    problems = []
    history = state / "history.sqlite"
    if history.exists():
        with sqlite3.connect(history) as db:
            verdict = db.execute("PRAGMA integrity_check").fetchone()
        if verdict != ("ok",):
            problems.append(f"integrity_check: {verdict}")
    for warc in sorted((state / "archive").glob("*.warc.gz")):
        try:
            with warc.open("rb") as stream:
                for record in ArchiveIterator(stream):
                    record.content_stream().read()
        except Exception as exc:  # noqa: BLE001 - any failure to read back is the finding
            problems.append(f"{warc.name}: {type(exc).__name__}: {exc}")
    return problems


def results(report_dir: Path) -> list[dict[str, object]]:
    path = report_dir / "report.json"
    if not path.exists():
        return []
    return list(json.loads(path.read_text(encoding="utf-8"))["results"])


def leaks(outputs: list[Path], console: str, secrets: tuple[str, ...]) -> list[str]:
    """Every output file (gzip members read through) holding a secret, and the console."""
    found = [f"console: {s}" for s in secrets if s in console]
    files = [p for out in outputs for p in ([out] if out.is_file() else sorted(out.rglob("*"))) if p.is_file()]
    for path in files:
        data = path.read_bytes()
        if path.suffix == ".gz":
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError):
                pass
        found += [f"{path.parent.name}/{path.name}: {s}" for s in secrets if s.encode() in data]
    return found


# --- scenarios --------------------------------------------------------------------------------

@dataclass
class Tally:
    scenarios: int = 0
    crashes: int = 0
    hangs: int = 0
    over_budget: int = 0
    lost: int = 0
    leaked: int = 0
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"stress: {self.scenarios} scenarios, {self.crashes} crashes, {self.hangs} hangs, "
                f"{self.over_budget} over budget, {self.lost} results lost, {self.leaked} secrets leaked")


class Scenario:
    """One case: a folder of its own, its documents, and what counts as success."""

    def __init__(self, tally: Tally, name: str, folder: Path) -> None:
        self.tally, self.name, self.dir = tally, name, folder / name
        self.dir.mkdir()
        self.failed: list[str] = []

    def doc(self, name: str, text: str | bytes) -> Path:
        path = self.dir / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        return path

    def config(self, urls: list[str], settings: str = "", references: str = "") -> Path:
        cited = "\n\n".join(f"[source {i}]({url})" for i, url in enumerate(urls))
        self.doc("doc.md", cited + "\n")
        return self.doc("references.yaml", f"version: 1\ndocuments: [doc.md]\nsettings:\n  allow_private: true\n"
                                           f"  timeout: 3\n  retries: 0\n{settings}references:{references or ' []'}\n")

    def check(self, deadline: float, cap_mb: float, *, codes: tuple[int, ...] = (0, 1), expect: int | None = None,
              extra: list[str] | None = None, state: str = "state", **kwargs: object) -> Run:
        args = ["check", "--references", "references.yaml", "--state-dir", state, "--report-dir", "reports",
                "--quiet", *(extra or [])]
        return self.judge(run(args, self.dir, deadline, **kwargs), cap_mb, codes, expect)  # type: ignore[arg-type]

    def judge(self, result: Run, cap_mb: float, codes: tuple[int, ...], expect: int | None = None,
              report_dir: str = "reports") -> Run:
        what = f"{result.seconds:.1f} s, {result.peak_mb:.0f} MB"
        if result.hung:
            self.fail("hangs", f"still running at its deadline ({what})")
        elif "Traceback" in result.stderr or result.code not in codes:
            self.fail("crashes", f"exit {result.code} ({what}): {result.stderr.strip()[-300:]}")
        if result.peak_mb > cap_mb:
            self.fail("over_budget", f"peak {result.peak_mb:.0f} MB over its cap of {cap_mb:.0f} MB")
        if expect is not None and not result.hung:
            got = len(results(self.dir / report_dir))
            if got != expect:
                self.fail("lost", f"{got} results of {expect}")
        self.tally.notes.append(f"  {self.name}: exit {result.code}, {what}")
        return result

    def fail(self, counter: str, why: str) -> None:
        setattr(self.tally, counter, getattr(self.tally, counter) + 1)
        self.failed.append(why)
        self.tally.notes.append(f"  {self.name}: {counter.replace('_', ' ')}: {why}")


def docx_bomb(inflated: int = 60 * MB) -> bytes:
    paragraph = b"<w:p><w:r><w:t>" + b"x" * 4000 + b"</w:t></w:r></w:p>"
    document = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w="http://schemas'
                b'.openxmlformats.org/wordprocessingml/2006/main"><w:body>' + paragraph * (inflated // len(paragraph))
                + b"</w:body></w:document>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as package:
        package.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats'
                         '.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/>'
                         '</Types>')
        package.writestr("word/document.xml", document)
    return out.getvalue()


def scenarios(webs: Web, tally: Tally, folder: Path) -> list[Callable[[], None]]:
    def new(name: str) -> Scenario:
        tally.scenarios += 1
        return Scenario(tally, name, folder)

    def alternating_diff() -> None:
        s = new("alternating-page-changed")
        webs.pages["/alternating"] = alternating("alpha")
        s.config([webs.url("/alternating")])
        s.check(60, 400, expect=1)
        webs.pages["/alternating"] = alternating("beta")
        second = s.check(60, 400, expect=1)
        if second.seconds >= 5:
            s.fail("over_budget", f"the second run took {second.seconds:.1f} s (budget 5 s)")
        verdicts = {r["verdict"] for r in results(s.dir / "reports")}
        if verdicts != {"changed"}:
            s.fail("lost", f"the changed page was judged {verdicts}")

    def docx_bomb_doc() -> None:
        s = new("docx-bomb")
        s.doc("bomb.docx", docx_bomb())
        result = s.judge(run(["check", "bomb.docx", "--state-dir", "state", "--report-dir", "reports"], s.dir, 60),
                         200, (2,))
        if result.stderr.strip().count("\n") or "bomb.docx" not in result.stderr:
            s.fail("crashes", f"not one line naming the file: {result.stderr.strip()[:200]}")

    def markdown_unclosed() -> None:
        s = new("markdown-unclosed-anchors")
        lines, size, n = [], 0, 0
        while size < 1_200_000:
            lines.append(f'<a href="https://example.org/page/{n}">reference {n}\n')
            size, n = size + len(lines[-1]), n + 1
        doc = s.doc("hostile.md", "".join(lines))
        probe = ("import sys, time; from pathlib import Path; from linkcheck.extract import extract_file;"
                 "t, c = time.perf_counter(), time.process_time(); found = extract_file(Path(sys.argv[1]));"
                 "print(len(found), time.process_time() - c, time.perf_counter() - t)")
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", probe, str(doc)], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        count, seconds, wall = (done.stdout.split() + ["0", "0", "0"])[:3]
        s.tally.notes.append(f"  {s.name}: {len(lines)} anchors extracted in {float(seconds):.1f} s of CPU, "
                             f"{float(wall):.1f} s of wall time (process {time.perf_counter() - started:.1f} s)")
        if done.returncode != 0:
            s.fail("crashes", done.stderr[-300:])
        elif int(count) != n:
            s.fail("lost", f"{count} citations of {n}")
        elif float(seconds) >= 5:
            s.fail("over_budget", f"extraction took {float(seconds):.1f} s of CPU (budget 5 s)")

    def endless_bodies() -> None:
        s = new("endless-bodies-64-hosts")
        s.config([webs.url(f"/endless/{i}", host) for i, host in enumerate(HOSTS)], "  concurrency: 64\n")
        s.check(120, 450, expect=64)

    def hostile_server(name: str, path: str, deadline: float = 60, cap: float = 300) -> Callable[[], None]:
        def scenario() -> None:
            s = new(name)
            s.config([webs.url(path), webs.url("/ok")])
            s.check(deadline, cap, expect=2)
            ok = [r for r in results(s.dir / "reports") if str(r["url"]).endswith("/ok")]
            if not ok or ok[0]["verdict"] != "ok":
                s.fail("lost", "the good page beside it was not judged ok")
        return scenario

    def heavy_page() -> None:
        s = new("heavy-page-read-budget")
        s.config([webs.url("/heavy"), webs.url("/ok")], "  read_timeout: 3\n",
                 f"\n  - id: heavy\n    url: {webs.url('/heavy')}\n    quote: a sentence that is not there\n")
        s.check(90, 900, expect=2)
        verdicts = {str(r["url"]).rsplit("/", 1)[1]: (r["verdict"], r["reason"]) for r in results(s.dir / "reports")}
        if verdicts.get("heavy") != ("error", "unreadable") or verdicts.get("ok") != ("ok", "ok"):
            s.fail("lost", f"judged {verdicts}")

    def hostile_documents() -> None:
        s = new("hostile-documents")
        s.doc("deep.html", '<a href="https://example.org/first">first</a>' + "<div>" * 100_000
              + '<a href="https://example.org/deep">deep</a>' + "</div>" * 100_000)
        s.doc("notes.md", "".join(f"Text^[note {i} <a href='x'> [l](<>) ` *]\n" for i in range(20_000)))
        s.doc("broken.pdf", b"%PDF-1.7\n" + b"1 0 obj << /Length 99999999 >> stream\n" + b"\xff" * 100_000)
        result = s.judge(run(["extract", "deep.html", "notes.md"], s.dir, 60), 400, (0,))
        if result.code == 0 and "example.org/first" not in result.stdout:
            s.fail("lost", "the link before the deep nesting was not found")
        s.judge(run(["extract", "broken.pdf"], s.dir, 60), 400, (0, 2))

    def sigkill() -> None:
        s = new("sigkill-at-random-points")
        urls = [webs.url(f"/slow?{i}") for i in range(80)]
        s.config(urls, "  concurrency: 8\n  per_host: 8\n")
        rng = random.Random(int(os.environ.get("STRESS_SEED", "11")))
        for _ in range(4):
            killed = s.check(60, 600, codes=(0, 1, -signal.SIGKILL), kill_after=rng.uniform(0.4, 3.0))
            for problem in integrity(s.dir / "state"):
                s.fail("lost", f"after SIGKILL at {killed.seconds:.1f} s: {problem}")
        s.check(120, 600, expect=80)
        for problem in integrity(s.dir / "state"):
            s.fail("lost", problem)

    def two_runs() -> None:
        s = new("two-runs-one-state-dir")
        s.config([webs.url(f"/slow?{i}") for i in range(40)], "  concurrency: 8\n  per_host: 8\n")
        outcome: list[Run] = []
        args = ["check", "--references", "references.yaml", "--state-dir", "state", "--quiet"]
        threads = [threading.Thread(target=lambda d=d: outcome.append(run([*args, "--report-dir", d], s.dir, 120)))
                   for d in ("reports-a", "reports-b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for result in outcome:
            s.judge(result, 600, (0, 1))
        for folder in ("reports-a", "reports-b"):
            if len(results(s.dir / folder)) != 40:
                s.fail("lost", f"{folder}: {len(results(s.dir / folder))} results of 40")
        for problem in integrity(s.dir / "state"):
            s.fail("lost", problem)

    def secrets() -> None:
        s = new("secrets-in-urls")
        host = f"127.0.0.1:{webs.port}"
        urls = [f"http://reader:{SECRET}@{host}/ok", f"http://{host}/ok?token={TOKEN}",
                f"http://{host}/gone?token={TOKEN}", f"http://reader:{SECRET}@{host}/gone"]
        cited = "\n\n".join([*(f"[source {i}]({u})" for i, u in enumerate(urls)), f"Bare: http://x:{SECRET}@{host}/gone"])
        s.doc("doc.md", cited + "\n")
        s.doc("references.yaml", "version: 1\ndocuments: [doc.md]\nsettings:\n  allow_private: true\n  timeout: 3\n"
              "  retries: 0\n  archive_lookup: false\n  email:\n    to: [team@example.org]\n"
              f"references:\n  - id: placeholder-with-secret\n    cited_as: nothing\n"
              f"    url: http://reader:{SECRET}@{host}/ok?api_key={TOKEN}\n")
        summary = s.dir / "step-summary.md"
        env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
        args = ["check", "--references", "references.yaml", "--state-dir", "state", "--report-dir", "reports",
                "--format", "html,json,junit,markdown,sarif,text"]
        checked = s.judge(run(args, s.dir, 60, env=env), 400, (0, 1))
        mailed = s.judge(run(["email", "--references", "references.yaml", "--state-dir", "state", "--report-dir",
                              "reports", "--dry-run"], s.dir, 60), 400, (0, 1, 2))
        console = checked.stdout + checked.stderr + mailed.stdout + mailed.stderr
        outputs = [s.dir / "reports", s.dir / "state", summary]  # everything written; the inputs hold them, of course
        for found in leaks(outputs, console, (SECRET, TOKEN)):
            s.fail("leaked", found)

    return [alternating_diff, docx_bomb_doc, markdown_unclosed, endless_bodies,
            hostile_server("compression-bomb", "/gzip-bomb"), hostile_server("slowloris", "/slowloris"),
            hostile_server("silent-server", "/silent"), hostile_server("redirect-loop", "/loop/a"),
            hostile_server("huge-headers", "/huge-headers"), heavy_page, hostile_documents, sigkill, two_runs,
            secrets]


def main() -> int:
    webs = Web()
    webs.start()
    tally = Tally()
    with tempfile.TemporaryDirectory(prefix="linkcheck-stress-") as folder:
        for scenario in scenarios(webs, tally, Path(folder)):
            started = time.perf_counter()
            try:
                scenario()
            except Exception as exc:  # noqa: BLE001 - the runner's own failure is a crash of that scenario
                tally.crashes += 1
                tally.notes.append(f"  {scenario.__name__}: the scenario itself failed: {type(exc).__name__}: {exc}")
            print(f"stress: {scenario.__name__} done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    print("\n".join(tally.notes), file=sys.stderr)
    print(tally.line())
    return 0 if tally.line().endswith("0 crashes, 0 hangs, 0 over budget, 0 results lost, 0 secrets leaked") else 1


if __name__ == "__main__":
    sys.exit(main())
