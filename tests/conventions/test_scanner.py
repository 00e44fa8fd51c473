"""The independent scanner finds a record wherever it hides, and only there."""

from __future__ import annotations

import gzip
import json
import sqlite3

import polars as pl

from tranquillite.conventions import fingerprints as F
from tranquillite.conventions.scanner import Fingerprints, scan

SALT = b"s" * 32
ID = "PP-2025-000042"
VALUE = "Rassemblement pour le climat devant la mairie"


def fp(files=()) -> Fingerprints:
    return Fingerprints(SALT, {F.digest(SALT, F.id_key(ID))}, {F.digest(SALT, VALUE)}, set(files))


def hits(tmp_path, **kw):
    return {(h["fichier"].split(" [")[0], h["type"]) for h in scan(tmp_path, fp(**kw)).hits}


def test_nothing_found_in_a_clean_home(tmp_path):
    pl.DataFrame({"event_id": ["interventions:INT-1"], "objet": ["Rixe"]}).write_parquet(tmp_path / "a.parquet")
    (tmp_path / "b.json").write_text(json.dumps({"x": ["PP-2025-000043", "Rassemblement"]}))
    assert scan(tmp_path, fp()).n_hits == 0


def test_found_in_parquet_json_markdown_gzip_and_paths(tmp_path):
    pl.DataFrame({"event_id": [f"manifestation_statique:{ID}"], "n": [1]}).write_parquet(tmp_path / "a.parquet")
    pl.DataFrame({"l": [[VALUE]]}).write_parquet(tmp_path / "b.parquet")
    (tmp_path / "c.json").write_text(json.dumps({"event": {"metadata": {"apercu": f"| {VALUE} | 3 |"}}}))
    (tmp_path / "d.log.gz").write_bytes(gzip.compress(f"lecture de cortege/{ID}_v2.json\n".encode()))
    (tmp_path / f"{ID}_v1.txt").write_text("rien")
    (tmp_path / "e.json").write_text(json.dumps({"_raw": json.dumps({"id": ID})}))  # JSON inside a string
    found = hits(tmp_path)
    assert {f for f, _ in found} == {"a.parquet", "b.parquet", "c.json", "d.log.gz", f"{ID}_v1.txt", "e.json"}
    assert ("b.parquet", "valeur") in found and ("a.parquet", "identifiant") in found


def test_a_deleted_sqlite_row_lingers_until_vacuum(tmp_path):
    db = tmp_path / "s.sqlite"
    con = sqlite3.connect(db)
    con.execute("PRAGMA secure_delete = OFF")  # the default of most builds: deleted bytes stay in the page
    con.execute("CREATE TABLE t (a TEXT)")
    con.executemany("INSERT INTO t VALUES (?)", [(f"ligne {i} " + "x" * 200,) for i in range(50)] + [(f"entrée {ID}",)])
    con.commit()
    con.execute("DELETE FROM t WHERE a LIKE 'entrée%'")
    con.commit()
    assert con.execute("SELECT count(*) FROM t WHERE a LIKE '%PP-%'").fetchone()[0] == 0
    found = hits(tmp_path)
    assert found == {("s.sqlite", "identifiant")}  # still in the file's free pages
    con.execute("VACUUM")
    con.close()
    assert hits(tmp_path) == set()


def test_a_restored_file_is_recognised_by_its_hash(tmp_path):
    import hashlib

    (tmp_path / "x.bin").write_bytes(b"\x00\x01binaire sans texte")
    assert hits(tmp_path, files=[hashlib.sha256(b"\x00\x01binaire sans texte").hexdigest()]) == {
        ("x.bin", "fichier détruit restauré")
    }
