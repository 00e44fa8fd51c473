"""Configuration of the indicators layer: the YAML catalogue and the numeric parameters.

Two places, two natures:

* `data_contracts/indicators.yaml` — the **catalogue** (T7): thematic fact categories, every
  indicator (definition, formula, unit, sources, granularity, owner, profiles), the public
  release rules (small-count suppression). It is reviewed like a data contract; `load_catalogue`
  validates it, including the rule that an indicator's profiles are allowed by the conventions
  of its sources (C5: nothing derived from the Préfecture's data goes public).
* `IndicatorSettings` — a Dagster resource holding the **numeric parameters** of the tension
  zones and the alerts (neighbourhood, FDR level, weights of the tension index, footprints of
  planned events, alert thresholds). Every field is documented below; the defaults are the
  platform's; a deployment overrides them in `Definitions` or the launchpad.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
import yaml
from pydantic import Field

from tranquillite import sources as S
from tranquillite.settings import contracts_dir

AREA_LEVELS = ("ville", "arrondissement", "quartier", "cellule")
PERIOD_LEVELS = ("jour", "semaine", "mois")
PROFILE_CODES = (
    "admin_technique",
    "gestionnaire_habilitations",
    "encadrement_pm",
    "analyste",
    "auditeur_dpo",
    "agent_cortege",
    "lecteur_prefecture",
    "partenaire",
    "public",
)
OTHER_CATEGORY = ("autres", "Autres faits")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
# an indicator's SQL fragments are trusted catalogue text, run in a locked-down in-memory DuckDB
# (no file access); these tokens have no business in an aggregate expression
_FORBIDDEN_SQL = re.compile(
    r";|--|/\*|\b(attach|copy|install|load|pragma|export|import|read_\w+|glob|"
    r"create|drop|insert|update|delete|alter|call)\b",
    re.IGNORECASE,
)


class CatalogueError(ValueError):
    """The indicators catalogue is malformed or breaks an access rule."""


def default_catalogue_path() -> Path:
    return contracts_dir() / "indicators.yaml"


@dataclass(frozen=True)
class Category:
    code: str
    label: str
    members: dict[str, tuple[str, ...] | str]  # source → subcategories, or "*" (all of them)


@dataclass(frozen=True)
class PublicRelease:
    profile: str = "public"
    threshold: int = 11
    areas: tuple[str, ...] = ("ville", "arrondissement")
    periods: tuple[str, ...] = ("mois",)
    secondary_suppression: bool = True


@dataclass(frozen=True)
class Indicator:
    id: str
    name: str
    definition: str
    formula: str
    unit: str
    sources: tuple[str, ...]
    relation: str
    value: str
    owner: str
    profiles: tuple[str, ...]
    areas: tuple[str, ...]
    periods: tuple[str, ...]
    count: str = "count(*)"
    filter: str | None = None
    breakdown: str | None = None
    total: bool = False
    trends: bool = False
    zero_if_absent: bool = False
    public_threshold: int | None = None

    @property
    def public(self) -> bool:
        return "public" in self.profiles


@dataclass(frozen=True)
class Catalogue:
    city: str
    profiles: dict[str, str]
    aggregate_access: dict[str, tuple[str, ...]]
    public_release: PublicRelease
    fact_sources: tuple[str, ...]
    planned_sources: tuple[str, ...]
    all_category: tuple[str, str]
    categories: tuple[Category, ...]
    indicators: tuple[Indicator, ...]
    path: str = ""

    def indicator(self, indicator_id: str) -> Indicator:
        for i in self.indicators:
            if i.id == indicator_id:
                return i
        raise KeyError(indicator_id)

    @property
    def category_codes(self) -> list[str]:
        """Thematic categories, then `autres`; `toutes` is added by the hot-spot analysis."""
        return [c.code for c in self.categories] + [OTHER_CATEGORY[0]]

    @property
    def category_labels(self) -> dict[str, str]:
        return {
            **{c.code: c.label for c in self.categories},
            OTHER_CATEGORY[0]: OTHER_CATEGORY[1],
            self.all_category[0]: self.all_category[1],
        }

    def category_expr(self, source: str = "source", subcategory: str = "subcategory") -> pl.Expr:
        """Polars expression: the thematic category code of a fact (`autres` when unmapped)."""
        expr = pl.lit(OTHER_CATEGORY[0])
        for c in reversed(self.categories):  # the first matching category wins
            for src, subs in c.members.items():
                cond = pl.col(source) == src
                if subs != "*":
                    cond = cond & pl.col(subcategory).is_in(list(subs))
                expr = pl.when(cond).then(pl.lit(c.code)).otherwise(expr)
        return expr


# --------------------------------------------------------------------------- loading
def _req(d: dict, key: str, where: str) -> Any:
    if key not in d or d[key] in (None, ""):
        raise CatalogueError(f"{where}: clé {key!r} manquante")
    return d[key]


def _sql(text: str | None, where: str) -> str | None:
    if text is None:
        return None
    text = str(text).strip()
    if _FORBIDDEN_SQL.search(text):
        raise CatalogueError(f"{where}: expression SQL refusée: {text!r}")
    return text


def _indicator(d: dict, where: str) -> Indicator:
    iid = _req(d, "id", where)
    where = f"{where} ({iid})"
    if not _ID.match(iid):
        raise CatalogueError(f"{where}: id invalide (snake_case attendu)")
    gran = _req(d, "granularity", where)
    areas = tuple(gran.get("areas") or ())
    periods = tuple(gran.get("periods") or ())
    bad = [a for a in areas if a not in AREA_LEVELS] + [p for p in periods if p not in PERIOD_LEVELS]
    if bad or not areas or not periods:
        raise CatalogueError(f"{where}: granularité invalide {bad or gran}")
    profiles = tuple(_req(d, "profiles", where))
    unknown = [p for p in profiles if p not in PROFILE_CODES]
    if unknown:
        raise CatalogueError(f"{where}: profils inconnus {unknown}")
    public = d.get("public") or {}
    return Indicator(
        id=iid,
        name=_req(d, "name", where),
        definition=str(_req(d, "definition", where)).strip(),
        formula=str(_req(d, "formula", where)),
        unit=str(_req(d, "unit", where)),
        sources=tuple(_req(d, "sources", where)),
        relation=_req(d, "relation", where),
        value=_sql(_req(d, "value", where), where),
        owner=_req(d, "owner", where),
        profiles=profiles,
        areas=areas,
        periods=periods,
        count=_sql(d.get("count") or "count(*)", where),
        filter=_sql(d.get("filter"), where),
        breakdown=_sql(d.get("breakdown"), where),
        total=bool(d.get("total", False)),
        trends=bool(d.get("trends", False)),
        zero_if_absent=bool(d.get("zero_if_absent", False)),
        public_threshold=public.get("threshold"),
    )


def _check_access(ind: Indicator, aggregate_access: dict[str, tuple[str, ...]], where: str) -> None:
    """Profiles must be allowed by every convention the indicator's sources come under."""
    from tranquillite.contracts import load_contracts, load_conventions

    contracts, conventions = load_contracts(), load_conventions()
    for s in ind.sources:
        if s not in contracts:
            raise CatalogueError(f"{where} ({ind.id}): source inconnue {s!r} (contrat attendu)")
        conv = contracts[s].convention
        allowed = set(conventions.get(conv, {}).get("access") or ()) | set(aggregate_access.get(conv, ()))
        refused = sorted(set(ind.profiles) - allowed)
        if refused:
            raise CatalogueError(
                f"{where} ({ind.id}): profils {refused} non autorisés par la convention {conv!r} de la source {s!r}"
            )


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Read and validate the catalogue (default `data_contracts/indicators.yaml`)."""
    from tranquillite.indicators.catalogue import RELATIONS

    p = Path(path) if path else default_catalogue_path()
    d = yaml.safe_load(p.read_text(encoding="utf-8"))
    where = p.name
    pr = d.get("public_release") or {}
    release = PublicRelease(
        profile=pr.get("profile", "public"),
        threshold=int(pr.get("threshold", 11)),
        areas=tuple(pr.get("areas") or ("ville", "arrondissement")),
        periods=tuple(pr.get("periods") or ("mois",)),
        secondary_suppression=bool(pr.get("secondary_suppression", True)),
    )
    aggregate_access = {k: tuple(v or ()) for k, v in (d.get("aggregate_access") or {}).items()}
    cats = []
    for c in d.get("categories") or ():
        code = _req(c, "code", f"{where}: catégorie")
        if not _ID.match(code):
            raise CatalogueError(f"{where}: code de catégorie invalide {code!r}")
        members = {src: (subs if subs == "*" else tuple(subs)) for src, subs in (c.get("members") or {}).items()}
        cats.append(Category(code=code, label=_req(c, "label", f"{where}: {code}"), members=members))
    allc = d.get("all_categories") or {"code": "toutes", "label": "Toutes catégories"}
    inds = [_indicator(i, f"{where}: indicateur") for i in d.get("indicators") or ()]
    seen: set[str] = set()
    for i in inds:
        if i.id in seen:
            raise CatalogueError(f"{where}: indicateur {i.id!r} en double")
        seen.add(i.id)
        if i.relation not in RELATIONS:
            raise CatalogueError(f"{where} ({i.id}): relation inconnue {i.relation!r} ({sorted(RELATIONS)})")
        missing = [a for a in i.areas if a not in RELATIONS[i.relation].areas]
        if missing:
            raise CatalogueError(f"{where} ({i.id}): la relation {i.relation!r} n'a pas les zones {missing}")
        _check_access(i, aggregate_access, where)
    return Catalogue(
        city=d.get("city", "Marseille"),
        profiles=dict(d.get("profiles") or {}),
        aggregate_access=aggregate_access,
        public_release=release,
        fact_sources=_sources(d, "fact_sources", where),
        planned_sources=_sources(d, "planned_sources", where),
        all_category=(allc["code"], allc["label"]),
        categories=tuple(cats),
        indicators=tuple(inds),
        path=str(p),
    )


# --------------------------------------------------------------------------- numeric parameters
@dataclass(frozen=True)
class HotspotParams:
    k: int = 2  # neighbourhood: H3 grid_disk(k), the cell included (binary weights)
    fdr_alpha: float = 0.05  # Benjamini–Hochberg level: significant ⇔ q < fdr_alpha
    trend_alpha: float = 0.05  # Mann–Kendall level of the emerging classes
    share: float = 0.90  # "90 % of the time steps" of ESRI's definitions
    min_periods: int = 10  # fewer complete periods: no emerging classification (ESRI: 10)


@dataclass(frozen=True)
class Footprints:
    route_buffer_m: float = 100.0  # a marching route touches the cells within this distance
    point_buffer_m: float = 50.0  # address points of operations and visits
    perimeter_base_m: float = 150.0  # a public event's perimeter: base + k·√attendance, capped
    perimeter_per_sqrt_person_m: float = 2.0
    perimeter_max_m: float = 800.0
    margin_h: float = 1.0  # active from start − margin to end + margin


@dataclass(frozen=True)
class TensionParams:
    horizon_days: int = 7
    shift_hours: tuple[int, ...] = (6, 14, 22)
    weights: dict[str, float] = field(
        default_factory=lambda: {
            "significativite": 0.30,
            "tendance": 0.15,
            "prevision": 0.25,
            "evenements": 0.20,
            "concurrence": 0.10,
        }
    )
    z_cap: float = 4.0
    trend_scores: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TREND_SCORES))
    forecast_category: str = "all"
    forecast_cap_quantile: float = 0.99
    source_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_SOURCE_WEIGHTS))
    attendance_reference: float = 50_000.0
    attendance_unknown: float = 0.5
    attendance_floor: float = 0.2
    levels: tuple[float, ...] = (20.0, 40.0, 60.0)
    category: str = "toutes"
    period_level: str = "semaine"


@dataclass(frozen=True)
class AlertParams:
    lookback_days: int = 7
    horizon_days: int = 7
    min_count_cell: int = 3
    min_count_area: int = 5
    baseline_weeks: int = 8
    quiet_periods: int = 4
    max_records: int = 50


DEFAULT_TREND_SCORES = {
    "point_chaud_intensification": 1.0,
    "point_chaud_nouveau": 0.9,
    "point_chaud_consecutif": 0.9,
    "point_chaud_persistant": 0.8,
    "point_chaud_sporadique": 0.5,
    "point_chaud_oscillant": 0.5,
    "point_chaud_diminution": 0.4,
    "point_chaud_historique": 0.2,
}
DEFAULT_SOURCE_WEIGHTS = {
    "manifestation_deambulatoire": 1.0,
    "manifestation_statique": 0.8,
    "evenements_publics": 0.7,
    "visite_officielle": 0.6,
    "operation_programmee": 0.4,
}


class IndicatorSettings(dg.ConfigurableResource):
    """Parameters of the tension zones, the tension index and the alerts (issue #5).

    The tension index of a cell and shift is Σ weight × component / Σ weight over the available
    components (each in [0, 1]; the forecast's weight is dropped when `models.forecast` is not
    published), × 100.
    """

    catalogue_path: str | None = Field(
        default=None, description="Catalogue YAML (défaut data_contracts/indicators.yaml)"
    )
    as_of: str | None = Field(
        default=None,
        description=(
            "Instant d'analyse (AAAA-MM-JJTHH:MM, heure locale). Défaut: le début du créneau qui suit le "
            "dernier fait connu. Rien de postérieur n'est utilisé (faits, saisies Cortège)."
        ),
    )
    # hot spots
    neighbourhood_k: int = Field(
        default=2, description="Voisinage Gi*: grid_disk(k) H3, cellule incluse, poids binaires"
    )
    fdr_alpha: float = Field(
        default=0.05, description="Niveau du contrôle du taux de fausses découvertes (Benjamini–Hochberg)"
    )
    trend_alpha: float = Field(
        default=0.05, description="Niveau du test de tendance de Mann–Kendall (classes émergentes)"
    )
    emerging_share: float = Field(default=0.90, description="Part des périodes des définitions ESRI (90 %)")
    emerging_min_periods: int = Field(default=10, description="Périodes complètes minimales pour classer")
    # tension index
    horizon_days: int = Field(default=7, description="Jours à venir couverts par l'indice de tension et les collisions")
    shift_hours: list[int] = Field(default=[6, 14, 22], description="Heures de prise de service (créneaux)")
    weight_significance: float = Field(default=0.30, description="Poids: point chaud significatif (dernier z de Gi*)")
    weight_trend: float = Field(default=0.15, description="Poids: classe émergente (aggravation)")
    weight_forecast: float = Field(default=0.25, description="Poids: borne haute 95 % de la prévision")
    weight_planned: float = Field(default=0.20, description="Poids: événements prévus (emprise, fréquentation)")
    weight_concurrence: float = Field(default=0.10, description="Poids: concurrence d'événements prévus")
    z_cap: float = Field(default=4.0, description="z de Gi* à partir duquel la composante significativité vaut 1")
    trend_scores: dict[str, float] = Field(
        default=dict(DEFAULT_TREND_SCORES), description="Score de chaque classe émergente (absente: 0)"
    )
    forecast_category: str = Field(default="all", description="Catégorie de models.forecast utilisée")
    forecast_cap_quantile: float = Field(default=0.99, description="Quantile de la borne haute qui vaut 1")
    source_weights: dict[str, float] = Field(
        default=dict(DEFAULT_SOURCE_WEIGHTS), description="Poids d'un événement prévu selon sa source"
    )
    attendance_reference: float = Field(default=50_000.0, description="Fréquentation qui vaut 1 (échelle log)")
    attendance_unknown: float = Field(default=0.5, description="Facteur de fréquentation quand elle est inconnue")
    tension_levels: list[float] = Field(
        default=[20.0, 40.0, 60.0], description="Seuils de l'indice: modérée, élevée, très élevée"
    )
    # planned events footprints
    route_buffer_m: float = Field(default=100.0, description="Tampon autour d'un parcours de manifestation (m)")
    point_buffer_m: float = Field(default=50.0, description="Tampon autour des adresses d'opérations et visites (m)")
    perimeter_base_m: float = Field(default=150.0, description="Périmètre d'un événement public: base (m)")
    perimeter_per_sqrt_person_m: float = Field(default=2.0, description="… + k × √fréquentation (m)")
    perimeter_max_m: float = Field(default=800.0, description="… plafonné (m)")
    planned_margin_h: float = Field(default=1.0, description="Marge avant/après les horaires d'un événement prévu (h)")
    # alerts
    alert_lookback_days: int = Field(default=7, description="Jours observés récents examinés (dépassements)")
    exceedance_min_count_cell: int = Field(
        default=3, description="Faits minimum d'une cellule pour une alerte de dépassement"
    )
    exceedance_min_count_area: int = Field(
        default=5, description="Faits minimum d'un arrondissement pour une alerte de dépassement"
    )
    baseline_weeks: int = Field(
        default=8, description="Référence sans prévision: moyenne des n mêmes créneaux précédents"
    )
    new_hotspot_quiet_periods: int = Field(
        default=4, description="Semaines sans point chaud avant un « nouveau » point chaud"
    )
    alert_max_records: int = Field(default=50, description="Identifiants d'enregistrements gardés par alerte")
    sensor_max_per_tick: int = Field(default=200, description="Alertes levées au plus par évaluation du capteur")

    def catalogue(self) -> Catalogue:
        return load_catalogue(self.catalogue_path)

    def hotspot_params(self) -> HotspotParams:
        return HotspotParams(
            k=self.neighbourhood_k,
            fdr_alpha=self.fdr_alpha,
            trend_alpha=self.trend_alpha,
            share=self.emerging_share,
            min_periods=self.emerging_min_periods,
        )

    def footprints(self) -> Footprints:
        return Footprints(
            route_buffer_m=self.route_buffer_m,
            point_buffer_m=self.point_buffer_m,
            perimeter_base_m=self.perimeter_base_m,
            perimeter_per_sqrt_person_m=self.perimeter_per_sqrt_person_m,
            perimeter_max_m=self.perimeter_max_m,
            margin_h=self.planned_margin_h,
        )

    def tension_params(self) -> TensionParams:
        return TensionParams(
            horizon_days=self.horizon_days,
            shift_hours=tuple(self.shift_hours),
            weights={
                "significativite": self.weight_significance,
                "tendance": self.weight_trend,
                "prevision": self.weight_forecast,
                "evenements": self.weight_planned,
                "concurrence": self.weight_concurrence,
            },
            z_cap=self.z_cap,
            trend_scores=dict(self.trend_scores),
            forecast_category=self.forecast_category,
            forecast_cap_quantile=self.forecast_cap_quantile,
            source_weights=dict(self.source_weights),
            attendance_reference=self.attendance_reference,
            attendance_unknown=self.attendance_unknown,
            levels=tuple(self.tension_levels),
        )

    def alert_params(self) -> AlertParams:
        return AlertParams(
            lookback_days=self.alert_lookback_days,
            horizon_days=self.horizon_days,
            min_count_cell=self.exceedance_min_count_cell,
            min_count_area=self.exceedance_min_count_area,
            baseline_weeks=self.baseline_weeks,
            quiet_periods=self.new_hotspot_quiet_periods,
            max_records=self.alert_max_records,
        )


def _sources(d: dict, key: str, where: str) -> tuple[str, ...]:
    """The fact or planned sources: every contract declaring `kind: fait` / `prevu`
    (`tranquillite.sources`), or, if the catalogue names them, that subset (each must exist)."""
    known = S.fact_sources() if key == "fact_sources" else S.planned_sources()
    if d.get(key) is None:
        return known
    unknown = sorted(set(d[key]) - set(known))
    if unknown:
        raise CatalogueError(
            f"{where}: {key} {unknown} ne sont pas des sources "
            f"{'de faits' if key == 'fact_sources' else 'd’événements prévus'} des contrats"
        )
    return tuple(d[key])
