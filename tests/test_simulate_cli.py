"""``python -m agent simulate`` end to end: a subprocess, a script, the saved row."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from feedback.schema import FeedbackData

SCRIPT = """\
Yes, I'm ready to start.
I'm a frontend developer with four years of experience in React and TypeScript.
I want to grow into a senior role on a product team that cares about accessibility.

Sure.
At my last job I rebuilt our design system in React and cut bundle size by a third.
Could you repeat the question?
I led a migration of our main app; my task was to avoid regressions, so I added tests and as a result we shipped with no incidents.
I mentored two junior developers and ran our weekly code review, which made reviews faster for everyone.
Let's skip this part.
When I was at my previous company two teammates disagreed about an API; I set up a meeting and as a result we agreed on a contract.
My task was to deliver a launch under a tight deadline, so I decided to cut scope with the PM and as a result we launched on time.
I made a mistake in a migration once; I owned it, I fixed it the same day, and as a result it never happened again.
No, that's all from me.
"""


def run(tmp_path: Path, *args: str, metadata: dict | None = None, script: str = SCRIPT):
    script_file = tmp_path / "script.txt"
    script_file.write_text(script)
    cmd = [sys.executable, "-m", "agent", "simulate", "--script", str(script_file), *args]
    if metadata is not None:
        md_file = tmp_path / "md.json"
        md_file.write_text(json.dumps(metadata))
        cmd += ["--metadata", str(md_file)]
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI", "DEEPGRAM", "SUPABASE", "LIVEKIT"))
    }
    env["INTERVIEW_DB_PATH"] = str(tmp_path / "interviews.db")
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)


def test_simulate_json_saves_the_interview(tmp_path):
    md = {
        "candidate_name": "Lin",
        "job_role": "Frontend Developer",
        "experience_level": "mid",
        "resume_text": "Frontend developer. React, TypeScript, accessibility, Jest.",
        "job_description": "We need React and GraphQL experience.",
    }
    proc = run(tmp_path, "--json", "--offline", "--room", "room-cli-1", metadata=md)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["room_name"] == "room-cli-1"
    assert out["ended_by"] == "completed"
    assert out["final_stage"] == "closing"
    assert out["skipped_stages"] == ["technical"]
    assert out["has_resume"] is True and out["has_jd"] is True
    messages = out["conversation"]["messages"]
    assert messages[0]["role"] == "agent" and "Lin" in messages[0]["text"]
    assert messages[-1]["stage"] == "closing"
    # the blank script line is not a turn; every candidate line is one message
    candidate = [m for m in messages if m["role"] == "candidate"]
    assert len(candidate) == len([line for line in SCRIPT.splitlines() if line.strip()])
    assert out["total_messages"]["candidate"] == len(candidate)
    assert {s["id"]: s["status"] for s in out["conversation"]["stages"]}["technical"] == "skipped"
    # resume skills feed the experience questions
    experience_questions = [
        m["text"] for m in messages if m["role"] == "agent" and m["stage"] == "experience"
    ]
    assert any("React" in q or "TypeScript" in q for q in experience_questions)
    fb = out["feedback"]
    FeedbackData.model_validate(fb)
    assert fb["status"] == "partial" and fb["overall_score"] is None
    assert all(v is None for v in fb["scores"].values())
    assert fb["speech"]["words_per_minute"] is None  # text mode: no timing, no made-up number
    assert fb["generated_by"]["fallback"] is True
    assert out["metadata"]["models"]["llm"] == "offline-question-bank"

    db = sqlite3.connect(tmp_path / "interviews.db")
    rows = db.execute("SELECT id, room_name, ended_by, conversation FROM interviews").fetchall()
    assert len(rows) == 1 and rows[0][0] == out["id"] and rows[0][2] == "completed"
    assert json.loads(rows[0][3]) == out["conversation"]
    fb_rows = db.execute("SELECT interview_id, feedback_data FROM feedback").fetchall()
    assert fb_rows == [(out["id"], json.dumps(out["feedback"], ensure_ascii=False))]


def test_script_running_out_means_the_candidate_left(tmp_path):
    proc = run(
        tmp_path, "--json", "--room", "room-cli-2", script="Yes.\nI am a backend engineer.\n"
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["ended_by"] == "candidate_left"
    assert out["final_stage"] == "introduction"
    assert [s["status"] for s in out["conversation"]["stages"]][2:] == ["not_reached"] * 5


def test_a_reused_room_name_is_a_second_interview_not_an_overwrite(tmp_path):
    for script in ("Yes.\n", "Sure, ready.\n"):
        proc = run(tmp_path, "--room", "room-cli-3", script=script)
        assert proc.returncode == 0, proc.stderr
        assert "saved to sqlite" in proc.stdout
    db = sqlite3.connect(tmp_path / "interviews.db")
    rows = db.execute(
        "SELECT id, room_name, metadata, conversation FROM interviews ORDER BY created_at"
    ).fetchall()
    assert len(rows) == 2 and rows[0][0] != rows[1][0]
    assert rows[0][1] == "room-cli-3"
    assert rows[1][1] == f"room-cli-3~{rows[1][0][:8]}"  # derived: the real name was taken
    assert [json.loads(r[2])["room_name"] for r in rows] == ["room-cli-3", "room-cli-3"]
    first = [m["text"] for m in json.loads(rows[0][3])["messages"] if m["role"] == "candidate"]
    second = [m["text"] for m in json.loads(rows[1][3])["messages"] if m["role"] == "candidate"]
    assert (first, second) == (["Yes."], ["Sure, ready."])
    assert db.execute("SELECT count(*) FROM feedback").fetchone() == (2,)


def test_bad_metadata_is_a_clear_error_and_nothing_is_saved(tmp_path):
    md_file = tmp_path / "md.json"
    md_file.write_text('{"job_role": "Backend", ')
    script = tmp_path / "s.txt"
    script.write_text("hello\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "agent",
            "simulate",
            "--script",
            str(script),
            "--metadata",
            str(md_file),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        env={**os.environ, "INTERVIEW_DB_PATH": str(tmp_path / "x.db")},
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith(
        "error: bad metadata (bad_metadata): metadata is not valid JSON"
    )
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "x.db").exists()


def test_dev_and_start_name_the_missing_setting(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEKIT")}
    for command in ("dev", "start"):
        proc = subprocess.run(
            [sys.executable, "-m", "agent", command],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=60,
        )
        assert proc.returncode == 2
        assert proc.stderr.strip() == "error: LIVEKIT_URL is not set (needed by dev/start)"
    proc = subprocess.run(
        [sys.executable, "-m", "agent", "start"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        env={
            **env,
            "LIVEKIT_URL": "wss://x.example",
            "LIVEKIT_API_KEY": "k",
            "LIVEKIT_API_SECRET": "",
        },
    )
    assert proc.returncode == 2 and "LIVEKIT_API_SECRET is not set" in proc.stderr


def test_report_renders_markdown_and_self_contained_html(tmp_path):
    proc = run(tmp_path, "--offline", "--room", "room-report")
    assert proc.returncode == 0, proc.stderr
    assert "# Interview feedback: general" in proc.stdout  # no metadata: no role
    assert "## Answers" in proc.stdout and "offline practice: no model was used" in proc.stdout
    env = {**os.environ, "INTERVIEW_DB_PATH": str(tmp_path / "interviews.db")}
    md = subprocess.run([sys.executable, "-m", "agent", "report", "room-report"], capture_output=True,
                        text=True, env=env, cwd=tmp_path, timeout=60)  # fmt: skip
    assert md.returncode == 0, md.stderr
    assert md.stdout.startswith("# Interview feedback: general")
    out = tmp_path / "report.html"
    html = subprocess.run([sys.executable, "-m", "agent", "report", "room-report", "--format", "html",
                           "--output", str(out)], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)  # fmt: skip
    assert html.returncode == 0, html.stderr
    page = out.read_text()
    assert page.startswith("<!doctype html>") and 'class="chart"' in page and "<table>" in page
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert page.count("<tr>") == 1 + len(json.loads(
        subprocess.run([sys.executable, "-m", "agent", "simulate", "--offline", "--json", "--room", "room-report",
                        "--script", str(tmp_path / "script.txt")], capture_output=True, text=True, env=env,
                       cwd=tmp_path, timeout=120).stdout)["feedback"]["answers"])  # fmt: skip
    missing = subprocess.run([sys.executable, "-m", "agent", "report", "nope"], capture_output=True, text=True,
                             env=env, cwd=tmp_path, timeout=60)  # fmt: skip
    assert missing.returncode == 1 and "no saved interview" in missing.stderr
