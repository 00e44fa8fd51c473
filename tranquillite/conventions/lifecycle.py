"""The lifecycle of a convention, as data and date arithmetic (C9) — pure functions, no storage.

Article 9 of the convention with the Préfecture: « La présente convention a une durée d'un an à
compter de sa notification. Elle sera reconduite d'année en année par tacite reconduction, sans
que sa durée totale n'excède 4 ans (année initiale plus 3 reconductions). [Elle] pourra être
dénoncée par l'une ou l'autre des parties par lettre recommandée avec accusé de réception avec un
préavis de deux mois. » — and the termination: « La Ville de Marseille procédera dans un délai
maximum de 15 jours à compter de la date de résiliation à la destruction des données ».

How the dates are computed (the French rule for periods in months and years, art. 641 of the
Code de procédure civile, which contracts follow by default):

* a period « à compter de » a date does not count that date (dies a quo) and expires on the day
  of the last month bearing the same number; when that month has no such day (a year from
  29 February, a month from 31 January) it expires on the LAST day of the month;
* so year k of the convention ends on `start + 12·k months` (that day included), the maximum
  duration ends on `start + 12·max_years months` (`last_possible_end`);
* the notice (the date the registered letter is received, `notice_on`) makes the termination take
  effect on `notice_on + notice_months months` (`effective_end`, the last day of the convention),
  or at the end of the maximum duration if that comes first;
* the data are destroyed at the latest on `end + destruction_days days` (the deadline, that day
  included). The deadline is NOT moved to the next working day (art. 642's extension is for
  procedural delays; the City's obligation is read conservatively).

Every period is computed from the ORIGINAL date (start + 24 months, not (start + 12) + 12), so a
start on the 31st never drifts to the 28th. A convention past its last possible end without a
notice is EXPIRED: flagged, and its data are no longer used.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

# states, in the order of the lifecycle (codes in English, labels for the UI in French)
NOT_NOTIFIED, IN_FORCE, NOTICE, TERMINATED, EXPIRED, DESTROYED = (
    "a_notifier",
    "en_vigueur",
    "preavis",
    "resiliee",
    "expiree",
    "detruite",
)
STATE_LABELS = {
    NOT_NOTIFIED: "À notifier (date de notification à saisir)",
    IN_FORCE: "En vigueur",
    NOTICE: "Dénoncée — préavis en cours",
    TERMINATED: "Résiliée — données à détruire",
    EXPIRED: "Durée maximale atteinte — données à détruire",
    DESTROYED: "Terminée — données détruites",
}
PARTIES = ("ville", "partenaire")
PARTY_LABELS = {"ville": "la Ville de Marseille", "partenaire": "le partenaire"}


class LifecycleError(ValueError):
    """A date that the convention's rules do not allow (French message)."""


def add_months(d: date, months: int) -> date:
    """`d` + `months` months: same day number, or the last day of the month when it has none."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Terms:
    """The convention's rules (from `conventions.yaml`, kept in the registry)."""

    initial_term_months: int = 12
    renewal: str = "tacit_yearly"
    max_total_years: int = 4
    notice_months: int = 2
    destruction_days: int = 15

    @classmethod
    def from_yaml(cls, c: dict[str, Any]) -> "Terms":
        return cls(
            initial_term_months=int(c.get("initial_term_months", 12)),
            renewal=str(c.get("renewal", "tacit_yearly")),
            max_total_years=int(c.get("max_total_years", 4)),
            notice_months=int(c.get("notice_months", 2)),
            destruction_days=int(c.get("destruction_days_after_termination", 15)),
        )

    @property
    def renewal_months(self) -> int:
        return 12 if self.renewal == "tacit_yearly" else 0


@dataclass(frozen=True)
class Lifecycle:
    """One convention's dates; every derived date is a property computed from them."""

    convention: str
    terms: Terms
    notified_on: date | None = None
    notice_on: date | None = None
    notice_by: str | None = None
    destroyed_on: date | None = None

    # ------------------------------------------------------------------ fixed dates
    def term_end(self, k: int) -> date:
        """Last day of the k-th term (k = 1: the initial year)."""
        self._require_start()
        if k < 1:
            raise LifecycleError("le numéro de période commence à 1")
        months = self.terms.initial_term_months + (k - 1) * self.terms.renewal_months
        return add_months(self.notified_on, months)

    @property
    def max_terms(self) -> int:
        """Number of terms allowed (initial + renewals) within the maximum duration."""
        if not self.terms.renewal_months:
            return 1
        total = 12 * self.terms.max_total_years
        return 1 + max(0, (total - self.terms.initial_term_months) // self.terms.renewal_months)

    @property
    def last_possible_end(self) -> date:
        """Last day the convention may last, renewals included (art. 9: four years)."""
        self._require_start()
        return (
            add_months(self.notified_on, 12 * self.terms.max_total_years)
            if self.terms.renewal_months
            else self.term_end(1)
        )

    @property
    def effective_end(self) -> date | None:
        """Last day of the convention after a notice (None without notice): notice + the notice
        period, or the maximum duration's end if that comes first."""
        if self.notice_on is None:
            return None
        return min(add_months(self.notice_on, self.terms.notice_months), self.last_possible_end)

    def end(self) -> date | None:
        """The last day of the convention as things stand: the effective end after a notice, else
        the last possible end (reached if nobody gives notice)."""
        if self.notified_on is None:
            return None
        return self.effective_end or self.last_possible_end

    @property
    def destruction_deadline(self) -> date | None:
        """The day by which the data must be destroyed (end + 15 days, that day included)."""
        e = self.end()
        return None if e is None else e + timedelta(days=self.terms.destruction_days)

    # ------------------------------------------------------------------ at a date
    def term_number(self, on: date) -> int | None:
        """The term `on` falls in (1 = initial year), None before the start or after the end."""
        if self.notified_on is None or on < self.notified_on or on > self.end():
            return None
        for k in range(1, self.max_terms + 1):
            if on <= self.term_end(k):
                return k
        return None

    def current_term_end(self, on: date) -> date | None:
        """End of the current term on `on` (the next tacit renewal date), capped by the end."""
        k = self.term_number(on)
        return None if k is None else min(self.term_end(k), self.end())

    def renewals_done(self, on: date) -> int:
        k = self.term_number(on)
        return 0 if k is None else k - 1

    def state(self, on: date) -> str:
        if self.destroyed_on is not None and on >= self.destroyed_on:
            return DESTROYED
        if self.notified_on is None or on < self.notified_on:
            return NOT_NOTIFIED
        if on <= self.end():
            return NOTICE if self.notice_on is not None and on >= self.notice_on else IN_FORCE
        return TERMINATED if self.notice_on is not None else EXPIRED

    def in_force(self, on: date) -> bool:
        """May the convention's data be used on `on`? (in force, or during the notice)."""
        return self.state(on) in (IN_FORCE, NOTICE)

    def ended(self, on: date) -> bool:
        """Past its end: use stops, destruction is due (or done)."""
        return self.state(on) in (TERMINATED, EXPIRED, DESTROYED)

    def days_to_deadline(self, on: date) -> int | None:
        d = self.destruction_deadline
        return None if d is None else (d - on).days

    # ------------------------------------------------------------------ changes
    def with_notice(self, notice_on: date, by: str) -> "Lifecycle":
        """The lifecycle after a notice received on `notice_on` from `by` (ville or partenaire)."""
        if by not in PARTIES:
            raise LifecycleError(f"partie inconnue: {by!r} (ville ou partenaire)")
        if self.notified_on is None:
            raise LifecycleError("la convention n'a pas de date de notification: impossible de la dénoncer")
        if notice_on < self.notified_on:
            raise LifecycleError(f"dénonciation le {fr(notice_on)} avant la notification du {fr(self.notified_on)}")
        if notice_on > self.last_possible_end:
            raise LifecycleError(
                f"dénonciation le {fr(notice_on)} après la fin de la durée maximale ({fr(self.last_possible_end)})"
            )
        if self.notice_on is not None:
            raise LifecycleError(f"la convention a déjà été dénoncée le {fr(self.notice_on)}")
        return Lifecycle(self.convention, self.terms, self.notified_on, notice_on, by, self.destroyed_on)

    def describe(self, on: date) -> dict[str, Any]:
        """Everything the app and the reminders show, at `on` (dates as ISO strings)."""

        def iso(d: date | None) -> str | None:
            return d.isoformat() if d else None

        started = self.notified_on is not None
        return {
            "convention": self.convention,
            "state": self.state(on),
            "state_label": STATE_LABELS[self.state(on)],
            "notified_on": iso(self.notified_on),
            "notice_on": iso(self.notice_on),
            "notice_by": self.notice_by,
            "term_number": self.term_number(on) if started else None,
            "renewals_done": self.renewals_done(on) if started else 0,
            "current_term_end": iso(self.current_term_end(on)) if started else None,
            "last_possible_end": iso(self.last_possible_end) if started else None,
            "effective_end": iso(self.effective_end),
            "end": iso(self.end()),
            "destruction_deadline": iso(self.destruction_deadline) if self.ended(on) else None,
            "destroyed_on": iso(self.destroyed_on),
        }

    def _require_start(self) -> None:
        if self.notified_on is None:
            raise LifecycleError(f"{self.convention}: date de notification non saisie")


def fr(d: date | None) -> str:
    """12/03/2025 (the UI's date format)."""
    return d.strftime("%d/%m/%Y") if d else "—"
