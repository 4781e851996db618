"""The GitHub Action (action.yml) run as the runner runs it: each composite step in order, with its
`if:`, `env:` and `shell:`, against a scratch submission repository whose origin is a local bare
repository, a web server and an SMTP server on loopback."""
from __future__ import annotations

import asyncio
import email
import email.policy
import json
import os
import re
import shutil
import socket
import sqlite3
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trustme
import yaml
from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.server import article

ROOT = Path(__file__).resolve().parent.parent
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
USER, PASSWORD = "digest@charity.org.uk", "s3cret"
TO = "policy-team@charity.org.uk"


# ---------------------------------------------------------------- the runner, for a composite action

_TOKEN = re.compile(r"\s*(?:(?P<op>&&|\|\||==|!=|!|\(|\))|'(?P<str>(?:[^']|'')*)'"
                    r"|(?P<fn>always|success|failure|cancelled)\(\)|(?P<name>[A-Za-z_][\w.-]*))")


@dataclass
class Run:
    """What one run of the action did: each step's outcome and outputs, its log, the action's outputs."""

    outcomes: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    log: str = ""
    summary: str = ""
    action_outputs: dict[str, str] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return "failure" in self.outcomes.values()


class Runner:
    """Runs action.yml's steps the way the GitHub runner does: the `run:` steps as scripts under
    `bash --noprofile --norc -eo pipefail`, a fresh $GITHUB_OUTPUT per step, and the expressions
    these steps use (inputs, steps.<id>.outputs/outcome, runner.temp, the status functions).
    `uses:` steps are not run: actions/setup-python is emulated by this python, the artifact
    upload (state: artifact only) is skipped."""

    def __init__(self, env: dict[str, str], inputs: dict[str, str]) -> None:
        self.env = env
        self.inputs = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
        unknown = set(inputs) - set(self.inputs)
        assert not unknown, f"not inputs of action.yml: {unknown}"
        self.inputs.update(inputs)
        self.inputs["token"] = ""  # `${{ github.token }}`: a local origin needs none

    def value(self, name: str, run: Run) -> str:
        parts = name.split(".")
        if parts[0] == "inputs":
            return self.inputs[parts[1]]
        if parts[0] == "steps" and parts[2] == "outputs":
            return run.outputs.get(parts[1], {}).get(parts[3], "")
        if parts[0] == "steps" and parts[2] in ("outcome", "conclusion"):
            return run.outcomes.get(parts[1], "")
        if name == "runner.temp":
            return self.env["RUNNER_TEMP"]
        raise AssertionError(f"the test runner does not know {name}")

    def evaluate(self, expression: str, run: Run) -> Any:
        """A GitHub expression of the kinds action.yml uses, as Python."""
        python, pos = [], 0
        expression = expression.strip()
        while pos < len(expression):
            match = _TOKEN.match(expression, pos)
            assert match, f"cannot read {expression[pos:]!r}"
            pos = match.end()
            if match["op"]:
                python.append({"&&": " and ", "||": " or ", "!": " not "}.get(match["op"], match["op"]))
            elif match["str"] is not None:
                python.append(repr(match["str"].replace("''", "'")))
            elif match["fn"]:
                python.append({"always": "True", "success": repr(not run.failed), "failure": repr(run.failed),
                               "cancelled": "False"}[match["fn"]])
            elif match["name"] in ("true", "false"):
                python.append(str(match["name"] == "true"))
            else:
                python.append(repr(self.value(match["name"], run)))
        return eval("".join(python), {"__builtins__": {}})  # noqa: S307 - our own tokens only

    def expand(self, text: str, run: Run) -> str:
        return re.sub(r"\$\{\{(.*?)\}\}", lambda m: str(self.evaluate(m[1], run)), text)

    def run(self, before: dict[str, Callable[[], None]] | None = None, only: set[str] | None = None) -> Run:
        run = Run()
        temp = Path(self.env["RUNNER_TEMP"])
        for number, step in enumerate(ACTION["runs"]["steps"]):
            step_id = step.get("id", f"__{number}")
            if only is not None and step_id not in only:
                continue
            condition = step.get("if", "success()")
            condition = condition[3:-2] if condition.startswith("${{") else condition
            if not self.evaluate(condition, run):
                run.outcomes[step_id] = "skipped"
                continue
            if before and step_id in before:
                before[step_id]()
            if "uses" in step:
                if step["uses"].startswith("actions/setup-python@"):
                    run.outputs[step_id] = {"python-path": sys.executable}
                    run.outcomes[step_id] = "success"
                continue
            assert step["shell"] == "bash"
            script, output, summary = (temp / f"step-{number}.sh", temp / f"output-{number}",
                                       temp / f"summary-{number}")
            script.write_text(step["run"], encoding="utf-8")
            output.write_text("")
            summary.write_text("")
            env = {**self.env, "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary),
                   **{k: self.expand(str(v), run) for k, v in (step.get("env") or {}).items()}}
            done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], env=env,
                                  cwd=self.env["GITHUB_WORKSPACE"], capture_output=True, text=True, timeout=120,
                                  check=False)
            run.log += f"## {step.get('name')} (exit {done.returncode})\n{done.stdout}{done.stderr}"
            run.summary += summary.read_text(encoding="utf-8")
            run.outcomes[step_id] = "success" if done.returncode == 0 else "failure"
            run.outputs[step_id] = parse_outputs(output.read_text(encoding="utf-8"))
        run.action_outputs = {name: self.expand(spec["value"], run) for name, spec in ACTION["outputs"].items()}
        return run


def parse_outputs(text: str) -> dict[str, str]:
    """$GITHUB_OUTPUT: `name=value` lines and `name<<DELIMITER` blocks."""
    outputs, lines = {}, iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            block = []
            for inner in lines:
                if inner == delimiter:
                    break
                block.append(inner)
            outputs[name] = "\n".join(block)
        elif "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
    return outputs


# ---------------------------------------------------------------- the world around a run

class Web:
    """A few pages on 127.0.0.1, served from a thread of its own (the action's steps block);
    a path in `gone` answers 404."""

    def __init__(self) -> None:
        self.gone: set[str] = set()
        self.loop = asyncio.new_event_loop()
        self.started = threading.Event()
        self.port = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)

    async def _page(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name in self.gone:
            return web.Response(status=404, text="not found")
        return web.Response(text=article(f"Report on {name}", f"The {name} figures for 2026 are set out here."),
                            content_type="text/html")

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        app.router.add_get("/paper/{name}", self._page)
        runner = web.AppRunner(app)
        self.loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.started.set()
        self.loop.run_forever()
        self.loop.run_until_complete(runner.cleanup())

    def __enter__(self) -> Web:
        self.thread.start()
        self.started.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/paper/{name}"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.logins: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[tuple[Inbox, int, Path]]:
    """STARTTLS and a login required; (inbox, port, the CA file the client must trust)."""
    ca = trustme.CA()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(tls)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    inbox = Inbox()

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        good = isinstance(auth_data, LoginPassword) and auth_data == (USER.encode(), PASSWORD.encode())
        if good:
            inbox.logins.append(auth_data.login.decode())
        return AuthResult(success=good)

    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port(), tls_context=tls, require_starttls=True,
                            auth_require_tls=True, authenticator=authenticator)
    controller.start()
    try:
        yield inbox, controller.port, ca_file
    finally:
        controller.stop()


@pytest.fixture
def pages() -> Iterator[Web]:
    with Web() as server:
        yield server


def git(*args: str, cwd: Path) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "A Person", "GIT_AUTHOR_EMAIL": "person@charity.org.uk",
           "GIT_COMMITTER_NAME": "A Person", "GIT_COMMITTER_EMAIL": "person@charity.org.uk"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout.strip()


class Submission:
    """A submission repository as GitHub holds it (a bare `origin`), checked out afresh for each
    run as actions/checkout does, each run with a runner temp dir of its own."""

    def __init__(self, base: Path, pages: Web, smtp_port: int, ca_file: Path) -> None:
        self.base, self.ca_file = base, ca_file
        self.origin = base / "origin.git"
        git("init", "--quiet", "--bare", "-b", "main", str(self.origin), cwd=base)
        seed = base / "seed"
        git("clone", "--quiet", str(self.origin), str(seed), cwd=base)
        (seed / "submission.md").write_text(
            "# Housing bid\n\n"
            f"Rents rose ([ONS]({pages.url('rents')})), arrears too ([Shelter]({pages.url('arrears')})),\n"
            f"and evictions ([MoJ]({pages.url('evictions')})).\n", encoding="utf-8")
        (seed / "references.yaml").write_text(
            "version: 1\ndocuments: [submission.md]\n"
            "settings:\n  allow_private: true\n  archive_lookup: false\n  retries: 0\n  timeout: 10\n"
            f"  email: {{host: 127.0.0.1, port: {smtp_port}, security: starttls, from: linkcheck@charity.org.uk,"
            f" to: [{TO}]}}\n", encoding="utf-8")
        git("add", ".", cwd=seed)
        git("commit", "--quiet", "-m", "The bid", cwd=seed)
        git("push", "--quiet", "origin", "main", cwd=seed)
        self.runs = 0

    def runner(self, inputs: dict[str, str], **job_env: str) -> Runner:
        """A fresh job: a shallow checkout of main, an empty runner temp dir."""
        self.runs += 1
        job = self.base / f"job{self.runs}"
        workspace, temp = job / "housing-bid", job / "runner-temp"
        temp.mkdir(parents=True)
        git("clone", "--quiet", "--depth", "1", f"file://{self.origin}", str(workspace), cwd=job)
        env = {"PATH": os.environ["PATH"], "HOME": str(job), "LANG": "C.UTF-8",
               "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
               "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(workspace),
               "GITHUB_ACTION_PATH": str(ROOT), "RUNNER_TEMP": str(temp), "GITHUB_REPOSITORY": "charity/housing-bid",
               "GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": str(1000 + self.runs),
               "GITHUB_SHA": git("rev-parse", "HEAD", cwd=workspace),
               "GITHUB_WORKFLOW_REF": "charity/housing-bid/.github/workflows/linkcheck.yml@refs/heads/main",
               # The action's own tests reuse this environment's linkcheck instead of installing it
               # (test_install_step_installs_from_the_action_path covers the install itself).
               "LINKCHECK_ACTION_PYTHON": sys.executable,
               "SSL_CERT_FILE": str(self.ca_file), **job_env}
        return Runner(env, inputs)

    def state_branch(self, *args: str) -> str:
        return git(*args, cwd=self.origin)


def report(run: Run) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(Path(run.action_outputs["report-json"]).read_text(encoding="utf-8"))
    return data


def trends(data: dict[str, Any]) -> dict[str, str | None]:
    return {r["url"].rsplit("/", 1)[1]: r["trend"] for r in data["results"]}


def runs_in(history: bytes, tmp_path: Path) -> int:
    path = tmp_path / "restored.sqlite"
    path.write_bytes(history)
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM runs WHERE finished IS NOT NULL").fetchone()[0])


# ---------------------------------------------------------------- the tests

WEEKLY = {"formats": "html,markdown,junit", "smtp-user": USER, "smtp-password": PASSWORD}


def test_two_weekly_runs_keep_state_on_the_branch_and_email_what_newly_broke(
        tmp_path: Path, pages: Web, smtp: tuple[Inbox, int, Path]) -> None:
    inbox, port, ca_file = smtp
    repo = Submission(tmp_path, pages, port, ca_file)

    first = repo.runner(WEEKLY).run()
    assert not first.failed, first.log
    assert first.outcomes["install"] == first.outcomes["save"] == "success"
    assert "archive prune: not asked for" in first.log
    assert "no branch linkcheck-state yet" in first.log
    assert first.action_outputs["history"] == "new"
    assert (first.action_outputs["ok"], first.action_outputs["broken"], first.action_outputs["exit-code"]) == \
        ("3", "0", "0")
    head = repo.state_branch("rev-parse", "refs/heads/linkcheck-state")
    assert first.action_outputs["state-commit"] == head
    assert repo.state_branch("rev-list", "--count", head) == "1"  # an orphan branch, created by this run
    files = repo.state_branch("ls-tree", "-r", "--name-only", head).splitlines()
    assert "history.sqlite" in files and "last-report.json" in files
    assert len([f for f in files if f.startswith("archive/") and f.endswith(".warc.gz")]) == 1
    assert not any(f.endswith(("-wal", "-shm")) for f in files)

    pages.gone.add("arrears")
    second = repo.runner({**WEEKLY, "keep-runs": "1"}).run()
    # Broken evidence fails the job, after the state was saved and the digest sent.
    assert second.failed and second.outcomes["save"] == second.outcomes["digest"] == "success", second.log
    # keep-runs ran `linkcheck archive prune --keep-runs 1` before the save: the baselines stay.
    assert "kept though old: 3 baselines" in second.log
    assert second.action_outputs["exit-code"] == "1"
    assert f"state restored from branch linkcheck-state at {head[:12]}" in second.log
    assert second.action_outputs["history"] == "found"
    data = report(second)
    assert data["run"]["history"] == "found"
    assert trends(data) == {"arrears": "new", "evictions": None, "rents": None}  # only that one is new
    assert (second.action_outputs["broken"], second.action_outputs["new"], second.action_outputs["ok"]) == \
        ("1", "1", "2")
    assert {Path(second.action_outputs[k]).name for k in ("report-html", "report-markdown", "report-junit")} == \
        {"report.html", "report.md", "junit.xml"}
    assert "| broken | 1 |" in second.summary  # the job summary

    new_head = repo.state_branch("rev-parse", "refs/heads/linkcheck-state")
    assert repo.state_branch("rev-parse", f"{new_head}^") == head
    files = repo.state_branch("ls-tree", "-r", "--name-only", new_head).splitlines()
    assert len([f for f in files if f.startswith("archive/")]) == 2
    history = subprocess.run(["git", "show", f"{new_head}:history.sqlite"], cwd=repo.origin, capture_output=True,
                             check=True).stdout
    assert runs_in(history, tmp_path) == 2

    # The digest of each run arrived, logged in with the secrets given as inputs.
    assert inbox.logins == [USER, USER]
    subjects = [m["Subject"] for m in inbox.messages]
    assert subjects == ["[linkcheck] 0 newly broken, 0 changed, 0 still broken, 0 fixed — housing-bid",
                        "[linkcheck] 1 newly broken, 0 changed, 0 still broken, 0 fixed — housing-bid"]
    body = inbox.messages[1].get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert pages.url("arrears") in text and pages.url("rents") not in text
    assert "no history found" not in text
    # The caller's checkout is left as it was, but for the reports.
    workspace = Path(second.action_outputs["report-dir"])
    assert not (tmp_path / "job2" / "housing-bid" / ".linkcheck").exists() and workspace.name == "reports"
    assert git("status", "--porcelain", cwd=tmp_path / "job2" / "housing-bid") == "?? reports/"


def test_a_state_branch_without_history_says_so_and_a_concurrent_push_is_built_upon(
        tmp_path: Path, pages: Web, smtp: tuple[Inbox, int, Path]) -> None:
    inbox, port, ca_file = smtp
    repo = Submission(tmp_path, pages, port, ca_file)
    # The state branch exists but holds no history (e.g. it was emptied by hand).
    other = tmp_path / "other"
    git("init", "--quiet", "-b", "linkcheck-state", str(other), cwd=tmp_path)
    (other / "README.md").write_text("state\n", encoding="utf-8")
    git("add", ".", cwd=other)
    git("commit", "--quiet", "-m", "empty state", cwd=other)
    git("push", "--quiet", str(repo.origin), "linkcheck-state", cwd=other)

    def concurrent_push() -> None:
        (other / "README.md").write_text("another run's state\n", encoding="utf-8")
        git("commit", "--quiet", "-am", "another run", cwd=other)
        git("push", "--quiet", str(repo.origin), "linkcheck-state", cwd=other)

    # The secrets as job-level environment variables this time, not inputs.
    run = repo.runner({"formats": "markdown,html,text"}, LINKCHECK_SMTP_USER=USER,
                      LINKCHECK_SMTP_PASSWORD=PASSWORD).run(before={"save": concurrent_push})
    assert not run.failed, run.log
    assert run.action_outputs["history"] == "missing"
    data = report(run)
    assert data["run"]["history"] == "missing"
    note = "no history found: baselines start again"
    assert f"NOTE: {note}" in run.log  # the console
    assert f"::warning title=linkcheck::{note}" in run.log  # an annotation
    report_dir = Path(run.action_outputs["report-dir"])
    for name in ("report.md", "report.html", "report.txt"):
        assert note in (report_dir / name).read_text(encoding="utf-8").lower(), name
    [message] = inbox.messages
    assert "(no history found)" in message["Subject"]
    body = message.get_body(("plain",))
    assert body is not None and f"NOTE: {note}." in body.get_content()

    # The push was refused once (the branch had moved) and then built on the other run's commit.
    assert "moved while this run went on" in run.log
    head = repo.state_branch("rev-parse", "refs/heads/linkcheck-state")
    assert repo.state_branch("log", "-1", "--format=%s", f"{head}^") == "another run"
    files = repo.state_branch("ls-tree", "-r", "--name-only", head).splitlines()
    assert "history.sqlite" in files
    assert repo.state_branch("show", f"{head}:README.md") == "state"  # the newer run's state dir wins
    assert run.action_outputs["state-commit"] == head


def test_install_step_installs_from_the_action_path(tmp_path: Path) -> None:
    """The install step itself, without the test override: a venv in the runner temp dir, and
    pip given the action's own folder, never the workspace. Python here is a recorder standing
    in for the runner's (a real install takes longer than this whole file)."""
    workspace, temp, action = tmp_path / "ws", tmp_path / "temp", tmp_path / "action"
    for folder in (workspace, temp, action):
        folder.mkdir()
    (workspace / "setup.cfg").write_text("[metadata]\nname = the-submission\n", encoding="utf-8")
    shutil.copytree(ROOT / "action", action / "action")
    calls = tmp_path / "calls"
    recorder = tmp_path / "python3"
    recorder.write_text(
        "#!/bin/sh\n"
        f"echo \"$0 $*\" >> {calls}\n"
        'if [ "$1 $2" = "-m venv" ]; then mkdir -p "$3/bin" && cp "$0" "$3/bin/python"; fi\n',
        encoding="utf-8")
    recorder.chmod(0o755)
    # No python-version: setup-python is skipped and the runner's python3 (here the recorder) is used.
    env = {"PATH": f"{tmp_path}:{os.environ['PATH']}", "GITHUB_WORKSPACE": str(workspace), "RUNNER_TEMP": str(temp),
           "GITHUB_ACTION_PATH": str(action)}
    run = Runner(env, {"python-version": ""}).run(only={"python", "install"})
    assert run.outcomes["python"] == "skipped" and run.outcomes["install"] == "success", run.log
    venv = temp / "linkcheck-venv"
    assert calls.read_text(encoding="utf-8").splitlines() == [
        f"{recorder} -m venv {venv}",
        f"{venv}/bin/python -m pip install --quiet --disable-pip-version-check {action}",
    ]
    assert run.outputs["install"] == {"python": f"{venv}/bin/python"}


@pytest.mark.parametrize(("inputs", "step", "message"), [
    ({"archive": "no"}, "check", "::error::input archive must be true or false, not 'no'"),
    ({"state": "cache"}, "restore", "::error::state must be branch, artifact or none, not 'cache'"),
    ({"send-digest": "yes"}, "digest", "::error::input send-digest must be auto, true or false, not 'yes'"),
])
def test_a_wrong_input_fails_its_step_with_one_line(
        tmp_path: Path, pages: Web, inputs: dict[str, str], step: str, message: str) -> None:
    repo = Submission(tmp_path, pages, _free_port(), tmp_path / "no-ca.pem")
    run = repo.runner(inputs).run()
    assert run.failed and run.outcomes[step] == "failure"
    assert message in run.log
    saved = "refs/heads/linkcheck-state" in repo.state_branch("show-ref")
    if step == "digest":  # the check ran: its state is kept all the same
        assert run.outcomes["save"] == "success" and saved
    else:
        assert run.outcomes["save"] == "skipped" and not saved
