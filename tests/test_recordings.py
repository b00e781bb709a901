"""The candidate's answers as audio, with consent: cut from what the speech-to-text heard,
kept as private files, uploaded to the Storage API over HTTP (and kept for later while it
is down), guarded by the bucket's per-user policies."""

from __future__ import annotations

import asyncio
import io
import json
import os
import stat
import subprocess
import sys
import urllib.request
import uuid
import wave
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from interview.recordings import AnswerRecorder, pending, storage_path, upload_pending
from persistence.supabase_store import SupabaseStore
from stages.metadata import parse_metadata

from .fake_storage import FakeStorage
from .services import free_port, port_open, wait_until
from .stack.local_supabase import JWT_SECRET

RATE = 16000
T0 = 1_800_000_000.0
FEEDBACK_BASE = {
    "status": "partial", "overall_score": None, "summary": "", "strengths": [],
    "areas_for_improvement": [], "scores": {},
    "speech": {"words_per_minute": None, "filler_words": {}, "fillers_per_100_words": None,
               "avg_answer_seconds": None, "longest_pause_s": None},
    "improvement_plan": {"short_term": [], "long_term": [], "practice_suggestions": []},
}  # fmt: skip


def tone(freq: float, seconds: float) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    return (np.sin(2 * np.pi * freq * t) * 8000).astype(np.int16)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(RATE * seconds), dtype=np.int16)


async def feed(rec: AnswerRecorder, audio: np.ndarray, start: float, frame_ms: int = 50) -> float:
    """Feeds ``audio`` as frames heard from ``start``; returns the time after it."""
    n = RATE * frame_ms // 1000
    at = start
    for i in range(0, len(audio), n):
        chunk = audio[i : i + n]
        at += len(chunk) / RATE
        rec.feed(chunk.tobytes(), RATE, 1, at)
        await asyncio.sleep(0)
    return at


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16), w.getframerate()


def dominant_hz(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(float)))
    return float(np.fft.rfftfreq(len(samples), 1 / RATE)[int(np.argmax(spectrum))])


async def test_each_answer_is_cut_from_what_was_heard(tmp_path) -> None:
    rec = AnswerRecorder(tmp_path, "iv-1")
    # silence, answer 1 (440 Hz, 2 s), silence, a reconnect gap of 3 s, answer 2 (880 Hz)
    at = await feed(rec, silence(1.0), T0)
    a1 = (at, at + 2.0)
    at = await feed(rec, tone(440, 2.0), at)
    at = await feed(rec, silence(1.5), at)
    at += 3.0  # nothing heard: the candidate's connection dropped
    a2 = (at, at + 1.5)
    at = await feed(rec, tone(880, 1.5), at)
    await feed(rec, silence(1.0), at)
    user = str(uuid.uuid4())
    paths = await rec.save_answers([a1, None, a2], user)
    assert paths == [storage_path(user, "iv-1", 1), None, storage_path(user, "iv-1", 3)]
    first, rate = read_wav(tmp_path / paths[0])
    assert rate == RATE and abs(len(first) / RATE - 2.8) < 0.06  # 2 s + 0.4 s either side
    assert dominant_hz(first) == pytest.approx(440, abs=2)
    # after the gap there is nothing to pad with before the answer: it starts with it
    second, _ = read_wav(tmp_path / paths[2])
    assert abs(len(second) / RATE - 1.9) < 0.06 and dominant_hz(second) == pytest.approx(880, abs=2)
    # private files, and no spool left
    assert stat.S_IMODE((tmp_path / paths[0]).stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / user).stat().st_mode) == 0o700
    assert not rec.spool.exists() and pending(tmp_path) == sorted([paths[0], paths[2]])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0.2, 3.0), st.floats(0.0, 2.0)), min_size=1, max_size=5),
    st.sampled_from([10, 20, 50, 100]),
)
def test_any_run_of_answers_and_frames_gives_each_answer_its_own_audio(answers, frame_ms) -> None:
    """Answers of any length with any pauses, in frames of any size: each clip has the
    answer's length (plus the padding the audio allows) and its own tone."""

    async def run(root: Path) -> None:
        rec = AnswerRecorder(root, "iv")
        at, spans = T0, []
        for n, (length, pause) in enumerate(answers):
            at = await feed(rec, silence(pause), at, frame_ms)
            spans.append((at, at + length))
            at = await feed(rec, tone(300 + 200 * n, length), at, frame_ms)
        end = await feed(rec, silence(0.5), at, frame_ms)
        paths = await rec.save_answers(spans, None)
        for n, (path, (start, stop)) in enumerate(zip(paths, spans, strict=True)):
            samples, _ = read_wav(root / path)
            expected = min(stop + 0.4, end) - max(start - 0.4, T0)
            assert abs(len(samples) / RATE - expected) < frame_ms / 1000 + 0.02
            core = samples[int((start - max(start - 0.4, T0)) * RATE) :][
                : int((stop - start) * RATE)
            ]
            assert dominant_hz(core) == pytest.approx(300 + 200 * n, abs=3)

    import tempfile

    with tempfile.TemporaryDirectory() as d:
        asyncio.run(run(Path(d)))


async def test_everything_heard_is_in_the_spool_once_flushed(tmp_path) -> None:
    rec = AnswerRecorder(tmp_path, "iv")
    audio = tone(440, 2.5)
    await feed(rec, audio, T0)
    await rec.flush()
    assert rec.failed is None and rec.spool.read_bytes() == audio.tobytes()


async def test_a_disk_that_fails_loses_the_audio_not_the_interview(tmp_path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the recordings folder should be")
    rec = AnswerRecorder(blocked, "iv")
    at = await feed(rec, tone(440, 2.5), T0)
    await rec.flush()
    assert rec.failed is not None and "NotADirectoryError" in rec.failed
    assert await rec.save_answers([(T0, at)], None) == [None]


def test_consent_is_an_explicit_true_from_the_server() -> None:
    assert parse_metadata(json.dumps({"record_audio": True}), require_user=False).record_audio
    assert not parse_metadata("{}", require_user=False).record_audio
    odd = parse_metadata(json.dumps({"record_audio": "yes"}), require_user=False)
    assert not odd.record_audio and any("record_audio" in w for w in odd.warnings)
    # never from the candidate's own participant attributes
    md = parse_metadata("{}", attributes={"record_audio": "true"}, require_user=False)
    assert not md.record_audio


# ---------------------------------------------------------------- Supabase Storage


def start_proxy(port: int, rest_port: int, storage_port: int) -> subprocess.Popen:
    proxy = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "stack" / "proxy.py"), str(port),
         str(rest_port), str(storage_port)],
    )  # fmt: skip
    wait_until(lambda: port_open(port), "the Supabase-like proxy")
    return proxy


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read()


@pytest.fixture
async def storage(supabase_stack):
    """The stack's PostgREST and a Storage API, behind one Supabase-like URL."""

    def on_object(bucket: str, name: str) -> None:
        owner = name.split("/", 1)[0]
        supabase_stack.psql(
            "insert into storage.objects (bucket_id, name, owner) values "
            f"('{bucket}', '{name}', '{owner}') on conflict (bucket_id, name) do nothing"
        )

    def on_delete(bucket: str, name: str) -> None:
        supabase_stack.psql(
            f"delete from storage.objects where bucket_id = '{bucket}' and name = '{name}'"
        )

    async with FakeStorage(JWT_SECRET, on_object, on_delete) as fake:
        port = free_port()
        proxy = start_proxy(port, supabase_stack.rest_port, fake.port)
        try:
            fake.url = f"http://127.0.0.1:{port}"
            yield fake
        finally:
            proxy.terminate()
            proxy.wait(10)


async def recorded(root: Path, user: str) -> list[str]:
    rec = AnswerRecorder(root, str(uuid.uuid4()))
    at = await feed(rec, tone(440, 1.0), T0)
    at2 = await feed(rec, tone(660, 1.0), at)
    return [p for p in await rec.save_answers([(T0, at), (at, at2)], user) if p]


async def test_recordings_upload_over_the_storage_api_and_wait_out_an_outage(
    supabase_stack, storage, tmp_path
) -> None:
    user = supabase_stack.create_user(f"audio-{uuid.uuid4().hex[:6]}@example.com")
    paths = await recorded(tmp_path, user)
    local = {p: (tmp_path / p).read_bytes() for p in paths}
    store = SupabaseStore(storage.url, supabase_stack.service_key)
    try:
        storage.failing = True  # Storage is down: nothing is lost, nothing is deleted
        assert await upload_pending(store, tmp_path) == (0, 2)
        assert pending(tmp_path) == paths
        storage.failing = False  # the flusher's next round
        assert await upload_pending(store, tmp_path) == (2, 0)
        assert pending(tmp_path) == [] and not (tmp_path / user).exists()
        for p in paths:
            assert storage.objects["interview-audio", p] == local[p]
            assert storage.content_types["interview-audio", p] == "audio/wav"
        url = await store.recording_url(paths[0], 3600)
        assert await asyncio.to_thread(fetch, url) == local[paths[0]]
        # the report's links: signed URLs now that the files are in the bucket only
        from agent.config import Settings
        from agent.reports import audio_links

        settings = Settings(_env_file=None, interview_recordings_path=tmp_path)
        fb = {"answers": [{"audio_path": p} for p in paths]}
        links = await audio_links(store, settings, fb, tmp_path)
        assert sorted(links) == [0, 1] and all("token=" in u for u in links.values())
        assert await asyncio.to_thread(fetch, links[1]) == local[paths[1]]
    finally:
        await store.aclose()
    # a wrong key is refused by the Storage API and the file is kept
    again = await recorded(tmp_path, user)
    bad = SupabaseStore(storage.url, "not-the-service-key")
    try:
        assert await upload_pending(bad, tmp_path) == (0, len(again))
    finally:
        await bad.aclose()
    wav = wave.open(io.BytesIO(local[paths[0]]))
    assert wav.getframerate() == RATE


def test_the_bucket_keeps_each_users_audio_to_themselves(supabase_stack) -> None:
    a = supabase_stack.create_user(f"a-{uuid.uuid4().hex[:6]}@example.com")
    b = supabase_stack.create_user(f"b-{uuid.uuid4().hex[:6]}@example.com")
    assert supabase_stack.psql(
        "select public from storage.buckets where id = 'interview-audio'"
    ) == "f"  # fmt: skip
    for user in (a, b):
        supabase_stack.psql(
            "insert into storage.objects (bucket_id, name, owner) values "
            f"('interview-audio', '{user}/{uuid.uuid4()}/01.wav', '{user}')"
        )

    def as_user(user: str, sql: str) -> str:
        return supabase_stack.psql(
            "begin; set local role authenticated; "
            f'set local request.jwt.claims = \'{{"sub": "{user}"}}\'; {sql}; commit;'
        )

    seen = as_user(a, "select string_agg(name, ',') from storage.objects")
    assert seen.startswith(f"{a}/") and "," not in seen
    assert as_user(b, f"delete from storage.objects where name like '{a}/%' returning name") == ""
    mine = as_user(a, f"delete from storage.objects where name like '{a}/%' returning name")
    assert mine.startswith(f"{a}/")
    with pytest.raises(RuntimeError, match="row-level security"):
        as_user(b, f"insert into storage.objects (bucket_id, name) values "
                   f"('interview-audio', '{a}/x/01.wav')")  # fmt: skip


async def test_a_users_recordings_are_deleted_from_the_bucket_and_this_machine(
    supabase_stack, storage, tmp_path
) -> None:
    """``recordings delete``: one interview's, then all of a user's; another user's stay."""
    a = supabase_stack.create_user(f"del-a-{uuid.uuid4().hex[:6]}@example.com")
    b = supabase_stack.create_user(f"del-b-{uuid.uuid4().hex[:6]}@example.com")
    store = SupabaseStore(storage.url, supabase_stack.service_key)
    try:
        first, second, other = [await recorded(tmp_path, u) for u in (a, a, b)]
        await upload_pending(store, tmp_path)
        left_here = await recorded(tmp_path, a)  # not uploaded yet: only on this machine
    finally:
        await store.aclose()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "SUPABASE"))},
        "SUPABASE_URL": storage.url,
        "SUPABASE_SERVICE_ROLE_KEY": supabase_stack.service_key,
        "INTERVIEW_RECORDINGS_PATH": str(tmp_path),
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "agent", "recordings", *args],
                              capture_output=True, text=True, env=env, timeout=60)  # fmt: skip

    one = first[0].split("/")[1]
    done = await asyncio.to_thread(run, "delete", "--user-id", a, "--interview-id", one)
    assert done.returncode == 0, done.stderr
    assert "deleted 2 from the store (supabase) and 0 from" in done.stdout
    kept = {name for (_, name) in storage.objects}
    assert not set(first) & kept and set(second) <= kept
    done = await asyncio.to_thread(run, "delete", "--user-id", a)
    assert "deleted 2 from the store (supabase) and 2 from" in done.stdout
    assert {name for (_, name) in storage.objects} == set(other)
    assert pending(tmp_path) == [] and not (tmp_path / left_here[0]).exists()
    count = "select count(*) from storage.objects where name like '{}/%'"
    assert supabase_stack.psql(count.format(a)) == "0"
    assert supabase_stack.psql(count.format(b)) == "2"
    status = await asyncio.to_thread(run, "status")
    assert status.returncode == 0 and status.stdout.startswith("0 recordings to upload")


async def test_the_report_plays_each_recorded_answer_next_to_its_text(tmp_path) -> None:
    from agent.config import Settings
    from agent.reports import audio_links
    from feedback import render
    from persistence import SqliteStore

    root = tmp_path / "recordings"
    paths = await recorded(root, None)
    fb = {"answers": [{"audio_path": paths[0]}, {"audio_path": None}, {"audio_path": paths[1]},
                      {"audio_path": "local/gone/04.wav"}]}  # fmt: skip
    settings = Settings(_env_file=None, interview_recordings_path=root)
    store = SqliteStore(tmp_path / "i.db")
    page_dir = tmp_path / "reports"
    page_dir.mkdir()
    links = await audio_links(store, settings, fb, page_dir)
    assert links == {0: f"../recordings/{paths[0]}", 2: f"../recordings/{paths[1]}"}
    assert (await audio_links(store, settings, fb, None))[0] == (root / paths[0]).as_uri()
    fb["answers"] = [
        {"stage": "introduction", "question": "Q", "answer_excerpt": f"A{i}",
         "keywords_mentioned": [], "missing_keywords": [], "score": None}
        for i in range(4)
    ]  # fmt: skip
    page = render.html({"room_name": "r", "ended_by": "completed"}, {**FEEDBACK_BASE, **fb}, links)
    assert page.count("<audio controls") == 2 and f'src="../recordings/{paths[0]}"' in page
    text = render.markdown({"room_name": "r", "ended_by": "completed"}, {**FEEDBACK_BASE, **fb},
                           links)  # fmt: skip
    assert f"[Listen to your answer](../recordings/{paths[1]})" in text
