"""Rule-based observations for the offline interviewer's report (no model).

Each observation quotes the candidate (a sentence of their own answer) and says which
rule produced it; nothing is scored.
"""

from __future__ import annotations

import re
from typing import Any

from .grounding import sentences
from .metrics import FILLERS, filler_counts, words

FILLER_RATE_HIGH = 5.0
"""Fillers per 100 words above which the report suggests working on it."""
SHORT_ANSWER_WORDS = 25
_NUMBER = re.compile(r"\d|percent|%|\b(half|double|twice|thirds?)\b", re.IGNORECASE)


def _sentence_with(text: str, predicate: Any) -> str | None:
    for s in sentences(text):
        if predicate(s):
            return s
    return None


def observations(
    feedback: dict[str, Any], said: dict[int, str], *, expected_points: set[str]
) -> dict[str, Any]:
    """Strengths, areas for improvement and a plan from the computed ``feedback``.

    ``said`` maps each answer's index in ``feedback["answers"]`` to its full text;
    ``expected_points``: the stages whose answers are checked for the points a strong
    answer covers.
    An answer with a transcription gap (words lost to a speech-to-text outage) can
    give a strength but never an area for improvement: what is missing may have been
    said.
    """
    answers = feedback["answers"]
    whole = [i for i, a in enumerate(answers) if not a.get("transcription_gap")]
    strengths: list[dict[str, Any]] = []
    areas: list[dict[str, Any]] = []

    star_full = [i for i, a in enumerate(answers) if a.get("star") and all(a["star"].values())]
    if star_full:
        text = said[star_full[0]]
        strengths.append({
            "point": "Told a complete story: situation, task, your own actions and the result.",
            "evidence": sentences(text)[0],
            "suggestion": None,
        })  # fmt: skip
    for i in range(len(answers)):
        text = said[i]
        quantified = _sentence_with(text, lambda s: bool(_NUMBER.search(s)))
        if quantified:
            strengths.append({
                "point": "Backed a claim with a concrete number.",
                "evidence": quantified,
                "suggestion": None,
            })  # fmt: skip
            break
    for i, a in enumerate(answers):
        kws = a["keywords_mentioned"] + a["missing_keywords"]
        if kws and len(a["keywords_mentioned"]) / len(kws) >= 0.6:
            hit = a["keywords_mentioned"][0].split()[0]
            evidence = _sentence_with(said[i], lambda s, w=hit: w[:5] in s.lower())
            if evidence:
                strengths.append({
                    "point": f"Covered the expected points in your {a['stage']} answer.",
                    "evidence": evidence,
                    "suggestion": None,
                })  # fmt: skip
                break

    for i in whole:
        a = answers[i]
        if a.get("star") and not a["star"]["result"]:
            areas.append({
                "point": "A behavioral story stopped before its result.",
                "evidence": sentences(said[i])[-1],
                "suggestion": "End each story with what changed: a number, a decision, "
                "or what you learned.",
            })  # fmt: skip
            break
    rate = feedback["speech"]["fillers_per_100_words"]
    if rate is not None and rate > FILLER_RATE_HIGH and answers:
        # fillers may come from turns that are not answers (the reply to the greeting)
        worst = max(range(len(answers)), key=lambda i: sum(answers[i]["filler_words"].values()))
        fillers = [f for f in FILLERS if f in answers[worst]["filler_words"]]
        evidence = _sentence_with(said[worst], lambda s: bool(filler_counts(s)))
        if evidence:
            areas.append({
                "point": f"Frequent filler words ({rate:.1f} per 100 words: "
                f"{', '.join(fillers[:3])}).",
                "evidence": evidence,
                "suggestion": "Pause silently instead of filling the gap; a short pause "
                "sounds more confident.",
            })  # fmt: skip
    short = [i for i in whole if len(words(said[i])) < SHORT_ANSWER_WORDS]
    if whole and len(short) * 2 >= len(whole):
        areas.append({
            "point": "Many answers were very short.",
            # a quote of at least four words, where one exists (shorter ones prove nothing)
            "evidence": next((said[i] for i in short if len(words(said[i])) >= 4), said[short[0]]),
            "suggestion": "Aim for one to two minutes: context, what you did, the outcome.",
        })  # fmt: skip
    for i in whole:
        a = answers[i]
        if a["stage"] in expected_points and len(a["missing_keywords"]) >= 2:
            areas.append({
                "point": "A technical answer missed points an interviewer listens for.",
                "evidence": sentences(said[i])[0],
                "suggestion": "Work in: " + ", ".join(a["missing_keywords"][:4]) + ".",
            })  # fmt: skip
            break

    missing_terms = feedback["job_description_terms"]["missing"]
    plan = {
        "short_term": [a["suggestion"] for a in areas if a.get("suggestion")][:3],
        "long_term": (
            [f"Build real examples with {', '.join(missing_terms[:3])} (from the job description)."]
            if missing_terms
            else []
        ),
        "practice_suggestions": [
            "Repeat this practice interview and compare the reports.",
            "Record one answer and listen for filler words and pace.",
        ],
    }
    return {"strengths": strengths, "areas_for_improvement": areas, "improvement_plan": plan}
