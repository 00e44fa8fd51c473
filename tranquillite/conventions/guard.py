"""The raw assets' guard (one call from `assets/raw.py`): a landing source whose convention has
ended is not read — its files stay in the landing zone, unread, until the destruction job."""

from __future__ import annotations


def ingestion_refused(source: str, context=None) -> bool:
    from tranquillite.conventions import usage

    if not usage.ingestion_refused(source):
        return False
    if context is not None:
        context.log.warning(
            f"source « {source} »: la convention a pris fin, fichiers non lus (conservés jusqu'à leur destruction)"
        )
    return True
