"""What the candidate waits for in the page: ``python -m bench.page [--runs N]``.

``python -m agent playground`` as users start it (its own pinned LiveKit server and
worker, no keys: the offline interviewer, typed), and headless Debian Chromium. Per run,
from the candidate's side: the page loaded (navigation to the form shown), Start to the
greeting's caption, a typed answer to the reply's caption, a reload to the interview
rejoined (the page connected again and the interviewer's state read), and End to
"saved" and to the report shown. Prints a JSON summary (p50 / max, seconds) and writes it
to ``bench/results/page.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.async_api import async_playwright

from tests.rooms.browser import CHROMIUM_ARGS, NO_MICROPHONE, wait_for

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "page.json"
CHROMIUM = "/usr/bin/chromium"


def start_playground(work: Path, port: int) -> subprocess.Popen[str]:
    ours = ("OPENAI", "DEEPGRAM", "SUPABASE", "LIVEKIT", "INTERVIEW")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent", "playground", "--port", str(port)],
        cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("Open http"), line
    return proc


async def one_run(browser: Any, url: str) -> dict[str, float]:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    await context.add_init_script(NO_MICROPHONE)
    page = await context.new_page()
    out: dict[str, float] = {}
    t = time.perf_counter()
    await page.goto(url)
    await page.wait_for_selector("#setup:not([hidden])")
    out["page_loaded_s"] = time.perf_counter() - t
    await page.fill("#candidate_name", "Ada")
    await page.fill("#job_role", "Backend Developer")
    await page.check("#consent")
    t = time.perf_counter()
    await page.click("#start")
    count = "() => document.querySelectorAll('.caption.interviewer').length"
    await wait_for(page, f"() => ({count})() > 0", limit_s=60)
    out["start_to_greeting_s"] = time.perf_counter() - t
    await page.fill("#say", "Yes, I'm ready.")
    t = time.perf_counter()
    await page.press("#say", "Enter")
    await wait_for(page, f"() => ({count})() > 1")
    out["typed_answer_to_reply_s"] = time.perf_counter() - t
    t = time.perf_counter()
    await page.reload()
    await wait_for(page, "() => document.getElementById('stage').textContent === 'Introduction'")
    out["reload_to_rejoined_s"] = time.perf_counter() - t
    t = time.perf_counter()
    await page.click("#end")
    await page.click("#end-yes")
    await wait_for(
        page, "() => document.getElementById('saved-status').textContent.includes('saved')"
    )
    out["end_to_saved_s"] = time.perf_counter() - t
    await wait_for(
        page, "() => document.getElementById('saved-status').textContent.includes('report')"
    )
    out["end_to_report_s"] = time.perf_counter() - t
    await context.close()
    return out


async def main(runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="page-bench-") as work:
        proc = start_playground(Path(work), 8799)
        try:
            async with async_playwright() as p:
                browser = await p.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
                )
                samples = [await one_run(browser, "http://127.0.0.1:8799/") for _ in range(runs)]
                await browser.close()
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(120)
    summary = {
        name: {
            "p50": round(statistics.median(s[name] for s in samples), 3),
            "max": round(max(s[name] for s in samples), 3),
        }
        for name in samples[0]
    }
    return {"runs": runs, "cpus": os.cpu_count(), "summary": summary}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    result = asyncio.run(main(parser.parse_args().runs))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
