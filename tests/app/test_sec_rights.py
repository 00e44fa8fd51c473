"""Separation of duties in the rights layer (issue #10, C6, C7): the rules hold against the people who
administer them, whatever page or call they use."""

from __future__ import annotations

import json

import pytest

from tests.app.helpers import login, new_app
from tranquillite.app_core import auth, habilitations as H, queries, store
from tranquillite.app_core.rights import NO_DATA, load_principal


def _who(con, login):
    return load_principal(con, login)


def test_the_gestionnaire_cannot_give_itself_administrer_nor_data(con):
    gest = _who(con, "demo.habilitations")
    with pytest.raises(H.RightsError):  # the issue: it gave itself 'administrer' (individual action)
        H.set_user_actions(con, gest, "demo.habilitations", ["administrer"])
    assert not _who(con, "demo.habilitations").can("administrer")
    # nobody, not even the technical administrator, opens a data page or action to the gestionnaire's profile
    admin = _who(con, "demo.admin")
    for pages, actions in (
        (["accueil_public", "habilitations", "journal", "compte", "carte"], ["habiliter"]),
        (["accueil_public", "habilitations", "journal", "compte", "previsions"], ["habiliter"]),
        (["accueil_public", "habilitations", "journal", "compte"], ["habiliter", "exporter"]),
    ):
        with pytest.raises(H.RightsError, match="aucune donnée"):
            H.set_profile_rights(con, admin, "gestionnaire_habilitations", pages=pages, actions=actions, conventions=[])
    # nor to anyone who holds 'habiliter' individually
    with pytest.raises(H.RightsError):
        H.set_user_actions(con, gest, "demo.analyste", ["habiliter"])
    # and whatever the store says, a principal holding 'habiliter' has no data scope
    assert _who(con, "demo.habilitations").scope == NO_DATA
    cat = queries.Catalog.open()
    try:
        with pytest.raises(queries.Forbidden):
            queries.scoped_query(cat, _who(con, "demo.habilitations").scope, "clean.events", select="*")
    finally:
        cat.close()


def test_the_technical_administrator_never_habilitates(con):
    admin = _who(con, "demo.admin")
    with pytest.raises(H.RightsError):  # the issue: through the API, admin_technique gave itself 'habiliter'
        H.set_profile_rights(
            con,
            admin,
            "admin_technique",
            pages=["accueil_public", "carte", "habilitations", "compte"],
            actions=["administrer", "habiliter"],
            conventions=["internal"],
        )
    with pytest.raises(H.RightsError, match="habilit"):  # not even on another profile: the two duties never meet
        H.set_profile_rights(
            con,
            admin,
            "analyste",
            pages=["accueil_public", "compte"],
            actions=["administrer", "habiliter"],
            conventions=[],
        )
    with pytest.raises(H.RightsError):
        H.create_user(
            con, admin, login="x.y", display_name="X", email=None, profile="analyste", organisation="ville_dgsec"
        )
    gest = _who(con, "demo.habilitations")
    with pytest.raises(H.RightsError):  # the gestionnaire cannot hand 'habiliter' to the administrator either
        H.set_user_actions(con, gest, "demo.admin", ["habiliter"])
    H.set_user_actions(con, gest, "demo.analyste", ["administrer"])  # an analyst who also configures profiles
    with pytest.raises(H.RightsError):  # cannot become a gestionnaire: the duties would meet in one person
        H.update_user(con, gest, "demo.analyste", profile="gestionnaire_habilitations")
    assert not _who(con, "demo.admin").can("habiliter")


def test_nobody_changes_their_own_rights_or_their_own_profile(con):
    gest = _who(con, "demo.habilitations")
    admin = _who(con, "demo.admin")
    for call in (
        lambda: H.update_user(con, gest, "demo.habilitations", activity_nature="pilotage"),
        lambda: H.update_user(con, gest, "demo.habilitations", email="autre@demo.invalid"),
        lambda: H.set_user_actions(con, gest, "demo.habilitations", []),
        lambda: H.reset_password(con, gest, "demo.habilitations"),
        lambda: H.unlock_user(con, gest, "demo.habilitations"),
        lambda: H.set_profile_rights(
            con, admin, "admin_technique", pages=["accueil_public", "compte"], actions=["administrer"], conventions=[]
        ),
        lambda: H.set_nature(con, admin, "exploitation_technique", "Exploitation", ["interventions"]),
    ):
        with pytest.raises(H.RightsError, match="propre|vous-même"):
            call()
    # a second gestionnaire may change the first one's habilitation: a different person grants
    temp = H.create_user(
        con,
        gest,
        login="second.gestionnaire",
        display_name="Second",
        email=None,
        profile="gestionnaire_habilitations",
        organisation="ville_dga_securite",
        activity_nature="gestion_habilitations",
    )
    assert temp
    with store.transaction(con):
        con.execute("UPDATE users SET must_change_password = 0 WHERE login = 'second.gestionnaire'")
    H.update_user(con, _who(con, "second.gestionnaire"), "demo.habilitations", activity_nature="controle")
    assert _who(con, "demo.habilitations").activity_nature == "controle"


def test_granting_needs_a_person_other_than_the_beneficiary(con):
    validator = _who(con, "demo.prefecture")
    gest = _who(con, "demo.habilitations")
    # the Préfecture validator files a change of its own habilitation: it cannot validate it itself
    rid = H.create_request(
        con, validator, kind="modification", login="demo.prefecture", display_name="Démo", profile="agent_cortege"
    )
    with pytest.raises(H.RightsError):
        H.validate_request(con, validator, rid, True)
    # nor can a gestionnaire habilitate a request about itself (it is no Préfecture person anyway)
    with pytest.raises(ValueError):
        H.create_request(con, gest, kind="modification", login="demo.habilitations", profile="agent_cortege")


def test_prefecture_accounts_only_through_the_validated_list_and_never_beyond_read_only(con, app_home):
    gest = _who(con, "demo.habilitations")
    admin = _who(con, "demo.admin")
    # the issue: the gestionnaire reset a Préfecture agent's password and signed in as the agent
    with pytest.raises(H.RightsError, match="Préfecture"):
        H.reset_password(con, gest, "demo.cortege")
    with pytest.raises(H.RightsError):  # exporter (or any write/admin action) to a Préfecture person
        H.set_user_actions(con, gest, "demo.prefecture", ["valider_liste_prefecture", "exporter"])
    for pages, actions, convs in (
        (["accueil_public", "carte", "compte"], ["exporter"], ["prefecture_police_13"]),
        (["accueil_public", "carte", "previsions", "compte"], [], ["prefecture_police_13"]),
        (["accueil_public", "carte", "journal", "compte"], [], ["prefecture_police_13"]),
        (["accueil_public", "carte", "compte"], [], ["prefecture_police_13", "internal"]),
    ):
        with pytest.raises(H.RightsError, match="Préfecture"):
            H.set_profile_rights(con, admin, "lecteur_prefecture", pages=pages, actions=actions, conventions=convs)
    # within the ceiling, the profile is still administered
    H.set_profile_rights(
        con,
        admin,
        "lecteur_prefecture",
        pages=["accueil_public", "carte", "compte"],
        actions=[],
        conventions=["prefecture_police_13"],
    )
    # the provisional password of a Préfecture person is the Préfecture's to hand over, never the City's
    (pending,) = [r for r in H.requests(con) if r["status"] == "demandee"]
    validator = _who(con, "demo.prefecture")
    H.validate_request(con, validator, pending["id"], True)
    status, temp = H.habilitate_request(con, gest, pending["id"], True)
    assert status == "habilitee" and temp is None
    with pytest.raises(H.RightsError):
        H.prefecture_password(con, gest, "agent.cortege2")
    temp = H.prefecture_password(con, validator, "agent.cortege2")
    with pytest.raises(H.RightsError):  # not for itself, not for the City's people
        H.prefecture_password(con, validator, "demo.prefecture")
    with pytest.raises(H.RightsError):
        H.prefecture_password(con, validator, "demo.analyste")
    at = login(new_app(), "agent.cortege2", temp)
    assert at.session_state["tq_pages"] == ["compte"]  # provisional: to be changed at first sign-in


def test_every_change_of_rights_is_logged_with_who_whom_before_and_after(con):
    gest = _who(con, "demo.habilitations")
    admin = _who(con, "demo.admin")
    H.update_user(con, gest, "demo.analyste", profile="encadrement_pm")
    line = store.access_log(con, login="demo.habilitations", page="habilitations")[0]
    d = json.loads(line["detail"])
    assert line["action"] == "habilitation_modifiee" and d["qui"] == "demo.habilitations"
    assert (
        d["pour"] == "demo.analyste"
        and d["avant"]["profile"] == "analyste"
        and d["apres"]["profile"] == "encadrement_pm"
    )
    H.set_user_actions(con, gest, "demo.analyste", ["exporter"])
    d = json.loads(store.access_log(con, login="demo.habilitations", page="habilitations")[0]["detail"])
    assert d["pour"] == "demo.analyste" and d["avant"]["actions"] == [] and d["apres"]["actions"] == ["exporter"]
    H.set_profile_rights(
        con,
        admin,
        "analyste",
        pages=["accueil_public", "carte", "compte"],
        actions=["exporter"],
        conventions=["internal"],
    )
    d = json.loads(store.access_log(con, login="demo.admin", page="habilitations")[0]["detail"])
    assert d["qui"] == "demo.admin" and d["pour"] == "profil:analyste"
    assert "qualite" in d["avant"]["pages"] and d["apres"]["pages"] == ["accueil_public", "carte", "compte"]
    assert d["apres"]["conventions"] == ["internal"] and "prefecture_police_13" in d["avant"]["conventions"]
    H.reset_password(con, gest, "demo.encadrement")
    d = json.loads(store.access_log(con, login="demo.habilitations", page="habilitations")[0]["detail"])
    assert d["pour"] == "demo.encadrement" and d["apres"] == {"mot_de_passe": "provisoire"}
    assert "Demo-" not in json.dumps(d)  # never a password in the log
    # the refusals are logged too
    with pytest.raises(H.RightsError):
        H.set_user_actions(con, gest, "demo.habilitations", ["administrer"])
    line = store.access_log(con, login="demo.habilitations", page="habilitations")[0]
    assert line["action"] == "modification_refusee" and "administrer" in line["detail"]


def test_weak_or_reused_passwords_do_not_reach_the_provisional_path(con):
    """A gestionnaire choosing a password for someone else would know it: accounts get a random provisional one."""
    gest = _who(con, "demo.habilitations")
    temp = H.create_user(
        con,
        gest,
        login="jean.dupont",
        display_name="Jean Dupont",
        email=None,
        profile="analyste",
        organisation="ville_dgsec",
        activity_nature="analyse",
    )
    assert temp and not auth.password_problems(temp)
