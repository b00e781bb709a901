"""The candidate's page in headless Chromium, against the real LiveKit server, the worker
as ``python -m agent playground`` starts it, the suite's provider servers and, where the
save matters, the real PostgREST stack."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

from playwright.async_api import async_playwright

from interview.saving import CHECKPOINT_DELAY_S
from persistence.sqlite_store import SqliteStore

from .browser import (
    BROWSER_TESTS,
    PlaygroundProcess,
    launch,
    layout_problems,
    new_page,
    stored_session,
    wait_for,
    wav_base64,
)
from .harness import speech
from .test_dispatch import LINES, candidate_said, saved_row

pytestmark = BROWSER_TESTS

ROOT = Path(__file__).resolve().parents[2]
PRACTICE = [
    line
    for line in (ROOT / "examples" / "practice-script.txt").read_text().splitlines()
    if line.strip()
]
WIDTHS = (390, 1280)
YOUR_CAPTIONS = "document.querySelectorAll('.caption.you').length"
HOSTILE_NAME = 'Ada <img src=x onerror="window.__pwned = 1">'
"""A name that is markup: it must stay text in the page, the interview and the report."""


async def saved_locally(db: Path, interview_id: str, limit_s: float = 40) -> dict:
    """The interview's row in the local store once it has ended."""
    deadline = time.monotonic() + limit_s
    while True:
        saved = None
        if await asyncio.to_thread(db.exists):
            store = SqliteStore(db)
            try:
                saved = await store.get(interview_id)
            finally:
                await store.aclose()
        if saved is not None and saved.interview.ended_by is not None:
            return {"ended_by": saved.interview.ended_by, "conversation": saved.interview.conversation,
                    "metadata": saved.interview.metadata}  # fmt: skip
        assert time.monotonic() < deadline, f"{interview_id} not saved"
        await asyncio.sleep(0.3)


async def tab_to(page, element_id: str, limit: int = 40) -> None:
    """Press Tab until ``element_id`` has the focus (a keyboard-only candidate)."""
    for _ in range(limit):
        if await page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached #{element_id}")


async def type_answer(page, text: str) -> None:
    """Type an answer and send it with Enter, once the interviewer has replied."""
    await tab_to(page, "say")
    await page.keyboard.type(text)
    await page.keyboard.press("Enter")


def no_keys_env(tmp_path: Path) -> dict[str, str]:
    return {
        "INTERVIEW_DB_PATH": str(tmp_path / "data" / "interviews.db"),
        "INTERVIEW_OUTBOX_PATH": str(tmp_path / "data" / "outbox.db"),
    }


async def say(page, samples) -> None:
    """Speak into the page's microphone once the interviewer is listening."""
    await wait_for(
        page, "() => document.getElementById('speaking').textContent.startsWith('Your turn')"
    )
    await page.evaluate("b64 => window.__say(b64)", wav_base64(samples))


async def caption_of(page, line: str, limit_s: float = 30) -> None:
    await wait_for(
        page,
        "line => [...document.querySelectorAll('.caption.you[data-final=true] .text')]"
        ".some(e => e.textContent === line)",
        line,
        limit_s,
    )


async def test_a_spoken_interview_heard_captioned_skipped_reloaded_ended_and_reported(
    livekit_server, supabase_stack, make_rig, tmp_path
):
    """The candidate's voice interview as they meet it: the greeting heard (audio on the
    agent's track) and captioned; a spoken answer captioned and saved verbatim; Skip
    changes the stage shown; the page reloaded rejoins the same interview and still shows
    the conversation; muted, an answer is not heard; End, confirmed, shows "saved" and then
    the report with the answer in it."""
    rig = await make_rig(LINES)
    env = {**rig.env, "INTERVIEW_DB_PATH": str(tmp_path / "unused.db")}
    play = PlaygroundProcess(livekit_server, tmp_path, env, ["--user-id", rig.user_id])
    said = [speech(line, tmp_path) for line in LINES]
    try:
        async with async_playwright() as p:
            browser = await launch(p)
            page = await new_page(browser)
            await page.goto(play.url)
            await page.fill("#candidate_name", HOSTILE_NAME)  # shown and saved as text only
            await page.fill("#job_role", "Backend Developer")
            await page.fill("#resume_text", "Payments engineer; Python, PostgreSQL, Kafka.")
            await page.check("#consent")
            await page.click("#start")
            # the greeting: captioned, and heard on the agent's track
            await wait_for(
                page,
                "() => [...document.querySelectorAll('.caption.interviewer .text')]"
                ".some(e => e.textContent.includes('Are you ready to begin?'))",
            )
            await wait_for(
                page, "() => Number(document.getElementById('agent-level').dataset.peak) > 0.05"
            )
            await say(page, said[0])
            await caption_of(page, LINES[0])
            first = await stored_session(page)
            stage = await page.text_content("#stage")
            await tab_to(page, "skip")  # Skip and End with the keyboard
            await page.keyboard.press("Enter")
            await wait_for(page, "s => document.getElementById('stage').textContent !== s", stage)
            # a reload rejoins the same interview
            await page.reload()
            await page.wait_for_selector("#interview:not([hidden])")
            await wait_for(
                page, "() => document.getElementById('connection').textContent === 'Connected'"
            )
            # the conversation so far is still shown
            await caption_of(page, LINES[0])
            # muted, an answer is not heard; unmuted, it is
            await tab_to(page, "mute")
            await page.keyboard.press("Enter")
            await wait_for(page, "() => document.getElementById('mute').ariaPressed === 'true'")
            await say(page, said[2])
            await asyncio.sleep(2.0)
            assert await page.evaluate(YOUR_CAPTIONS) == 1  # the restored one only
            await page.keyboard.press("Enter")
            await wait_for(page, "() => document.getElementById('mute').ariaPressed === 'false'")
            await say(page, said[1])
            await caption_of(page, LINES[1])
            assert (await stored_session(page))["interviewId"] == first["interviewId"]
            for width in WIDTHS:
                assert await layout_problems(page, width, tmp_path / "shots") == [], width
            await tab_to(page, "end")
            await page.keyboard.press("Enter")
            assert await page.evaluate("document.activeElement.id") == "end-no"  # the safe one
            await tab_to(page, "end-yes")
            await page.keyboard.press("Enter")
            await wait_for(
                page, "() => document.getElementById('saved-status').textContent.includes('saved')"
            )
            await wait_for(
                page, "() => document.getElementById('saved-status').textContent.includes('report')"
            )
            report = page.frame_locator("#report")
            assert LINES[1] in await report.locator("body").inner_text()
            assert await report.locator("img").count() == 0
            assert await page.evaluate("window.__pwned") is None
            assert page.errors == []
            await browser.close()
        row = saved_row(supabase_stack, first["interviewId"])
        assert row["ended_by"] == "client_request" and row["user_id"] == rig.user_id
        assert candidate_said(row) == LINES[:2]
        assert row["metadata"]["room_name"] == first["room"]
        assert (
            supabase_stack.psql(
                f"select candidate_name from interviews where id = '{first['interviewId']}'"
            )
            == HOSTILE_NAME
        )
    finally:
        assert play.stop() == 0, play.output()


async def test_a_whole_interview_typed_with_the_keyboard_only_no_keys_no_microphone(
    livekit_server, tmp_path
):
    """No provider keys and a refused microphone: typing is offered, the offline
    interviewer runs, and the interview typed from start to end is saved and reported.
    Every control is reached with Tab and Enter; the page fits a phone and a desktop."""
    play = PlaygroundProcess(livekit_server, tmp_path, no_keys_env(tmp_path))
    try:
        async with async_playwright() as p:
            browser = await launch(p)
            page = await new_page(browser, microphone=False)
            await page.goto(play.url)
            await page.wait_for_selector("#setup:not([hidden])")
            for width in WIDTHS:
                assert await layout_problems(page, width, tmp_path / "shots") == [], width
            await page.set_viewport_size({"width": 1280, "height": 900})
            # the form, by keyboard: a missing name is answered at the form
            await tab_to(page, "start")
            await page.keyboard.press("Enter")
            assert "name" in (await page.text_content("#form-error") or "")
            assert await page.evaluate("document.activeElement.id") == "candidate_name"
            await page.keyboard.type("Ada")
            await tab_to(page, "job_role")
            await page.keyboard.type("Backend Developer")
            await tab_to(page, "consent")
            await page.keyboard.press("Space")
            await tab_to(page, "start")
            await page.keyboard.press("Enter")
            await page.wait_for_selector("#interview:not([hidden])")
            # refused: said, and typing offered; then the interview says it is typed
            await wait_for(
                page, "() => document.getElementById('notice').textContent.includes('type')"
            )
            await page.wait_for_selector("#mode-note:not([hidden])")
            await page.wait_for_selector(".caption.interviewer")
            for width in WIDTHS:
                assert await layout_problems(page, width, tmp_path / "shots") == [], width
            await page.set_viewport_size({"width": 1280, "height": 900})
            interview_id = (await stored_session(page))["interviewId"]
            assert interview_id
            for i, line in enumerate(PRACTICE):
                # each answer once the interviewer has replied to the one before
                await wait_for(
                    page,
                    "n => document.querySelectorAll('.caption.interviewer').length > n",
                    i,
                )
                if i == 2:  # the first answer's delivery cues (interview.cues) are shown
                    await page.wait_for_selector("#cues:not([hidden])")
                    cues = await page.text_content("#cues") or ""
                    assert cues.startswith("Answer 1: ") and "filler" in cues, cues
                await type_answer(page, line)
            await page.wait_for_selector("#done:not([hidden])", timeout=60_000)
            await wait_for(
                page, "() => document.getElementById('saved-status').textContent.includes('report')"
            )
            report = page.frame_locator("#report")
            assert "Backend Developer" in await report.locator("h1").inner_text()
            for width in WIDTHS:
                assert await layout_problems(page, width, tmp_path / "shots") == [], width
            assert page.errors == []
            await browser.close()
        row = await saved_locally(tmp_path / "data" / "interviews.db", interview_id)
        assert row["ended_by"] == "completed"
        assert candidate_said(row) == PRACTICE
    finally:
        assert play.stop() == 0, play.output()


async def test_the_interviewer_lost_is_said_and_called_back_and_ctrl_c_saves_the_interview(
    livekit_server, tmp_path
):
    """The worker's job killed mid-interview: the page says so; the worker saves what was
    said; the page calls the interviewer back and the same interview goes on. Then the
    operator stops the playground with Ctrl-C: the interview is ended and saved, whole."""
    play = PlaygroundProcess(livekit_server, tmp_path, no_keys_env(tmp_path))
    db = tmp_path / "data" / "interviews.db"
    try:
        async with async_playwright() as p:
            browser = await launch(p)
            page = await new_page(browser, microphone=False)
            await page.goto(play.url)
            await page.fill("#candidate_name", "Ada")
            await page.fill("#job_role", "Backend Developer")
            await page.check("#consent")
            await page.click("#start")
            for i, line in enumerate(PRACTICE[:3]):
                await wait_for(
                    page, "n => document.querySelectorAll('.caption.interviewer').length > n", i
                )
                await page.fill("#say", line)
                await page.press("#say", "Enter")
            await wait_for(
                page, "() => document.querySelectorAll('.caption.interviewer').length > 3"
            )
            # a job killed loses at most the turn in progress: the last answer's checkpoint
            # is written once its reply is committed, within CHECKPOINT_DELAY_S
            await asyncio.sleep(CHECKPOINT_DELAY_S + 1.0)
            first = await stored_session(page)
            pid = play.job_pid(first["room"])
            assert pid is not None, play.output()
            os.kill(pid, signal.SIGKILL)
            await wait_for(
                page, "() => document.getElementById('notice').textContent.includes('lost')"
            )
            assert await page.is_visible("#continue")
            # the running worker recovers the orphan and saves it (its 15 s cycle)
            row = await saved_locally(db, first["interviewId"], limit_s=45)
            assert row["ended_by"] == "worker_shutdown"
            assert candidate_said(row) == PRACTICE[:3]
            n = await page.evaluate("document.querySelectorAll('.caption.interviewer').length")
            await page.click("#continue")
            await page.wait_for_selector("#continue", state="hidden", timeout=60_000)
            # the interviewer back picks up where it stopped
            await wait_for(
                page, "n => document.querySelectorAll('.caption.interviewer').length > n", n, 30
            )
            await page.fill("#say", PRACTICE[3])
            await page.press("#say", "Enter")
            await wait_for(
                page, "n => document.querySelectorAll('.caption.interviewer').length > n", n + 1
            )
            assert (await stored_session(page))["interviewId"] == first["interviewId"]
            # Ctrl-C on the playground mid-interview: the interview is ended and saved
            assert await asyncio.to_thread(play.stop) == 0, play.output()
            await wait_for(
                page, "() => document.getElementById('notice').textContent.includes('stopped')"
            )
            await browser.close()
        row = await saved_locally(db, first["interviewId"])
        assert row["ended_by"] == "worker_shutdown"
        assert candidate_said(row) == PRACTICE[:4]
        assert row["metadata"]["generation"] == 1
    finally:
        assert play.stop() == 0, play.output()
