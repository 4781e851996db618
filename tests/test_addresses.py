"""Addresses a document may name: IPv6 forms that embed IPv4, odd IPv4 spellings, local paths."""
from __future__ import annotations

import asyncio
import ipaddress
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from linkcheck import classify
from linkcheck.cli import main
from linkcheck.facts import LocalFile, Lookup
from linkcheck.localfile import look_up
from linkcheck.model import Citation, Reason, Target
from linkcheck.policy import Gate, ip_is_public
from linkcheck.urls import placeholder_reason

P = pytest.param


@pytest.mark.parametrize("address, public", [
    P("64:ff9b::a9fe:a9fe", False, id="nat64-metadata"),
    P("64:ff9b::7f00:1", False, id="nat64-loopback"),
    P("64:ff9b::808:808", True, id="nat64-public"),
    P("64:ff9b:1::a9fe:a9fe", False, id="nat64-local-use"),
    P("2002:a9fe:a9fe::1", False, id="6to4-metadata"),
    P("2002:c0a8:101::1", False, id="6to4-private"),
    P("2002:808:808::1", True, id="6to4-public"),
    P("::a9fe:a9fe", False, id="ipv4-compatible-metadata"),
    P("::808:808", True, id="ipv4-compatible-public"),
    P("::ffff:169.254.169.254", False, id="ipv4-mapped-metadata"),
    P("::ffff:8.8.8.8", True, id="ipv4-mapped-public"),
    # Teredo: server 65.54.227.120, client 169.254.169.254 XORed with ffff:ffff into the last 32 bits.
    P("2001:0:4136:e378:8000:63bf:5601:5601", False, id="teredo-client-metadata"),
    P("::1", False, id="loopback"),
    P("::", False, id="unspecified"),
    P("2606:4700:4700::1111", True, id="plain-public-ipv6"),
])
def test_ipv6_is_judged_by_the_ipv4_address_it_embeds(address: str, public: bool) -> None:
    assert ip_is_public(ipaddress.ip_address(address)) is public
    refusal = Gate().precheck(f"http://[{address}]/latest/meta-data/")
    assert (refusal is None) is public


def test_the_teredo_example_embeds_the_metadata_address() -> None:
    teredo = ipaddress.IPv6Address("2001:0:4136:e378:8000:63bf:5601:5601").teredo
    assert teredo is not None and str(teredo[1]) == "169.254.169.254"


@pytest.mark.parametrize("url", [
    "http://2852039166/latest/", "http://0251.0376.0251.0376/", "http://0xa9fea9fe/", "http://169.254.43518/",
    "http://127.1/", "http://0x7f.0.0.1/", "http://0177.0.0.1/", "http://256.1.1.1/", "http://1.2.3.4.5/",
])
def test_ipv4_in_an_odd_form_is_an_invalid_url_that_says_so(url: str) -> None:
    assert placeholder_reason(url) is Reason.INVALID_URL
    judged = classify.placeholder(Target(url), Reason.INVALID_URL)
    assert "IPv4 address written in decimal, octal, hex or short form" in judged.detail
    assert "redirect" not in judged.detail


@pytest.mark.parametrize("url", ["http://169.254.169.254/", "http://8.8.8.8/", "http://[::1]/",
                                 "http://[::ffff:1.2.3.4]/", "http://1e100.net/", "http://a.123/"])
def test_ordinary_hosts_are_no_odd_ipv4(url: str) -> None:
    reason = placeholder_reason(url)
    assert reason is None or "IPv4" not in classify.placeholder(Target(url), reason).detail


async def test_local_paths_outside_the_tree_are_never_looked_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo, outside = tmp_path / "repo", tmp_path / "outside"
    (repo / "docs").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.txt").write_text("here")
    (repo / "data.csv").write_text("a,b\n")
    (repo / "docs" / "escape").symlink_to(outside)
    monkeypatch.chdir(repo)
    # The same links to a file that exists and to one that does not: the answers must not differ.
    links = {"exists": ("../../outside/secret.txt", f"{outside}/secret.txt", "escape/secret.txt"),
             "absent": ("../../outside/nothing.txt", f"{outside}/nothing.txt", "escape/nothing.txt")}
    lines = [f"[{kind} {i}]({link})" for kind, group in links.items() for i, link in enumerate(group)]
    (repo / "docs" / "doc.md").write_text("\n\n".join([*lines, "[data](../data.csv)", "[gone](../gone.csv)"]) + "\n")
    result: Result = await asyncio.to_thread(CliRunner().invoke, main, ["check", "docs/doc.md", "--quiet"])
    assert result.exit_code == 1, result.output
    by_text = {r["citations"][0]["text"]: r for r in json.loads(Path("reports/report.json").read_text())["results"]}
    for i in range(3):
        shown, hidden = by_text[f"exists {i}"], by_text[f"absent {i}"]
        assert (shown["verdict"], shown["reason"]) == ("placeholder", "invalid_url")
        assert shown["detail"].replace("secret", "X") == hidden["detail"].replace("nothing", "X")
    assert "leads outside the repository (the working folder); not looked up" in by_text["exists 0"]["detail"]
    assert "not looked up" in by_text["exists 2"]["detail"]  # through a symbolic link
    assert (by_text["data"]["verdict"], by_text["data"]["reason"]) == ("skipped", "local_file")
    assert (by_text["gone"]["verdict"], by_text["gone"]["reason"]) == ("broken", "file_missing")


def test_the_local_file_lookup_reports_what_it_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside the tree, there, or missing: a fact for classify, never a verdict."""
    (tmp_path / "data.csv").write_text("a,b\n")
    monkeypatch.chdir(tmp_path)

    def found(path: str, written: str, document: str = "doc.md") -> LocalFile:
        return look_up(Target(path, citations=(Citation(document, 1, "x", written),)))

    assert found("data.csv", "./data.csv") == LocalFile(Lookup.EXISTS, "./data.csv", "data.csv", True)
    assert found("gone.csv", "gone.csv") == LocalFile(Lookup.MISSING, "gone.csv", "gone.csv", True)
    assert found("../data.csv", "../data.csv").kind is Lookup.OUTSIDE_TREE
    # A document given by its absolute path outside the working folder: its own folder is the tree.
    elsewhere = tmp_path.parent / "elsewhere" / "doc.md"
    outside = found(str(tmp_path / "data.csv"), "../x/data.csv", str(elsewhere))
    assert (outside.kind, outside.in_working_folder) == (Lookup.OUTSIDE_TREE, False)
