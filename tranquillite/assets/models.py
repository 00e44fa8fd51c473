"""`models` layer: the backtest scoreboard, the champion's forecast for the next 7 days, and the
register of every trained model (issue #3).

`models/backtest` retrains every model at each weekly origin of the last weeks and scores it
(published as `models.backtest`, one row per model × category × horizon × origin × coverage —
a stable table the app and auditors read — with `models.backtest_scores`: deviance and interval
coverage, and `models.backtest_evenements`: the slots with planned events). Every trained model
goes to the model store with its training window, features, parameters, data version and scores;
the champion — by the honest rule of `forecasting.champion`: the best baseline (trailing counts,
hot spots, SEPP…) unless a learned model beats it beyond noise, paired test over the origins — is
recorded there, per horizon (next shift, next day, next week; the forecast's shifts use the
next-day one). The backtest rows say which predictor is champion and why (`champion`,
`champion_pourquoi`), for the Prévisions page. The check that the champion does at least as well
as every reference is blocking: a losing predictor (imposed by `predicteur_impose`) is neither
recorded as champion nor published.

`models/model_registry` (the weekly training job, after the backtest and its blocking check)
retrains the champion on what is known at the latest fact — the learned models, the multi-scale
boosters, the SEPP fits; the count rules learn nothing — stores them and records them as the
models in service (`champion.json` → `service`, per variant), then publishes the register.

`models/forecast` (the daily job) forecasts every cell × shift of the next 7 days with 80 % /
95 % intervals and the top 3 explanations, by the models in service and the facts and planned
events known now: it never reruns the backtest nor trains; with no model in service it fails
saying which job to run. The backtest and the training read the feature states of their window
only (`training_days`), the daily forecast those of its origin: memory grows with the training
window, not with the history.
"""

import hashlib
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Iterator

import dagster as dg
import polars as pl

from tranquillite.assets import constants as K
from tranquillite.assets.metadata import base_metadata
from tranquillite.assets.partitions import DAILY
from tranquillite.forecasting import champion as CH
from tranquillite.forecasting.backtest import (
    BASELINES,
    CHAMPION_HORIZONS,
    EVENT_AWARE,
    EVENT_BLIND,
    FALLBACK,
    LEARNED,
    ORACLE,
    BacktestConfig,
    ForecastData,
    forecast_from,
    model_conventions,
    run_backtest,
    summary,
    train_service,
)
from tranquillite.forecasting.conventions import union_of
from tranquillite.forecasting.features import state_columns
from tranquillite.forecasting.gaps import describe
from tranquillite.forecasting.models import LGBM_ROUNDS, FittedModel
from tranquillite.forecasting.pipeline import from_tables
from tranquillite.forecasting.slots import SlotScheme
from tranquillite.forecasting.study_area import ALL, AreaSpec, StudyArea
from tranquillite.resources import Warehouse
from tranquillite.resources.model_store import ModelStore

BACKTEST_COLUMNS = ["model", "category", "horizon", "origin", "coverage", "hit_rate", "pai", "pei", "n_events"]
CHECK_STABLE_COLUMNS = "colonnes_stables"
CHECK_CHAMPION_BEATS_BASELINES = "champion_bat_les_references"
CHECK_FORECAST_COMPLETE = "prevision_complete"
CHECK_INTERVALS = "intervalles_coherents"
TRUTH_FILE = Path("synthetic_truth") / "intensity.parquet"


class ForecastSettings(dg.Config):
    """Backtest and training settings (run configuration of the `models` assets)."""

    n_origins: int = 8
    train_weeks: int = 16
    horizon_days: int = 7
    lgbm_rounds: int = LGBM_ROUNDS
    threads: int = 0
    workers: int = 0
    models: list[str] = list(BASELINES + LEARNED)
    # a predictor imposed instead of the champion rule (a comparison, a test): the blocking check
    # `champion_bat_les_references` then stops the publication if it loses to a reference
    predicteur_impose: str | None = None

    def backtest_config(self) -> BacktestConfig:
        return BacktestConfig(
            n_origins=self.n_origins,
            train_weeks=self.train_weeks,
            horizon_days=self.horizon_days,
            lgbm_rounds=self.lgbm_rounds,
            threads=self.threads,
            workers=self.workers,
            models=tuple(self.models),
            imposed=self.predicteur_impose,
        )


def training_days(cfg: BacktestConfig) -> int:
    """Days of feature states the backtest and the training read before the latest fact: the
    backtest's origins, each one's training window and the longest lead, a week of margin. The
    memory of the `models` assets grows with this window, not with the history."""
    return 7 * (cfg.n_origins + cfg.train_weeks + 2) + 2 * cfg.horizon_days


FORECAST_STATE_DAYS = 2  # the daily forecast reads the states of its origin only (the last days)


def read_truth(warehouse: Warehouse, first_day: str) -> pl.DataFrame | None:
    """The synthetic generator's true intensity (the backtest's perfect foresight) from `first_day`
    on (a day before, for the night shift that starts the evening before): one row per source ×
    cell × shift, 3.7 M rows a year at Marseille's volume — read whole, 8 years held GBs for
    nothing but the origins' weeks. None on real data (no such file)."""
    path = Path(warehouse.root).parent / TRUTH_FILE
    if not path.exists():
        return None
    lf = pl.scan_parquet(path)
    tz = lf.collect_schema()["slot_start"].time_zone
    bound = pl.lit(datetime.combine(date.fromisoformat(first_day) - timedelta(days=1), datetime.min.time()))
    return lf.filter(pl.col("slot_start") >= (bound.dt.replace_time_zone(tz) if tz else bound)).collect()


def load_data(warehouse: Warehouse, spec: AreaSpec, state_days: int | None = None, truth: bool = False) -> ForecastData:
    """The published feature tables (and, with `truth`, on synthetic data, the generator's true
    intensity over the same window: only the backtest scores perfect foresight).

    `state_days`: the feature states of only the last days before the latest fact (the training
    window; the daily forecast needs its origin's); None: every day. The counts are always whole
    (the count rules and the multi-scale model read the whole history: cells × days, small)."""
    sch = SlotScheme(spec.shift_hours)
    days = warehouse.partitions(K.FEATURES, "observed_counts")
    if not days or not warehouse.exists(K.FEATURES, "cell_slot"):
        raise dg.Failure("les caractéristiques (features/*) ne sont pas matérialisées")
    grid = warehouse.read(K.FEATURES, "study_grid")
    counts = warehouse.read(K.FEATURES, "observed_counts")
    first = days[0]
    if state_days is not None and counts.height and counts["slot"].max() is not None:
        last_fact = sch.day(int(counts["slot"].max()))
        first = max(first, (last_fact - timedelta(days=state_days)).isoformat())
    parts = [p for p in warehouse.partitions(K.FEATURES, "cell_slot") if p >= first]
    states = (
        warehouse.scan(K.FEATURES, "cell_slot", parts)
        .select("cell_idx", "slot", *state_columns(spec.groups, sch.n))
        .collect()
    )
    exposure = warehouse.read(K.FEATURES, "planned_exposure")
    intensity = read_truth(warehouse, first) if truth else None
    try:  # days without an observed_counts partition had no data received: unknown (forecasting.gaps)
        return from_tables(
            spec,
            grid,
            counts,
            states,
            exposure,
            date.fromisoformat(days[0]),
            intensity,
            received=[date.fromisoformat(d) for d in days],
            states_from=date.fromisoformat(parts[0]) if parts else None,
        )
    except ValueError as exc:
        raise dg.Failure(str(exc)) from exc


def _gap_metadata(data: ForecastData) -> dict:
    """Days of the data's span with no data received (not days without facts)."""
    return {
        "jours_sans_donnees": len(data.missing_days),
        "periodes_sans_donnees": dg.MetadataValue.json(describe(data.missing_days)),
    }


def data_version(data: ForecastData) -> str:
    c = data.counts
    key = f"{c.height}:{int(c['n'].sum() or 0)}:{data.data_start}:{data.data_end}:{data.features.exposure.height}"
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def _model_meta(m: FittedModel, meta: dict, data: ForecastData, dv: str, metrics: dict) -> dict:
    sch = data.scheme
    t0, t1 = meta["train_targets"]
    return {
        "usage": meta.get("usage", "backtest"),
        "origin_start": sch.start(meta["origin"]).isoformat(),
        "train_start": sch.start(t0).isoformat(),
        "train_end": sch.end(t1).isoformat(),
        "n_rows": meta["n_rows"],
        "data_version": dv,
        "study_area": data.spec.name,
        "h3_resolution": data.spec.h3_resolution,
        "metrics": metrics,
        "conventions": list(meta["conventions"]),
        "variant": meta.get("variant", "complete"),
    }


def _metrics_for(backtest: pl.DataFrame, scores: pl.DataFrame, model: str, category: str, origin) -> dict:
    b = backtest.filter((pl.col("model") == model) & (pl.col("category") == category) & (pl.col("origin") == origin))
    s = scores.filter((pl.col("model") == model) & (pl.col("category") == category) & (pl.col("origin") == origin))
    out = {
        f"hit_rate_{h}_{int(round(c * 100))}pct": round(v, 4)
        for h, c, v in b.select("horizon", "coverage", "hit_rate").iter_rows()
    }
    for h, dev, c80, c95 in s.select(
        "horizon", "poisson_deviance", "interval_coverage_80", "interval_coverage_95"
    ).iter_rows():
        out |= {f"deviance_{h}": round(dev, 5), f"coverage80_{h}": round(c80, 4), f"coverage95_{h}": round(c95, 4)}
    return out


def _md(df: pl.DataFrame) -> dg.MetadataValue:
    with pl.Config(
        tbl_formatting="MARKDOWN",
        tbl_hide_column_data_types=True,
        tbl_hide_dataframe_shape=True,
        tbl_cols=-1,
        tbl_rows=-1,
        float_precision=3,
    ):
        return dg.MetadataValue.md(str(df))


def _beats_references(backtest: pl.DataFrame, table: pl.DataFrame, cfg: BacktestConfig) -> tuple[bool, dict]:
    """The predictor in service at each champion horizon (all facts, 5 %) against every
    reference scored (`forecasting.champion.beats_references`)."""
    refs = [b for b in BASELINES if b in set(backtest["model"].unique().to_list())]
    ok, out = True, {}
    for r in table.filter(pl.col("category") == ALL).iter_rows(named=True):
        if r["predictor"] is None or r["horizon"] not in CHAMPION_HORIZONS or r["n_origins"] == 0:
            continue
        passed, detail = CH.beats_references(
            backtest, r["predictor"], r["horizon"], ALL, cfg.champion_metric[2], refs, cfg.alpha
        )
        ok &= passed
        out[r["horizon"]] = {"predicteur": r["predictor"], "ok": passed, "references": detail}
    return bool(ok), out


_FEATURE_DEPS = [K.STUDY_GRID_KEY, K.OBSERVED_COUNTS_KEY, K.CELL_SLOT_KEY, K.PLANNED_EXPOSURE_KEY]


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            K.BACKTEST_KEY,
            deps=_FEATURE_DEPS,
            group_name=K.MODELS,
            kinds={"lightgbm", "parquet"},
            owners=[K.OWNER_DATA],
            description=(
                "Tableau de score du backtest à origine glissante (≥ 8 origines hebdomadaires): "
                "taux de réussite, PAI, PEI par modèle × catégorie × horizon (créneau suivant, "
                "jour suivant, 7 jours) × origine × part de surface (1, 5, 10, 20 %); l'oracle "
                "(intensité vraie du générateur) quand elle existe. Chaque ligne porte les "
                "conventions des données d'apprentissage du modèle (et des événements prévus "
                "que ses prévisions ont lus). Désigne le champion et le champion sans données "
                "partenaires (le meilleur des modèles appris sur les seules données de la Ville)."
            ),
        ),
        dg.AssetSpec(
            K.BACKTEST_SCORES_KEY,
            deps=_FEATURE_DEPS,
            group_name=K.MODELS,
            kinds={"parquet"},
            owners=[K.OWNER_DATA],
            description=(
                "Déviance de Poisson et couverture des intervalles de prévision 80 % et 95 % "
                "par modèle × catégorie × horizon × origine."
            ),
        ),
        dg.AssetSpec(
            K.BACKTEST_PLANNED_KEY,
            deps=_FEATURE_DEPS,
            group_name=K.MODELS,
            kinds={"parquet"},
            owners=[K.OWNER_DATA],
            description=(
                "Valeur des données de la Préfecture: scores sur les créneaux avec événement "
                "prévu et sur les cellules exposées, modèle avec et sans ces données."
            ),
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            CHECK_STABLE_COLUMNS,
            asset=K.BACKTEST_KEY,
            blocking=True,
            description="Les colonnes lues par l'application et les auditeurs sont présentes.",
        ),
        dg.AssetCheckSpec(
            CHECK_CHAMPION_BEATS_BASELINES,
            asset=K.BACKTEST_KEY,
            blocking=True,
            description=(
                "Le prédicteur en service fait au moins aussi bien que chaque référence "
                "(comptes sur 52 semaines et tout l'historique, points chauds, SEPP…), à 5 % "
                "de la surface, tous faits, au créneau suivant, au jour suivant et à la "
                "semaine suivante: sinon la prévision n'est pas publiée."
            ),
        ),
    ],
    pool="warehouse_writer",
)
def backtest(
    context: dg.AssetExecutionContext,
    config: ForecastSettings,
    warehouse: Warehouse,
    study_area: StudyArea,
    model_store: ModelStore,
) -> Iterator[dg.MaterializeResult]:
    t0 = time.perf_counter()
    spec = study_area.spec()
    cfg = config.backtest_config()
    data = load_data(warehouse, spec, training_days(cfg), truth=True)
    t_load = time.perf_counter() - t0
    res = run_backtest(data, cfg)
    dv = data_version(data)
    for m, meta in res.models:
        origin = data.scheme.start(meta["origin"])
        model_store.save(
            m, _model_meta(m, meta, data, dv, _metrics_for(res.backtest, res.scores, m.name, m.group, origin))
        )
    warehouse.write(K.MODELS, "backtest", res.backtest)
    warehouse.write(K.MODELS, "backtest_scores", res.scores)
    warehouse.write(K.MODELS, "backtest_evenements", res.planned)
    summ = summary(res.backtest)
    champ_row = summ.filter((pl.col("model") == res.champion) & (pl.col("category") == ALL))
    champ_hr = float(champ_row["hit_rate_pooled"][0]) if champ_row.height else float("nan")
    beats, against = _beats_references(res.backtest, res.champions, cfg)
    conv = model_conventions(res.backtest)
    internal_row = summ.filter((pl.col("model") == res.champion_internal) & (pl.col("category") == ALL))
    if beats:  # a predictor that loses to a reference never becomes the one in service
        # the models in service stay until the training (models/model_registry) replaces them
        kept = {"service": s} if (s := (model_store.champion() or {}).get("service")) else {}
        model_store.set_champion(
            {
                **kept,
                "model": res.champion,
                "conventions": conv.get(res.champion, data.fact_conventions()),
                "run_id": context.run.run_id,
                "data_version": dv,
                "metric": "hit_rate jour_suivant 5% all",
                "value": champ_hr,
                "internal": {
                    "model": res.champion_internal,
                    "conventions": conv.get(res.champion_internal, data.fact_conventions()),
                    "value": float(internal_row["hit_rate_pooled"][0]) if internal_row.height else None,
                },
                "origins": sorted({o.isoformat() for o in res.backtest["origin"].to_list()}),
                "par_horizon": [
                    {k: r[k] for k in ("horizon", "predictor", "hit_rate", "p_value", "ratio_vs_reference", "pourquoi")}
                    for r in res.champions.filter(pl.col("category") == ALL).iter_rows(named=True)
                ],
                "settings": config.model_dump(),
            }
        )
    planned = (
        res.planned.filter(pl.col("model").is_in([EVENT_AWARE, EVENT_BLIND, ORACLE]))
        .group_by("model", "category")
        .agg(
            pl.col("hit_rate_5").mean(), pl.col("hit_rate_5_exposed").mean(), pl.col("poisson_deviance_exposed").mean()
        )
        .sort("category", "model")
    )
    timings = {
        **res.timings,
        "backtest_s": round(res.timings["backtest_s"], 1),
        "chargement_s": round(t_load, 1),
        "total_s": round(time.perf_counter() - t0, 1),
    }
    missing = [c for c in BACKTEST_COLUMNS if c not in res.backtest.columns]
    yield dg.MaterializeResult(
        asset_key=K.BACKTEST_KEY,
        metadata=base_metadata(
            res.backtest,
            time.perf_counter() - t0,
            champion=res.champion,
            champion_sans_partenaires=res.champion_internal,
            champions_par_horizon=_md(
                res.champions.select(
                    "horizon",
                    "category",
                    "predictor",
                    "hit_rate",
                    "best_baseline",
                    "best_learned",
                    "gain_vs_baseline",
                    "p_value",
                    "ratio_vs_reference",
                )
            ),
            conventions_par_modele=dg.MetadataValue.json(conv),
            resume_jour_suivant_5pct=_md(summ),
            evenements_prevus=_md(planned),
            durees=dg.MetadataValue.json(timings),
            version_des_donnees=dv,
            origines=len(set(res.backtest["origin"].to_list())),
            **_gap_metadata(data),
        ),
        check_results=[
            dg.AssetCheckResult(
                asset_key=K.BACKTEST_KEY,
                check_name=CHECK_STABLE_COLUMNS,
                passed=not missing,
                metadata={"manquantes": dg.MetadataValue.json(missing)},
            ),
            dg.AssetCheckResult(
                asset_key=K.BACKTEST_KEY,
                check_name=CHECK_CHAMPION_BEATS_BASELINES,
                passed=beats,
                metadata={
                    "champion": res.champion,
                    "taux_champion": round(champ_hr, 4),
                    "comparaisons": dg.MetadataValue.json(against),
                },
            ),
        ],
    )
    yield dg.MaterializeResult(asset_key=K.BACKTEST_SCORES_KEY, metadata=base_metadata(res.scores, 0.0))
    yield dg.MaterializeResult(asset_key=K.BACKTEST_PLANNED_KEY, metadata=base_metadata(res.planned, 0.0))


TRAINING_JOB_NAME = "entrainement_hebdomadaire"  # jobs.TRAINING_JOB (the assets do not import the jobs)
VARIANTS = ("complete", "internal")


class NoModelInService(dg.Failure):
    """The daily forecast before any training: which job to run."""


def _service_record(
    model_store: ModelStore,
    variant: str,
    model: str,
    trained: list[tuple[FittedModel, dict]],
    data: ForecastData,
    dv: str,
) -> dict:
    versions = [
        {
            "name": m.name,
            "group": m.group,
            "version": model_store.save(m, _model_meta(m, {**meta, "variant": variant}, data, dv, {})),
        }
        for m, meta in trained
    ]
    conv = sorted({c for _, meta in trained for c in meta["conventions"]} or set(data.fact_conventions()))
    return {"model": model, "models": versions, "conventions": conv}


@dg.multi_asset(
    name="model_registry",
    specs=[
        dg.AssetSpec(
            K.MODEL_REGISTRY_KEY,
            deps=[K.BACKTEST_KEY, *_FEATURE_DEPS],
            group_name=K.MODELS,
            kinds={"lightgbm", "parquet"},
            owners=[K.OWNER_DATA],
            description=(
                "Modèles en service et registre des modèles (magasin de modèles). "
                "L'entraînement hebdomadaire réentraîne le champion du dernier backtest sur "
                "tout ce qui est connu (fenêtre d'apprentissage, pas tout l'historique) et "
                "le range avec ses versions: la prévision quotidienne le lit sans rien "
                "réentraîner. Quand le champion a appris sur des données partenaires, le "
                "meilleur modèle appris sur les seules données de la Ville est entraîné "
                "aussi (jeu `internal`). Le registre: fenêtre d'apprentissage, variables, "
                "paramètres, version des données, scores, et les conventions des données "
                "sur lesquelles chaque modèle a été appris (`conventions`)."
            ),
        )
    ],
    pool="warehouse_writer",
)
def model_registry(
    context: dg.AssetExecutionContext,
    config: ForecastSettings,
    warehouse: Warehouse,
    study_area: StudyArea,
    model_store: ModelStore,
) -> dg.MaterializeResult:
    t0 = time.perf_counter()
    spec = study_area.spec()
    cfg = config.backtest_config()
    champ = model_store.champion()
    if not champ:
        raise dg.Failure(
            "aucun champion: le backtest n'a désigné aucun prédicteur (contrôle "
            f"{CHECK_CHAMPION_BEATS_BASELINES} en échec?) — rien n'est mis en service"
        )
    data = load_data(warehouse, spec, training_days(cfg))
    dv = data_version(data)
    city = set(data.fact_conventions())
    champion = champ.get("model", FALLBACK)
    complete = train_service(data, champion, cfg)
    service = {"complete": _service_record(model_store, "complete", champion, complete, data, dv)}
    if set(service["complete"]["conventions"]) <= city:
        # trained on the City's data only: the same models serve the City's own forecast (only the
        # planned records it reads differ)
        service["internal"] = {**service["complete"]}
    else:
        internal = (champ.get("internal") or {}).get("model", FALLBACK)
        service["internal"] = _service_record(
            model_store, "internal", internal, train_service(data.restricted(city), internal, cfg), data, dv
        )
    origin = data.scheme.start(data.data_end + 1)
    model_store.set_champion(
        {
            **champ,
            "service": {
                **service,
                "origin": origin.isoformat(),
                "data_version": dv,
                "run_id": context.run.run_id,
                "settings": config.model_dump(),
            },
        }
    )
    registry = model_store.registry()
    warehouse.write(K.MODELS, "model_registry", registry)
    warehouse.publish_catalog()
    return dg.MaterializeResult(
        metadata=base_metadata(
            registry,
            time.perf_counter() - t0,
            champion=champion,
            en_service=dg.MetadataValue.json(
                {
                    v: {"modele": r["model"], "versions": [m["version"] for m in r["models"]]}
                    for v, r in service.items()
                    if v in VARIANTS
                }
            ),
            origine_d_apprentissage=origin.isoformat(),
            version_des_donnees=dv,
            jours_de_caracteristiques_lus=training_days(cfg),
            **_gap_metadata(data),
        )
    )


def in_service(model_store: ModelStore) -> dict:
    """The champion's models in service (`champion.json` → service), or a clear error naming the
    job that trains them."""
    champ = model_store.champion() or {}
    service = champ.get("service")
    if not service or not all(v in service for v in VARIANTS):
        raise NoModelInService(
            "aucun modèle en service: la prévision quotidienne utilise le champion et ses modèles entraînés, "
            f"lancer d'abord le job {TRAINING_JOB_NAME} (backtest, champion, entraînement; "
            "`tranquillite materialize` le lance quand aucun modèle n'est en service)"
        )
    return service


def _load_service(model_store: ModelStore, record: dict) -> list[FittedModel]:
    try:
        return [model_store.load(m["name"], m["group"], m["version"]) for m in record["models"]]
    except FileNotFoundError as exc:
        raise NoModelInService(f"modèle en service introuvable ({exc}): relancer le job {TRAINING_JOB_NAME}") from exc


@dg.multi_asset(
    name="forecast",
    specs=[
        dg.AssetSpec(
            K.FORECAST_KEY,
            deps=[K.MODEL_REGISTRY_KEY, *_FEATURE_DEPS],
            group_name=K.MODELS,
            kinds={"lightgbm", "parquet"},
            owners=[K.OWNER_SECURITY],
            description=(
                "Prévision des 7 prochains jours par créneau et cellule H3, par le champion en "
                "service et ses modèles déjà entraînés (models/model_registry: rien n'est "
                "réentraîné ici), à partir des faits et des événements prévus connus au "
                "dernier fait: nombre attendu, intervalles "
                "80 % et 95 % (du compte lissé Y + U: bornes fractionnaires, la partie entière "
                "donne l'intervalle d'entiers; un compte n dépasse la borne haute ssi n > "
                "partie entière), rang, et les 3 contributions principales (explications). "
                "Chaque ligne porte `conventions`: celles des données d'apprentissage de son modèle "
                "et des événements prévus qu'elle lit. Quand le champion utilise des données "
                "partenaires (`variant` = complete), une seconde prévision (`variant` = internal) "
                "est calculée sur les seules données de la Ville, pour les profils qui ne voient pas "
                "ces conventions. Lecture: le jeu `complete` si le profil voit toutes ses "
                "conventions (`variant_conventions`), sinon le jeu `internal`."
            ),
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(CHECK_FORECAST_COMPLETE, asset=K.FORECAST_KEY, blocking=True),
        dg.AssetCheckSpec(CHECK_INTERVALS, asset=K.FORECAST_KEY),
    ],
    pool="warehouse_writer",
)
def forecast(
    context: dg.AssetExecutionContext,
    config: ForecastSettings,
    warehouse: Warehouse,
    study_area: StudyArea,
    model_store: ModelStore,
) -> Iterator[dg.MaterializeResult]:
    t0 = time.perf_counter()
    spec = study_area.spec()
    cfg = config.backtest_config()
    service = in_service(model_store)
    data = load_data(warehouse, spec, FORECAST_STATE_DAYS)
    dv = data_version(data)
    city = set(data.fact_conventions())
    t_load = time.perf_counter() - t0

    def publish(variant: str, d: ForecastData) -> pl.DataFrame:
        rec = service[variant]
        models = _load_service(model_store, rec)
        versions: dict[str, str] = {}
        for m, v in zip(models, rec["models"]):
            versions.setdefault(m.group, v["version"])
        try:
            fc = forecast_from(d, rec["model"], models, cfg, rec.get("conventions"))
        except ValueError as exc:
            raise dg.Failure(str(exc)) from exc
        return fc.with_columns(
            pl.col("category")
            .replace_strict(
                {**versions, ALL: versions.get(ALL) or "+".join(versions[g] for g in spec.groups if g in versions)}
                if versions
                else {},
                default=None,
                return_dtype=pl.Utf8,
            )
            .alias("model_version"),
            pl.lit(variant).alias("variant"),
            pl.lit(sorted(union_of(fc)), dtype=pl.List(pl.Utf8)).alias("variant_conventions"),
        )

    frames = [publish("complete", data)]
    if not union_of(frames[0]) <= city:
        # a partner's data are in it: the City's own forecast too, for whoever does not see them —
        # by the champion itself if it was not trained on them (only the planned records it reads
        # differ), else by the best model trained without them (both trained by the weekly job)
        frames.append(publish("internal", data.restricted(city)))
    fc = pl.concat(frames)
    warehouse.write(K.MODELS, "forecast", fc)
    history = fc.filter(pl.col("lead") < data.scheme.n).drop("explanations")  # the next service day
    history_part = fc["origin"][0].date().isoformat() if fc.height else None
    if history_part:
        warehouse.write(K.MODELS, "forecast_history", history, partition=history_part)
    warehouse.publish_catalog()  # the app sees the new tables at once
    n_expected = data.n_cells * cfg.horizon_days * data.scheme.n * (len(spec.groups) + 1) * len(frames)
    bad = fc.filter(
        ~(
            (pl.col("lower_95") <= pl.col("lower_80"))
            & (pl.col("lower_80") <= pl.col("upper_80"))
            & (pl.col("upper_80") <= pl.col("upper_95"))
            & (pl.col("expected") >= 0)
        )
    ).height
    yield dg.MaterializeResult(
        asset_key=K.FORECAST_KEY,
        metadata=base_metadata(
            fc,
            time.perf_counter() - t0,
            champion=service["complete"]["model"],
            origine=str(fc["origin"][0]),
            jeux=dg.MetadataValue.json({f["variant"][0]: f["model"][0] for f in frames}),
            modeles_entraines_le=service.get("origin"),
            chargement_s=round(t_load, 2),
            version_des_donnees=dv,
            **_gap_metadata(data),
        ),
        check_results=[
            dg.AssetCheckResult(
                asset_key=K.FORECAST_KEY,
                check_name=CHECK_FORECAST_COMPLETE,
                passed=fc.height == n_expected,
                metadata={"lignes": fc.height, "attendues": n_expected},
            ),
            dg.AssetCheckResult(
                asset_key=K.FORECAST_KEY,
                check_name=CHECK_INTERVALS,
                passed=bad == 0,
                metadata={"lignes_incoherentes": bad},
            ),
        ],
    )
    if history_part:
        context.log_event(
            dg.AssetMaterialization(
                asset_key=K.FORECAST_HISTORY_KEY,
                partition=history_part,
                metadata=base_metadata(
                    history, 0.0, origines_conservees=len(warehouse.partitions(K.MODELS, "forecast_history"))
                ),
            )
        )


forecast_history = dg.AssetSpec(
    K.FORECAST_HISTORY_KEY,
    deps=[K.FORECAST_KEY],
    group_name=K.MODELS,
    kinds={"parquet"},
    owners=[K.OWNER_SECURITY],
    partitions_def=DAILY,
    description=(
        "Historique des prévisions: la partie « jour suivant » (3 premiers créneaux) de chaque prévision "
        "publiée, une partition par jour d'origine, pour comparer après coup les faits à ce qui était prévu "
        "(alertes de dépassement, suivi de la précision). Écrit par models/forecast à chaque prévision "
        "(la partition du jour de son origine): il ne se matérialise pas seul."
    ),
)

MODEL_ASSETS = [backtest, model_registry, forecast, forecast_history]
