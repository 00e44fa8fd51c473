"""The attestation of destruction: a signed JSON manifest and its PDF (C9).

`<id>.json` is `{"manifest": {...}, "signature": {"algorithme": "Ed25519", "cle_publique": PEM,
"identifiant_cle": ..., "valeur": base64}}`: the signature covers the canonical JSON of the
manifest (sorted keys, no spaces). The manifest states the convention and its dates, who ordered
and who ran the destruction, per store what was destroyed (counts and SHA-256 fingerprints, never
content), what is left outside the platform and who must confirm it, the tables that are not
traceable, and the result of the independent scan with the salted fingerprints it searched for.
`<id>.pdf` is the same for people; its SHA-256 is in the signed JSON.

`verify(path, home)` checks the signature against the PLATFORM's key (not only the key written in
the file), the PDF's hash, and re-runs the scan: valid only if the signature holds and the scan
finds nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from tranquillite.conventions import keys
from tranquillite.conventions import scanner
from tranquillite.pdfdoc import TextPdf

FORMAT = "tranquillite/attestation-de-destruction/1"


def canonical(manifest: dict) -> bytes:
    return json.dumps(manifest, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def write(home: Path, manifest: dict) -> tuple[Path, Path]:
    """Render the PDF, then sign the manifest (with the PDF's hash) and write both."""
    out = Path(home) / "attestations"
    out.mkdir(parents=True, exist_ok=True)
    stem = manifest["attestation"]
    pdf_path = out / f"{stem}.pdf"
    pdf_path.write_bytes(render_pdf(manifest))
    manifest = {**manifest, "pdf_sha256": hashlib.sha256(pdf_path.read_bytes()).hexdigest()}
    pub = keys.public_key(home)
    signed = {
        "manifest": manifest,
        "signature": {
            "algorithme": "Ed25519",
            "cle_publique": keys.public_pem(pub),
            "identifiant_cle": keys.key_id(pub),
            "valeur": keys.sign(home, canonical(manifest)),
        },
    }
    json_path = out / f"{stem}.json"
    json_path.write_text(json.dumps(signed, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
    return json_path, pdf_path


@dataclass
class Verification:
    signature_ok: bool
    platform_key: bool
    pdf_ok: bool | None
    scan: scanner.ScanResult | None
    problems: list[str]

    @property
    def ok(self) -> bool:
        return (
            self.signature_ok
            and self.platform_key
            and self.pdf_ok is not False
            and self.scan is not None
            and self.scan.n_hits == 0
            and not self.problems
        )


def load(path: Path) -> dict:
    path = Path(path)
    if path.suffix == ".pdf":
        path = path.with_suffix(".json")
    return json.loads(path.read_text(encoding="utf-8"))


def verify(path: Path, home: Path, rescan: bool = True) -> Verification:
    path = Path(path)
    problems: list[str] = []
    try:
        doc = load(path)
        manifest, sig = doc["manifest"], doc["signature"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return Verification(False, False, None, None, [f"attestation illisible: {type(exc).__name__}"])
    sig_ok = keys.verify(sig.get("cle_publique", ""), sig.get("valeur", ""), canonical(manifest))
    if not sig_ok:
        problems.append("signature invalide: l'attestation a été modifiée ou n'est pas signée par cette clé")
    platform = sig.get("cle_publique", "").strip() == keys.public_pem(keys.public_key(home)).strip()
    if not platform:
        problems.append("la clé de l'attestation n'est pas celle de la plateforme")
    pdf = path.with_suffix(".pdf")
    pdf_ok = None
    if pdf.exists():
        pdf_ok = hashlib.sha256(pdf.read_bytes()).hexdigest() == manifest.get("pdf_sha256")
        if not pdf_ok:
            problems.append("le PDF ne correspond pas au manifeste signé")
    result = None
    if rescan and sig_ok:
        v = manifest["verification"]
        try:
            salt = keys.load_salt(home, manifest["attestation"])
        except OSError:
            problems.append("sel du contrôle introuvable sous keys/scans: contrôle impossible")
        else:
            if hashlib.sha256(salt).hexdigest() != v["sel_sha256"]:
                problems.append("le sel du contrôle ne correspond pas à l'attestation")
            else:
                result = scanner.scan(
                    home, scanner.Fingerprints.from_manifest(v, salt), exclude=[path, path.with_suffix(".pdf")]
                )
                if result.n_hits:
                    problems.append(f"{result.n_hits} trace(s) des données détruites retrouvée(s)")
    return Verification(sig_ok, platform, pdf_ok, result, problems)


# --------------------------------------------------------------------------- PDF
def render_pdf(m: dict) -> bytes:
    doc = TextPdf(
        f"Attestation de destruction - {m['convention']['code']}",
        "Ville de Marseille - plateforme Big Data de la Tranquillité Publique",
    )
    line, title = doc.line, doc.title

    c = m["convention"]
    line("Ville de Marseille - Plateforme Big Data de la Tranquillité Publique", 9)
    line("ATTESTATION DE DESTRUCTION DES DONNÉES", 16, "B", 9)
    line(f"Attestation n° {m['attestation']} - établie le {m['etablie_le']}", 9)
    title("Convention")
    line(f"{c['titre']} ({c['code']})")
    line(f"Parties: {'; '.join(c.get('parties') or [])}")
    line(
        f"Notifiée le {c.get('notifiee_le') or '-'}; dénoncée le {c.get('denoncee_le') or '-'} par "
        f"{c.get('denoncee_par') or '-'}; fin effective le {c.get('fin') or '-'}; destruction due au plus tard le "
        f"{c.get('destruction_avant') or '-'} (art. 9: 15 jours)."
    )
    title("Destruction")
    d = m["destruction"]
    line(
        f"Ordonnée par {d['ordonnee_par']} le {d.get('ordonnee_le') or '-'}; exécutée par {d['executee_par']} "
        f"du {d['debut']} au {d['fin']} (exécution Dagster {d.get('execution') or '-'})."
    )
    line(f"Délai respecté: {'oui' if d.get('dans_le_delai') else 'NON'}.")
    title("Ce qui a été détruit, par magasin (comptes et empreintes, jamais le contenu)")
    for it in m["detruit"]:
        counts = ", ".join(
            f"{k.replace('_', ' ')}: {v}"
            for k, v in it.items()
            if k not in ("magasin", "element", "action", "empreinte")
        )
        line(f"- [{it['magasin']}] {it['element']}: {it['action']}" + (f" ({counts})" if counts else ""), 9)
        if it.get("empreinte"):
            line(f"    empreinte SHA-256: {it['empreinte']}", 7)
    title("Tables non traçables (sans colonne de lignage)")
    for nt in m.get("non_tracable") or [{"table": "aucune", "raison": ""}]:
        line(f"- {nt.get('magasin', '')} {nt['table']} {nt.get('raison', '')}", 9)
    title("Hors de la plateforme: à détruire et confirmer")
    for o in m["hors_plateforme"]:
        conf = (
            f"confirmé par {o['confirme_par']} le {o['confirme_le']}"
            if o.get("confirme_par")
            else "confirmation attendue"
        )
        line(f"- {o['quoi']} - à confirmer par: {o['qui']} - {conf}", 9)
    title("Contrôle indépendant")
    v = m["verification"]
    s = v["resultat"]
    line(
        f"Empreintes salées recherchées: {len(v['fingerprints']['identifiants'])} identifiants, "
        f"{len(v['fingerprints']['valeurs'])} valeurs distinctives, {len(v['fingerprints']['fichiers_sha256'])} "
        f"fichiers. Sel: SHA-256 {v['sel_sha256'][:16]}... (conservé sous keys/scans)."
    )
    line(
        f"Fichiers examinés: {s['fichiers_total']} ({', '.join(f'{k}: {n}' for k, n in s['fichiers_examines'].items())}); "
        f"{s['octets_examines']} octets; {s['chaines_examinees']} chaînes."
    )
    line(f"Traces trouvées: {s['traces_trouvees']}.", 11, "B")
    title("Signature")
    line(
        "Le manifeste JSON joint (même numéro) est signé Ed25519 par la clé de la plateforme; "
        "`tranquillite attestation verifier FICHIER` vérifie la signature et refait le contrôle.",
        9,
    )
    return doc.output()
