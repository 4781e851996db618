"""Offline runs are kept but never counted: the real pipeline, a real SQLite file, the digest command."""
from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from click.testing import CliRunner

import linkcheck.cli.email  # noqa: F401  - registers the `email` command on main
from linkcheck.cli import main
from linkcheck.config import Config, Settings
from linkcheck.history import History, TrendInfo, carried_trend
from linkcheck.model import Reference, Result, RunReport
from linkcheck.pipeline import run_check
from linkcheck.resolver import StaticResolver
from linkcheck.store import history_path
from tests.server import article, html

# No name resolves in tests except loopback (see conftest): these probes fail as on a dead network.
DOWN = Settings(timeout=1.0, retries=0, allow_private=True, online_probe_hosts=("probe.invalid", "down.invalid"))
UP = Settings(timeout=1.0, retries=0, allow_private=True)


@pytest.fixture
async def site() -> AsyncIterator[tuple[dict[str, int], int]]:
    """A site whose /brief answers with the status in the dict: a source that can break later."""
    status = {"brief": 200}

    async def page(request: web.Request) -> web.Response:
        return html(article("Labour force brief", "Employment rose by 2 percent."))

    async def brief(request: web.Request) -> web.Response:
        return html(article("Housing need brief"), status=status["brief"])

    app = web.Application()
    app.router.add_get("/page", page)
    app.router.add_get("/brief", brief)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield status, server.port or 0
    finally:
        await server.close()


def _config(tmp_path: Path, port: int, settings: Settings) -> Config:
    refs = (Reference(id="labour", url=f"http://evidence.site:{port}/page"),
            Reference(id="housing", url=f"http://evidence.site:{port}/brief"))
    return Config(path=tmp_path / "references.yaml", documents=(), settings=settings, references=refs)


async def _run(tmp_path: Path, port: int, *, online: bool) -> dict[str, Result]:
    state = tmp_path / ".linkcheck"
    if online:
        report: RunReport = await run_check(_config(tmp_path, port, UP), state_dir=state,
                                            resolver=StaticResolver({"evidence.site": "127.0.0.1"}))
    else:  # the real resolver: evidence.site does not resolve, nor do the probes
        report = await run_check(_config(tmp_path, port, DOWN), state_dir=state)
    assert report.offline is (not online)
    return {r.reference_id or "": r for r in report.results}


def _digest(tmp_path: Path) -> tuple[str, str]:
    (tmp_path / "references.yaml").write_text("version: 1\nreferences: []\n", encoding="utf-8")
    out = CliRunner().invoke(main, ["email", "--dry-run", "--to", "team@example.org", "--since", "7d",
                                    "--references", str(tmp_path / "references.yaml"),
                                    "--report-dir", str(tmp_path / "reports")], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    eml = next((tmp_path / "reports").glob("email-*.eml"))
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    body = message.get_body(("plain",))
    assert body is not None
    return str(message["Subject"]), body.get_content()


async def test_offline_run_is_kept_but_counted_by_no_digest_or_trend(site: tuple[dict[str, int], int],
                                                                   tmp_path: Path) -> None:
    status, port = site
    first = await _run(tmp_path, port, online=True)
    assert {k: str(r.verdict) for k, r in first.items()} == {"labour": "ok", "housing": "ok"}

    offline = await _run(tmp_path, port, online=False)
    assert {(str(r.verdict), str(r.reason)) for r in offline.values()} == {("error", "offline")}
    # The offline run's own results carry the history as it was: no new failure, no streak.
    assert all(r.trend is None and r.consecutive_failures == 0 and r.first_failed is None
               for r in offline.values())
    with History(history_path(tmp_path / ".linkcheck")) as h:
        runs = h.runs()
    assert [r.offline for r in runs] == [True, False]  # kept, and marked
    assert offline["labour"].last_ok == runs[1].started  # runs are dated by their start, as each reported

    subject, text = _digest(tmp_path)
    assert "0 newly broken, 0 changed, 0 still broken, 0 fixed" in subject
    assert "Newly broken or changed (0)" in text
    assert f"The last run ({runs[0].finished}) was offline" in text

    status["brief"] = 404  # a real break after the offline run, a second later (times are to the second)
    await asyncio.sleep(1.0)
    later = await _run(tmp_path, port, online=True)
    # As if the offline run never happened: the ok source is a steady ok (not "fixed"), the broken
    # one is new since this run (not "still" from the offline run), its last ok the first run's.
    assert (later["labour"].trend, later["labour"].consecutive_failures) == (None, 0)
    housing = later["housing"]
    assert (str(housing.verdict), housing.trend, housing.consecutive_failures) == ("broken", "new", 1)
    assert housing.first_failed is not None and housing.first_failed >= runs[0].finished
    assert housing.last_ok == runs[1].started

    subject, text = _digest(tmp_path)
    assert "1 newly broken, 0 changed, 0 still broken, 0 fixed" in subject
    assert "was offline" not in text
    with History(history_path(tmp_path / ".linkcheck")) as h:
        rows = h.latest_results()
    first_failed = {r.reference_id: r.first_failed for r in rows}
    assert first_failed["housing"] is not None and first_failed["housing"] > runs[0].finished


def test_an_unchecked_result_carries_the_streak_as_earlier_runs_left_it() -> None:
    t1, t2, t3 = "2026-11-01T00:00:00Z", "2026-11-08T00:00:00Z", "2026-11-15T00:00:00Z"
    assert carried_trend([]) == TrendInfo(None, 0, None, None)
    assert carried_trend([(t1, "ok"), (t2, "ok")]) == TrendInfo(None, 0, t2, None)
    assert carried_trend([(t1, "ok"), (t2, "broken"), (t3, "broken")]) == TrendInfo(t2, 2, t1, None)
