"""The unanswered queue grouped by meaning: "12 residents asked about X", with wordings.

With the sentence model, questions whose `query:` vectors lie within SAME_QUESTION of a
group's centre join it (a probe on the dev FAQ's topics: paraphrases 0.92–0.97, different
questions on one topic 0.83–0.91); without it, questions with the same content words do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.faq.feedback import LoggedQuestion
from bot.faq.meaning import SentenceModel

SAME_QUESTION = 0.92


@dataclass
class QuestionGroup:
    """Questions that ask the same thing, most recent first."""

    questions: list[LoggedQuestion] = field(default_factory=list)

    @property
    def people(self) -> int:
        return len({q.person for q in self.questions})

    @property
    def wordings(self) -> list[str]:
        seen: dict[str, None] = {}
        for question in self.questions:
            seen.setdefault(question.text.strip())
        return list(seen)


def group_by_meaning(
    questions: Sequence[LoggedQuestion],
    model: SentenceModel | None,
    words: Callable[[str], list[str]],
) -> list[QuestionGroup]:
    """Groups, the most asked first (ties: the most recent first)."""
    groups: list[QuestionGroup] = []
    if model is not None and questions:
        vectors = model.embed([q.text for q in questions], "query")
        centres: list[np.ndarray] = []
        for question, vector in zip(questions, vectors, strict=True):
            scores = [float(c @ vector) / float(np.linalg.norm(c)) for c in centres]
            best = max(range(len(scores)), key=scores.__getitem__, default=None)
            if best is not None and scores[best] >= SAME_QUESTION:
                groups[best].questions.append(question)
                centres[best] = centres[best] + vector
            else:
                groups.append(QuestionGroup([question]))
                centres.append(vector.copy())
    else:
        by_words: dict[tuple[str, ...], QuestionGroup] = {}
        for question in questions:
            key = tuple(sorted(set(words(question.text)))) or (question.text,)
            by_words.setdefault(key, QuestionGroup()).questions.append(question)
        groups = list(by_words.values())
    return sorted(groups, key=lambda g: -g.people)
