"""``python -m agent console``: the interview in this terminal, on LiveKit's console.

LiveKit runs the console (a worker of its own with one fake job in this process, no
server; ``worker.entrypoint`` takes its console branch). This module adds what a person
at the terminal needs:

- :func:`portaudio_problem`: LiveKit's console loads ``sounddevice`` even in text mode,
  and ``sounddevice`` needs the PortAudio library. It is looked up the way
  ``sounddevice`` looks it up, before LiveKit is imported, so that a missing library is
  one line saying how to install it rather than a traceback.
- :func:`show_chat`: in text mode, the conversation as a chat ("Interviewer: ...",
  "You: ..."), every line of it as it is added to the session's history. LiveKit's own
  text mode prints only the replies to what was typed (not the greeting, nor what the
  interviewer says unprompted), as "Agent", with tool calls and timings.
- :func:`interview_started`, :func:`interview_over`: the console's job says which
  interview it runs, and ends the console once that interview is saved, the way Ctrl+C
  ends it; :func:`interview_id` tells the command what to report afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes.util
import logging
import platform
import signal
import threading
import warnings
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from providers import CATALOG, Kind, voice_requirement

if TYPE_CHECKING:
    from rich.text import Text

logger = logging.getLogger("interview.console")

LOG_LEVELS = {"debug": "DEBUG", "info": "INFO", "warning": "WARN", "error": "ERROR"}
"""``--log-level`` choices, as LiveKit's console option spells them. The default,
``warning``, leaves the terminal to the conversation."""
DEFAULT_LOG_LEVEL = "warning"

PORTAUDIO_INSTALL = "apt-get install libportaudio2"
PORTAUDIO_BUNDLED_ON = ("Darwin", "Windows")
"""Systems where ``sounddevice``'s wheel brings its own PortAudio when none is installed."""

INTERVIEWER, CANDIDATE = "Interviewer", "You"


def portaudio_problem(
    find_library: Callable[[str], str | None] = ctypes.util.find_library,
    system: str | None = None,
) -> str | None:
    """One line saying how to install PortAudio when ``sounddevice`` would not find it
    (it asks ``ctypes.util.find_library("portaudio")``); ``None`` when it would."""
    if find_library("portaudio") is not None:
        return None
    if (system or platform.system()) in PORTAUDIO_BUNDLED_ON:
        return None
    return (
        "the console needs the PortAudio library, even with --text (LiveKit's console "
        f"loads it): {PORTAUDIO_INSTALL}"
    )


def voice_problem(livekit_args: list[str], *, voiceless: bool) -> str | None:
    """One line when a spoken console is asked for without the keys for a voice (the
    offline interviewer has none); ``None`` otherwise."""
    if not voiceless or {"--text", "--list-devices", "--help"} & set(livekit_args):
        return None
    voiced = {p.key for p in CATALOG.providers if p.kind in (Kind.STT, Kind.TTS)}
    keys = ", ".join(k.env for k in CATALOG.keys if k.name in voiced)
    return (
        f"a spoken interview needs {voice_requirement()} ({keys}); "
        "without them: python -m agent console --text"
    )


@dataclass(slots=True)
class _Run:
    interview_id: str | None = None
    over: bool = False
    following: bool = False
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    """The candidate's turns and the closing of the session, held until done."""
    typed: deque[str] = field(default_factory=deque)
    """Lines the candidate typed, already shown, whose history items are still to come."""


_run = _Run()
"""The one console of this process (LiveKit's console is one per process too)."""


def interview_started(interview_id: str) -> None:
    _run.interview_id = interview_id


def interview_id() -> str | None:
    """The interview the console ran (``None``: none started)."""
    return _run.interview_id


def interview_over() -> None:
    """End the console as Ctrl+C does: LiveKit's console leaves on SIGINT, handled in the
    main thread. Sent to the main thread itself, so that a wait for the next key there
    is interrupted at once (the console's job runs in another thread)."""
    _run.over = True
    main = threading.main_thread().ident
    if main is not None:
        signal.pthread_kill(main, signal.SIGINT)


def quiet_teardown() -> None:
    """Once LiveKit's console has returned (its worker stopped, the interview saved):
    what it leaves to the interpreter's teardown, its worker loop's unfinished tasks and
    a second shutdown it schedules on that loop as it stops, would be reported as errors
    below the last line of the conversation. They are not the user's concern."""
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", "coroutine .* was never awaited", RuntimeWarning)


def chat_line(item: Any) -> Text | None:
    """One history item as a chat line; ``None`` for what is not a spoken line."""
    from livekit.agents import llm
    from rich.text import Text

    if not isinstance(item, llm.ChatMessage) or item.role not in ("assistant", "user"):
        return None
    text = (item.text_content or "").strip()
    if not text:
        return None
    if item.role == "assistant":
        return Text.assemble((f"{INTERVIEWER}: ", "bold green"), text)
    return Text.assemble((f"{CANDIDATE}: ", "bold cyan"), text)


def show_chat() -> None:
    """Have LiveKit's console run its text mode as a chat (:func:`_chat_text_mode`).

    LiveKit's console has no option or hook for how text mode shows the conversation, so
    its text-mode loop is replaced; its input line, its audio mode and Ctrl+T between
    them are LiveKit's own."""
    from livekit.agents.cli import _legacy

    _legacy._text_mode = _chat_text_mode


def _follow_chat(c: Any) -> None:
    """Print the session's history so far, then each line as it is added (once per
    console; on the session's loop, so no line is missed or printed twice)."""
    if _run.following:
        return
    _run.following = True
    session, out = c.io_session, c.console

    def show(item: Any) -> None:
        line = chat_line(item)
        if line is None:
            return
        typed = _run.typed
        said = (item.text_content or "").strip()
        if item.role == "user" and typed and said == typed[0]:
            typed.popleft()  # shown as it was typed
            return
        out.print(line)

    def attach() -> None:
        for item in session.history.items:
            show(item)
        session.on("conversation_item_added", lambda ev: show(ev.item))

    c.io_loop.call_soon_threadsafe(attach, context=c.io_context)


def _answer(session: Any, text: str, done: Future[None]) -> None:
    """On the session's loop: the candidate's typed line as their turn."""

    async def run() -> None:
        await session.run(user_input=text)

    def settle(task: asyncio.Task[None]) -> None:
        error = None if task.cancelled() else task.exception()
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(None)

    _hold(asyncio.create_task(run())).add_done_callback(settle)


def _chat_text_mode(c: Any) -> None:
    """LiveKit's text mode, the conversation shown by :func:`_follow_chat`: read a line,
    send it as the candidate's turn, wait for the reply; Ctrl+T to audio mode, Ctrl+C to
    leave. Leaving closes the session first, so the interview ends and is saved at once
    (rather than when the console's shutdown stops waiting for it)."""
    from livekit.agents.cli import _legacy as lk

    _follow_chat(c)
    try:
        _converse(c, lk)
    except lk._ExitCli:
        if not _run.over:  # Ctrl+C during the interview
            with contextlib.suppress(RuntimeError):  # its loop already closed
                c.io_loop.call_soon_threadsafe(_close, c.io_session, context=c.io_context)
        raise


def _converse(c: Any, lk: Any) -> None:
    from rich.text import Text

    def on_key(ch: str) -> None:
        if ch == lk.key.CTRL_T:
            raise lk._ToggleMode()

    while True:
        try:
            text = lk.prompt(
                Text(f"{CANDIDATE}: "),
                console=c.console,
                key_read_cb=on_key,
                placeholder="type your answer, then Enter",
            ).strip()
        except KeyboardInterrupt:  # Ctrl+C read as a key
            raise lk._ExitCli() from None
        if not text:
            c.console.bell()
            continue
        # shown as it is sent, as a chat does: the turn's history item may come only after
        # the reply (or never, when the reply ends the interview and the console with it)
        _run.typed.append(text)
        c.console.print(Text.assemble((f"{CANDIDATE}: ", "bold cyan"), text))
        done: Future[None] = Future()
        c.io_loop.call_soon_threadsafe(_answer, c.io_session, text, done, context=c.io_context)
        with lk.live_status(c.console, Text("  ...", style="dim")):
            try:
                done.result()
            except Exception as e:  # the interview goes on (or has ended); say so once
                logger.warning("no reply to that line: %s", type(e).__name__)


def _close(session: Any) -> None:
    """On the session's loop: close the session (the interview ends with it)."""
    _hold(asyncio.create_task(session.aclose()))


def _hold(task: asyncio.Task[None]) -> asyncio.Task[None]:
    _run.tasks.add(task)
    task.add_done_callback(_run.tasks.discard)
    return task
