"""Password strength (ASVS V2.1): a maintained estimator, zxcvbn, taught French and the platform's words.

zxcvbn estimates the number of guesses an attacker needs, from its lists of common (and
breached) passwords, names, English words, keyboard patterns, sequences, repeats, dates and
l33t substitutions. We add:

* a French word list — the 50,000 most frequent French words of `wordfreq` (shipped with the
  package, offline), accents kept and removed — so `motdepasse12` or `soleilmarseille` count
  as the dictionary words they are;
* the platform's own words (Marseille, tranquillité, Préfecture, Cortège, profiles…) and, per
  person, their login, name and e-mail.

A password is accepted when zxcvbn estimates at least 10^10 guesses (its top score, 4: two
common words joined by a dash, ~10^8, are refused), it is 12 to 128 characters and it does not
contain the login.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Iterable

MIN_LENGTH = 12
MAX_LENGTH = 128
MIN_GUESSES_LOG10 = 10.0
FRENCH_WORDS = 50_000
PLATFORM_WORDS = (
    "tranquillite",
    "tranquillité",
    "tranquille",
    "marseille",
    "marseillais",
    "phoceen",
    "phocée",
    "massilia",
    "prefecture",
    "préfecture",
    "police",
    "municipale",
    "cortege",
    "cortège",
    "plateforme",
    "bigdata",
    "ville",
    "mairie",
    "securite",
    "sécurité",
    "habilitation",
    "habilitations",
    "dgsec",
    "dgansi",
    "csu",
    "videoprotection",
    "vidéoprotection",
    "demo",
    "admin",
    "administrateur",
    "analyste",
    "encadrement",
    "auditeur",
    "dpo",
    "agent",
    "lecteur",
    "partenaire",
    "gestionnaire",
    "bouches",
    "rhone",
    "provence",
    "canebiere",
    "canebière",
    "vieuxport",
    "olympique",
    "om",
    "azerty",
    "motdepasse",
    "bonjour",
    "soleil",
)
# zxcvbn's warnings, in French (anything else: the generic reason)
WARNINGS = {
    "Straight rows of keys are easy to guess.": "les rangées de touches se devinent vite",
    "Short keyboard patterns are easy to guess.": "les motifs du clavier se devinent vite",
    'Repeats like "aaa" are easy to guess.': "les répétitions se devinent vite",
    "Sequences like abc or 6543 are easy to guess.": "les suites (abc, 6543) se devinent vite",
    "Recent years are easy to guess.": "les années récentes se devinent vite",
    "Dates are often easy to guess.": "les dates se devinent vite",
    "This is a top-10 common password.": "c'est l'un des mots de passe les plus utilisés",
    "This is a top-100 common password.": "c'est l'un des mots de passe les plus utilisés",
    "This is a very common password.": "c'est un mot de passe très courant",
    "This is similar to a commonly used password.": "il ressemble à un mot de passe courant",
    "A word by itself is easy to guess.": "un mot seul se devine vite",
    "Names and surnames by themselves are easy to guess.": "un nom ou un prénom se devine vite",
    "Common names and surnames are easy to guess.": "les noms et prénoms courants se devinent vite",
}


def _plain(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


@lru_cache(maxsize=1)
def _estimator():
    """zxcvbn with the French list registered once per process (~0.5 s)."""
    from wordfreq import top_n_list
    from zxcvbn import matching, zxcvbn

    words = [w for w in top_n_list("fr", FRENCH_WORDS) if len(w) >= 3 and w.isalpha()]
    ranked = list(dict.fromkeys([*words, *(_plain(w) for w in words)]))
    matching.add_frequency_lists({"francais": ranked})
    return zxcvbn


def personal_words(*values: str | None) -> list[str]:
    """The pieces of a login, a name, an e-mail that a password must not lean on."""
    out: list[str] = []
    for v in values:
        for part in re.split(r"[\s.@_\-+]+", (v or "").lower()):
            if len(part) >= 3:
                out += [part, _plain(part)]
    return out


def problems(password: str, personal: Iterable[str] = (), login: str | None = None) -> list[str]:
    """The French reasons why this password is refused (empty list: accepted)."""
    out: list[str] = []
    if len(password) < MIN_LENGTH:
        out.append(f"Le mot de passe doit comporter au moins {MIN_LENGTH} caractères.")
    if len(password) > MAX_LENGTH:
        out.append(f"Le mot de passe doit comporter au plus {MAX_LENGTH} caractères.")
        return out
    personal = [w for w in personal if w]
    if login and login.lower() in password.lower():
        out.append("Le mot de passe ne doit pas contenir l'identifiant.")
    if password:
        result = _estimator()(password[:100], user_inputs=[*PLATFORM_WORDS, *personal])
        if result["guesses_log10"] < MIN_GUESSES_LOG10:
            why = WARNINGS.get(result["feedback"].get("warning") or "", "")
            out.append(
                "Mot de passe trop facile à deviner"
                + (f" ({why})" if why else "")
                + ": mots courants, prénoms, dates, suites, motifs du clavier, mots de la Ville ou de la "
                "plateforme se devinent vite. Préférez une phrase de plusieurs mots sans rapport avec vous."
            )
    return out
