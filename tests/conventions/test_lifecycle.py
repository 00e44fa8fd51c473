"""The lifecycle arithmetic of art. 9: terms, tacit renewals, maximum duration, notice, deadline."""

from __future__ import annotations

from datetime import date

import pytest

from tranquillite.conventions.lifecycle import (
    DESTROYED,
    EXPIRED,
    IN_FORCE,
    NOT_NOTIFIED,
    NOTICE,
    TERMINATED,
    Lifecycle,
    LifecycleError,
    Terms,
    add_months,
)

T = Terms()  # 12 months, tacit yearly, 4 years, 2 months' notice, 15 days


def lc(start: str | None, **kw) -> Lifecycle:
    return Lifecycle("prefecture_police_13", kw.pop("terms", T), date.fromisoformat(start) if start else None, **kw)


@pytest.mark.parametrize(
    "d, n, expected",
    [
        ("2025-01-31", 1, "2025-02-28"),  # no 31 February: last day of the month
        ("2024-01-31", 1, "2024-02-29"),  # leap year
        ("2024-02-29", 12, "2025-02-28"),  # a year from 29 February
        ("2024-02-29", 48, "2028-02-29"),  # four years later: a leap year again
        ("2025-10-31", 2, "2025-12-31"),
        ("2025-12-31", 2, "2026-02-28"),
        ("2025-11-30", 3, "2026-02-28"),
        ("2025-03-15", -3, "2024-12-15"),
        ("2025-03-15", 0, "2025-03-15"),
    ],
)
def test_add_months_keeps_the_day_or_takes_the_last_of_the_month(d, n, expected):
    assert add_months(date.fromisoformat(d), n) == date.fromisoformat(expected)


def test_terms_renew_each_year_from_the_original_date_up_to_four_years():
    c = lc("2024-01-31")
    assert [c.term_end(k) for k in range(1, 5)] == [
        date(2025, 1, 31),
        date(2026, 1, 31),
        date(2027, 1, 31),
        date(2028, 1, 31),
    ]
    assert c.max_terms == 4
    assert c.last_possible_end == date(2028, 1, 31)
    # the day of notification belongs to the first year, its anniversary ends it (dies a quo)
    assert c.term_number(date(2024, 1, 31)) == 1
    assert c.term_number(date(2025, 1, 31)) == 1
    assert c.term_number(date(2025, 2, 1)) == 2
    assert c.renewals_done(date(2027, 6, 1)) == 3
    assert c.current_term_end(date(2026, 3, 1)) == date(2027, 1, 31)
    assert c.term_number(date(2028, 2, 1)) is None


def test_a_start_on_the_31st_does_not_drift_through_short_months():
    c = lc("2024-08-31", terms=Terms(initial_term_months=1, renewal="tacit_yearly"))
    assert c.term_end(1) == date(2024, 9, 30)
    assert c.term_end(2) == date(2025, 9, 30)  # 1 + 12 months from the 31 August, clamped once


def test_leap_day_start():
    c = lc("2024-02-29")
    assert c.term_end(1) == date(2025, 2, 28)
    assert c.term_end(2) == date(2026, 2, 28)
    assert c.last_possible_end == date(2028, 2, 29)
    assert c.state(date(2028, 2, 29)) == IN_FORCE
    assert c.state(date(2028, 3, 1)) == EXPIRED


def test_states_without_notice_and_expiry_is_flagged_as_not_in_force():
    c = lc("2024-12-02")
    assert c.state(date(2024, 12, 1)) == NOT_NOTIFIED
    assert c.state(date(2024, 12, 2)) == IN_FORCE and c.in_force(date(2024, 12, 2))
    assert c.state(date(2028, 12, 2)) == IN_FORCE
    assert c.state(date(2028, 12, 3)) == EXPIRED
    assert not c.in_force(date(2028, 12, 3)) and c.ended(date(2028, 12, 3))
    assert c.destruction_deadline == date(2028, 12, 17)
    assert lc(None).state(date(2025, 1, 1)) == NOT_NOTIFIED and not lc(None).in_force(date(2025, 1, 1))


def test_notice_gives_the_effective_end_two_months_later_and_the_deadline_15_days_after():
    c = lc("2024-12-02").with_notice(date(2025, 12, 31), "partenaire")
    assert c.effective_end == date(2026, 2, 28)  # 31 December + 2 months: end of February
    assert c.end() == date(2026, 2, 28)
    assert c.destruction_deadline == date(2026, 3, 15)
    assert c.state(date(2025, 12, 30)) == IN_FORCE
    assert c.state(date(2025, 12, 31)) == NOTICE and c.in_force(date(2026, 2, 28))
    assert c.state(date(2026, 3, 1)) == TERMINATED and not c.in_force(date(2026, 3, 1))
    assert c.days_to_deadline(date(2026, 3, 10)) == 5
    assert c.current_term_end(date(2026, 1, 15)) == date(2026, 2, 28)  # capped by the effective end
    assert lc("2024-12-02").with_notice(date(2024, 12, 29), "ville").effective_end == date(2025, 2, 28)
    assert lc("2023-12-29").with_notice(date(2023, 12, 30), "ville").effective_end == date(2024, 2, 29)


def test_notice_near_the_maximum_duration_ends_at_the_maximum():
    c = lc("2024-12-02").with_notice(date(2028, 11, 1), "ville")
    assert c.effective_end == date(2028, 12, 2)
    assert c.state(date(2028, 12, 3)) == TERMINATED


def test_notices_the_rules_refuse():
    with pytest.raises(LifecycleError, match="avant la notification"):
        lc("2024-12-02").with_notice(date(2024, 12, 1), "ville")
    with pytest.raises(LifecycleError, match="durée maximale"):
        lc("2024-12-02").with_notice(date(2028, 12, 3), "ville")
    with pytest.raises(LifecycleError, match="déjà été dénoncée"):
        lc("2024-12-02").with_notice(date(2025, 5, 1), "ville").with_notice(date(2025, 6, 1), "ville")
    with pytest.raises(LifecycleError, match="partie inconnue"):
        lc("2024-12-02").with_notice(date(2025, 5, 1), "maire")
    with pytest.raises(LifecycleError, match="notification"):
        lc(None).with_notice(date(2025, 5, 1), "ville")


def test_destroyed_state_and_description():
    c = Lifecycle("x", T, date(2024, 12, 2), date(2025, 3, 3), "ville", destroyed_on=date(2025, 5, 10))
    assert c.state(date(2025, 5, 9)) == TERMINATED
    assert c.state(date(2025, 5, 10)) == DESTROYED
    d = c.describe(date(2025, 5, 9))
    assert d["effective_end"] == "2025-05-03" and d["destruction_deadline"] == "2025-05-18"
    assert d["state_label"].startswith("Résiliée")


def test_a_non_renewable_convention_ends_after_its_initial_term():
    c = lc("2025-01-15", terms=Terms(initial_term_months=6, renewal="none"))
    assert c.max_terms == 1 and c.last_possible_end == date(2025, 7, 15)
