"""Marseille's time zone, named once (issue 14): the daily partitions, the schedules, the synthetic
city, the retention clock and the contracts' naive timestamps all use it. Another study area sets
`TRANQUILLITE_TIMEZONE` (`tranquillite.settings`)."""

from zoneinfo import ZoneInfo

PARIS_NAME = "Europe/Paris"
PARIS = ZoneInfo(PARIS_NAME)
