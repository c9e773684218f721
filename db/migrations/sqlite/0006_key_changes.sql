-- SQLite's change signal for the key cache, its counterpart of the NOTIFY
-- triggers on Postgres (0002_tenancy.sql). Every gateway keeps the keys in
-- memory and must hear, within a second, of a change made by any process on
-- this file: another gateway, or the CLI revoking a key.
--
-- Each gateway watches PRAGMA data_version on a connection of its own; it
-- changes whenever another connection commits, which on a busy gateway is
-- every trace batch. This one-row counter tells those commits apart from
-- the ones auth depends on: triggers bump it on every change to orgs,
-- workspaces and keys, in the changing transaction, so a watcher reads one
-- row only after data_version moved and reloads only when the counter did.
-- Updates that only record last_used_at do not count, as on Postgres: they
-- change nothing auth depends on and arrive constantly.
CREATE TABLE key_changes (
    id      INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
) STRICT;

INSERT INTO key_changes (id, version) VALUES (1, 0);

CREATE TRIGGER orgs_insert_changes AFTER INSERT ON orgs
BEGIN UPDATE key_changes SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER orgs_update_changes AFTER UPDATE ON orgs
BEGIN UPDATE key_changes SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER orgs_delete_changes AFTER DELETE ON orgs
BEGIN UPDATE key_changes SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER workspaces_insert_changes AFTER INSERT ON workspaces
BEGIN UPDATE key_changes SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER workspaces_update_changes AFTER UPDATE ON workspaces
BEGIN UPDATE key_changes SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER workspaces_delete_changes AFTER DELETE ON workspaces
BEGIN UPDATE key_changes SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER gateway_keys_insert_changes AFTER INSERT ON gateway_keys
BEGIN UPDATE key_changes SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER gateway_keys_update_changes AFTER UPDATE OF
    id, org_id, workspace_id, name, role, permissions, token_hash,
    token_last4, status, static, expires_at, previous_token_hash,
    previous_expires_at, rotated_at, revoked_at
ON gateway_keys
BEGIN UPDATE key_changes SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER gateway_keys_delete_changes AFTER DELETE ON gateway_keys
BEGIN UPDATE key_changes SET version = version + 1 WHERE id = 1; END;
