"""Rule-based observations for the offline interviewer's report (no model).

Each observation quotes the candidate (a sentence of their own answer) and says which
rule produced it; nothing is scored.
"""

from __future__ import annotations

import re
from typing import Any

from .grounding import sentences
from .metrics import FILLERS, filler_counts, hedge_counts, words

FILLER_RATE_HIGH = 5.0
"""Fillers per 100 words above which the report suggests working on it."""
SHORT_ANSWER_WORDS = 25
LONG_ANSWER_WORDS = 220
"""About two minutes spoken: past this an answer tends to lose its point."""
HEDGES_PER_ANSWER = 2
_NUMBER = re.compile(r"\d|percent|%|\b(half|double|twice|thirds?)\b(?!-)", re.IGNORECASE)


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
    boxed = _time_boxed(answers, said)  # (the long-answers point then says nothing more)
    areas = [
        p
        for p in (
            _story_without_result(answers, said, whole),
            _fillers(answers, said, rate),
            _short_answers(said, whole),
            boxed,
            None if boxed else _long_answers(said, whole),
            _hedging(answers, said, whole),
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


def _time_boxed(answers: list[dict[str, Any]], said: dict[int, str]) -> Point | None:
    boxed = [i for i, a in enumerate(answers) if a.get("time_boxed")]
    if not boxed:
        return None
    limit = answers[boxed[0]].get("time_limit_s")
    within = f"within {_minutes(limit)}" if limit else "within the time given"
    which = "An answer" if len(boxed) == 1 else f"{len(boxed)} answers"
    return {
        "point": f"{which} ran past the time for it, and the interviewer moved on.",
        "evidence": sentences(said[boxed[0]])[0],
        "suggestion": f"Aim to finish {within}: your main point first, one example, the "
        "result; then stop, and let the interviewer ask for more.",
    }


def _minutes(seconds: float) -> str:
    m = seconds / 60
    if m >= 1 and abs(m - round(m)) < 0.05:
        return "one minute" if round(m) == 1 else f"{round(m)} minutes"
    return f"{round(seconds)} seconds"


def _long_answers(said: dict[int, str], whole: list[int]) -> Point | None:
    long = [i for i in whole if len(words(said[i])) > LONG_ANSWER_WORDS]
    if not long:
        return None
    return {
        "point": "Some answers ran long and lost their thread.",
        "evidence": sentences(said[long[0]])[0],
        "suggestion": "Lead with your main point, then one example; stop at the result. "
        "Aim for one to two minutes.",
    }


def _hedging(answers: list[dict[str, Any]], said: dict[int, str], whole: list[int]) -> Point | None:
    hedged = [i for i in whole if sum(answers[i].get("hedges", {}).values()) >= HEDGES_PER_ANSWER]
    if not hedged:
        return None
    evidence = _sentence_with(said[hedged[0]], lambda s: bool(hedge_counts(s)))
    if not evidence:
        return None
    return {
        "point": 'Hedging softened what you did ("I guess", "maybe", "probably").',
        "evidence": evidence,
        "suggestion": 'Say what you did and what you think plainly; keep "maybe" for '
        "real uncertainty.",
    }


def _missed_points(
    answers: list[dict[str, Any]], said: dict[int, str], whole: list[int], stages: set[str]
) -> Point | None:
    for i in whole:
        a = answers[i]
        if a["stage"] in stages and len(a["missing_keywords"]) >= 2:
            return {
                "point": "An answer left out topics a strong answer to that question often "
                "touches.",
                "evidence": sentences(said[i])[0],
                "suggestion": "Next time, consider whether these belong in your answer: "
                + ", ".join(a["missing_keywords"][:3])
                + ". Use them only where they are true for you.",
            }
    return None


# ---------------------------------------------------------------- each answer


def coach(answer: dict[str, Any], text: str, *, expected_points: bool) -> dict[str, str | None]:
    """What one answer did well and the one change that would help it most (the first
    rule that applies), for the answer's row in the report."""
    return {
        "what_went_well": _went_well(answer, text),
        "suggested_improvement": _to_improve(answer, text, expected_points=expected_points),
    }


def _went_well(answer: dict[str, Any], text: str) -> str | None:
    star = answer.get("star")
    n = len(words(text))
    covered = answer["keywords_mentioned"]
    if star and all(star.values()):
        return "You told it as a complete story, through to the result."
    if _NUMBER.search(text) and n >= 8:
        return "You made it concrete with a number."
    if covered and len(covered) * 2 >= len(covered) + len(answer["missing_keywords"]):
        return f"You touched on what matters here, such as {covered[0]}."
    if star and star.get("action"):
        return "You said what you did yourself."
    if SHORT_ANSWER_WORDS <= n <= LONG_ANSWER_WORDS:
        return "A well-sized answer: enough detail without running long."
    return None


def _to_improve(answer: dict[str, Any], text: str, *, expected_points: bool) -> str | None:
    if answer.get("transcription_gap"):
        return None  # some of it was not heard: nothing to hold against it
    star = answer.get("star")
    n = len(words(text))
    if star is not None and not star["result"]:
        return "End with how it turned out: a number, a decision, or what you learned."
    if star is not None and not star["action"]:
        return 'Say what you did yourself, with "I", not only what the team did.'
    if n < SHORT_ANSWER_WORDS:
        return "Give one concrete example: what the situation was, what you did, the outcome."
    if n > LONG_ANSWER_WORDS:
        return "Lead with your main point, then one example; stop at the result."
    if sum(answer.get("hedges", {}).values()) >= HEDGES_PER_ANSWER:
        return 'Drop the hedges ("I guess", "maybe"): say plainly what you did.'
    if expected_points and len(answer["missing_keywords"]) >= 2:
        topics = " and ".join(answer["missing_keywords"][:2])
        return f"A strong answer here often also touches on {topics}, where true for you."
    if not _NUMBER.search(text):
        return "Add one concrete detail or number that shows the size of what you did."
    return None


# ---------------------------------------------------------------- the summary


def offline_summary(feedback: dict[str, Any], strengths: list[Point], areas: list[Point]) -> str:
    """A few sentences a candidate can read first: what they covered, what went well,
    the one thing to work on (no score: none is given without a model)."""
    answers = feedback["answers"]
    if not answers:
        return (
            "The interview ended before any answers were given, so there is nothing to assess yet."
        )
    stages_ = list(dict.fromkeys(a["stage"] for a in answers))
    avg = round(sum(a["words"] for a in answers) / len(answers))
    parts = [
        f"You answered {len(answers)} question{'s' if len(answers) != 1 else ''} across "
        f"{_joined(stages_)}, averaging {avg} words an answer."
    ]
    if strengths:
        parts.append(f"What worked: {strengths[0]['point'][0].lower()}{strengths[0]['point'][1:]}")
    if areas:
        parts.append(
            f"The main thing to work on: {areas[0]['point'][0].lower()}{areas[0]['point'][1:]}"
        )
    else:
        parts.append("No clear pattern to work on showed up in these answers.")
    return " ".join(parts)


def _lowered(sentence: str) -> str:
    return sentence[:1].lower() + sentence[1:]


def _joined(items: list[str]) -> str:
    names = [i.replace("_", " ") for i in items]
    if len(names) == 1:
        return f"the {names[0]} part"
    return f"the {', '.join(names[:-1])} and {names[-1]} parts"


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
