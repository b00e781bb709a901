"""``python -m agent console``: the PortAudio check, and the console as a person uses it,
``console --text`` in a real terminal (tmux): answers typed with send-keys, the screen
read with capture-pane, the saved row read back from the embedded store."""

from __future__ import annotations

import ctypes.util
import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from agent import console
from commands import main as cli

ROOT = Path(__file__).resolve().parent.parent
TMUX = shutil.which("tmux")
PORTAUDIO = ctypes.util.find_library("portaudio")
WAIT_S = 90.0
T = TypeVar("T")
LOG_LINE = re.compile(r"\b\d\d:\d\d:\d\d\.\d{3} +(DEBUG|INFO|WARNING|ERROR)\b")

needs_terminal = pytest.mark.skipif(
    (TMUX is None or PORTAUDIO is None) and os.environ.get("CI") != "true",
    reason="needs tmux (scripts/test-services) and libportaudio2 (scripts/setup)",
)


# ---------------------------------------------------------------- PortAudio


def test_missing_portaudio_is_one_line_saying_how_to_install_it():
    asked: list[str] = []

    def find_library(name: str) -> str | None:
        asked.append(name)
        return None

    problem = console.portaudio_problem(find_library, system="Linux")
    assert asked == ["portaudio"]  # the name sounddevice asks for
    assert problem is not None
    assert "\n" not in problem
    assert "apt-get install libportaudio2" in problem


def test_portaudio_found_or_bundled_is_no_problem():
    assert console.portaudio_problem(lambda _: "libportaudio.so.2", system="Linux") is None
    for system in ("Darwin", "Windows"):  # sounddevice's wheel brings its own there
        assert console.portaudio_problem(lambda _: None, system=system) is None


def test_console_without_portaudio_exits_with_that_one_line(monkeypatch, capsys):
    check = console.portaudio_problem
    monkeypatch.setattr(console, "portaudio_problem", lambda: check(lambda _: None, "Linux"))
    assert cli.main(["console", "--text"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("error: ") and "apt-get install libportaudio2" in err


def test_a_spoken_console_without_voice_keys_says_to_use_text():
    problem = console.voice_problem([], voiceless=True)
    assert problem is not None and "\n" not in problem
    assert "python -m agent console --text" in problem
    assert console.voice_problem(["--text"], voiceless=True) is None
    assert console.voice_problem([], voiceless=False) is None


# ---------------------------------------------------------------- a real terminal


class Terminal:
    """One program in a tmux pane of a private tmux server; the pane stays when the
    program ends, so its last screen and exit status can be read."""

    def __init__(self, tmp: Path, command: list[str], env: dict[str, str]) -> None:
        assert TMUX is not None, "tmux is not installed (scripts/test-services installs it)"
        self._socket = str(tmp / "tmux.sock")
        self._status = tmp / "exit-status"
        conf = tmp / "tmux.conf"
        conf.write_text("set -g remain-on-exit on\nset -g history-limit 20000\n")
        shell = f"{shlex.join(command)}; echo $? > {shlex.quote(str(self._status))}"
        self._tmux("-f", str(conf), "new-session", "-d", "-s", "console", "-x", "220",
                   "-y", "50", "-c", str(ROOT), shell, env=env)  # fmt: skip

    def _tmux(self, *args: str, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            [TMUX or "tmux", "-S", self._socket, *args],
            capture_output=True, text=True, env=env, timeout=30, check=True,
        )  # fmt: skip
        return done.stdout

    def screen(self) -> str:
        """Everything the program has shown, scrollback included (not tmux's own note
        that the pane's program has ended)."""
        shown = self._tmux("capture-pane", "-p", "-J", "-S", "-", "-t", "console")
        return "\n".join(line for line in shown.splitlines() if not line.startswith("Pane is dead"))

    def type(self, line: str) -> None:
        """The line and Enter as one burst, as a paste arrives (LiveKit's input line
        reads key by key and drops what arrives between two reads)."""
        self._tmux("send-keys", "-t", "console", "-l", f"{line}\r")

    def visible(self) -> str:
        """What the pane shows now (no scrollback)."""
        return self._tmux("capture-pane", "-p", "-J", "-t", "console")

    def answer(self, line: str) -> None:
        """Type ``line`` once the input line waits for it, as a person does: LiveKit's
        input line drops keys that arrive while it is not reading (a fast typist's too),
        so a line that did not reach the chat is typed again into the empty input line."""
        for _ in range(3):
            self.wait_for("the input line", lambda _: asks_for_input(self.visible()))
            self.type(line)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if said(self.screen(), f"You: {line}"):
                    return
                time.sleep(0.1)
        raise AssertionError(f"{line!r} never reached the chat; the screen:\n{self.screen()}")

    def interrupt(self) -> None:
        self._tmux("send-keys", "-t", "console", "C-c")

    def exit_status(self) -> int | None:
        """``None`` while the program runs, then its exit status."""
        text = self._status.read_text() if self._status.exists() else ""
        return int(text) if text.strip() else None

    def wait_for(self, what: str, check: Callable[[str], Any]) -> Any:
        """What ``check(screen)`` gives, once it is true (polled, bounded)."""
        return self._poll(what, lambda: check(self.screen()) or None)

    def wait_exit(self) -> int:
        return self._poll("the console to exit", self.exit_status)

    def _poll(self, what: str, value: Callable[[], T | None]) -> T:
        deadline = time.monotonic() + WAIT_S
        while (found := value()) is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; the screen:\n{self.screen()}")
            time.sleep(0.1)
        return found

    def close(self) -> None:
        subprocess.run([TMUX or "tmux", "-S", self._socket, "kill-server"], capture_output=True)


_CHAT_LINE = re.compile(r"^(?:\s*\.\.\. \S ?)?((?:Interviewer|You): .*)$")
"""A chat line; now and then the reply's "..." status, cleared as the line is printed,
is still in the terminal's cells before it."""


def chat(screen: str) -> list[str]:
    return [m.group(1) for line in screen.splitlines() if (m := _CHAT_LINE.match(line))]


def said(screen: str, line: str) -> bool:
    return line in chat(screen)


def asks_for_input(pane: str) -> bool:
    """The empty input line is at the bottom of the pane, waiting for an answer."""
    shown = [x for x in pane.splitlines() if x.strip()]
    return any("type your answer" in x for x in shown[-4:])


@pytest.fixture
def terminal(tmp_path: Path):
    opened: list[Terminal] = []

    def open_console(*args: str) -> Terminal:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("OPENAI", "DEEPGRAM", "SUPABASE", "LIVEKIT", "TMUX"))
        }
        env.update(
            INTERVIEW_DB_PATH=str(tmp_path / "interviews.db"),
            INTERVIEW_OUTBOX_PATH=str(tmp_path / "outbox.db"),
            INTERVIEW_RECORDINGS_PATH=str(tmp_path / "recordings"),
            HEALTH_PORT="0",
            TERM="xterm-256color",
        )
        env.pop("METRICS_PORT", None)
        term = Terminal(tmp_path, [sys.executable, "-m", "agent", "console", *args], env)
        opened.append(term)
        return term

    yield open_console
    for term in opened:
        term.close()


def saved_rows(db: Path) -> list[tuple[str, str | None, dict[str, Any]]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("select id, ended_by, conversation from interviews").fetchall()
    return [(i, ended_by, json.loads(conv)) for i, ended_by, conv in rows]


@needs_terminal
def test_text_console_is_a_chat_that_ends_by_itself_and_saves(terminal, tmp_path):
    term = terminal("--text")
    greeting = term.wait_for("the greeting", lambda s: chat(s)[:1])[0]
    assert greeting.startswith("Interviewer: ")
    term.wait_for("the input line", lambda s: "type your answer" in s)

    term.answer("Yes, I am ready.")
    term.wait_for("the next question", lambda s: len(chat(s)) >= 3)
    term.answer("I'd like to end the interview")
    term.wait_for("a question whether to end", lambda s: len(chat(s)) >= 5)
    term.answer("yes")

    assert term.wait_exit() == 0
    screen = term.screen()
    [(interview_id, ended_by, conversation)] = saved_rows(tmp_path / "interviews.db")
    assert ended_by == "candidate_request"
    db = tmp_path / "interviews.db"
    assert f"saved to sqlite ({db}) as interview {interview_id}" in screen.splitlines()
    # the screen's chat is the saved conversation, greeting and goodbye included
    expected = [
        f"{'Interviewer' if m['role'] == 'agent' else 'You'}: {m['text']}"
        for m in conversation["messages"]
    ]
    assert chat(screen) == expected
    assert expected[0] == greeting
    assert conversation["messages"][-1]["role"] == "agent"  # the goodbye, shown last
    assert [m["text"] for m in conversation["messages"] if m["role"] == "candidate"] == [
        "Yes, I am ready.",
        "I'd like to end the interview",
        "yes",
    ]
    # warnings only: no DEBUG or INFO log line, nothing after the saved line
    assert not [line for line in screen.splitlines() if re.search(r"\b(DEBUG|INFO)\b", line)]
    assert screen.rstrip().splitlines()[-1].startswith("saved to sqlite")
    assert "Traceback" not in screen


@needs_terminal
def test_log_level_debug_shows_the_logs_and_ctrl_c_still_saves(terminal, tmp_path):
    term = terminal("--text", "--log-level", "debug")
    term.wait_for("the greeting", lambda s: chat(s)[:1])
    term.wait_for("the input line", lambda s: "type your answer" in s)
    levels = {m.group(1) for m in LOG_LINE.finditer(term.screen())}
    assert {"DEBUG", "INFO"} <= levels
    term.type("Yes, I am ready.")
    term.wait_for("the next question", lambda s: len(chat(s)) >= 3)

    term.interrupt()
    assert term.wait_exit() == 0
    [(interview_id, ended_by, conversation)] = saved_rows(tmp_path / "interviews.db")
    assert ended_by is not None
    assert [m["text"] for m in conversation["messages"] if m["role"] == "candidate"] == [
        "Yes, I am ready."
    ]
    assert f"as interview {interview_id}" in term.screen()
