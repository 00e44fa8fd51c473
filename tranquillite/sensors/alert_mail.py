"""The e-mail of new alerts (issue 15): each new alert mailed once per recipient, when SMTP is configured.

The sending and its record are `app_core.courriel`; this sensor only runs it every few minutes
with the SMTP server of the `smtp` resource (from the validated settings: an empty host means no
e-mail, the sensor then skips).
"""

from __future__ import annotations

import dagster as dg

ALERT_MAIL_SENSOR = "courriels_alertes"


class SmtpResource(dg.ConfigurableResource):
    """The City's SMTP server (TRANQUILLITE_SMTP_*; the password a secret, never shown)."""

    host: str = ""
    port: int = 587
    sender: str = ""
    user: str = ""
    password: str = ""
    starttls: bool = True
    app_url: str = "http://localhost:8501"

    @classmethod
    def from_settings(cls) -> "SmtpResource":
        from tranquillite.settings import settings

        s = settings()
        if s.smtp_host is None:
            return cls()
        return cls(
            host=s.smtp_host,
            port=s.smtp_port,
            sender=s.smtp_from or "",
            user=s.smtp_user or "",
            password=dg.EnvVar("TRANQUILLITE_SMTP_PASSWORD") if s.smtp_password else "",
            starttls=s.smtp_starttls,
            app_url=s.app_url,
        )

    def config(self):
        from tranquillite.app_core.courriel import SmtpConfig

        if not self.host:
            return None
        return SmtpConfig(
            host=self.host,
            port=self.port,
            sender=self.sender,
            user=self.user or None,
            password=self.password or None,
            starttls=self.starttls,
            app_url=self.app_url,
        )


@dg.sensor(
    name=ALERT_MAIL_SENSOR,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Envoie par courriel chaque nouvelle alerte, une seule fois, aux personnes qui suivent les "
        "alertes de leur périmètre (serveur SMTP de la Ville; sans hôte configuré, aucun envoi)."
    ),
)
def alert_mail_sensor(context: dg.SensorEvaluationContext, smtp: SmtpResource) -> dg.SkipReason:
    cfg = smtp.config()
    if cfg is None:
        return dg.SkipReason("courriel non configuré (TRANQUILLITE_SMTP_HOST vide)")
    from tranquillite.app_core import courriel, queries, store

    if not queries.catalog_path().exists():
        return dg.SkipReason("catalogue pas encore publié")
    cat = queries.Catalog.open()
    try:
        with store.connect() as con:
            n = courriel.send_new_alerts(cat, con, cfg)
    finally:
        cat.close()
    context.log.info(f"{n} courriel(s) d'alerte envoyé(s)")
    return dg.SkipReason(f"{n} courriel(s) d'alerte envoyé(s)" if n else "aucune nouvelle alerte à envoyer")
