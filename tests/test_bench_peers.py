"""The side-by-side benchmark's own parts at a tiny size, so the harness cannot rot unnoticed.

lychee is not installed for the tests: only the bare aiohttp client and linkcheck run here."""
from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture()
def bench_peers() -> Iterator[object]:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import bench_peers
        yield bench_peers
    finally:
        sys.path.remove(str(BENCHMARKS))


def test_one_round_checks_every_url_on_every_host_and_tabulates(bench_peers) -> None:
    args = bench_peers.parse(["--n", "50", "--hosts", "5", "--latency", "0", "--repeat", "1",
                              "--tools", "bare,linkcheck", "--server-procs", "2"])
    progress: list[str] = []
    runs = bench_peers.bench(args, out=progress.append)

    assert [run.tool for run in runs] == ["bare", "linkcheck"]
    assert runs[0].requests == 50  # the bare client: one GET per URL, as the servers counted
    assert runs[1].requests >= 50
    for run in runs:
        assert run.measure.returncode == 0
        assert run.measure.cpu > 0 and run.measure.max_rss_mib > 10
    rows = {line.split("|")[1].strip(): line for line in bench_peers.table(runs, args) if line.startswith("| ")}
    assert set(rows) == {"tool", "bare", "linkcheck"}
    links_per_s = float(rows["linkcheck"].split("|")[5].replace(",", ""))
    assert links_per_s == pytest.approx(50 / runs[1].measure.wall, abs=0.5)  # printed as a whole number
    assert len(progress) == 2


def test_a_url_that_fails_fails_the_benchmark(bench_peers, tmp_path: Path) -> None:
    from peer_hosts import serving

    args = bench_peers.parse(["--n", "20", "--hosts", "4", "--latency", "0", "--tools", "bare"])
    with serving(4, 0.0, 1) as servers:
        assert sorted(servers.ports) == ["127.0.1.1", "127.0.1.2", "127.0.1.3", "127.0.1.4"]
        document, urls = bench_peers.write_inputs(tmp_path, servers, 20)
        assert document.read_text().count("](http://127.0.1.") == 20
        urls.write_text(urls.read_text().replace("/doc/7\n", "/missing\n"))
        with pytest.raises(bench_peers.BenchFailure, match="20 URLs checked, 19 OK"):
            bench_peers.run_tool(bench_peers.ALL_TOOLS["bare"], servers, document, tmp_path, args, 60)
        assert servers.requests()["GET"] == 20


def test_linkcheck_past_the_memory_target_at_100000_urls_fails_the_benchmark(bench_peers) -> None:
    from peer_hosts import Measure

    def run(tool: str, rss: float, tree: float) -> object:
        return bench_peers.Run(tool, 0.0, Measure(10.0, 10.0, rss, tree, 0), 100_000, 1.0)

    big = bench_peers.parse(["--n", "100000", "--latency", "0", "--repeat", "1",
                             "--tools", "linkcheck-archive,linkcheck,bare"])
    runs = [run("linkcheck-archive", 230.0, 290.0), run("linkcheck", 160.0, 170.0), run("bare", 400.0, 400.0)]
    assert bench_peers.peak_memory(runs, big) == {"linkcheck-archive": 290.0, "linkcheck": 170.0, "bare": 400.0}
    # The tree's sampled sum counts too; a peer's memory is reported, never failed.
    assert [line.split(":")[0] for line in bench_peers.over_memory(runs, big)] == ["linkcheck-archive"]
    lines = bench_peers.acceptance(runs, big, None, 0.0, None)
    assert "- linkcheck-archive peak memory at N=100000: 290 MiB (< 286 MiB) FAIL" in lines
    assert "- linkcheck peak memory at N=100000: 170 MiB (< 286 MiB) PASS" in lines
    # The target is for runs of 100,000 URLs: a smaller run is not held to it.
    small = bench_peers.parse(["--n", "1000", "--latency", "0", "--tools", "linkcheck-archive"])
    assert bench_peers.over_memory([run("linkcheck-archive", 400.0, 400.0)], small) == []
