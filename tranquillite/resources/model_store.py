"""The model store: every trained forecasting model, with what it was trained on, and the champion.

`ModelStore` is the interface the assets use; `LocalModelStore` keeps models on the local
filesystem under `$TRANQUILLITE_HOME/models/` (a City server needs nothing else; an object-store
implementation would subclass `ModelStore` the same way):

    models/<model>/<group>/<version>/model.txt|model.pkl   the model itself
    models/<model>/<group>/<version>/meta.json             training window, features, parameters,
                                                           data version, metrics, and the conventions
                                                           of the data it was trained on
    models/champion.json                                   best model of the latest backtest, and the
                                                           best one trained on the City's data only

Files are written to a temporary name then renamed, like the warehouse's Parquet files. The
register names each model by its folder relative to the store (`<model>/<group>/<version>`), so
that a copied or moved home points at its own models.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path

import dagster as dg
import polars as pl

from tranquillite.forecasting.models import FittedModel

REGISTRY_SCHEMA = {
    "model": pl.Utf8,
    "group": pl.Utf8,
    "version": pl.Utf8,
    "kind": pl.Utf8,
    "usage": pl.Utf8,
    "trained_at": pl.Utf8,
    "train_start": pl.Utf8,
    "train_end": pl.Utf8,
    "origin": pl.Utf8,
    "n_rows": pl.Int64,
    "data_version": pl.Utf8,
    "n_features": pl.Int64,
    "features": pl.Utf8,
    "params": pl.Utf8,
    "metrics": pl.Utf8,
    "path": pl.Utf8,
    "variant": pl.Utf8,
    "conventions": pl.List(pl.Utf8),
}


class ModelStore(dg.ConfigurableResource):
    """Where trained models live. Subclasses implement storage; the assets only use these methods."""

    def save(self, model: FittedModel, meta: dict) -> str:
        """Store a fitted model with its metadata (`conventions`: those of its training data,
        required); returns its version."""
        raise NotImplementedError

    def load(self, model: str, group: str, version: str | None = None) -> FittedModel:
        """A stored model (latest version by default)."""
        raise NotImplementedError

    def registry(self) -> pl.DataFrame:
        """One row per stored model version (REGISTRY_SCHEMA)."""
        raise NotImplementedError

    def set_champion(self, details: dict) -> None:
        raise NotImplementedError

    def champion(self) -> dict | None:
        raise NotImplementedError


def _ALL_CONVENTIONS() -> list[str]:
    from tranquillite.contracts import load_contracts

    return sorted({c.convention for c in load_contracts().values()})


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


class LocalModelStore(ModelStore):
    """Models as files under `root` (default `$TRANQUILLITE_HOME/models`)."""

    root: str

    @property
    def path(self) -> Path:
        return Path(self.root)

    def _folder(self, model: str, group: str, version: str) -> Path:
        return self.path / model / group / version

    def save(self, model: FittedModel, meta: dict) -> str:
        if not meta.get("conventions"):
            raise ValueError(f"{model.name}/{model.group}: conventions des données d'apprentissage manquantes")
        now = datetime.now().astimezone()
        digest = hashlib.sha256(
            json.dumps([model.name, model.group, meta], sort_keys=True, default=str).encode()
        ).hexdigest()[:8]
        version = f"{now:%Y%m%dT%H%M%S%f}-{digest}"
        final = self._folder(model.name, model.group, version)
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=self.path, prefix=".tmp-"))
        try:
            model.dump(tmp)
            full = {
                "name": model.name,
                "kind": model.kind,
                "group": model.group,
                "version": version,
                "trained_at": now.isoformat(timespec="seconds"),
                "features": model.features,
                "params": model.params,
                "alpha": model.alpha,
                "info": model.info,
                **meta,
            }
            _atomic_write(tmp / "meta.json", json.dumps(full, ensure_ascii=False, indent=1, default=str))
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return version

    def _versions(self, model: str, group: str) -> list[str]:
        d = self.path / model / group
        return sorted(p.name for p in d.iterdir() if p.is_dir() and not p.name.startswith(".")) if d.exists() else []

    def load(self, model: str, group: str, version: str | None = None) -> FittedModel:
        versions = self._versions(model, group)
        if not versions:
            raise FileNotFoundError(f"aucun modèle {model}/{group} dans {self.path}")
        v = version or versions[-1]
        folder = self._folder(model, group, v)
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        return FittedModel.load(folder, meta)

    def registry(self) -> pl.DataFrame:
        rows = []
        for meta_path in sorted(self.path.glob("*/*/*/meta.json")):
            m = json.loads(meta_path.read_text(encoding="utf-8"))
            rows.append(
                {
                    "model": m["name"],
                    "group": m["group"],
                    "version": m["version"],
                    "kind": m["kind"],
                    "usage": m.get("usage"),
                    "trained_at": m.get("trained_at"),
                    "train_start": m.get("train_start"),
                    "train_end": m.get("train_end"),
                    "origin": m.get("origin_start"),
                    "n_rows": m.get("n_rows"),
                    "data_version": m.get("data_version"),
                    "n_features": len(m.get("features", [])),
                    "features": json.dumps(m.get("features", []), ensure_ascii=False),
                    "params": json.dumps(m.get("params", {}), ensure_ascii=False, default=str),
                    "metrics": json.dumps(m.get("metrics", {}), ensure_ascii=False, default=str),
                    "path": meta_path.parent.relative_to(self.path).as_posix(),  # relative: the home may move
                    "variant": m.get("variant"),
                    # a model stored before lineage was recorded may hold any convention's data
                    "conventions": sorted(m.get("conventions") or _ALL_CONVENTIONS()),
                }
            )
        return pl.DataFrame(rows, schema=REGISTRY_SCHEMA)

    def set_champion(self, details: dict) -> None:
        _atomic_write(self.path / "champion.json", json.dumps(details, ensure_ascii=False, indent=1, default=str))

    def champion(self) -> dict | None:
        p = self.path / "champion.json"
        return json.loads(p.read_text(encoding="utf-8")) if p.exists() else None
