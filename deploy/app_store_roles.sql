-- Le magasin de l'application sur PostgreSQL: sa base et ses deux rôles (docs/deploiement.md, 2 bis).
--   sudo -u postgres psql -v ON_ERROR_STOP=1 -v app_pw='<mot de passe>' -v owner_pw='<mot de passe>' -f deploy/app_store_roles.sql
-- (psql quotes each password as a literal, `:'var'`: any character is safe in it)
-- Le propriétaire crée le schéma (migrations Alembic, au premier démarrage ou `tranquillite magasin
-- migrer`) et donne ses droits au rôle de l'application (`tranquillite magasin droits --role
-- tranquillite_app`, refait après chaque migration): INSERT et SELECT seulement sur le journal d'accès
-- et les autres registres en ajout seul (tranquillite/app_core/store.py, APPEND_ONLY_TABLES).
CREATE ROLE tranquillite_owner LOGIN PASSWORD :'owner_pw';
CREATE ROLE tranquillite_app LOGIN PASSWORD :'app_pw';
CREATE DATABASE tranquillite OWNER tranquillite_owner ENCODING 'UTF8' TEMPLATE template0;
\connect tranquillite
-- nothing for PUBLIC in the schema the owner fills (PostgreSQL 15+ already refuses CREATE to PUBLIC)
REVOKE ALL ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO tranquillite_owner;
GRANT USAGE ON SCHEMA public TO tranquillite_app;
