"""Presidio recognisers for the French formats of personal data, on normalised text.

Each recogniser is a Presidio `EntityRecognizer` whose entity is one of our kinds
(`telephone`, `email`, `plaque`, `nom_de_personne`, `nir`, `iban`, `date_de_naissance`). Numbers are
validated where a check exists (phone numbers by `phonenumbers`, the NIR's key, the IBAN's
mod-97); names found by the spaCy model are kept only outside street and venue names and
official titles (`FrenchPersonNer`).
"""

from __future__ import annotations

import re
from typing import Iterable

import phonenumbers
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import SpacyRecognizer

from tranquillite.pii import lexicon as L

LANG = "fr"
UP = "A-ZÀ-ÖØ-Þ"
LOW = "a-zà-öø-ÿœ"
CAP = rf"[{UP}][{LOW}]+(?:[-'][{UP}{LOW}][{LOW}]+)*"  # Dupont, Jean-Pierre, Saint-Just
CAPS = rf"[{UP}]{{2,}}(?:[-'][{UP}]{{2,}})*"  # DUPONT, BEN-ALI
WORD = rf"(?:{CAPS}|{CAP})"


def _alt(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


_TITLES = {w.lower() for w in L.TITLES}
_CIVS = {w.lower() for w in L.CIVILITIES} | {"m"}
_FIRST = L.FIRST_NAMES
_PLACE_WORDS = {w.lower() for w in L.STREET_TYPES + L.VENUE_TYPES}
_TOPONYMS = L.TOPONYMS
# a street or venue type, then its linking words, right before a position: "rue du Docteur ", "stade "
_TYPE = rf"(?:^|[^\w])(?:{_alt(L.STREET_TYPES + L.VENUE_TYPES)})\.?"
_LINK = rf"(?:{_alt(L.STREET_LINKS)})\.?"
_PLACE_BEFORE = re.compile(rf"{_TYPE}(?:[\s'-]+{_LINK})*[\s'-]*$", re.IGNORECASE)
# streets only ("rue du Docteur Escat"; but "le bar de M. Rinaldi" is a person's bar)
_STREET_BEFORE = re.compile(rf"(?:^|[^\w])(?:{_alt(L.STREET_TYPES)})\.?(?:[\s'-]+{_LINK})*[\s'-]*$", re.IGNORECASE)
# … or with the other names of the street too: "Place Victor ", "Place Auguste et François ", "Rue Jean Pierre "
_PLACE_NAMES_BEFORE = re.compile(rf"{_TYPE}(?:[\s'-]+(?:{_LINK}|et|&|(?-i:[{UP}][\w'-]*)\.?))*[\s'-]*$", re.IGNORECASE)


def placed(text: str, start: int, window: int = 64, names: bool = True) -> bool:
    """True when the name at `start` is part of a street, place or venue name ("Rue Jean Jaurès",
    "avenue du Prado", "stade Pierre Delort", "rue du Docteur Escat", "Place Victor Hugo").
    `names=False`: only linking words may stand between the type and the position (a civility
    right after "rue Consolat" starts a person's name)."""
    rx = _PLACE_NAMES_BEFORE if names else _PLACE_BEFORE
    return rx.search(text[max(0, start - window) : start]) is not None


def on_street(text: str, start: int, window: int = 64) -> bool:
    """True when a civility at `start` is part of a street name ("rue du Docteur Escat")."""
    return _STREET_BEFORE.search(text[max(0, start - window) : start]) is not None


def _result(kind: str, start: int, end: int, score: float, rec: EntityRecognizer) -> RecognizerResult:
    return RecognizerResult(
        entity_type=kind,
        start=start,
        end=end,
        score=score,
        recognition_metadata={
            RecognizerResult.RECOGNIZER_NAME_KEY: rec.name,
            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: rec.id,
        },
    )


class _Recognizer(EntityRecognizer):
    KIND = ""

    def __init__(self):
        super().__init__(supported_entities=[self.KIND], supported_language=LANG, name=type(self).__name__)

    def load(self) -> None:  # nothing to load: compiled at import
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None):
        return [_result(self.KIND, s, e, score, self) for s, e, score in self.spans(text)]

    def spans(self, text: str) -> Iterable[tuple[int, int, float]]:
        raise NotImplementedError


# --------------------------------------------------------------------------- telephone
class FrenchPhoneRecognizer(_Recognizer):
    """Phone numbers, French and international (`phonenumbers`, valid numbers only): 06 12 34 56 78,
    06.12.34.56.78, 0612345678, +33 6…, +33 (0)6…, 0033 6…, 0 6 1 2 3 4 5 6 7 8, +212 6…"""

    KIND = "telephone"
    # ten digits of a French number in groups, directly followed by anything but a digit (the
    # matcher of `phonenumbers` refuses "06 12 34 56 78 12 rue de Rome")
    GROUPED = re.compile(r"(?<![\d+])(?:(?:\+|00)\s?33\s?(?:\(0\)\s?)?|0)[1-9](?:[\s./-]{0,2}\d){8}(?!\d)")

    def spans(self, text):
        seen: list[tuple[int, int]] = []
        for m in phonenumbers.PhoneNumberMatcher(text, "FR", leniency=phonenumbers.Leniency.VALID):
            seen.append((m.start, m.end))
            yield m.start, m.end, 1.0
        for m in self.GROUPED.finditer(text):
            if any(s < m.end() and m.start() < e for s, e in seen):
                continue
            digits = re.sub(r"\D", "", m.group().replace("(0)", ""))
            try:
                num = phonenumbers.parse(("+" + digits) if not digits.startswith("0") else digits, "FR")
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(num):
                yield m.start(), m.end(), 1.0


# --------------------------------------------------------------------------- e-mail
_TLD = r"(?:fr|com|net|org|eu|be|ch|info|io|biz|mc|re|gp|mq|gf|yt|nc|pf|de|es|it|uk|ma|dz|tn|sn|ci|pro|me)"


class ObfuscatedEmailRecognizer(_Recognizer):
    """E-mail addresses, plain (jean.dupont@mail.fr, jean@orange) or disguised: jean(at)mail.fr,
    jean [at] mail [dot] fr, jean arobase orange point fr, jean at gmail dot com."""

    KIND = "email"
    PLAIN = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)*", re.IGNORECASE)
    _OPEN, _CLOSE = r"[(\[{<]", r"[)\]}>]"
    AT = rf"(?:\s*{_OPEN}\s*(?:at|arobase|arobas|@)\s*{_CLOSE}\s*|\s+(?:at|arobase|arobas|chez)\s+|\s*@\s*)"
    DOT = rf"(?:\s*{_OPEN}\s*(?:dot|point|\.)\s*{_CLOSE}\s*|\s+(?:dot|point)\s+|\s*\.\s*)"
    DISGUISED = re.compile(rf"(?<![\w.])[\w.%+-]*\w{AT}[\w-]+(?:{DOT}[\w-]+)*?{DOT}{_TLD}\b", re.IGNORECASE)

    def spans(self, text):
        found = []
        for m in self.PLAIN.finditer(text):
            if re.search(r"\w@\w", m.group()):
                found.append((m.start(), m.end()))
        for m in self.DISGUISED.finditer(text):
            if not any(s < m.end() and m.start() < e for s, e in found):
                found.append((m.start(), m.end()))
        return [(s, e, 1.0) for s, e in found]


# --------------------------------------------------------------------------- plates
_PLATE_CONTEXT = re.compile(
    r"(?:plaques?|immat\w*|v[ée]hicules?|voitures?|\bvl\b|\bpl\b|scooters?|motos?|deux[- ]roues|camions?|"
    r"fourgons?|utilitaires?|camionnettes?|berlines?|citadines?|4x4|autos?|taxis?|suv|clio|peugeot|renault|"
    r"citro[eë]n|bmw|audi|mercedes|golf|twingo|kangoo|toyota|fiat|dacia|sandero|yamaha|tmax|t-max|"
    r"\b[23]0[08]\b|ford|opel|kia|hyundai|nissan|volkswagen|vw|seat|skoda|tesla|mini|smart)\W",
    re.IGNORECASE,
)
_DEPT = r"(?:0[1-9]|[1-8]\d|9[0-5]|2[AB]|97[1-6])"


class FrenchPlateRecognizer(_Recognizer):
    """Licence plates: SIV (AB-123-CD, AB 123 CD, ab123cd near a vehicle word) and the pre-2009
    FNI (1234 AB 13, 123-ABC-13), the latter only in the exact layout or near a vehicle word, and
    never when the letters are a known acronym ("2025 PSQ 13") or an hour ("14 H 30")."""

    KIND = "plaque"
    SIV = re.compile(r"(?<![\w-])([A-HJ-NP-TV-Z]{2})([\s-]?)(\d{3})([\s-]?)([A-HJ-NP-TV-Z]{2})(?![\w-])", re.IGNORECASE)
    FNI = re.compile(rf"(?<![\w-])(\d{{1,4}})([\s-]?)([A-Z]{{1,3}})([\s-]?)({_DEPT})(?![\w-])")

    def _context(self, text: str, start: int, end: int) -> bool:
        return _PLATE_CONTEXT.search(text[max(0, start - 60) : start] + " " + text[end : end + 20] + " ") is not None

    def spans(self, text):
        for m in self.SIV.finditer(text):
            upper = m.group(1).isupper() and m.group(5).isupper()
            dashed = m.group(2) == m.group(4) == "-"
            if upper or dashed or self._context(text, m.start(), m.end()):
                yield m.start(), m.end(), 1.0
        for m in self.FNI.finditer(text):
            letters = m.group(3)
            if letters.upper() in L.ACRONYMS or letters.upper() in {"H", "HEURE", "BIS", "TER", "KM", "M", "MN", "MIN"}:
                continue
            context = self._context(text, m.start(), m.end())
            layout = letters.isupper() and bool(m.group(2)) and m.group(2) == m.group(4) and len(letters) >= 2
            if context or layout:
                yield m.start(), m.end(), 0.9 if context else 0.7


# --------------------------------------------------------------------------- NIR
class NirRecognizer(_Recognizer):
    """French social-security numbers (NIR): 1 85 03 13 055 123 45, with their key checked
    (97 − NIR mod 97; Corsica 2A/2B); 13 digits without key only after a word that names them."""

    KIND = "nir"
    PATTERN = re.compile(
        r"(?<![\w])([1-478])[ .-]?(\d{2})[ .-]?(\d{2})[ .-]?(\d{2}|2[AB])[ .-]?(\d{3})[ .-]?(\d{3})"
        r"(?:[ .-]?(\d{2}))?(?![\w])",
        re.IGNORECASE,
    )
    CONTEXT = re.compile(r"(?:s[ée]cu\w*|s[ée]curit[ée] sociale|\bnir\b|insee|vitale|\bss\b|n°\s*ss)", re.IGNORECASE)

    @staticmethod
    def key_ok(body: str, key: str) -> bool:
        body = body.upper().replace("2A", "19").replace("2B", "18")
        return 97 - int(body) % 97 == int(key)

    def spans(self, text):
        for m in self.PATTERN.finditer(text):
            body = "".join(m.group(i) for i in range(1, 7))
            if m.group(7):
                if self.key_ok(body, m.group(7)):
                    yield m.start(), m.end(), 1.0
            elif self.CONTEXT.search(text[max(0, m.start() - 40) : m.start()]):
                yield m.start(), m.end(), 0.8


# --------------------------------------------------------------------------- IBAN
class IbanRecognizer(_Recognizer):
    """IBANs (FR76 3000 6000 0112 3456 7890 189, lower case or with dashes): mod-97 checked."""

    KIND = "iban"
    PATTERN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ -]?[A-Za-z0-9]){11,30}(?![A-Za-z0-9])")
    LENGTHS = {
        "FR": 27,
        "MC": 27,
        "BE": 16,
        "DE": 22,
        "ES": 24,
        "IT": 27,
        "CH": 21,
        "LU": 20,
        "PT": 25,
        "NL": 18,
        "GB": 22,
        "MA": 28,
        "TN": 24,
        "DZ": 26,
    }

    @staticmethod
    def checksum_ok(iban: str) -> bool:
        s = iban[4:] + iban[:4]
        digits = "".join(str(int(c, 36)) for c in s)
        return int(digits) % 97 == 1

    def spans(self, text):
        for m in self.PATTERN.finditer(text):
            raw = m.group()
            # the match may run into the next word: try it whole, then shorter at group boundaries
            for cut in range(len(raw), 14, -1):
                if cut < len(raw) and raw[cut] not in " -":
                    continue
                iban = re.sub(r"[ -]", "", raw[:cut]).upper()
                want = self.LENGTHS.get(iban[:2])
                if (want is None or len(iban) == want) and 15 <= len(iban) <= 34 and self.checksum_ok(iban):
                    yield m.start(), m.start() + len(raw[:cut].rstrip(" -")), 1.0
                    break


# --------------------------------------------------------------------------- date of birth
_MONTHS = (
    r"(?:janvier|f[ée]vrier|mars|avril|mai|juin|juillet|ao[uû]t|septembre|octobre|novembre|d[ée]cembre|"
    r"janv|f[ée]vr?|avr|juil|sept|oct|nov|d[ée]c)\.?"
)
_DATE = rf"(?:\d{{1,2}}\s?[/.-]\s?\d{{1,2}}\s?[/.-]\s?(?:\d{{4}}|\d{{2}})|\d{{1,2}}(?:er)?\s+{_MONTHS}\s+(?:\d{{4}}|\d{{2}})|\d{{8}})"


class BirthDateRecognizer(_Recognizer):
    """Dates of birth: né le 12/03/1985, née le 3 mars 1985, né(e) à Marseille le 12.03.85,
    DDN 12/03/85, date de naissance : 12031985, née en 1985."""

    KIND = "date_de_naissance"
    PATTERN = re.compile(
        rf"(?:\b(?:n[ée]e?|n[ée]\(e\))(?:\s+[àa]\s+[\w' -]{{2,30}}?)?\s+(?:le\s+)?(?P<d1>{_DATE})"
        rf"|\b(?:n[ée]e?|n[ée]\(e\))\s+en\s+(?P<d2>(?:19|20)\d{{2}})\b"
        rf"|(?:\bd\.?\s?d\.?\s?n\.?|\bdate\s+de\s+naissance|\bn[ée]e?\s+le|\bnaissance)\s*:?\s*(?:le\s+)?(?P<d3>{_DATE}))",
        re.IGNORECASE,
    )

    def spans(self, text):
        for m in self.PATTERN.finditer(text):
            group = next(g for g in ("d1", "d2", "d3") if m.group(g))
            yield m.start(group), m.end(group), 1.0


# --------------------------------------------------------------------------- names with a cue
_CIV = (
    r"(?:(?:M\.|M(?=\s)|MM\.?|Mr\.?|Mrs\.?|Mme\.?|Mmes\.?|Mlle\.?|Mlles\.?|Melle\.?|Dr\.?|Pr\.?|Me\.|Me(?=\s)|Mgr\.?)"
    r"|(?i:monsieur|madame|mademoiselle|messieurs|mesdames|docteure?|ma[iî]tre|professeure?|monseigneur"
    r"|mme\.?|mlle\.?|melle\.?|mr\.?))"
)
_PARTICLE = r"(?:(?:de|du|d'|ben|bel|el|al|van|von|di|da|dos|le|la)\s?)"


def _name_words(text: str, pos: int, allow_lower_first: bool = False) -> int:
    """End of the name starting at `pos` (0–3 name words), or `pos` when there is none."""
    end = pos
    m = re.match(rf"{_PARTICLE}?({WORD})", text[pos:])
    if not m:
        if allow_lower_first:
            low = re.match(rf"([{LOW}][{LOW}'-]{{2,}})", text[pos:])
            if low and low.group(1) not in _TITLES and low.group(1) not in _PLACE_WORDS:
                return pos + low.end()
        return pos
    first = m.group(1).lower()
    if first in _TITLES or first in _PLACE_WORDS or m.group(1) in L.ACRONYMS:
        return pos
    end = pos + m.end()
    for _ in range(2):
        nxt = re.match(rf"\s+({WORD})", text[end:])
        if (
            not nxt
            or nxt.group(1).lower() in _PLACE_WORDS
            or nxt.group(1).lower() in _TITLES
            or nxt.group(1) in L.ACRONYMS
        ):
            break
        end += nxt.end()
    return end


class CivilityNameRecognizer(_Recognizer):
    """A civility followed by a name: M. Dupont, M Dupont, Mme. Martin, Monsieur Jean DURAND,
    M. et Mme Benali, Dr Fabre, mme Fatima benali. Not an office ("M. le Maire", "Madame la
    Préfète") nor a street ("rue du Docteur Escat")."""

    KIND = "nom_de_personne"
    PATTERN = re.compile(rf"(?<![\w.]){_CIV}(?:\s*(?:et|&)\s*{_CIV})?\s*")

    def spans(self, text):
        for m in self.PATTERN.finditer(text):
            if on_street(text, m.start()):
                continue
            civ = m.group().strip()
            lower_ok = civ.lower().rstrip(".") in {"mme", "mlle", "melle", "mr", "monsieur", "madame", "mademoiselle"}
            rest = text[m.end() :]
            first = re.match(rf"([{LOW}]+)", rest)
            allow = lower_ok and first is not None and first.group(1) in _FIRST
            end = _name_words(text, m.end(), allow_lower_first=allow)
            if end > m.end() and (m.group().endswith((" ", ".")) or text[m.end() - 1] == "."):
                yield m.end(), end, 1.0


class CuedNameRecognizer(_Recognizer):
    """A name introduced by a word that announces one: nommé DUPONT, le dénommé Karim B., se nommant
    Julien Roux, victime : Mme X, nom : dupont, identité : BENALI Karim, signalé par Jean Moreau."""

    KIND = "nom_de_personne"
    STRONG = re.compile(
        r"\b(?:nomm[ée]e?|d[ée]nomm[ée]e?|pr[ée]nomm[ée]e?|se\s+nommant|se\s+nomme|s'appel(?:le|ant)|"
        r"identifi[ée]e?\s+comme|r[ée]pondant\s+au\s+nom\s+de|alias|surnomm[ée]e?|"
        r"(?:nom|pr[ée]nom|identit[ée]|nom\s+et\s+pr[ée]nom|nom\s*/\s*pr[ée]nom)\s*:)\s*",
        re.IGNORECASE,
    )
    ROLE = re.compile(
        r"\b(?:victime|t[ée]moin|requ[ée]rante?|mise?\s+en\s+cause|auteurs?|conducteur|conductrice|"
        r"propri[ée]taire|plaignante?|d[ée]clarante?|interpell[ée]e?|contact|appelante?|demandeu(?:r|se)|"
        r"locataire|gardien(?:ne)?|g[ée]rante?)\s*:\s*"
        r"|\b(?:signal[ée]e?\s+par|appel\s+de|plainte\s+de|d[ée]pos[ée]e?\s+par|accompagn[ée]e?\s+de|"
        r"fils\s+de|fille\s+de|[ée]pouse|[ée]poux|veuve|fr[èe]re\s+de|s[œo]e?ur\s+de)\s+",
        re.IGNORECASE,
    )

    RANK = re.compile(
        r"\b(?:commissaire|brigadier(?:-chef)?|lieutenant|capitaine|commandant|major|gardien\s+de\s+la\s+paix|"
        r"agent|agente|adjudant(?:-chef)?|sergent|officier|inspecteur|inspectrice|chef\s+de\s+poste|opj|apj|"
        r"policier|policière|adjoint|adjointe|gendarme)\s+",
        re.IGNORECASE,
    )

    def spans(self, text):
        for rx, lower, strict in ((self.STRONG, True, True), (self.ROLE, False, False), (self.RANK, False, False)):
            for m in rx.finditer(text):
                if CivilityNameRecognizer.PATTERN.match(text, m.end()):
                    continue  # the civility recogniser reports it
                end = _name_words(text, m.end(), allow_lower_first=lower)
                if end == m.end() or placed(text, m.start(), names=not strict) or placed(text, m.end(), names=False):
                    continue
                name = text[m.end() : end]
                if name.lower() in _TOPONYMS or name.split()[0].lower() in _TOPONYMS:
                    continue
                yield m.end(), end, 0.9


class CapitalisedNameRecognizer(_Recognizer):
    """Names shaped like names: a surname in capitals with a first name (DUPONT Jean, Karim BENALI,
    BENALI K.), a known first name with a surname or an initial (Karim Haddad, Karim B.), and a
    known first name alone inside a sentence ("ma fille Léa"). Never in a street or venue name."""

    KIND = "nom_de_personne"
    CAPS_FIRST = re.compile(rf"(?<![\w-])({CAPS})\s+({CAP}|[{UP}]\.)(?![\w-])")
    FIRST_NEXT = re.compile(rf"(?<![\w-])({CAP})\s+({CAPS}|{CAP}|[{UP}]\.)(?![\w-])")
    LONE_FIRST = re.compile(rf"(?<=[\w,;:] )({CAP})(?![\w-])")
    # first names that are also ordinary words written with a capital (a colour, the navy, a stone)
    AMBIGUOUS = {
        "rose",
        "marine",
        "ambre",
        "jade",
        "olive",
        "victoire",
        "capucine",
        "pierre",
        "france",
        "grâce",
        "aurore",
        "prudence",
        "clémentine",
        "violette",
        "mercedes",
        "alma",
        "paris",
        "florence",
        "lorraine",
    }

    def spans(self, text):
        for m in self.CAPS_FIRST.finditer(text):
            surname, first = m.group(1), m.group(2)
            if surname in L.ACRONYMS or len(surname) < 3 or placed(text, m.start()):
                continue
            if first.lower() in _FIRST or (first.endswith(".") and len(first) == 2):
                yield m.start(), m.end(), 0.9
        for m in self.FIRST_NEXT.finditer(text):
            first, surname = m.group(1), m.group(2)
            if first.lower() not in _FIRST or surname in L.ACRONYMS or placed(text, m.start()):
                continue
            low = surname.lower()
            if low in _TITLES or low in _PLACE_WORDS or low in _TOPONYMS or f"{first} {surname}".lower() in _TOPONYMS:
                continue
            yield m.start(), m.end(), 0.9
        for m in self.LONE_FIRST.finditer(text):
            word = m.group(1)
            low = word.lower()
            if low in _FIRST and low not in self.AMBIGUOUS and low not in _TOPONYMS and not placed(text, m.start()):
                yield m.start(), m.end(), 0.7


# --------------------------------------------------------------------------- names by NER
class FrenchPersonNer(SpacyRecognizer):
    """Person names found by the French spaCy model (label PER), minus street and venue names,
    Marseille places and bare official titles."""

    def __init__(self):
        super().__init__(
            supported_language=LANG, supported_entities=["nom_de_personne"], name="FrenchPersonNer", ner_strength=0.85
        )

    def analyze(self, text, entities, nlp_artifacts=None):
        out = []
        for r in super().analyze(text, entities, nlp_artifacts):
            if keep_person(text, r.start, r.end):
                lead = _LEADING_CIVILITY.match(text, r.start, r.end)  # "Mme Martin": the name is "Martin"
                if lead and lead.end() < r.end:
                    r.start = lead.end()
                out.append(r)
        return out


_PARTICLES = {"de", "du", "des", "d'", "d", "le", "la", "van", "von", "ben", "bel", "el", "al", "di", "da", "dos"}


_LEADING_CIVILITY = re.compile(rf"{_CIV}(?:\s*(?:et|&)\s*{_CIV})?\s*")


def keep_person(text: str, start: int, end: int) -> bool:
    """Whether a PER span of the model is a person's name here: every word capitalised (not
    "Tapage nocturne"), not a street, venue or place, not an office ("Président de la République"),
    and not a lone capitalised word opening a sentence unless it is a known first name ("Moto
    bruyante…", "Plaque relevée…")."""
    span = text[start:end].strip(" ,.;:'\"()-")
    words = re.findall(rf"[{UP}{LOW}][{UP}{LOW}'-]*", span)
    words = [w for w in words if w.lower().rstrip(".") not in _CIVS]
    if not words or placed(text, start):
        return False
    lowered = [w.lower() for w in words]
    if lowered[0] in _PLACE_WORDS or lowered[0] in _TITLES or span.lower() in _TOPONYMS:
        return False
    if any(w[0].islower() and w.lower() not in _PARTICLES for w in words):
        return False
    if all(w in _TITLES or w in _TOPONYMS or w.upper() in L.ACRONYMS for w in lowered):
        return False
    names = [w for w in words if w.upper() not in L.ACRONYMS and w.lower() not in _PARTICLES]
    if not names:
        return False
    opens = re.search(r"(?:^|[.!?:]\s*|\n)\W*$", text[:start]) is not None
    if len(names) == 1 and opens and names[0].lower() not in _FIRST and not names[0].isupper():
        return False
    return True


def recognizers() -> list[EntityRecognizer]:
    return [
        FrenchPhoneRecognizer(),
        ObfuscatedEmailRecognizer(),
        FrenchPlateRecognizer(),
        NirRecognizer(),
        IbanRecognizer(),
        BirthDateRecognizer(),
        CivilityNameRecognizer(),
        CuedNameRecognizer(),
        CapitalisedNameRecognizer(),
        FrenchPersonNer(),
    ]
