"""One structured model call that scores the interview, with the user's own key.

Runs after the interview row is safe (committed to the outbox and pushed). The answer
must be valid JSON matching the schema; one retry on an invalid answer or a failed call;
after that the computed feedback stays, ``status: "partial"`` with null scores and the
reason in ``generated_by.error``. Scores are never made up.
"""

from __future__ import annotations

import logging
from typing import Any

import openai
from pydantic import ValidationError

from feedback import assessment
from feedback.report import answer_texts
from persistence import FeedbackRecord

from .record import Interview

logger = logging.getLogger("interview.assessor")

CALL_TIMEOUT_S = 30.0
ATTEMPTS = 2


class Assessor:
    """Asks ``model`` through ``client`` (an OpenAI-compatible client holding the user's
    own key; the assessor closes it)."""

    def __init__(
        self, client: openai.AsyncClient, *, model: str, timeout_s: float = CALL_TIMEOUT_S
    ) -> None:
        self.model = model
        self._client = client.with_options(timeout=timeout_s)
        self.usage: list[dict[str, Any]] = []
        """What each call used (LiveKit's usage shape), for the cost estimate."""

    async def aclose(self) -> None:
        await self._client.close()

    async def assess(self, rt: Interview, partial: FeedbackRecord) -> FeedbackRecord:
        """The complete feedback, or ``partial`` with the reason when it cannot be had."""
        computed = partial.feedback_data
        said = answer_texts(rt.transcript.messages, rt.machine.plan)
        if not said:
            return self.partial(partial, "no answers to assess")
        messages = assessment.request_messages(
            computed,
            said,
            job_role=rt.md.role_label,
            experience_level=rt.md.experience_level,
            resume=rt.md.resume_text,
            job_description=rt.md.job_description,
        )
        everything = [m.text for m in rt.transcript.messages if m.role == "candidate"]
        error = "not attempted"
        for attempt in range(1, ATTEMPTS + 1):
            try:
                resp = await self._client.chat.completions.create(
                    model=self.model,
                    messages=messages,  # type: ignore[arg-type]
                    response_format=assessment.response_format(),  # type: ignore[arg-type]
                    temperature=0.2,
                )
                self._count(resp)
                text = resp.choices[0].message.content or ""
                result = assessment.parse(text)
            except ValidationError:
                error = "invalid assessment JSON"
            except (TimeoutError, openai.APIError) as e:
                error = f"{type(e).__name__}" + (
                    f" {e.status_code}" if isinstance(e, openai.APIStatusError) else ""
                )
            else:
                data = assessment.apply(computed, result, everything, model=self.model)
                return FeedbackRecord(user_id=partial.user_id, feedback_data=data)
            logger.warning("assessment attempt %d failed: %s", attempt, error)
        return self.partial(partial, error)

    def _count(self, resp: Any) -> None:
        used = getattr(resp, "usage", None)
        if used is None:
            return
        details = getattr(used, "prompt_tokens_details", None)
        self.usage.append(
            {
                "type": "llm_usage",
                "model": self.model,
                "input_tokens": int(getattr(used, "prompt_tokens", 0) or 0),
                "input_cached_tokens": int(getattr(details, "cached_tokens", 0) or 0),
                "output_tokens": int(getattr(used, "completion_tokens", 0) or 0),
            }
        )

    def partial(self, partial: FeedbackRecord, error: str) -> FeedbackRecord:
        """The computed feedback, saying why the model's assessment is missing."""
        data: dict[str, Any] = {
            **partial.feedback_data,
            "generated_by": {"model": self.model, "fallback": True, "error": error},
        }
        return FeedbackRecord(user_id=partial.user_id, feedback_data=data)
