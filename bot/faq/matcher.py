"""The FAQ index and the three-way match decision: answer, suggest or none.

Retrieval: up to CANDIDATES entries by cosine over inverted postings of word, pinyin,
character-bigram and pinyin-bigram features of the questions/keywords, plus whole-word
features of the answer (identical answers share one document; features with more than
MAX_POSTINGS postings are skipped); the postings are flat arrays, see `bot/faq/postings.py`.
Tokens, pinyin and terms are computed once per distinct text/word at build time; an
entry's scoring structures are built with the index for FAQs of up to EAGER_ENTRIES
entries and on first use beyond.  In the query, adjacent single characters whose joined
pinyin is that of a two-character FAQ word are rejoined (医 报 → 医报 ≈ 医保), and adjacent
pieces that together are an FAQ question word, or differ from one of 4+ characters in one
character, are joined (雨 污 分离 → 雨污分离 ≈ 雨污分流); see `bot/word_repair.py`.

Score (0..1) of an FAQ entry for a message, computed for the retrieved candidates only:

* Query words are weighted by informativeness (self-information in jieba's general word
  frequency dictionary, see `TextAnalyzer.informativeness`) times a clause weight: words
  of the *ask* clause (the clause with a question marker or question mark, else the last
  one) count fully, words of context clauses (story, chatter) count CONTEXT_WEIGHT.
* query side  = weighted share of the query's words the entry explains: its questions and
  keywords fully, homophones 0.9, word fragments partially, answer-text-only words at
  ANSWER_COVER_CREDIT, and a word the entry does not use at CHAR_CREDIT × the share of its
  characters the entry does use (落到 for 落过来).
* entry side  = weighted share of the entry's best-matching question that the query covers.
* closeness   = for the entry's best question q: sqrt(share of the query covered by q alone
  × share of q covered by the query); 1 for a verbatim (normalised) question.  It breaks
  the ties of the saturated coverage scores in favour of the entry whose own question the
  message matches most closely.
* ask penalty = 1 − the weighted share of the query held by *content* words of the ask
  clause (nouns, verbs, adjectives …; not numerals, time, place, pronouns or other slot
  words, see `TextAnalyzer.is_content`) that the entry leaves unexplained.  A question about
  something else on a covered topic (狂犬疫苗 next to children's vaccinations, 暖气费发票
  next to paying the heating fee) leaves such a word of its ask unexplained; a paraphrase
  mostly leaves story, time and quantity words.  Words of a clause that is the ask only by
  reference (the clause before 咋办 / 跟谁说啊) count REFERRED_ASK.

score = query_side**QUERY_EXPONENT × entry_side**ENTRY_EXPONENT × closeness**CLOSENESS_EXPONENT
× ask penalty (the exponents sum to 1, so a perfect match scores 1).  `match` answers when
the best score and its margin over the runner-up clear `MatchSettings`, otherwise suggests
or stays silent.  The margin is the relative score margin plus `evidence_weight` × the
difference of the two entries' query sides: the weighted query words the best explains and
the runner-up does not, minus the reverse.  With the sentence model, those thresholds' verdict
and the model's second opinion are then weighed by the answer verifier (bot/faq/verifier.py),
which answers, keeps, or turns an answer into a suggestion (`decide`).
"""

from __future__ import annotations

import gc
import logging
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from bot.config import MatchSettings
from bot.faq.answer_sentences import AnswerSentences
from bot.faq.answer_type import AnswerType, answer_types, expected_types, missing_share
from bot.faq.coverage import (
    Field,
    Term,
    char_share,
    cover,
    make_field,
    make_terms,
    merge_fields,
    weighted_cover,
)
from bot.faq.entries import Faq, FaqEntry
from bot.faq.glossary import Glossary
from bot.faq.meaning import EntryMeaning
from bot.faq.postings import PostingsBuilder
from bot.faq.text import TextAnalyzer, has_han, idf, stem_english
from bot.faq.verifier import FEATURES, Verifier
from bot.faq.word_repair import WordRepair

log = logging.getLogger(__name__)

DecisionKind = Literal["answer", "suggest", "none"]

# Candidate retrieval: how much each feature family counts (see TextAnalyzer.features_of).
FEATURE_WEIGHTS = {"w": 1.0, "y": 0.6, "c": 0.5, "p": 0.35}
ANSWER_FIELD_WEIGHT = 0.3
ANSWER_FEATURES = ("w", "y")  # answers are retrieved by whole words only (short postings)
CANDIDATES = 8
# The sentence model's first few entries join the lexical candidates when it is in use.
RECALL_CANDIDATES = 3
# Features whose postings are longer than this are skipped during retrieval: they are so
# common that their idf weight is negligible, and walking them dominates latency in very
# large FAQs (never reached by FAQs of a few hundred entries).
MAX_POSTINGS = 2000
# Per-entry scoring structures are built at index time for FAQs up to this size and on
# first use (when the entry is first a candidate) beyond it, where building them all
# would dominate the index build while a query scores only CANDIDATES entries.
EAGER_ENTRIES = 2000
# Scoring: an answer text explains a query word less surely than a question does.
ANSWER_COVER_CREDIT = 0.8
CONTEXT_WEIGHT = 0.5  # weight of words outside the ask clause
QUERY_EXPONENT = 0.6
ENTRY_EXPONENT = 0.25
CLOSENESS_EXPONENT = 0.15
TRANSLATION_CREDIT = 0.9  # an English word explained by a Chinese word it translates
# A word the entry does not use, whose characters it does (落到 for 落过来, 办证 for 狗证),
# is explained by this share of its characters found.
CHAR_CREDIT = 0.8
# A clause that is the ask only because a question without content words refers back to it
# (…差点绊一跤，跟谁说啊) may be story rather than the topic: its unexplained content words
# weigh this much in the ask penalty.
REFERRED_ASK = 0.75
SEVERAL_ENTRIES = -1  # a question typed the same in several entries names none of them

Weighted = list[tuple[Term, float]]
_Alternatives = dict[str, list[Term]]  # English query word -> Chinese FAQ words it translates


@dataclass(frozen=True)
class _Scored:
    entry: int
    score: float
    explains: float  # the query side: weighted share of the query the entry explains


@dataclass(frozen=True)
class _Query:
    terms: Weighted
    # content words of the ask clause (TextAnalyzer.is_content) -> how surely they are asked
    asked: dict[str, float]


@dataclass(frozen=True)
class Decision:
    """The matcher's verdict for one query."""

    kind: DecisionKind
    score: float
    entry: FaqEntry | None = None
    suggestions: tuple[FaqEntry, ...] = ()
    ranked: tuple[tuple[str, float], ...] = field(default=(), compare=False)
    # the verifier's probability that its candidate is the entry asked for (bot/faq/verifier.py)
    confidence: float | None = field(default=None, compare=False)


@dataclass(frozen=True)
class _Phrasing:
    terms: Weighted
    field: Field


@dataclass(frozen=True)
class _EntryIndex:
    questions: Field
    answer: Field
    phrasings: tuple[_Phrasing, ...]


@dataclass(frozen=True)
class Evidence:
    """A message's lexical ranking (best first), the entry whose own question it is, and
    its similarity to each entry by meaning (None without the sentence model)."""

    ranked: tuple[_Scored, ...]
    verbatim: int | None
    sims: NDArray[np.float32] | None = field(default=None, compare=False)
    details: Details | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Details:
    """What the answer verifier needs beyond the ranking, for the candidate entries only
    (the lexical candidates and the model's first few): each one's best answer-sentence
    similarity (bot/faq/answer_sentences.py) and its ask gap, the share of the message
    held by ask words it leaves unexplained (the ask penalty of the score, on its own), and
    the share of the answer types the message expects that its answer holds nothing of
    (bot/faq/answer_type.py)."""

    sentence: dict[int, float]
    ask_gap: dict[int, float]
    type_missing: dict[int, float]


class FaqMatcher:
    """A precomputed index over one FAQ; `match` never rescans raw text.

    `rank` retrieves candidates by cosine similarity over inverted postings, then scores
    each by term coverage (see the module docstring for the score).
    """

    def __init__(
        self,
        faq: Faq,
        analyzer: TextAnalyzer,
        settings: MatchSettings | None = None,
        meaning: EntryMeaning | None = None,
        verifier: Verifier | None = None,
    ):
        self.faq = faq
        self.analyzer = analyzer
        self.settings = settings or MatchSettings()
        self.meaning = meaning  # the sentence model's second opinion, when there is one
        self.verifier = verifier or Verifier.shipped()
        self.sentences = embed_answer_sentences(faq, meaning)
        # what kinds of thing each answer holds (a duration, an amount …), read on first use:
        # only candidates need it, and reading every answer would add to a large FAQ's build
        self._answer_types: list[frozenset[AnswerType] | None] = [None] * len(faq.entries)
        analyzer.add_words(k for e in faq.entries for k in e.keywords)
        self._entries: list[_EntryIndex | None] = []
        self._terms: dict[str, Term] = {}
        self._repair = WordRepair(analyzer, ())
        # Per-entry scoring structures are built on first use (only candidates are scored).
        self._entry_terms: list[list[list[Term]]] = []
        self._entry_answers: list[tuple[str, ...]] = []
        self._answer_fields: dict[tuple[str, ...], Field] = {}
        self._term_weight: dict[str, float] = {}  # idf among questions × informativeness
        # a question as typed (normalised) -> its entry, or SEVERAL_ENTRIES
        self._verbatim: dict[str, int] = {}
        # Building allocates millions of small, acyclic objects: the cyclic collector would
        # rescan the growing index again and again without finding any garbage, and once
        # re-enabled it would pause a query for a full pass over them.  So collection is off
        # while building, and the finished index is moved out of the collector's generations
        # (it is freed by reference counting when the matcher is dropped).
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._build()
        finally:
            if collecting:
                gc.freeze()
                gc.enable()

    def _build(self) -> None:
        analyzer = self.analyzer
        faq = self.faq
        token_cache: dict[str, list[str]] = {}

        def tokens(text: str) -> list[str]:
            cached = token_cache.get(text)
            if cached is None:
                cached = token_cache[text] = analyzer.tokens(text)
            return cached

        def question_tokens(i: int, question: str) -> list[str]:
            """Tokens of a question, noting it (cleaned once for both) as verbatim for `i`."""
            clean = analyzer.clean(question)
            key = clean.replace(" ", "")
            if self._verbatim.setdefault(key, i) != i:
                self._verbatim[key] = SEVERAL_ENTRIES
            cached = token_cache.get(question)
            if cached is None:
                cached = token_cache[question] = analyzer.tokens_of_clean(clean)
            return cached

        phrasings = [
            [*(question_tokens(i, q) for q in e.questions), tokens(" ".join(e.keywords))]
            for i, e in enumerate(faq.entries)
        ]
        answers = [tokens(e.answer) for e in faq.entries]
        vocabulary = {w for qs in phrasings for q in qs for w in q}
        vocabulary.update(w for a in answers for w in a)
        # English words the FAQ itself uses are matched as they are, never translated.
        self._english = frozenset(w for w in vocabulary if not has_han(w))
        self._glossary = Glossary(
            (w for w in vocabulary if has_han(w)), stem_english, analyzer.lexicon.stopwords
        )
        self._build_postings(phrasings, answers)
        self._build_coverage(phrasings, answers)

    def _build_postings(self, phrasings: list[list[list[str]]], answers: list[list[str]]) -> None:
        """Every phrasing a document of its entry, every distinct answer one of all the
        entries that give it (its whole-word features only)."""
        features = self.analyzer.features_of
        builder = PostingsBuilder(FEATURE_WEIGHTS)
        for i, qs in enumerate(phrasings):
            builder.add_entry(i, (features(q) for q in qs))
        sharing: dict[tuple[str, ...], list[int]] = defaultdict(list)
        for i, answer in enumerate(answers):
            sharing[tuple(answer)].append(i)
        for answer_words, entries in sharing.items():
            kept = {
                f: c for f, c in features(list(answer_words)).items() if f[0] in ANSWER_FEATURES
            }
            if kept:
                builder.add_document(entries, ANSWER_FIELD_WEIGHT, kept)
        self._postings = builder.build()

    def _build_coverage(self, phrasings: list[list[list[str]]], answers: list[list[str]]) -> None:
        cache = self._terms
        analyzer = self.analyzer
        terms = [[make_terms(analyzer, q, cache) for q in qs] for qs in phrasings]
        df: Counter[str] = Counter()
        for per_entry in terms:
            df.update({t.word for doc in per_entry for t in doc})
        n = len(terms)
        self._term_weight = {w: idf(c, n) * analyzer.informativeness(w) for w, c in df.items()}
        self._repair = WordRepair(analyzer, (cache[w] for w in df))
        self._entry_terms = terms
        shared: dict[tuple[str, ...], tuple[str, ...]] = {}  # one tuple per distinct answer
        self._entry_answers = [shared.setdefault(tuple(a), tuple(a)) for a in answers]
        self._entries = [None] * len(terms)
        if len(terms) <= EAGER_ENTRIES:
            for i in range(len(terms)):
                self._entry(i)

    def _entry(self, i: int) -> _EntryIndex:
        """The scoring structures of entry `i`, built on first use and kept."""
        entry = self._entries[i]
        if entry is not None:
            return entry
        per_entry = self._entry_terms[i]
        key = self._entry_answers[i]
        answer_field = self._answer_fields.get(key)
        if answer_field is None:
            answer_field = self._answer_fields[key] = make_field(
                make_terms(self.analyzer, list(key), self._terms)
            )
        weight = self._term_weight
        weighted = tuple(
            _Phrasing([(t, weight[t.word]) for t in doc], make_field(doc))
            for doc in per_entry
            if doc
        )
        entry = self._entries[i] = _EntryIndex(
            questions=merge_fields(p.field for p in weighted),
            answer=answer_field,
            phrasings=weighted,
        )
        return entry

    def _candidates(self, words: list[str]) -> list[int]:
        """Entries whose phrasings or answer share the most weighted features."""
        feats = self.analyzer.features_of(words)
        return self._postings.candidates(feats, CANDIDATES, MAX_POSTINGS)

    def _covered(self, t: Term, field: Field, alts: _Alternatives) -> float:
        best = cover(t, field)
        for alt in alts.get(t.word, ()):
            best = max(best, TRANSLATION_CREDIT * cover(alt, field))
        return best

    def _explained(self, t: Term, entry: _EntryIndex, alts: _Alternatives) -> float:
        """How surely the entry explains one query word: questions, answer, or characters."""
        return max(
            self._covered(t, entry.questions, alts),
            ANSWER_COVER_CREDIT * self._covered(t, entry.answer, alts),
            CHAR_CREDIT
            * max(
                char_share(t, entry.questions), ANSWER_COVER_CREDIT * char_share(t, entry.answer)
            ),
        )

    def _score(
        self, query: _Query, query_field: Field, entry: _EntryIndex, alts: _Alternatives
    ) -> tuple[float, float]:
        """The score (query side × entry side × closeness × ask penalty, module docstring)
        and the query side alone."""
        total = sum(w for _, w in query.terms)
        if not total:
            return 0.0, 0.0
        explained = unexplained_ask = 0.0
        for t, w in query.terms:
            share = self._explained(t, entry, alts)
            explained += w * share
            surely = query.asked.get(t.word)
            if surely:
                unexplained_ask += surely * w * (1.0 - share)
        entry_side = closeness = 0.0
        for phrasing in entry.phrasings:
            covered_share = weighted_cover(phrasing.terms, query_field)
            entry_side = max(entry_side, covered_share)
            if covered_share * 1.0 > closeness**2:
                by_phrasing = (
                    sum(w * self._covered(t, phrasing.field, alts) for t, w in query.terms) / total
                )
                closeness = max(closeness, math.sqrt(covered_share * by_phrasing))
        query_side = explained / total
        score = (
            query_side**QUERY_EXPONENT
            * entry_side**ENTRY_EXPONENT
            * closeness**CLOSENESS_EXPONENT
            * (1.0 - unexplained_ask / total)
        )
        return float(score), query_side

    def _query(self, text: str) -> tuple[list[str], _Query]:
        """Content words, their weights (informativeness × clause weight) and the ask's
        content words."""
        clause_weight: dict[str, float] = {}
        ask_weight: dict[str, float] = {}
        words: list[str] = []
        for clause in self.analyzer.clauses(text):
            weight = 1.0 if clause.question else CONTEXT_WEIGHT
            surely = REFERRED_ASK if clause.referred else 1.0
            for word in self._repair.repair(clause.words):
                words.append(word)
                clause_weight[word] = max(clause_weight.get(word, 0.0), weight)
                if clause.question:
                    ask_weight[word] = max(ask_weight.get(word, 0.0), surely)
        terms = make_terms(self.analyzer, words, self._terms)
        weighted = [
            (t, self.analyzer.informativeness(t.word) * clause_weight[t.word]) for t in terms
        ]
        asked = {w: surely for w, surely in ask_weight.items() if self.analyzer.is_content(w)}
        return words, _Query(weighted, asked)

    def _translate(self, query: _Query) -> _Alternatives:
        """The FAQ's Chinese words each English query word the FAQ lacks may stand for."""
        alts: _Alternatives = {}
        for term, _ in query.terms:
            if not term.han and term.word not in self._english:
                words = self._glossary.translations(term.word)
                if words:
                    alts[term.word] = make_terms(self.analyzer, list(words), self._terms)
        return alts

    def rank(self, text: str) -> list[tuple[int, float]]:
        """Entries by score, best first (only retrieved candidates, scores in 0..1)."""
        return [(c.entry, c.score) for c in self._rank(text)]

    def _rank(self, text: str) -> list[_Scored]:
        return self._ranked(*self._parsed(text))

    def _parsed(self, text: str) -> tuple[list[str], _Query, _Alternatives]:
        """The message's words, weighted query and the translations of its English words."""
        words, query = self._query(text)
        return words, query, self._translate(query)

    def _ranked(self, words: list[str], query: _Query, alts: _Alternatives) -> list[_Scored]:
        translated = [a.word for terms in alts.values() for a in terms]
        candidates = self._candidates(words + translated)
        if not candidates:
            return []
        query_field = make_field(
            [*(t for t, _ in query.terms), *(a for ts in alts.values() for a in ts)]
        )
        scored = [
            _Scored(i, *self._score(query, query_field, self._entry(i), alts)) for i in candidates
        ]
        return sorted(scored, key=lambda c: c.score, reverse=True)

    def _verbatim_key(self, text: str) -> str:
        return self.analyzer.clean(text).replace(" ", "")

    @property
    def uses_model(self) -> bool:
        return self.meaning is not None and bool(self.settings.sentence_model)

    def evidence(self, text: str) -> Evidence:
        """What the decision rests on: the lexical ranking, a verbatim question, and the
        sentence model's similarities (when it is in use; None when it failed this message)."""
        words, query, alts = self._parsed(text)
        ranked = tuple(self._ranked(words, query, alts))
        verbatim = self._verbatim.get(self._verbatim_key(text), SEVERAL_ENTRIES)
        if verbatim != SEVERAL_ENTRIES:  # one entry's own question, whatever the width or script
            return Evidence(ranked, verbatim, None)
        meaning = self.meaning if self.uses_model else None
        sims = meaning.similarities_or_none(text) if meaning is not None else None
        return Evidence(ranked, None, sims, self._details(text, query, alts, ranked, sims))

    def match(self, text: str) -> Decision:
        return self.decide(self.evidence(text))

    def closest_question(self, text: str, entry_id: str) -> str | None:
        """Of entry `entry_id`'s own questions, the one `text` comes closest to (the
        closeness the score uses: shared words, both ways); None when it shares none."""
        index = next((i for i, e in enumerate(self.faq.entries) if e.id == entry_id), None)
        if index is None:
            return None
        questions = self.faq.entries[index].questions
        key = self._verbatim_key(text)
        same = next((q for q in questions if self._verbatim_key(q) == key), None)
        if same is not None:
            return same
        _, query = self._query(text)
        total = sum(w for _, w in query.terms)
        if not total:
            return None
        alts = self._translate(query)
        query_field = make_field(
            [*(t for t, _ in query.terms), *(a for ts in alts.values() for a in ts)]
        )
        weight = self._term_weight
        best, closest = None, 0.0
        docs = self._entry_terms[index][: len(questions)]  # then the keywords' doc
        for question, doc in zip(questions, docs, strict=True):
            own = make_field(doc)
            covered = weighted_cover([(t, weight.get(t.word, 0.0)) for t in doc], query_field)
            by_question = sum(w * self._covered(t, own, alts) for t, w in query.terms) / total
            closeness = math.sqrt(covered * by_question)
            if closeness > closest:
                best, closest = question, closeness
        return best

    def category_of(self, text: str) -> str | None:
        """The FAQ category of a question handed to the staff, for its ticket: that of the
        entry it matches; else that of the best suggestion, but with the sentence model only
        when the model's first choice is in that category too (words alone file 社区能帮忙办
        结婚证吗 with the volunteers, for its 帮忙); None when nothing says."""
        evidence = self.evidence(text)
        decision = self.decide(evidence)
        if decision.entry is not None:
            return decision.entry.category
        best = decision.suggestions[0] if decision.suggestions else None
        if best is None or evidence.sims is None:
            return best.category if best is not None else None
        model_first = self.faq.entries[int(np.argmax(evidence.sims))]
        return best.category if model_first.category == best.category else None

    def _details(
        self,
        text: str,
        query: _Query,
        alts: _Alternatives,
        ranked: tuple[_Scored, ...],
        sims: NDArray[np.float32] | None,
    ) -> Details | None:
        """The verifier's evidence beyond the ranking (None without the sentence model):
        one small product of the message's vector with the candidates' answer sentences."""
        if sims is None or self.meaning is None or self.sentences is None:
            return None
        candidates = {c.entry for c in ranked}
        candidates.update(int(j) for j in top_entries(sims, RECALL_CANDIDATES))
        sentence = self.sentences.best(self.meaning.query_vector(text), candidates)
        expected = expected_types(text, self.analyzer)
        type_missing = {i: missing_share(expected, self.answer_types(i)) for i in candidates}
        return Details(sentence, self._ask_gaps(query, alts, candidates), type_missing)

    def answer_types(self, i: int) -> frozenset[AnswerType]:
        """The kinds of thing entry `i`'s answer holds (bot/faq/answer_type.py), read once."""
        known = self._answer_types[i]
        if known is None:
            known = self._answer_types[i] = answer_types(self.faq.entries[i].answer, self.analyzer)
        return known

    def _ask_gaps(self, query: _Query, alts: _Alternatives, entries: set[int]) -> dict[int, float]:
        """Per entry, the weighted share of the message held by ask words it leaves
        unexplained (the ask penalty's measure, without the rest of the score)."""
        total = sum(w for _, w in query.terms)
        if not total or not query.asked:
            return dict.fromkeys(entries, 0.0)
        asked = [(t, w * query.asked[t.word]) for t, w in query.terms if t.word in query.asked]
        return {
            i: sum(w * (1.0 - self._explained(t, self._entry(i), alts)) for t, w in asked) / total
            for i in entries
        }

    def decide(
        self,
        evidence: Evidence,
        settings: MatchSettings | None = None,
        verifier: Verifier | None = None,
    ) -> Decision:
        """The decision for `evidence` under `settings` and `verifier` (by default the
        matcher's own): the hand-set rules', then the verifier's verdict on it."""
        s = settings or self.settings
        ranked = list(evidence.ranked)
        entries = self.faq.entries
        named = tuple((entries[c.entry].id, round(c.score, 4)) for c in ranked[:5])
        if evidence.verbatim is not None:
            return Decision("answer", 1.0, entry=entries[evidence.verbatim], ranked=named)
        rules = self._rules(ranked, evidence.sims, s, named)
        judged = self.verifier_features(evidence, s, rules)
        if judged is None:
            return rules
        candidate, features = judged
        v = verifier or self.verifier
        confidence = v.probability(features)
        score = next((c.score for c in ranked if c.entry == candidate), 0.0)
        sure = confidence >= v.threshold
        if sure and score > 0.0:
            return Decision(
                "answer", score, entry=entries[candidate], ranked=named, confidence=confidence
            )
        # the rules answer and the verifier doubts it, or the verifier is sure of an entry
        # that shares no words with the message: offer it rather than answer by meaning alone
        if rules.kind == "answer" or sure:
            return self._suggested(
                candidate,
                ranked,
                sims=evidence.sims,
                rules=rules,
                s=s,
                named=named,
                confidence=confidence,
            )
        return replace(rules, confidence=confidence)

    def _rules(
        self,
        ranked: list[_Scored],
        sims: NDArray[np.float32] | None,
        s: MatchSettings,
        named: tuple[tuple[str, float], ...],
    ) -> Decision:
        """The hand-set thresholds' decision: lexical, then the model's second opinion."""
        lexical = self._lexical(ranked, s, named)
        if lexical.kind == "answer" or sims is None or not s.sentence_model:
            return lexical
        return self._second_opinion(ranked, sims, lexical, s, named)

    def verifier_features(
        self, evidence: Evidence, s: MatchSettings, rules: Decision | None = None
    ) -> tuple[int, NDArray[np.float64]] | None:
        """The verifier's candidate entry and its features (bot/faq/verifier.py FEATURES),
        or None where it does not judge: a verbatim question, no sentence model, or turned
        off by `answer_verifier`."""
        sims, details = evidence.sims, evidence.details
        if (
            evidence.verbatim is not None
            or sims is None
            or details is None
            or not s.sentence_model
            or not s.answer_verifier
        ):
            return None
        ranked = list(evidence.ranked)
        if rules is None:
            rules = self._rules(ranked, sims, s, ())
        candidate = self._candidate(ranked, sims, rules, s)
        lexical_of = {c.entry: c for c in ranked}
        own = lexical_of.get(candidate, _Scored(candidate, 0.0, 0.0))
        rival = next((c for c in ranked if c.entry != candidate), _Scored(-1, 0.0, 0.0))
        by_model = top_entries(sims, 2)
        rival_sim = next((float(sims[j]) for j in by_model if j != candidate), 0.0)
        sentence = details.sentence[candidate]
        rival_sentence = max(
            (v for j, v in details.sentence.items() if j != candidate), default=sentence
        )
        features = {
            "score_margin": (own.score - rival.score) / own.score if own.score > 0.0 else 0.0,
            "explains": own.explains,
            "explains_margin": own.explains - rival.explains,
            "similarity": float(sims[candidate]),
            "similarity_margin": float(sims[candidate]) - rival_sim,
            "sentence": sentence,
            "sentence_margin": sentence - rival_sentence,
            "ask_gap": details.ask_gap[candidate],
            "type_missing": details.type_missing[candidate],
            "rules_answer": float(rules.kind == "answer"),
            "rules_suggest": float(rules.kind != "none"),
        }
        return candidate, np.array([features[f] for f in FEATURES], dtype=np.float64)

    def _candidate(
        self, ranked: list[_Scored], sims: NDArray[np.float32], rules: Decision, s: MatchSettings
    ) -> int:
        """The entry the verifier judges: the rules' answer, else the first by score and
        meaning together (the second opinion's order)."""
        if rules.entry is not None:
            return next(i for i, e in enumerate(self.faq.entries) if e is rules.entry)
        return self._reranked(ranked, sims, s)[0]

    def _suggested(
        self,
        candidate: int,
        ranked: list[_Scored],
        *,
        sims: NDArray[np.float32] | None,
        rules: Decision,
        s: MatchSettings,
        named: tuple[tuple[str, float], ...],
        confidence: float,
    ) -> Decision:
        """A suggestion of the candidate, first, and the usual runner-ups."""
        order = self._reranked(ranked, sims, s) if sims is not None else [c.entry for c in ranked]
        lexical_of = {c.entry: c.score for c in ranked}
        floor = s.suggest_ratio * (ranked[0].score if ranked else 0.0)
        others = [j for j in order if j != candidate and lexical_of.get(j, 0.0) >= floor]
        picks = tuple(self.faq.entries[j] for j in [candidate, *others][: s.max_suggestions])
        return Decision(
            "suggest", rules.score, suggestions=picks, ranked=named, confidence=confidence
        )

    def _reranked(
        self, ranked: list[_Scored], sims: NDArray[np.float32], s: MatchSettings
    ) -> list[int]:
        """The lexical candidates and the model's first few, by score + rerank_weight ×
        (similarity − best similarity)."""
        lexical_of = {c.entry: c.score for c in ranked}
        by_model = top_entries(sims, RECALL_CANDIDATES)
        best_sim = float(sims[by_model[0]])
        combined = {
            j: lexical_of.get(j, 0.0) + s.rerank_weight * (float(sims[j]) - best_sim)
            for j in {*lexical_of, *(int(j) for j in by_model)}
        }
        return sorted(combined, key=lambda j: (-combined[j], j))

    def _second_opinion(
        self,
        ranked: list[_Scored],
        sims: NDArray[np.float32],
        lexical: Decision,
        s: MatchSettings,
        named: tuple[tuple[str, float], ...],
    ) -> Decision:
        """Where the lexical score alone does not answer: re-rank its candidates and the
        model's first few by score + rerank_weight × (similarity − best similarity); answer
        the first when the model ranks it first too and the lexical evidence is fair, suggest
        when the lexical matcher would or when both agree on an entry scoring at least
        recall_threshold."""
        entries = self.faq.entries
        lexical_of = {c.entry: c for c in ranked}
        by_model = top_entries(sims, max(RECALL_CANDIDATES, 2))
        model_best = int(by_model[0])
        best_sim = float(sims[model_best])
        order = self._reranked(ranked, sims, s)
        top = order[0]
        agree = top == model_best
        top_score = lexical_of[top].score if top in lexical_of else 0.0
        if agree and top_score > 0.0:
            others = [c for c in ranked if c.entry != top]
            margin = self._margin([lexical_of[top], *others], s)
            runner_up_sim = float(sims[by_model[1]]) if len(by_model) > 1 else 0.0
            if (
                top_score >= s.agree_threshold
                and margin >= s.agree_lexical_margin
                and best_sim - runner_up_sim >= s.agree_model_margin
            ):
                return Decision("answer", top_score, entry=entries[top], ranked=named)
        if lexical.kind == "suggest" or (agree and top_score >= s.recall_threshold):
            floor = s.suggest_ratio * (ranked[0].score if ranked else 0.0)
            picks = tuple(
                entries[j]
                for j in order
                if j == top or (j in lexical_of and lexical_of[j].score >= floor)
            )[: s.max_suggestions]
            return Decision(
                "suggest", max(top_score, lexical.score), suggestions=picks, ranked=named
            )
        return lexical

    def _lexical(
        self, ranked: list[_Scored], s: MatchSettings, named: tuple[tuple[str, float], ...]
    ) -> Decision:
        entries = self.faq.entries
        if not ranked or ranked[0].score <= 0.0:
            return Decision("none", 0.0, ranked=named)
        top_i, top = ranked[0].entry, ranked[0].score
        margin = self._margin(ranked, s)
        if (top >= s.answer_threshold and margin >= s.answer_margin) or (
            top >= s.confident_threshold and margin >= s.confident_margin
        ):
            return Decision("answer", top, entry=entries[top_i], ranked=named)
        if top >= s.suggest_threshold:
            picks = tuple(
                entries[c.entry]
                for c in ranked[: s.max_suggestions]
                if c.score >= s.suggest_ratio * top
            )
            return Decision("suggest", top, suggestions=picks, ranked=named)
        return Decision("none", top, ranked=named)

    def _margin(self, ranked: list[_Scored], s: MatchSettings) -> float:
        """Relative score margin of the best over the runner-up plus their evidence margin.

        A runner-up that shares only the generic words of the message (交, 多少) can score
        close to the best entry through its entry side and closeness; the query words that
        only the best explains (医保) say more about which entry is meant."""
        best = ranked[0]
        runner_up = ranked[1] if len(ranked) > 1 else _Scored(-1, 0.0, 0.0)
        relative = (best.score - runner_up.score) / best.score
        return relative + s.evidence_weight * (best.explains - runner_up.explains)


def embed_answer_sentences(faq: Faq, meaning: EntryMeaning | None) -> AnswerSentences | None:
    """The answers' sentence vectors for the verifier, through the entries' embedding cache
    (built with the index, off the event loop); None without the model or when embedding
    fails, and the matcher answers by its hand-set thresholds alone."""
    if meaning is None:
        return None
    model = meaning.model
    try:
        return AnswerSentences(faq, meaning.cache, lambda texts: model.embed(texts, "passage"))
    except Exception:  # never let the verifier's evidence take the matcher down
        log.exception("embedding the answers' sentences failed; answering by thresholds")
        return None


def top_entries(sims: NDArray[np.float32], k: int) -> NDArray[np.intp]:
    """The k entries most similar by meaning, most similar first (equal ones by position),
    without sorting them all: a partition is linear in the FAQ's size."""
    if len(sims) <= k:
        return np.argsort(-sims, kind="stable")
    part = np.argpartition(-sims, k - 1)[:k]
    return part[np.lexsort((part, -sims[part]))]
