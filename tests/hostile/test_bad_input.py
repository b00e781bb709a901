"""Bad input of every kind: a clear error or a sane interview, never a crash."""

from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from livekit import rtc

from agent.client_protocol import ClientProtocol
from agent.config import Settings
from agent.runtime import InterviewRuntime
from agent.simulate import run_simulation
from feedback.schema import FeedbackData
from persistence import SqliteStore
from persistence.outbox import Outbox
from providers import choose
from stages.machine import ENDED_BY_VALUES
from stages.metadata import LIMITS, MetadataError, parse_metadata

pytestmark = pytest.mark.hostile

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
FIELDS = ["user_id", "candidate_name", "job_role", "experience_level", "resume_text",
          "job_description", "stages", "max_duration_s", "language", "record_audio",
          "providers"]  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300).map(lambda b: b.decode("latin-1"))))
def test_arbitrary_text_metadata_is_parsed_or_refused_clearly(raw):
    for require_user in (True, False):
        try:
            md = parse_metadata(raw, require_user=require_user)
        except MetadataError as e:
            assert e.code in ("bad_metadata", "missing_user") and str(e)
        else:
            assert md.plan and md.plan[0].id == "greeting"


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=9))
def test_arbitrary_field_values_never_crash(obj):
    try:
        md = parse_metadata(json.dumps(obj), require_user=False)
    except MetadataError as e:
        assert e.code == "bad_metadata"
        return
    assert md.experience_level in ("entry", "mid", "senior", "executive")
    assert 120 <= md.max_duration_s <= 7200
    for name, limit in LIMITS.items():
        value = getattr(md, name)
        assert value is None or len(value) <= limit
    # whatever the provider preference said, the choice is made (or the default order)
    assert set(md.providers) <= {"stt", "llm", "tts"}
    choice = choose({"openai", "deepgram"}, md.providers)
    assert choice.voice and choice.llm is not None


@pytest.mark.parametrize(
    "raw",
    [
        json.dumps({"resume_text": "x" * 5_000_000}),
        json.dumps({"candidate_name": "\x00\x01\x1b[31mred\x07"}),
        "[" * 100_000 + "]" * 100_000,
        json.dumps({"stages": [[[[[["technical"]]]]]], "job_role": {"a": {"b": [1, 2]}}}),
        "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
        "{" + '"k":1,' * 200_000 + '"z":2}',
    ],
)
def test_hostile_shapes(raw):
    try:
        md = parse_metadata(raw, require_user=False)
    except MetadataError as e:
        assert e.code == "bad_metadata"
    else:
        assert md.resume_text is None or len(md.resume_text) <= LIMITS["resume_text"]
        assert "\x00" not in md.candidate_name and "\x1b" not in md.candidate_name


def _call(payload: str) -> rtc.RpcInvocationData:
    return rtc.RpcInvocationData(
        request_id="r", caller_identity="c", payload=payload, response_timeout=5
    )


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["skip_stage", "end", "state"]),
            st.one_of(
                st.text(max_size=60),
                st.dictionaries(
                    st.sampled_from(["stage", "request_id", "x"]), JSON, max_size=3
                ).map(json.dumps),
            ),
        ),
        max_size=25,
    )
)
def test_rpc_garbage_replays_and_disorder(calls):
    rt = InterviewRuntime(parse_metadata("{}", require_user=False), room_name="r")
    rt.start()
    protocol = ClientProtocol(rt, on_change=lambda: None)

    async def drive() -> None:
        for method, payload in calls:
            handler = getattr(protocol, method)
            try:
                answer = json.loads(await handler(_call(payload)))
            except rtc.RpcError as e:
                assert e.code == 1400
                continue
            assert answer["status"] in ("running", "ending", "ended")
            assert answer["stage_count"] == 7

    asyncio.run(drive())
    m = rt.machine
    assert m.ended_by in (None, "client_request")
    assert m.skipped_stages == [s.id for s in m.plan if s.id in m.skipped_stages]


async def test_extreme_candidate_text_still_makes_a_saved_interview(tmp_path):
    lines = [
        "Yes.",
        " ",
        "word " * 10_000,
        "我在一家金融科技公司工作了五年，负责支付系统。 Также я говорю по-русски. مرحبا",
        "🙂🚀🔥 I love shipping things 🎉 " * 20,
        "\u200b\u200b\u200b",
        "a" * 50_000,
    ]
    result = await run_simulation(
        lines, None, settings=Settings(_env_file=None), store=SqliteStore(tmp_path / "s.db"),
        outbox=Outbox(tmp_path / "o.db"), offline=True, room_name="room-extreme",
    )  # fmt: skip
    row = result.row
    assert result.interview_id is not None
    assert row["ended_by"] in ENDED_BY_VALUES
    FeedbackData.model_validate(result.feedback)
    said = [m["text"] for m in row["conversation"]["messages"] if m["role"] == "candidate"]
    assert any(t.startswith("我在") for t in said)
    assert all(len(t) <= 60_000 for t in said)
