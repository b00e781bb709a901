"""``python -m agent COMMAND``.

LiveKit's own commands (``dev``, ``start``, ``console``, ``connect``, ``download-files``)
go to LiveKit's CLI after our configuration check; ``simulate`` is ours.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.config import (
    ConfigError,
    Settings,
    keyring_for,
    load_settings,
    metrics_dir_for,
    prices_for,
    store_for,
)
from agent.log import install_redaction
from observability import MetricsSetupError, share_metrics
from persistence import InterviewStore, StoreError
from persistence.outbox import Outbox, OutboxUnavailable
from stages.metadata import MetadataError

if TYPE_CHECKING:
    from agent.simulate import SimulationResult

LIVEKIT_COMMANDS = ("dev", "start", "console", "connect", "download-files")
USAGE = """usage: python -m agent COMMAND [options]
  dev | start       run the worker (LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET)
  console [--text] [--log-level debug|info|warning|error]
                    talk to the interviewer in this terminal (logs: warnings only)
  simulate          a scripted interview:
                    --script FILE [--metadata FILE] [--offline] [--json] [--room NAME]
  report ROOM|ID [--format md|html]  the saved feedback report for a person
  outbox status     what waits to be pushed to the store (and orphaned checkpoints)
  outbox flush      recover orphaned interviews and push everything now
  recordings status                what waits here to be uploaded (answers' recordings)
  recordings delete --user-id U [--interview-id I] | --local
                                  remove a user's recordings from the store and here
  keys set --user-id U [--stdin]   seal and save a user's keys (never from argv)
  keys check --user-id U          which keys are present and open (values never shown)
  keys rotate                     re-seal every row under the first BYOK master key
  join --user-id U --room R       interview in a room of the user's own LiveKit project
  playground [--port P] [--user-id U]
                    the interview in a browser: starts LiveKit, the worker and the page
  token --room R --identity I [--metadata FILE]
                    a participant token that dispatches this agent when used to join
  download-files    fetch model files (Docker build step)"""


SUBCOMMANDS: dict[str, tuple[str, str, str]] = {
    "playground": ("agent.playground", "playground_main", "logging"),
    "token": ("commands.token", "token_main", "redaction"),
    "recordings": ("commands.recordings", "recordings_main", "logging"),
    "keys": ("commands.keys", "keys_main", "redaction"),
}
"""Commands of their own module: (module, its main function, how logs are set up: the
warnings of a plain logging set-up, or only the redaction of secrets)."""


def _fail(message: str, code: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def _livekit(argv: list[str]) -> int:
    command = argv[0]
    try:
        settings = load_settings()
        if command in ("dev", "start"):
            settings.require_livekit()
            store_for(settings)
            if settings.supabase_url:
                keyring_for(settings)  # dispatch opens users' keys: the master keys must parse
        prices_for(settings)
        _share_metrics(settings)
    except ConfigError as e:
        return _fail(str(e))
    from agent.worker import run_livekit_cli

    run_livekit_cli(settings, argv)
    return 0


def _console(argv: list[str]) -> int:
    """LiveKit's console with the conversation as a chat, warnings only from the logs
    unless ``--log-level`` says otherwise; ends by itself once the interview is saved and
    says where (exit 1 when it waits in the outbox)."""
    from agent import console

    problem = console.portaudio_problem()
    if problem is not None:  # before LiveKit imports sounddevice: one line, no traceback
        return _fail(problem, 1)
    parser = argparse.ArgumentParser(prog="python -m agent console", add_help=False)
    parser.add_argument(
        "--log-level",
        type=str.lower,
        choices=tuple(console.LOG_LEVELS),
        default=console.DEFAULT_LOG_LEVEL,
    )
    args, livekit_args = parser.parse_known_args(argv)
    try:
        settings = load_settings()
        prices_for(settings)
        _share_metrics(settings)
    except ConfigError as e:
        return _fail(str(e))
    from agent.plugins import env_keys
    from providers import choose

    voiceless = not choose(set(env_keys(settings))).voice
    problem = console.voice_problem(livekit_args, voiceless=voiceless)
    if problem is not None:
        return _fail(problem)
    install_redaction()
    from agent.worker import run_livekit_cli

    console.show_chat()
    level = console.LOG_LEVELS[args.log_level]
    try:
        run_livekit_cli(settings, ["console", *livekit_args, "--log-level", level])
    except SystemExit as e:
        if e.code not in (None, 0):
            return e.code if isinstance(e.code, int) else 1
    finally:
        console.quiet_teardown()
    interview_id = console.interview_id()
    return 0 if interview_id is None else _report_saved(settings, interview_id)


def _report_saved(settings: Settings, interview_id: str) -> int:
    """Where the console's interview was saved (as ``simulate`` says it)."""

    async def lookup() -> tuple[InterviewStore, Any]:
        store = store_for(settings)
        try:
            return store, await store.get(interview_id)
        finally:
            await store.aclose()

    try:
        store, saved = asyncio.run(lookup())
    except (ConfigError, StoreError):
        saved = None
    if saved is None or saved.interview.ended_by is None:
        return _fail(_kept_in_outbox(settings), 1)
    print(f"\n{_saved_to(store, settings, interview_id)}")
    return 0


def _saved_to(store: InterviewStore, settings: Settings, interview_id: str) -> str:
    where = store.name if store.name != "sqlite" else f"sqlite ({settings.interview_db_path})"
    return f"saved to {where} as interview {interview_id}"


def _kept_in_outbox(settings: Settings) -> str:
    return (
        "the store is unreachable: the interview is kept in the outbox "
        f"({settings.interview_outbox_path}); run 'python -m agent outbox flush' later"
    )


def _share_metrics(settings: Settings) -> None:
    """Before LiveKit (and the Prometheus client) is imported: where this process and its
    job processes record metrics, when they are wanted."""
    shared = metrics_dir_for(settings)
    if shared is None:
        return
    try:
        share_metrics(shared)
    except (OSError, MetricsSetupError) as e:
        raise ConfigError(f"METRICS_DIR: cannot use {shared}: {e}") from None


def _simulate(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m agent simulate",
        description="Run a whole interview from a script (one candidate utterance per line).",
    )
    parser.add_argument("--script", required=True, help="script file, or - to read stdin")
    parser.add_argument("--metadata", type=Path, help="dispatch metadata JSON file")
    parser.add_argument("--offline", action="store_true", help="use the offline interviewer")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--room", help="room name to save the interview under")
    args = parser.parse_args(argv)
    _logging()
    try:
        settings = load_settings()
        prices_for(settings)
        _share_metrics(settings)  # beside a worker with the same METRICS_DIR: its /metrics
    except ConfigError as e:
        return _fail(str(e))
    from agent.simulate import run_simulation, script_lines, stream_lines
    from agent.telemetry import configure_tracing
    from interview.rows import worker_version
    from observability import tracing

    try:
        store = store_for(settings)
        metadata = args.metadata.read_text("utf-8") if args.metadata else None
        lines: Any = (
            stream_lines(sys.stdin.readline)
            if args.script == "-"
            else script_lines(Path(args.script).read_text("utf-8"))
        )
    except ConfigError as e:
        return _fail(str(e))
    except OSError as e:
        return _fail(f"cannot read {e.filename}: {e.strerror}")
    outbox = Outbox(settings.interview_outbox_path)

    async def run() -> SimulationResult:
        try:
            await outbox.recover_and_flush(store)
        except OutboxUnavailable as e:
            logging.getLogger("interview.outbox").error("outbox unavailable: %s", e)
        try:
            return await run_simulation(
                lines,
                metadata,
                settings=settings,
                store=store,
                outbox=outbox,
                offline=args.offline,
                room_name=args.room,
            )
        finally:
            await store.aclose()

    configure_tracing(settings, worker_version())
    try:
        result = asyncio.run(run())
    except MetadataError as e:
        return _fail(f"bad metadata ({e.code}): {e}")
    finally:
        tracing.flush()
    return _print_simulation(result, settings, store, as_json=args.json)


def _print_simulation(
    result: SimulationResult, settings: Settings, store: InterviewStore, *, as_json: bool
) -> int:
    """The finished interview for a person (transcript and report) or as one JSON
    object; exit 1 when it could not be saved (it waits in the outbox)."""
    if as_json:
        print(json.dumps({**result.row, "feedback": result.feedback}, ensure_ascii=False))
    else:
        from feedback import render

        print(render.transcript_text(result.row))
        print()
        print(render.markdown(result.row, result.feedback), end="")
    if result.interview_id is None:
        return _fail(_kept_in_outbox(settings), 1)
    if not as_json:
        print(f"\n{_saved_to(store, settings, result.interview_id)}")
    return 0


def _outbox(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent outbox")
    parser.add_argument("action", choices=("status", "flush"))
    args = parser.parse_args(argv)
    _logging()
    try:
        settings, store = _settings_and_store()
    except ConfigError as e:
        return _fail(str(e))
    outbox = Outbox(settings.interview_outbox_path)

    async def run() -> int:
        try:
            return await act()
        except OutboxUnavailable as e:
            return _fail(f"outbox unavailable: {e}", 1)
        finally:
            await store.aclose()

    async def act() -> int:
        if args.action == "flush":
            from interview.recordings import upload_pending

            recovered, result = await outbox.recover_and_flush(store, force=True)
            uploaded, not_yet = await upload_pending(store, settings.interview_recordings_path)
            print(
                f"recovered {len(recovered)}, pushed {result.pushed}, failed {result.failed}, "
                f"remaining {result.remaining} (store: {store.name})"
                + (
                    f"; recordings uploaded {uploaded}, waiting {not_yet}"
                    if uploaded or not_yet
                    else ""
                )
            )
            return 0 if result.remaining == 0 and not_yet == 0 else 1
        st = await outbox.status()
        age = f"{st.oldest_pending_age_s:.0f}s" if st.oldest_pending_age_s is not None else "-"
        print(
            f"pending {st.pending}  in-progress checkpoints {st.checkpoints}  "
            f"oldest {age}  max attempts {st.max_attempts}"
        )
        for err in st.last_errors:
            print(f"  last error: {err}")
        return 0

    return asyncio.run(run())


def _report(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent report")
    parser.add_argument(
        "room_name", metavar="ROOM_OR_ID", help="an interview id, or a room (its latest interview)"
    )
    parser.add_argument("--format", choices=("md", "html"), default="md")
    parser.add_argument("--output", type=Path, help="write to this file instead of stdout")
    args = parser.parse_args(argv)
    _logging()
    from agent.reports import audio_links, find_saved, render_report

    try:
        settings, store = _settings_and_store()
    except ConfigError as e:
        return _fail(str(e))

    async def fetch() -> tuple[Any, dict[int, str]]:
        try:
            saved = await find_saved(store, args.room_name)
            if saved is None or saved.feedback is None:
                return saved, {}
            where = args.output.parent if args.output else None
            audio = await audio_links(store, settings, saved.feedback.feedback_data, where)
            return saved, audio
        finally:
            await store.aclose()

    try:
        saved, audio = asyncio.run(fetch())
    except StoreError as e:
        return _fail(str(e), 1)
    text = render_report(saved, audio, args.format) if saved is not None else None
    if text is None:
        return _fail(f"no saved interview with feedback for {args.room_name!r}", 1)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return 0


def _settings_and_store() -> tuple[Settings, InterviewStore]:
    settings = load_settings()
    return settings, store_for(settings)


def _logging() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    install_redaction()


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    command = argv[0]
    if command == "console":
        return _console(argv[1:])
    if command in LIVEKIT_COMMANDS:
        return _livekit(argv)
    if command == "simulate":
        return _simulate(argv[1:])
    if command == "outbox":
        return _outbox(argv[1:])
    if command == "report":
        return _report(argv[1:])
    if command == "join":
        try:  # a worker of its own: its job processes' metrics go where it serves them
            _share_metrics(load_settings())
        except ConfigError as e:
            return _fail(str(e))
        from .join import join_main

        install_redaction()
        return join_main(argv[1:])
    if command in SUBCOMMANDS:
        module, function, logs = SUBCOMMANDS[command]
        if logs == "logging":
            _logging()
        else:
            install_redaction()
        run: Callable[[list[str]], int] = getattr(importlib.import_module(module), function)
        return run(argv[1:])
    return _fail(f"unknown command {command!r}; try --help")
