"""Evidence over time: snapshots, quotes, drift, history and the cache, run after run on a live local web."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web as aioweb
from aiohttp.test_utils import TestServer
from warcio.archiveiterator import ArchiveIterator

from linkcheck.archive import iter_records
from linkcheck.config import Config, Settings
from linkcheck.model import Reference, Result
from linkcheck.pipeline import run_check

SETTINGS = Settings(timeout=2.0, retries=0, allow_private=True)
QUOTE = "stunting fell by 9 percent among enrolled children"

ARTICLE = ("The nutrition pilot enrolled four thousand children across twelve districts. "
           f"Health workers visited each household monthly. Over two years {QUOTE}. "
           "Families received fortified flour and counselling on infant feeding. "
           "The evaluation compared enrolled villages with similar villages nearby. "
           "Costs per child fell as the programme grew and local clinics took over the visits.")
UNRELATED = ("Housing costs in the capital rose sharply as rents outpaced wages for a decade. "
             "Builders blamed planning delays while tenants groups pointed to short lets. "
             "The council proposed a levy on empty homes and a register of landlords. "
             "Commuters moved further out and journey times grew for nurses and teachers. "
             "A review of social housing allocation is expected next spring.")


def page(title: str, text: str, extra: str = "") -> str:
    paragraphs = "".join(f"<p>{s.strip()}.</p>" for s in text.split(". ") if s.strip())
    return (f"<!doctype html><html><head><title>{title}</title></head><body><nav>Home | News | Contact</nav>"
            f"<main><h1>{title}</h1>{paragraphs}{extra}</main><footer>© Statistics Office</footer></body></html>")


class ChangingWeb:
    """A site in two phases: what was cited, and what the same URLs say later."""

    def __init__(self) -> None:
        self.phase = 1
        self.log: list[tuple[str, str]] = []
        self.app = aioweb.Application()
        self.app.router.add_get("/{name}", self.serve)

    async def serve(self, request: aioweb.Request) -> aioweb.Response:
        self.log.append((request.method, request.path))
        name, late = request.match_info["name"], self.phase == 2
        if name == "quote":
            text = ARTICLE.replace(f" Over two years {QUOTE}.", "") if late else ARTICLE
            return _html(page("Nutrition pilot", text))
        if name == "article":
            return _html(page("Housing costs" if late else "Nutrition pilot evaluation", UNRELATED if late else ARTICLE))
        if name == "bulletin":
            stamp = "<p>Last updated: 9 June 2025. Visitors: 10921</p>" if late else \
                    "<p>Last updated: 3 March 2024. Visitors: 10234</p>"
            return _html(page("Monthly inflation bulletin", ARTICLE, stamp))
        if name == "factsheet":
            return _html(page("Not here", "Nothing."), status=404) if late else _html(page("Air quality", ARTICLE))
        if name == "softgone":  # later a 200 page that says the report is gone
            return _html(page("Page not found", "Sorry.") if late else page("Labour brief", ARTICLE))
        if name == "static":
            return _html(page("Handbook", ARTICLE))
        if name == "slow":
            await asyncio.sleep(0.3)
            return _html(page(f"Slow {request.query_string}", ARTICLE))
        return _html("missing", status=404)


def _html(text: str, status: int = 200) -> aioweb.Response:
    return aioweb.Response(text=text, status=status, content_type="text/html")


@pytest.fixture
async def changing() -> tuple[ChangingWeb, str]:
    site = ChangingWeb()
    server = TestServer(site.app, host="127.0.0.1")
    await server.start_server()
    yield site, str(server.make_url("")).rstrip("/")
    await server.close()


NAMES = ["quote", "article", "bulletin", "factsheet", "static"]


def _config(tmp_path: Path, base: str) -> Config:
    doc = tmp_path / "submission.md"
    doc.write_text("".join(f"See [{n}]({base}/{n}).\n" for n in NAMES), encoding="utf-8")
    refs = (Reference(id="nutrition-pilot", url=f"{base}/quote", quote=QUOTE),)
    return Config(documents=(doc,), settings=SETTINGS, references=refs)


async def _run(tmp_path: Path, base: str, **kwargs: object) -> dict[str, Result]:
    report = await run_check(_config(tmp_path, base), state_dir=tmp_path / "state", **kwargs)  # type: ignore[arg-type]
    return {r.url.rsplit("/", 1)[1]: r for r in report.results}


async def test_second_run_reports_what_changed(changing: tuple[ChangingWeb, str], tmp_path: Path) -> None:
    site, base = changing
    first = await _run(tmp_path, base)
    assert {n: str(r.verdict) for n, r in first.items()} == dict.fromkeys(NAMES, "ok")
    assert all(r.snapshot is not None for r in first.values())

    site.phase = 2
    second = await _run(tmp_path, base)
    got = {n: (str(r.verdict), str(r.reason)) for n, r in second.items()}
    assert got == {"quote": ("changed", "quote_missing"), "article": ("changed", "content_drift"),
                   "bulletin": ("ok", "ok"), "factsheet": ("broken", "http_status"), "static": ("ok", "ok")}
    assert first["quote"].snapshot and first["quote"].snapshot.time in second["quote"].detail  # last seen
    drift = second["article"]
    assert drift.similarity is not None and drift.similarity < 0.6 and drift.changes
    assert second["bulletin"].similarity is not None and second["bulletin"].similarity >= 0.9
    gone = second["factsheet"]
    assert gone.trend == "new" and gone.last_ok is not None and gone.consecutive_failures == 1


async def test_gone_evidence_points_to_its_last_good_snapshot(changing: tuple[ChangingWeb, str],
                                                               tmp_path: Path) -> None:
    site, base = changing
    first = await _run(tmp_path, base)
    site.phase = 2
    replay = Settings(timeout=2.0, retries=0, allow_private=True, archive_lookup=False,
                      archive_replay_url="https://replay.charity.org.uk/evidence/")
    report = await run_check(_config(tmp_path, base), settings=replay, state_dir=tmp_path / "state",
                             archived_copies=True)
    gone = next(r for r in report.results if r.url.endswith("/factsheet"))
    kept = first["factsheet"].snapshot
    assert kept is not None and gone.snapshot is not None and gone.snapshot.sha256 == kept.sha256
    stamp = "".join(c for c in (kept.time or "") if c.isdigit())
    assert gone.archived_url == f"https://replay.charity.org.uk/evidence/{stamp}/{base}/factsheet"
    drift = next(r for r in report.results if r.url.endswith("/article"))
    assert drift.archived_url and drift.archived_url.endswith("/article")  # its baseline, replayable


async def test_a_soft_404_points_to_the_page_as_it_was_not_to_its_not_found_page(
        changing: tuple[ChangingWeb, str], tmp_path: Path) -> None:
    site, base = changing
    doc = tmp_path / "doc.md"
    doc.write_text(f"[brief]({base}/softgone)\n", encoding="utf-8")
    config = Config(documents=(doc,), settings=SETTINGS.replace(archive_lookup=False))
    first = await run_check(config, state_dir=tmp_path / "state", archived_copies=True)
    site.phase = 2
    second = await run_check(config, state_dir=tmp_path / "state", archived_copies=True)
    (was,), (now,) = first.results, second.results
    assert (str(now.verdict), str(now.reason)) == ("broken", "soft_404")
    assert was.snapshot is not None and now.snapshot is not None
    assert now.snapshot.sha256 == was.snapshot.sha256  # the brief as cited, not the "Page not found"


async def test_snapshots_are_warc_records_and_repeats_are_revisits(changing: tuple[ChangingWeb, str],
                                                                   tmp_path: Path) -> None:
    site, base = changing
    await _run(tmp_path, base)
    await _run(tmp_path, base)
    warcs = list((tmp_path / "state" / "archive").glob("*.warc.gz"))
    assert len(warcs) == 2
    runs = [[(r.rec_type, r.rec_headers.get_header("WARC-Target-URI"), r.content_stream().read())
             for r in ArchiveIterator(open(p, "rb")) if r.rec_type in ("response", "revisit")] for p in warcs]
    # Two runs may start within one second: tell them apart by content, not by name or time.
    first, second = sorted(runs, key=lambda records: records[0][0] != "response")
    assert {t for t, _, _ in first} == {"response"} and len(first) == len(NAMES)
    assert {t for t, _, _ in second} == {"revisit"}  # nothing changed: no second copy
    assert all(body == b"" for _, _, body in second)
    body = {u: b for _, u, b in first}[f"{base}/static"]
    assert b"Health workers visited" in body
    for path in warcs:
        check = subprocess.run([str(Path(sys.executable).parent / "warcio"), "check", str(path)],
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr


async def test_cache_ttl_sends_no_request_for_recent_ok_results(changing: tuple[ChangingWeb, str],
                                                                tmp_path: Path) -> None:
    site, base = changing
    await _run(tmp_path, base)
    site.log.clear()
    results = await _run(tmp_path, base, cache_ttl=3600.0)
    assert site.log == []
    assert all(str(r.verdict) == "ok" and "cache" in r.detail for r in results.values())


async def test_accept_moves_the_baseline(changing: tuple[ChangingWeb, str], tmp_path: Path) -> None:
    from linkcheck.history import History

    site, base = changing
    await _run(tmp_path, base)
    site.phase = 2
    assert str((await _run(tmp_path, base))["article"].reason) == "content_drift"
    with History(tmp_path / "state" / "history.sqlite") as history:
        assert history.accept(f"{base}/article") == [f"{base}/article"]
    assert str((await _run(tmp_path, base))["article"].verdict) == "ok"


def test_sigkill_mid_run_leaves_state_readable_and_next_run_completes(tmp_path: Path) -> None:
    """A real `linkcheck check` process killed with SIGKILL while it archives, then run again."""
    server = subprocess.Popen([sys.executable, "-c", _SLOW_SERVER], stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())  # type: ignore[union-attr]
        doc = tmp_path / "many.md"
        doc.write_text("".join(f"[s{i}](http://127.0.0.1:{port}/slow?{i})\n" for i in range(60)), encoding="utf-8")
        command = [sys.executable, "-m", "linkcheck", "check", str(doc), "--allow-private", "--quiet",
                   "--concurrency", "4", "--per-host", "4", "--state-dir", str(tmp_path / "state"),
                   "--report-dir", str(tmp_path / "reports")]
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
        victim = subprocess.Popen(command, cwd=tmp_path, env=env)
        archive = tmp_path / "state" / "archive"
        for _ in range(100):  # wait until records are being written, then kill mid-run
            if any(p.stat().st_size > 4096 for p in archive.glob("*.warc.gz")):
                break
            asyncio.run(asyncio.sleep(0.1))
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(10)
        assert victim.returncode == -signal.SIGKILL
        again = subprocess.run(command, cwd=tmp_path, env=env, timeout=120)
        assert again.returncode == 0
    finally:
        server.terminate()
        server.wait(10)
    with sqlite3.connect(tmp_path / "state" / "history.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    warcs = list(archive.glob("*.warc.gz"))
    assert len(warcs) == 2
    counts = sorted(sum(1 for _ in iter_records(p)) for p in warcs)
    # Both read to their end; the killed run kept what it had written.
    assert counts[0] >= 1 and sum(counts) >= 60
    report = json.loads((tmp_path / "reports" / "report.json").read_text())
    assert report["summary"]["ok"] == 60


_SLOW_SERVER = """
import asyncio, sys
from aiohttp import web
async def slow(request):
    await asyncio.sleep(0.2)
    return web.Response(text='<html><title>Page %s</title><p>' % request.query_string + 'x' * 3000 + '</p></html>',
                        content_type='text/html')
async def main():
    app = web.Application(); app.router.add_get('/slow', slow)
    runner = web.AppRunner(app); await runner.setup()
    site = web.TCPSite(runner, '127.0.0.1', 0); await site.start()
    print(site._server.sockets[0].getsockname()[1], flush=True)
    await asyncio.sleep(300)
asyncio.run(main())
"""


REPLAY_BIN = Path(os.environ.get("LINKCHECK_REPLAY_BIN", Path(__file__).resolve().parent.parent / ".venv-replay" / "bin"))


@pytest.mark.skipif(not (REPLAY_BIN / "wayback").exists(),
                    reason=f"pywb is not installed in {REPLAY_BIN} (make test installs it): replay untested")
async def test_two_real_runs_replay_byte_for_byte_in_pywb(changing: tuple[ChangingWeb, str], tmp_path: Path) -> None:
    """What `linkcheck check` archived over two runs (the second with changes and revisits), exported
    and replayed by pywb: every capture comes back exactly as the server sent it."""
    site, base = changing
    served: dict[tuple[str, str], bytes] = {}  # (url, capture time) -> body
    for phase in (1, 2):
        site.phase = phase
        if phase == 2:
            await asyncio.sleep(1.1)  # replay tells captures apart by their second; real runs are days apart
        report = await run_check(_config(tmp_path, base), state_dir=tmp_path / "state")
        for result in report.results:
            if result.snapshot is not None:
                async with aiohttp.ClientSession() as session, session.get(result.url) as response:
                    served[(result.url, result.snapshot.time or "")] = await response.read()
    export = subprocess.run([sys.executable, "-m", "linkcheck", "archive", "export", str(tmp_path / "all.warc.gz"),
                             "--state-dir", str(tmp_path / "state")], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    assert export.returncode == 0, export.stderr
    env = {**os.environ, "PATH": f"{REPLAY_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    for args in (["init", "evidence"], ["add", "evidence", str(tmp_path / "all.warc.gz")]):
        subprocess.run([str(REPLAY_BIN / "wb-manager"), *args], cwd=tmp_path, env=env, check=True,
                       capture_output=True, timeout=60)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    wayback = subprocess.Popen([str(REPLAY_BIN / "wayback"), "--port", str(port), "--bind", "127.0.0.1"],
                               cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(100):  # until it answers
                try:
                    async with session.get(f"http://127.0.0.1:{port}/"):
                        break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.2)
            for (url, time), body in served.items():
                stamp = "".join(c for c in time if c.isdigit())
                async with session.get(f"http://127.0.0.1:{port}/evidence/{stamp}id_/{url}") as replayed:
                    assert (url, replayed.status, await replayed.read()) == (url, 200, body)
    finally:
        wayback.terminate()
        wayback.wait(10)
    assert len(served) == 9  # five pages, then four (one is gone): unchanged ones replay from revisits
