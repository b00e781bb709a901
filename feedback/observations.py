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


Point = dict[str, Any]


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
    strengths = [
        p
        for p in (_complete_story(answers, said), _a_number(answers, said), _covered(answers, said))
        if p is not None
    ]
    rate = feedback["speech"]["fillers_per_100_words"]
    areas = [
        p
        for p in (
            _story_without_result(answers, said, whole),
            _fillers(answers, said, rate),
            _short_answers(said, whole),
            _missed_points(answers, said, whole, expected_points),
        )
        if p is not None
    ]
    plan = _plan(areas, feedback["job_description_terms"]["missing"])
    return {"strengths": strengths, "areas_for_improvement": areas, "improvement_plan": plan}


# ---------------------------------------------------------------- strengths


def _complete_story(answers: list[dict[str, Any]], said: dict[int, str]) -> Point | None:
    full = [i for i, a in enumerate(answers) if a.get("star") and all(a["star"].values())]
    if not full:
        return None
    return {
        "point": "Told a complete story: situation, task, your own actions and the result.",
        "evidence": sentences(said[full[0]])[0],
        "suggestion": None,
    }


def _a_number(answers: list[dict[str, Any]], said: dict[int, str]) -> Point | None:
    for i in range(len(answers)):
        quantified = _sentence_with(said[i], lambda s: bool(_NUMBER.search(s)))
        if quantified:
            return {
                "point": "Backed a claim with a concrete number.",
                "evidence": quantified,
                "suggestion": None,
            }
    return None


def _covered(answers: list[dict[str, Any]], said: dict[int, str]) -> Point | None:
    for i, a in enumerate(answers):
        kws = a["keywords_mentioned"] + a["missing_keywords"]
        if kws and len(a["keywords_mentioned"]) / len(kws) >= 0.6:
            hit = a["keywords_mentioned"][0].split()[0]
            evidence = _sentence_with(said[i], lambda s, w=hit: w[:5] in s.lower())
            if evidence:
                return {
                    "point": f"Covered the expected points in your {a['stage']} answer.",
                    "evidence": evidence,
                    "suggestion": None,
                }
    return None


# ---------------------------------------------------------------- areas for improvement


def _story_without_result(
    answers: list[dict[str, Any]], said: dict[int, str], whole: list[int]
) -> Point | None:
    for i in whole:
        star = answers[i].get("star")
        if star and not star["result"]:
            return {
                "point": "A behavioral story stopped before its result.",
                "evidence": sentences(said[i])[-1],
                "suggestion": "End each story with what changed: a number, a decision, "
                "or what you learned.",
            }
    return None


def _fillers(
    answers: list[dict[str, Any]], said: dict[int, str], rate: float | None
) -> Point | None:
    if rate is None or rate <= FILLER_RATE_HIGH or not answers:
        return None
    # fillers may come from turns that are not answers (the reply to the greeting)
    worst = max(range(len(answers)), key=lambda i: sum(answers[i]["filler_words"].values()))
    fillers = [f for f in FILLERS if f in answers[worst]["filler_words"]]
    evidence = _sentence_with(said[worst], lambda s: bool(filler_counts(s)))
    if not evidence:
        return None
    return {
        "point": f"Frequent filler words ({rate:.1f} per 100 words: {', '.join(fillers[:3])}).",
        "evidence": evidence,
        "suggestion": "Pause silently instead of filling the gap; a short pause "
        "sounds more confident.",
    }


def _short_answers(said: dict[int, str], whole: list[int]) -> Point | None:
    short = [i for i in whole if len(words(said[i])) < SHORT_ANSWER_WORDS]
    if not whole or len(short) * 2 < len(whole):
        return None
    return {
        "point": "Many answers were very short.",
        # a quote of at least four words, where one exists (shorter ones prove nothing)
        "evidence": next((said[i] for i in short if len(words(said[i])) >= 4), said[short[0]]),
        "suggestion": "Aim for one to two minutes: context, what you did, the outcome.",
    }


def _missed_points(
    answers: list[dict[str, Any]], said: dict[int, str], whole: list[int], stages: set[str]
) -> Point | None:
    for i in whole:
        a = answers[i]
        if a["stage"] in stages and len(a["missing_keywords"]) >= 2:
            return {
                "point": "A technical answer missed points an interviewer listens for.",
                "evidence": sentences(said[i])[0],
                "suggestion": "Work in: " + ", ".join(a["missing_keywords"][:4]) + ".",
            }
    return None


# ---------------------------------------------------------------- the plan


def _plan(areas: list[Point], missing_terms: list[str]) -> dict[str, list[str]]:
    return {
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
