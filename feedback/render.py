"""The feedback report for a person: Markdown, or one self-contained HTML page.

The HTML page has no external resources (inline CSS, score bars drawn in HTML), so
it can be saved, mailed or opened offline. Every value is escaped.
"""

from __future__ import annotations

from html import escape
from typing import Any

from providers import CATALOG

from .report import SCORE_KEYS


def _fmt(v: float | None, unit: str = "") -> str:
    return "—" if v is None else f"{v:g}{unit}"


def _score(v: float | None) -> str:
    return "not scored" if v is None else f"{v:g}/10"


def _headline(interview: dict[str, Any], fb: dict[str, Any]) -> list[str]:
    role = interview.get("job_role") or "general"
    level = interview.get("experience_level") or ""
    return [
        f"Interview feedback: {role} ({level})".strip(),
        f"Room {interview['room_name']} · ended: {interview['ended_by']} · "
        f"reached: {interview.get('final_stage')} · overall: {_score(fb.get('overall_score'))}",
    ]


def _partial_note(fb: dict[str, Any]) -> str:
    gen = fb.get("generated_by") or {}
    if fb.get("status") == "failed":
        return "Feedback could not be computed for this interview; the conversation is saved."
    if gen.get("error"):
        why = f" (the assessment failed: {gen['error']})"
    elif gen.get("model") is None:
        why = " (offline practice: no model was used)"
    else:
        why = ""
    return f"Scores are not available for this interview{why}; the report shows what was measured."


def _gap_note(fb: dict[str, Any]) -> str | None:
    n = sum(1 for a in fb["answers"] if a.get("transcription_gap"))
    if not n:
        return None
    which = "one answer" if n == 1 else f"{n} answers"
    return (
        f"† Some words of {which} were lost to a speech-recognition fault on our side; "
        "what is missing was not counted against you."
    )


def _stage_cell(a: dict[str, Any]) -> str:
    marks = ("†" if a.get("transcription_gap") else "") + ("⏱" if a.get("time_boxed") else "")
    return f"{a['stage']} {marks}" if marks else a["stage"]


def _boxed_note(fb: dict[str, Any]) -> str | None:
    n = sum(1 for a in fb["answers"] if a.get("time_boxed"))
    if not n:
        return None
    which = "This answer" if n == 1 else f"These {n} answers"
    return (
        f"⏱ {which} ran past the time for it; the interviewer moved on at the end of a "
        "sentence (every word is kept)."
    )


def _coaching(a: dict[str, Any]) -> list[tuple[str, str]]:
    """What went well, one way to make it stronger, a stronger version, the story parts."""
    out = []
    if a.get("what_went_well"):
        out.append(("Went well", a["what_went_well"]))
    if a.get("suggested_improvement"):
        out.append(("Make it stronger", a["suggested_improvement"]))
    if a.get("stronger_answer"):
        out.append(("Said more strongly", a["stronger_answer"]))
    if a.get("star"):
        found = [part for part, there in a["star"].items() if there]
        missing = [part for part, there in a["star"].items() if not there]
        story = f"{', '.join(found) or 'none'}" + (
            f"; missing: {', '.join(missing)}" if missing else ""
        )
        out.append(("Story parts", story))
    return out


_WHAT = {
    ("llm", "interview"): "interviewer model",
    ("llm", "assessment"): "assessment model",
    ("stt", "interview"): "speech-to-text",
    ("tts", "interview"): "voice",
}


def _money(amount: float, currency: str) -> str:
    return f"${amount:.4f}" if currency == "USD" else f"{amount:.4f} {currency}"


def _used(item: dict[str, Any]) -> str:
    if item["kind"] == "llm":
        cached = item.get("cached_input_tokens") or 0
        tokens = f"{(item.get('input_tokens') or 0) + cached:,} input"
        if cached:
            tokens += f" ({cached:,} cached)"
        return f"{tokens} + {item.get('output_tokens') or 0:,} output tokens"
    minutes = f"{(item.get('seconds') or 0) / 60:.1f} min"
    if item["kind"] == "tts":
        return f"{item.get('characters') or 0:,} characters, {minutes}"
    return minutes


def cost_lines(interview: dict[str, Any]) -> tuple[str, list[str]] | None:
    """The estimated cost for a person: a headline and one line per model (``None`` for
    an interview saved without an estimate)."""
    cost = (interview.get("metadata") or {}).get("cost")
    if not isinstance(cost, dict) or not isinstance(cost.get("items"), list):
        return None
    currency = str(cost.get("currency") or "USD")
    prices = cost.get("prices") or {}
    if not cost["items"]:
        return "No provider was used (offline practice): nothing was charged.", []
    partial = "" if cost.get("complete", True) else " for the models priced"
    head = (
        f"About {_money(float(cost.get('total') or 0), currency)}{partial}: an estimate at "
        f"the list prices of {prices.get('as_of', '?')} ({prices.get('table', '?')} price "
        "table); your providers bill the actual amount to your own keys."
    )
    lines = []
    for item in cost["items"]:
        what = _WHAT.get((item["kind"], item["purpose"]), f"{item['kind']} ({item['purpose']})")
        price = (
            "not in the price table"
            if item.get("cost") is None
            else _money(float(item["cost"]), currency)
        )
        lines.append(f"{what} {item['model']}: {_used(item)} — {price}")
    return head, lines


def setup_line(interview: dict[str, Any]) -> str | None:
    """How the interview ran (which providers and why, and any provider that failed and
    was replaced during it), for a person; ``None`` for an interview saved before this
    was recorded."""
    metadata = interview.get("metadata") or {}
    chosen = metadata.get("providers")
    if not isinstance(chosen, dict) or not isinstance(chosen.get("reason"), str):
        return None
    line = f"This was {chosen['reason'].strip()}."
    switches = [
        e for e in metadata.get("errors") or []
        if isinstance(e, dict) and e.get("type") == "fallback"
    ]  # fmt: skip
    told = []
    for e in switches:
        kind = KINDS_SAID.get(str(e.get("source")), str(e.get("source")))
        failed = _vendor(e.get("from"))
        if e.get("to"):
            told.append(f"{failed} failed and {_vendor(e['to'])} took over the {kind}")
        else:
            told.append(f"{failed} failed and no other {kind} was left")
    if told:
        line += " During the interview " + "; ".join(told) + "."
    return line


KINDS_SAID = {"stt": "speech-to-text", "llm": "model", "tts": "voice"}


def _vendor(name: object) -> str:
    labels = {k.name: k.label for k in CATALOG.keys}
    return labels.get(str(name), str(name))


def _num(v: float | None) -> str:
    return "—" if v is None else f"{v:g}"


def _verdict(c: dict[str, Any]) -> str:
    if c.get("change") is None:
        return "—"
    change = f"{c['change']:+g}"
    if c.get("better") is None:
        return change if c["change"] else "same"
    return f"{change} ({'better' if c['better'] else 'worse'})"


def progress_lines(fb: dict[str, Any]) -> tuple[str, list[tuple[str, str, str, str]]] | None:
    """This interview next to the earlier ones: a headline and rows of (figure, earlier,
    now, change); ``None`` when the feedback has no progress."""
    pg = fb.get("progress")
    if not isinstance(pg, dict):
        return None
    if pg.get("first"):
        return "This is your first practice interview: the next ones will be compared with it.", []
    cw = pg.get("compared_with") or {}
    n = cw.get("interviews", 0)
    earlier = "your earlier interview" if n == 1 else f"your {n} earlier interviews"
    whom = f" for {cw['job_role']}" if cw.get("same_role") and cw.get("job_role") else ""
    head = f"Compared with {earlier}{whom}" + (":" if n == 1 else " (their average):")
    rows = [
        (c["label"], _num(c.get("before")), _num(c.get("now")), _verdict(c))
        for c in (pg.get("figures") or {}).values()
        if c.get("now") is not None or c.get("before") is not None
    ]
    return head, rows


def _spark(history: list[dict[str, Any]], key: str) -> str:
    """A small line of one figure over the interviews (oldest first), no text in it."""
    points = [(i, h[key]) for i, h in enumerate(history) if isinstance(h.get(key), int | float)]
    if len(points) < 2:
        return ""
    lo, hi = min(v for _, v in points), max(v for _, v in points)
    span, last = (hi - lo) or 1.0, max(len(history) - 1, 1)
    coords = " ".join(f"{100 * i / last:.1f},{22 - 20 * (v - lo) / span:.1f}" for i, v in points)
    return (
        '<svg class="spark" viewBox="0 0 100 24" preserveAspectRatio="none" aria-hidden="true">'
        f'<polyline points="{coords}"/></svg>'
    )


def _progress_html(fb: dict[str, Any]) -> str:
    lines = progress_lines(fb)
    if lines is None:
        return ""
    head, rows = lines
    if not rows:
        return f"<section><h2>Progress</h2><p>{escape(head)}</p></section>"
    history = fb["progress"].get("history") or []
    keys = [k for k, c in fb["progress"]["figures"].items()
            if c.get("now") is not None or c.get("before") is not None]  # fmt: skip
    body = "".join(
        f'<tr><td data-label="Figure">{escape(label)}</td><td data-label="Earlier">{before}</td>'
        f'<td data-label="Now">{now}</td><td data-label="Change">{escape(change)}</td>'
        f'<td data-label="Over time">{_spark(history, key)}</td></tr>'
        for key, (label, before, now, change) in zip(keys, rows, strict=True)
    )
    return (
        f'<section><h2>Progress</h2><p>{escape(head)}</p><div class="scroll"><table><thead>'
        "<tr><th>Figure</th><th>Earlier</th><th>Now</th><th>Change</th><th>Over time</th></tr>"
        f"</thead><tbody>{body}</tbody></table></div></section>"
    )


def markdown(
    interview: dict[str, Any], fb: dict[str, Any], audio: dict[int, str] | None = None
) -> str:
    title, sub = _headline(interview, fb)
    audio = audio or {}
    out = [f"# {title}", "", sub, ""]
    if fb["status"] != "complete":
        out += [f"> {_partial_note(fb)}", ""]
    out += ["## Summary", "", fb.get("summary") or "", ""]
    out += ["## Scores", "", "| area | score |", "|---|---|"]
    out += [f"| {k} | {_score(fb['scores'].get(k))} |" for k in SCORE_KEYS]
    for title_, key in (("Strengths", "strengths"), ("To work on", "areas_for_improvement")):
        out += ["", f"## {title_}", ""]
        if not fb[key]:
            out.append("_Nothing to note._")
        for p in fb[key]:
            line = f"- **{p['point']}** — “{p['evidence']}”"
            if p.get("suggestion"):
                line += f"  \n  Try: {p['suggestion']}"
            out.append(line)
    sp = fb["speech"]
    fillers = ", ".join(f"{k} ×{v}" for k, v in sp["filler_words"].items()) or "none"
    out += [
        "", "## Speech", "",
        f"- pace: {_fmt(sp['words_per_minute'], ' words/min')}",
        f"- filler words: {fillers} ({_fmt(sp['fillers_per_100_words'])} per 100 words)",
        f"- average answer: {_fmt(sp['avg_answer_seconds'], ' s')}; "
        f"longest pause before answering: {_fmt(sp['longest_pause_s'], ' s')}",
        "", "## Answers", "",
        "| stage | question | score | topics you touched | topics a strong answer often adds |",
        "|---|---|---|---|---|",
    ]  # fmt: skip
    for a in fb["answers"]:
        q = (a["question"] or "").replace("|", "/")
        hit = ", ".join(a["keywords_mentioned"]) or "—"
        miss = ", ".join(a["missing_keywords"]) or "—"
        out.append(f"| {_stage_cell(a)} | {q} | {_fmt(a['score'])} | {hit} | {miss} |")
    if gap := _gap_note(fb):
        out += ["", gap]
    if boxed := _boxed_note(fb):
        out += ["", boxed]
    out += ["", "## Answer by answer", ""]
    for n, a in enumerate(fb["answers"], 1):
        out.append(f"{n}. **{a['stage']}**: “{a['answer_excerpt']}”")
        if n - 1 in audio:
            out.append(f"   - [Listen to your answer]({audio[n - 1]})")
        for label, text in _coaching(a):
            out.append(f"   - {label}: {text}")
    plan = fb["improvement_plan"]
    out += ["", "## Plan", ""]
    for label, key in (("Next week", "short_term"), ("Longer term", "long_term"),
                       ("Practice", "practice_suggestions")):  # fmt: skip
        for item in plan[key]:
            out.append(f"- {label}: {item}")
    if progress := progress_lines(fb):
        out += ["", "## Progress", "", progress[0]]
        if progress[1]:
            out += ["", "| figure | earlier | now | change |", "|---|---|---|---|"]
            out += [f"| {' | '.join(row)} |" for row in progress[1]]
    if cost := cost_lines(interview):
        out += ["", "## Cost (estimate)", "", cost[0], "", *(f"- {line}" for line in cost[1])]
    if setup := setup_line(interview):
        out += ["", "## How it ran", "", setup]
    return "\n".join(out).strip() + "\n"


def _chart(scores: dict[str, float | None]) -> str:
    """Score bars as HTML (they wrap rather than clip at any width)."""
    rows = []
    for key in SCORE_KEYS:
        value = scores.get(key)
        label = "not scored" if value is None else f"{value:g}"
        width = 0 if value is None else 10 * value
        rows.append(
            f'<div class="score"><span>{escape(key)}</span>'
            f'<span class="track"><span class="bar" style="width:{width:.0f}%"></span></span>'
            f'<span class="val">{escape(label)}</span></div>'
        )
    return f'<div class="chart" role="img" aria-label="scores out of 10">{"".join(rows)}</div>'


_CSS = """
body{font:16px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;
  background:#f6f7f9;color:#1d2330}
main{max-width:920px;margin:0 auto;padding:32px 24px}
h1{font-size:26px;margin:0 0 4px}.sub{color:#5b6475;margin:0 0 24px}
section{background:#fff;border-radius:10px;padding:20px 24px;margin:0 0 18px;
  box-shadow:0 1px 3px #0001}
h2{font-size:18px;margin:0 0 12px}
.note{background:#fff7e0;border-left:4px solid #e0a800;padding:10px 14px}
.overall{font-size:40px;font-weight:700}
ul{margin:0;padding-left:20px}li{margin:0 0 10px}
q{color:#2c4a8a}.try{color:#5b6475}table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;border-bottom:1px solid #e6e8ee;padding:8px 6px;vertical-align:top}
th{color:#5b6475;font-weight:600}
.grid{display:grid;grid-template-columns:180px 1fr;gap:24px;align-items:center}
.chart{display:grid;grid-template-columns:auto 1fr auto;gap:10px;align-items:center;
  font-size:14px}.score{display:contents}
.track{display:block;height:20px;background:#e9ecf2;border-radius:3px;overflow:hidden}
.bar{display:block;height:100%;background:#3b6fd8}.val{white-space:nowrap}
td{overflow-wrap:break-word}.stage{white-space:nowrap}
.spark{width:110px;height:26px;display:block}audio{display:block;width:100%;max-width:320px;
  height:36px;margin:6px 0}
.spark polyline{fill:none;stroke:#3b6fd8;stroke-width:2;vector-effect:non-scaling-stroke}
@media (max-width:640px){main{padding:20px 12px}section{padding:16px}
  .grid{grid-template-columns:1fr;gap:12px}h1{font-size:22px}
  table,tbody,tr,td{display:block}thead{display:none}
  tr{border-bottom:1px solid #e6e8ee;padding:8px 0}td{border:0;padding:3px 0}
  td::before{content:attr(data-label) ": ";color:#5b6475;font-weight:600}}
"""


def html(interview: dict[str, Any], fb: dict[str, Any], audio: dict[int, str] | None = None) -> str:
    """The report as one page; ``audio``: a link that plays each answer's recording, by
    its index in ``fb["answers"]`` (signed URLs, or files next to the page)."""
    title, sub = _headline(interview, fb)
    audio = audio or {}
    e = escape

    def points(key: str) -> str:
        if not fb[key]:
            return "<p>Nothing to note.</p>"
        items = []
        for p in fb[key]:
            tip = f'<div class="try">Try: {e(p["suggestion"])}</div>' if p.get("suggestion") else ""
            items.append(
                f"<li><strong>{e(p['point'])}</strong><br><q>{e(p['evidence'])}</q>{tip}</li>"
            )
        return f"<ul>{''.join(items)}</ul>"

    note = f'<p class="note">{e(_partial_note(fb))}</p>' if fb["status"] != "complete" else ""
    sp = fb["speech"]
    fillers = ", ".join(f"{e(k)} ×{v}" for k, v in sp["filler_words"].items()) or "none"

    def player(i: int) -> str:
        if i not in audio:
            return ""
        return (
            f'<audio controls preload="none" src="{e(audio[i])}" '
            f'aria-label="your answer, recorded"></audio>'
        )

    def coaching(a: dict[str, Any]) -> str:
        lines = "".join(f"<div><strong>{e(k)}:</strong> {e(v)}</div>" for k, v in _coaching(a))
        return f'<div class="try">{lines}</div>' if lines else ""

    rows = "".join(
        f'<tr><td data-label="Stage" class="stage">{e(_stage_cell(a))}</td>'
        f'<td data-label="Question">{e(a["question"] or "")}</td>'
        f'<td data-label="Your answer">{e(a["answer_excerpt"])}{player(i)}{coaching(a)}</td>'
        f'<td data-label="Score">{_fmt(a["score"])}</td>'
        f'<td data-label="Topics you touched">{e(", ".join(a["keywords_mentioned"]) or "—")}</td>'
        f'<td data-label="Topics a strong answer often adds">'
        f"{e(', '.join(a['missing_keywords']) or '—')}</td></tr>"
        for i, a in enumerate(fb["answers"])
    )
    gap_html = "".join(
        f'<p class="note">{e(note)}</p>' for note in (_gap_note(fb), _boxed_note(fb)) if note
    )
    plan = fb["improvement_plan"]
    plan_items = "".join(
        f"<li><strong>{label}:</strong> {e(item)}</li>"
        for label, key in (
            ("Next week", "short_term"),
            ("Longer term", "long_term"),
            ("Practice", "practice_suggestions"),
        )
        for item in plan[key]
    )
    overall = fb.get("overall_score")
    cost = cost_lines(interview)
    cost_html = (
        f"<section><h2>Cost (estimate)</h2><p>{e(cost[0])}</p>"
        f"<ul>{''.join(f'<li>{e(line)}</li>' for line in cost[1])}</ul></section>"
        if cost
        else ""
    )
    setup = setup_line(interview)
    setup_html = f"<section><h2>How it ran</h2><p>{e(setup)}</p></section>" if setup else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)}</title><style>{_CSS}</style></head>
<body><main>
<h1>{e(title)}</h1><p class="sub">{e(sub)}</p>{note}
<section class="grid"><div><div class="overall">{_fmt(overall)}</div><div>overall /10</div></div>
{_chart(fb["scores"])}</section>
<section><h2>Summary</h2><p>{e(fb.get("summary") or "")}</p></section>
<section><h2>Strengths</h2>{points("strengths")}</section>
<section><h2>To work on</h2>{points("areas_for_improvement")}</section>
<section><h2>Speech</h2><ul>
<li>Pace: {_fmt(sp["words_per_minute"], " words/min")}</li>
<li>Filler words: {fillers} ({_fmt(sp["fillers_per_100_words"])} per 100 words)</li>
<li>Average answer: {_fmt(sp["avg_answer_seconds"], " s")}; longest pause before answering:
{_fmt(sp["longest_pause_s"], " s")}</li></ul></section>
<section><h2>Answers</h2><div class="scroll"><table><thead><tr><th>Stage</th><th>Question</th>
<th>Your answer</th><th>Score</th><th>Topics you touched</th>
<th>Topics a strong answer often adds</th></tr></thead>
<tbody>{rows}</tbody></table></div>{gap_html}</section>
<section><h2>Plan</h2><ul>{plan_items}</ul></section>
{_progress_html(fb)}{cost_html}{setup_html}
</main></body></html>
"""


def transcript_text(row: dict[str, Any]) -> str:
    """A saved interview row as plain text: who said what in which stage, how it ended."""
    lines = [
        f"Interview {row['room_name']}: {row.get('job_role')} ({row.get('experience_level')})",
        "",
    ]
    for m in row["conversation"]["messages"]:
        who = "Interviewer" if m["role"] == "agent" else "Candidate"
        lines.append(f"[{m['stage']}] {who}: {m['text']}")
    skipped = ", ".join(row["skipped_stages"]) or "none"
    lines += [
        "",
        f"ended_by: {row['ended_by']}   final_stage: {row['final_stage']}   skipped: {skipped}",
    ]
    return "\n".join(lines)
