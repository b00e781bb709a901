"""Follow-up questions that pick up what an answer said, and the memory that keeps an
interview from asking the same question twice.

:func:`pick_up` reads an answer (any text: empty, punctuation, another language, fillers,
thousands of words) and finds what a follow-up can name: a short noun phrase ("the
migration to Postgres", "your weekly planning") and a measured figure ("30 percent", "a
fifth"). :class:`FollowUps` words one short follow-up for what the answer needs (a
specific example, what the candidate did, how it ended, a little more, a named skill),
naming what was found when it can and never more than a few of the candidate's words,
and never a sentence the interview has asked before. Deterministic: the same interview
gets the same follow-ups. No LiveKit, no network.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from lemminflect import getAllLemmas

Need = Literal["example", "action", "result", "more", "skill"]
"""What a follow-up asks for: one specific time (an answer that tells no story), what the
candidate did, how it ended, a little more (a very short answer), or more on a skill the
candidate named."""

MAX_QUOTED_WORDS = 5
"""A follow-up names at most this many of the candidate's words."""
MAX_WORD_CHARS = 24
"""Longer "words" (a run of letters, a pasted token) are never quoted."""
READ_CHARS = 4000
"""Only the beginning of a very long answer is read."""

# ---------------------------------------------------------------- reading an answer

_TOKEN = re.compile(
    r"(?P<num>[$€£]?\d+(?:[.,]\d+)*(?:%|k\b)?)"
    r"|(?P<word>[^\W\d_](?:[\w'’-]*[^\W_])?)"
    r"|(?P<punct>[^\w\s])"
)
_DISFLUENCY = re.compile(r"u+m+|u+h+m*|e+r+m*|a+h+|h+m+|m+h*m+")
"""Hesitation sounds ("um", "uhh", "erm", "hmm"), always left out."""
_FILLER_PHRASES = tuple(
    tuple(f.split())
    for f in ("you know", "i mean", "sort of", "kind of", "like", "so", "basically",
              "literally", "well", "actually")
)  # fmt: skip
"""Filler words left out when set off by commas ("the, you know, pipeline")."""
_DETERMINERS = {
    "the": "the", "a": "the", "an": "the", "my": "your", "our": "your",
    "this": "this", "that": "that", "these": "these", "those": "those",
}  # fmt: skip
"""Words that open a noun phrase, and how the interviewer says them back."""
_STOP = frozenset(
    """the a an i i'm i've i'd me my mine we we're we've us our you your he she they them
    it it's its his her their this that these those who whom which what where when why how
    there here in on at to of for with by from about into onto over after before during through
    between under without within across around against as than via per up down out off
    and or but so because if then while though although nor yet also
    is was were are be been being am had has have having did do does done doing got get
    gets make made went go goes kept keep said say can could would should will may might
    must shall not no nor all some any more most much many every each other another same
    such only even still too both few whole own rest very really just quite rather
    again ever never always often usually sometimes already almost lot lots bit kind sort
    first last next one ones two three""".split()
)
"""Words a quoted noun phrase never contains."""
_VAGUE = frozenset(
    """time times way ways thing things stuff end day days week weeks month months year
    years moment point kind sort couple number part parts idea ideas question questions
    answer example examples situation result results outcome fact case place reason
    start beginning today side level levels someone everyone everything something
    anything nothing""".split()
)
"""Nouns too vague to name back ("the end", "a long time", "as a result")."""
_FRAMES = frozenset(
    """job role position work task tasks company team teams people person problem
    problems issue issues project projects process""".split()
)
"""Nouns worth naming back only with a noun before them ("the support team", not "my
team")."""
_CLAUSE_OPENERS = frozenset(
    "that which who when where while because since so and but if whether".split()
)
"""Words after which a noun phrase is likely a clause's subject."""
_ATTACH = frozenset({"of", "to", "for", "with", "in", "on", "at"})
_ENGLISH = frozenset(
    "the a an and i to of in we my it was is that for on with our at so but".split()
)
_NUMBER_WORDS = frozenset(
    """two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen
    sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty
    ninety hundred thousand million billion dozen hundreds thousands millions""".split()
)
_FRACTIONS = frozenset({"half", "third", "quarter", "fifth", "tenth"})
_MEASURE_UNITS = frozenset({"%", "percent", "x", "dollars", "euros", "pounds", "points", "k"})
_DURATIONS = frozenset(
    """second seconds minute minutes hour hours day days week weeks month months quarter
    quarters year years""".split()
)


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    kind: Literal["num", "word", "punct"]
    starts_sentence: bool

    @property
    def low(self) -> str:
        return self.text.lower()


@dataclass(frozen=True, slots=True)
class Pickup:
    """What an answer offers a follow-up, already in the interviewer's words."""

    phrase: str | None = None
    """A short noun phrase ("the migration to Postgres", "your weekly planning")."""
    figure: str | None = None
    """A measured figure ("30 percent", "a fifth", "8% to 5%")."""


def tokens(text: str) -> list[Token]:
    """The words, numbers and punctuation of ``text``'s beginning, fillers left out (a
    text written in capitals is read in small letters: its words are not all names)."""
    text = text[:READ_CHARS]
    if sum(c.isupper() for c in text) > sum(c.islower() for c in text):
        text = text.lower()
    raw = [
        (m.group(m.lastgroup), m.lastgroup)
        for m in _TOKEN.finditer(text)
        if m.lastgroup is not None
    ]
    out: list[Token] = []
    sentence_start = True
    for value, kind in _without_fillers(raw):
        out.append(Token(value, kind, sentence_start))  # type: ignore[arg-type]
        if kind == "punct":
            sentence_start = value in ".!?:;" or (sentence_start and value in "\"'“‘(-–—")
        else:
            sentence_start = False
    return out


def _without_fillers(raw: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``raw`` with hesitations and comma-delimited fillers taken out, and the commas
    around them ("the, uh, pipeline" → "the pipeline")."""
    n = len(raw)
    low = [v.lower() for v, _ in raw]
    drop = [k == "word" and _DISFLUENCY.fullmatch(w) is not None for w, (_, k) in
            zip(low, raw, strict=True)]  # fmt: skip

    def edge(j: int) -> bool:
        return j < 0 or j >= n or raw[j][1] == "punct" or drop[j]

    for i in range(n):
        for f in _FILLER_PHRASES:
            if tuple(low[i : i + len(f)]) == f and edge(i - 1) and edge(i + len(f)):
                drop[i : i + len(f)] = [True] * len(f)
    fillers = list(drop)
    for i, (value, _) in enumerate(raw):
        if value == "," and ((i > 0 and fillers[i - 1]) or (i + 1 < n and fillers[i + 1])):
            drop[i] = True
    return [t for t, d in zip(raw, drop, strict=True) if not d]


def looks_english(toks: Sequence[Token]) -> bool:
    """Whether the words read as English (only English words are named back): a few
    words in Latin letters, or longer text with some of the commonest English words."""
    ws = [t.low for t in toks if t.kind == "word"]
    if not ws:
        return False
    if len(ws) < 4:
        return all(w.isascii() for w in ws)
    return sum(w in _ENGLISH for w in ws) * 8 >= len(ws)


@lru_cache(maxsize=4096)
def _lemmas(word: str) -> frozenset[str]:
    """The parts of speech an English word can be (empty for a word the tables lack)."""
    return frozenset(getAllLemmas(word))


def _quotable(t: Token) -> bool:
    """A word that may stand in a quoted noun phrase (a number only in a count)."""
    return (
        t.kind == "word"
        and len(t.text) <= MAX_WORD_CHARS
        and t.low not in _STOP
        and t.low not in _NUMBER_WORDS
        and t.low not in _FRACTIONS
    )


def _proper(t: Token, terms: frozenset[str]) -> bool:
    """A name: capitalised inside a sentence ("Postgres", "Siemens"), or a known skill."""
    if t.kind != "word" or len(t.text) > MAX_WORD_CHARS or t.low in _STOP:
        return False
    return t.low in terms or (t.text[0].isupper() and not t.starts_sentence)


def _nounish(t: Token, terms: frozenset[str]) -> bool:
    pos = _lemmas(t.low)
    return not pos or "NOUN" in pos or "PROPN" in pos or _proper(t, terms)


def _modifier(t: Token, terms: frozenset[str]) -> bool:
    """A word that may stand inside a noun phrase after its first word."""
    pos = _lemmas(t.low)
    return _nounish(t, terms) or "ADJ" in pos


def _head(t: Token, first: bool, terms: frozenset[str]) -> bool:
    """A word that may end a noun phrase (its head)."""
    if t.low in _VAGUE or t.low in _FRAMES or t.low.endswith("ly"):
        return False
    if _nounish(t, terms):
        return True
    pos = _lemmas(t.low)
    # right after "the", a word that is mostly a verb is a noun here ("the deploys")
    return first and "VERB" in pos and "ADJ" not in pos and "ADV" not in pos


@dataclass(frozen=True, slots=True)
class _Candidate:
    words: tuple[str, ...]
    specific: bool
    content: int
    at: int

    @property
    def rank(self) -> tuple[int, int, int]:
        return (int(self.specific), min(self.content, 3), -self.at)


def _phrase_at(toks: Sequence[Token], i: int, terms: frozenset[str]) -> _Candidate | None:
    """The noun phrase a determiner at ``i`` opens, if it makes one."""
    det = _DETERMINERS[toks[i].low]
    body: list[Token] = []
    j = i + 1
    while j < len(toks) and len(body) < MAX_QUOTED_WORDS - 1 and _quotable(toks[j]):
        if body and not _modifier(toks[j], terms):
            break
        body.append(toks[j])
        j += 1
        if toks[j - 1].low in _VAGUE or toks[j - 1].low in _FRAMES:
            break  # "as a result failures dropped" names no result
    if (
        len(body) > 1
        and (i == 0 or toks[i - 1].kind == "punct" or toks[i - 1].low in _CLAUSE_OPENERS)
        and body[-1].low.endswith("s")
        and "VERB" in _lemmas(body[-1].low)
    ):
        body.pop()  # "that the patient needs": a new clause, whose verb follows its subject
    last = body[-1].low if body else ""
    if last in _VAGUE or (last in _FRAMES and not (len(body) > 1 and _nounish(body[-2], terms))):
        return None  # "a long time", "my team"; but "the support team"
    if last in _FRAMES:
        return _Candidate((det, *(t.text for t in body)), False, len(body), i)
    while body and not _head(body[-1], len(body) == 1, terms):
        body.pop()
    if not body:
        return None
    j = i + 1 + len(body)
    words = [det, *(t.text for t in body)]
    specific = any(_proper(t, terms) for t in body)
    # "the migration to Postgres", "the ward of 30 beds": a preposition and a name or a
    # count complete the phrase
    content = len(body)
    if j + 1 < len(toks) and toks[j].low in _ATTACH:
        tail = _attached(toks, j + 1, terms)
        if tail and len(words) + 1 + len(tail) <= MAX_QUOTED_WORDS:
            words += [toks[j].low, *tail]
            specific, content = True, content + len(tail)
    return _Candidate(tuple(words), specific, content, i)


def _attached(toks: Sequence[Token], i: int, terms: frozenset[str]) -> list[str]:
    """A name (one or two words) or a count ("30 beds") at ``i``, after a preposition."""
    if _proper(toks[i], terms):
        more = i + 1 < len(toks) and _proper(toks[i + 1], terms)
        return [t.text for t in toks[i : i + 1 + more]]
    if (
        i + 1 < len(toks)
        and toks[i].kind == "num"
        and not _year(toks[i])
        and _quotable(toks[i + 1])
        and toks[i + 1].low not in _DURATIONS
        and _nounish(toks[i + 1], terms)
    ):
        return [toks[i].text, toks[i + 1].text]
    return []


def _names(toks: Sequence[Token], terms: frozenset[str]) -> list[_Candidate]:
    """Runs of names ("Google Analytics", "Siemens"), at most three words."""
    found: list[_Candidate] = []
    i = 0
    while i < len(toks):
        if _proper(toks[i], terms) and toks[i].low != "i":
            run = [toks[i].text]
            while i + len(run) < len(toks) and len(run) < 3 and _proper(toks[i + len(run)], terms):
                run.append(toks[i + len(run)].text)
            found.append(_Candidate(tuple(run), True, len(run), i))
            i += len(run)
        else:
            i += 1
    return found


def _is_number(t: Token) -> bool:
    return t.kind == "num" or t.low in _NUMBER_WORDS


def _year(t: Token) -> bool:
    return t.kind == "num" and re.fullmatch(r"(19|20)\d\d", t.text) is not None


def _figures(toks: Sequence[Token], terms: frozenset[str]) -> tuple[str | None, _Candidate | None]:
    """The first measured figure (a share, a multiple, money), and the first count of
    things ("12 nurses", "two million invoices") as a phrase."""
    figure: str | None = None
    count: _Candidate | None = None
    i = 0
    while i < len(toks) and (figure is None or count is None):
        t = toks[i]
        if t.low in _FRACTIONS and i > 0 and toks[i - 1].low in ("a", "one"):
            if figure is None:
                figure = f"{toks[i - 1].low} {t.low}"
            i += 1
            continue
        if not _is_number(t) or (t.kind == "word" and t.low in ("hundreds", "thousands")):
            i += 1
            continue
        start = i
        if i > 0 and toks[i - 1].low == "a" and t.low in ("hundred", "thousand", "million",
                                                          "dozen"):  # fmt: skip
            start = i - 1
        j = i + 1
        while j < len(toks) and toks[j].kind == "word" and toks[j].low in _NUMBER_WORDS:
            j += 1
        number = [x.text for x in toks[start:j]]
        unit = toks[j] if j < len(toks) else None
        money = t.text[0] in "$€£"
        if t.text.endswith("%") or t.text.endswith("k") or money:
            measure_end = j
        elif unit is not None and unit.low in _MEASURE_UNITS:
            measure_end = j + 1
            number.append(unit.text)
        elif (
            unit is not None
            and unit.low == "per"
            and toks[j + 1 : j + 2]
            and (toks[j + 1].low == "cent")
        ):
            measure_end = j + 2
            number += ["percent"]
        else:
            measure_end = -1
        if measure_end >= 0:
            if figure is None:
                figure = " ".join(number)
                # "from 8% to 5%"
                rest = toks[measure_end : measure_end + 2]
                if (start > 0 and toks[start - 1].low == "from" and len(rest) == 2
                        and rest[0].low == "to" and _is_number(rest[1])):  # fmt: skip
                    figure = f"{figure} to {rest[1].text}"
            i = measure_end
            continue
        if (
            count is None
            and not _year(t)
            and unit is not None
            and unit.low not in _DURATIONS
            and _quotable(unit)
            and _nounish(unit, terms)
            and len(number) + 1 <= MAX_QUOTED_WORDS - 1
        ):
            count = _Candidate((*number, unit.text), True, 2, start)
        i = j
    return figure, count


def pick_up(text: str, *, terms: Iterable[str] = ()) -> Pickup:
    """What a follow-up to ``text`` can name. ``terms``: skills and tools the bank knows,
    found in the text (named back as written)."""
    toks = tokens(text or "")
    known = frozenset(t.lower() for t in terms)
    figure, count = _figures(toks, known)
    if not looks_english(toks):
        return Pickup(figure=figure)
    candidates = [
        c
        for i, t in enumerate(toks)
        if t.low in _DETERMINERS and (c := _phrase_at(toks, i, known)) is not None
    ]
    candidates += _names(toks, known)
    if count is not None:
        candidates.append(count)
    best = max(candidates, key=lambda c: c.rank, default=None)
    return Pickup(phrase=" ".join(best.words) if best else None, figure=figure)


# ---------------------------------------------------------------- asking


@dataclass(frozen=True, slots=True)
class Templates:
    figure: tuple[str, ...] = ()
    """With ``{figure}``: a measured figure the answer gave."""
    phrase: tuple[str, ...] = ()
    """With ``{phrase}``: something the answer named."""
    plain: tuple[str, ...] = ()
    """Naming nothing (when the answer offers nothing to name, or all else was asked)."""


TEMPLATES: dict[Need, Templates] = {
    "example": Templates(
        phrase=(
            "Could you give me one specific example involving {phrase}?",
            "You mentioned {phrase}; when did that matter most, and what happened?",
            "Thinking of {phrase}, could you walk me through one real situation?",
        ),
        plain=(
            "Could you walk me through one specific time that happened?",
            "Can you think of one real situation where that came up?",
            "What is one concrete example of that from your own work?",
        ),
    ),
    "action": Templates(
        figure=("You said {figure}; what did you do yourself to get there?",),
        phrase=(
            "You mentioned {phrase}; what did you do yourself, step by step?",
            "What was your own part in {phrase}, step by step?",
            "Thinking of {phrase}, which steps did you take yourself?",
        ),
        plain=(
            "What did you do yourself, step by step?",
            "Which part of that did you handle yourself?",
            "What steps did you take personally, one by one?",
        ),
    ),
    "result": Templates(
        phrase=(
            "You mentioned {phrase}; how did it turn out in the end?",
            "You mentioned {phrase}; what was the outcome?",
            "Where did things end up with {phrase}?",
        ),
        plain=(
            "How did it turn out in the end?",
            "What was the outcome, in the end?",
            "What changed as a result of what you did?",
        ),
    ),
    "more": Templates(
        figure=(
            "You said {figure}; how did you measure that?",
            "How did you arrive at {figure}, and compared with what?",
        ),
        phrase=(
            "You mentioned {phrase}; could you say a bit more about that?",
            "Could you tell me a little more about {phrase}?",
            "What did {phrase} involve for you, day to day?",
        ),
        plain=(
            "Could you say a bit more about that?",
            "Can you give me a specific example?",
            "What was your own role in that?",
            "Could you walk me through that in a little more detail?",
            "What would you do differently if you faced that again?",
            "Is there anything you would add to that?",
        ),
    ),
    "skill": Templates(
        phrase=(
            "You mentioned {phrase}; what was the hardest part of working with it?",
            "You mentioned {phrase}; what would you do differently with it next time?",
            "You mentioned {phrase}; how did you decide it was the right choice?",
            "You mentioned {phrase}; what did you learn from using it there?",
        ),
    ),
}


_SENTENCE_END = re.compile(r"(?<=[.!?:])\s+(?=[^a-z])")


def questions_in(text: str) -> list[str]:
    """The sentences of a turn that end in "?" (a colon followed by a new sentence ends
    one: "so let's carry on: What ...?")."""
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip().endswith("?")]


def _key(sentence: str) -> str:
    return " ".join(sentence.lower().split())


class AskedQuestions:
    """Every "?" sentence one interview has asked."""

    def __init__(self) -> None:
        self._asked: set[str] = set()

    def record(self, text: str) -> None:
        self._asked.update(_key(q) for q in questions_in(text))

    def fresh(self, text: str) -> bool:
        """Whether none of the questions in ``text`` was asked before."""
        return not any(_key(q) in self._asked for q in questions_in(text))

    def first_fresh(self, options: Iterable[str]) -> str | None:
        return next((o for o in options if self.fresh(o)), None)


class FollowUps:
    """The follow-ups of one interview: each names what its answer offers when it can,
    rotates through its wordings, and is never a sentence asked before."""

    def __init__(self, asked: AskedQuestions) -> None:
        self.asked = asked
        self._uses: Counter[str] = Counter()

    def options(self, need: Need, found: Pickup, *, skill: str | None = None) -> list[str]:
        """Every wording for ``need``, best first: naming a figure, then a phrase (``skill``
        for a skill), then naming nothing; within each, the least used wording first."""
        return [sentence for _, sentence in self._ranked(need, found, skill)]

    def choose(
        self, need: Need, answer: str, *, skill: str | None = None, terms: Iterable[str] = ()
    ) -> str | None:
        """The follow-up to ``answer`` for ``need``, or ``None`` when every wording has
        been asked already (then the interviewer moves on)."""
        for template, sentence in self._ranked(need, pick_up(answer, terms=terms), skill):
            if self.asked.fresh(sentence):
                self._uses[template] += 1
                return sentence
        return None

    def _ranked(self, need: Need, found: Pickup, skill: str | None) -> list[tuple[str, str]]:
        t = TEMPLATES[need]
        slots = (
            (t.figure, "{figure}", found.figure),
            (t.phrase, "{phrase}", skill if need == "skill" else found.phrase),
        )
        out: list[tuple[str, str]] = []
        for templates, slot, value in slots:
            if value:
                out += [(s, s.replace(slot, value)) for s in self._least_used(templates)]
        return out + [(s, s) for s in self._least_used(t.plain)]

    def _least_used(self, templates: tuple[str, ...]) -> list[str]:
        return sorted(templates, key=lambda s: self._uses[s])  # stable: ties keep their order
