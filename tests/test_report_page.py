"""The HTML report in a real browser (headless Chromium) at a phone's and two desktop
widths: nothing clipped, nothing wider than the screen, no word broken inside."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from feedback import render
from feedback.progress import progress
from persistence import PastInterview

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WIDTHS = (390, 1000, 1400)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None and os.environ.get("CI") != "true",
    reason="Chromium is not installed (scripts/test-services installs it)",
)

CHECK = """
<script>
(() => {
  const found = [];
  const vw = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth > vw + 1)
    found.push("page wider than the screen: " + document.documentElement.scrollWidth);
  for (const el of document.querySelectorAll("body *")) {
    const style = getComputedStyle(el);
    const text = (el.textContent || "").trim().slice(0, 50);
    const hides = ["hidden", "clip"].includes(style.overflowX) || style.textOverflow === "ellipsis";
    if (hides && el.scrollWidth > el.clientWidth + 1) found.push("clipped: " + text);
    const box = el.getBoundingClientRect();
    if (box.width && box.right > vw + 1 && !el.closest(".scroll"))
      found.push("beyond the screen: " + el.tagName + " " + text);
    // a word broken inside (one word laid out on two lines)
    if (el.children.length === 0 && /^[A-Za-z]{4,14}$/.test(text)) {
      const range = document.createRange();
      range.selectNodeContents(el);
      if (range.getClientRects().length > 1) found.push("word broken: " + text);
    }
  }
  document.body.setAttribute("data-found", JSON.stringify(found));
})();
</script>
"""


def problems(page: str, width: int, work: Path) -> list[str]:
    html = work / f"page-{width}.html"
    html.write_text(page.replace("</body>", CHECK + "</body>"), encoding="utf-8")
    dom = subprocess.run(
        [CHROMIUM or "chromium", "--headless", "--no-sandbox", "--disable-gpu",
         "--hide-scrollbars", f"--window-size={width},1200", "--dump-dom", html.as_uri()],
        capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    found = re.search(r'data-found="([^"]*)"', dom.stdout)
    assert found, dom.stderr[-2000:]
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


@pytest.fixture(scope="module")
def practice(tmp_path_factory) -> tuple[dict, dict]:
    """The offline practice interview of the README's first command, as saved."""
    work = tmp_path_factory.mktemp("practice")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "SUPABASE"))}
    proc = subprocess.run(
        [sys.executable, "-m", "agent", "simulate", "--offline", "--json",
         "--script", str(ROOT / "examples" / "practice-script.txt"),
         "--metadata", str(ROOT / "examples" / "metadata.json")],
        capture_output=True, text=True, timeout=180, cwd=work,
        env={**env, "INTERVIEW_DB_PATH": str(work / "i.db"), "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    row = json.loads(proc.stdout)
    return row, row.pop("feedback")


def scored(row: dict, fb: dict) -> tuple[dict, dict]:
    """The same interview as a model would have scored it, with long words and texts."""
    row, fb = copy.deepcopy(row), copy.deepcopy(fb)
    row["job_role"] = "Senior Site Reliability Engineer, Payments Infrastructure Platform"
    fb.update(status="complete", overall_score=7.5,
              scores={"technical": 8, "communication": 6.5, "confidence": 7, "structure": 5})  # fmt: skip
    fb["answers"][0]["answer_excerpt"] += " https://example.com/" + "a-very-long-path" * 6
    fb["answers"][0]["missing_keywords"] = ["observability", "internationalization", "idempotency"]
    earlier = [
        PastInterview(f"id-{n}", f"2026-11-{n:02d}", row["job_role"], "senior", "completed",
                      {**fb, "overall_score": n / 2, "speech": {"fillers_per_100_words": 9 - n}})
        for n in range(12, 0, -1)
    ]  # fmt: skip
    fb["progress"] = progress(fb, interview_id=row["id"], date="2026-12-03",
                              job_role=row["job_role"], earlier=earlier)  # fmt: skip
    return row, fb


@pytest.mark.parametrize("width", WIDTHS)
def test_nothing_is_clipped_at_phone_and_desktop_widths(practice, width, tmp_path) -> None:
    row, fb = practice
    for name, (interview, feedback) in {"offline": (row, fb), "scored": scored(row, fb)}.items():
        audio = {0: "local/x/01.wav", 2: "local/x/03.wav"} if name == "scored" else {}
        page = render.html(interview, feedback, audio)
        assert "<h2>Progress</h2>" in page and "<h2>Cost (estimate)</h2>" in page
        assert problems(page, width, tmp_path) == [], f"{name} at {width}px"


def test_the_check_finds_a_clipped_label(practice, tmp_path) -> None:
    """The check itself: a fixed-width label that cannot hold "not scored" is found."""
    row, fb = practice
    page = render.html(row, fb).replace(
        '<span class="val">', '<span class="val" style="display:block;width:3em;overflow:hidden">'
    )
    assert any(p.startswith("clipped: not scored") for p in problems(page, 1000, tmp_path))
