"""Bootstrap on a fresh install: the first gestionnaire des habilitations, and unlocking.

    python -m tranquillite.app_core.accounts init
    python -m tranquillite.app_core.accounts create --login prenom.nom --name "Prénom Nom" \
        [--profile gestionnaire_habilitations] [--organisation ville_dga_securite] [--email …]
    python -m tranquillite.app_core.accounts unlock --login prenom.nom

Everything else (other users, profiles, the Préfecture list) is administered in the app. The
password is asked on the terminal (never on the command line).
"""

from __future__ import annotations

import argparse
import getpass
import sys

from tranquillite.app_core import auth, habilitations, store


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tranquillite.app_core.accounts")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("init", help="crée platform.sqlite et les profils initiaux")
    c = sub.add_parser("create", help="crée un compte local (premier gestionnaire des habilitations)")
    c.add_argument("--login", required=True)
    c.add_argument("--name", required=True)
    c.add_argument("--profile", default="gestionnaire_habilitations")
    c.add_argument("--organisation", default="ville_dga_securite")
    c.add_argument("--nature", default="gestion_habilitations")
    c.add_argument("--email")
    u = sub.add_parser("unlock", help="déverrouille un compte")
    u.add_argument("--login", required=True)
    a = p.parse_args(argv)
    path = store.init_store()
    with store.connect(path) as con:
        if a.cmd == "init":
            print(f"magasin prêt: {store.describe()}")
        elif a.cmd == "create":
            pw = getpass.getpass("Mot de passe (12 caractères au moins): ")
            if pw != getpass.getpass("Confirmation: "):
                print("erreur: la confirmation ne correspond pas", file=sys.stderr)
                return 2
            problems = auth.password_problems(pw, a.login)
            if problems:
                print("erreur: " + " ".join(problems), file=sys.stderr)
                return 2
            habilitations._check_user_fields(con, a.login, a.profile, a.organisation, a.nature)
            habilitations._insert_user(
                con, a.login, a.name, a.email, a.profile, a.nature, a.organisation, pw, must_change=False
            )
            store.log_access(
                con,
                login=None,
                profile="public",
                page="console",
                action="habilitation_creee",
                detail=f"{a.login} ({a.profile}) créé en ligne de commande",
            )
            print(f"compte {a.login} créé ({a.profile})")
        else:
            auth.unlock(con, a.login)
            store.log_access(
                con, login=None, profile="public", page="console", action="compte_deverrouille", detail=a.login
            )
            print(f"compte {a.login} déverrouillé")
    return 0


if __name__ == "__main__":
    sys.exit(main())
