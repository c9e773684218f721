-- Tenancy: orgs own workspaces, workspaces own gateway keys, and the audit
-- log records auth decisions and mutations. These tables are small and
-- written rarely (except gateway_keys.last_used_at, flushed in batches), so
-- they favour plain constraints over the write-cost care taken for traces.
--
-- Ids compare byte-wise (COLLATE "C"), like traces, so orderings agree with
-- SQLite.
CREATE TABLE orgs (
    id         text COLLATE "C" PRIMARY KEY,
    name       text        NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE workspaces (
    id         text COLLATE "C" PRIMARY KEY,
    -- RESTRICT: an org with workspaces cannot be deleted; the store reports
    -- that as a conflict before the database has to.
    org_id     text COLLATE "C" NOT NULL REFERENCES orgs (id) ON DELETE RESTRICT,
    name       text        NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE INDEX workspaces_org_idx ON workspaces (org_id);

CREATE TABLE gateway_keys (
    id                  text COLLATE "C" PRIMARY KEY,
    org_id              text COLLATE "C" NOT NULL REFERENCES orgs (id),
    -- CASCADE: a workspace can only be deleted once none of its keys can
    -- authenticate (the store checks), and the revoked or expired rows left
    -- would otherwise pin it forever.
    workspace_id        text COLLATE "C" NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name                text        NOT NULL,
    role                text        NOT NULL,
    -- A JSON array of strings: extra permissions on top of the role's.
    permissions         text        NOT NULL,
    -- SHA-256 hex of the token; never the token itself.
    token_hash          text        NOT NULL UNIQUE,
    token_last4         text        NOT NULL,
    status              text        NOT NULL CHECK (status IN ('active', 'rotating', 'revoked', 'expired')),
    static              boolean     NOT NULL,
    expires_at          timestamptz,
    -- The token replaced by the last rotation, valid until
    -- previous_expires_at. Unique too: a hash must name one key whether it
    -- is current or previous (the store also checks across the two columns).
    previous_token_hash text UNIQUE,
    previous_expires_at timestamptz,
    created_by          text        NOT NULL,
    created_at          timestamptz NOT NULL,
    rotated_at          timestamptz,
    revoked_at          timestamptz,
    last_used_at        timestamptz
);

-- ListKeys for one org or workspace, newest first.
CREATE INDEX gateway_keys_tenant_idx ON gateway_keys (org_id, workspace_id, created_at);

-- Every replica keeps the keys in memory and reloads them when told. A
-- trigger, rather than the store's code, sends the signal so that every
-- writer (a replica, the CLI, a manual fix in psql) is heard. It fires once
-- per statement, and Postgres folds identical notifications within one
-- transaction into one, so a bulk change costs a single reload. Updates that
-- only record last_used_at do not fire: they change nothing auth depends on
-- and arrive constantly.
CREATE FUNCTION ongoingai_notify_keys() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ongoingai_keys', TG_TABLE_NAME);
    RETURN NULL;
END;
$$;

CREATE TRIGGER orgs_notify
    AFTER INSERT OR UPDATE OR DELETE ON orgs
    FOR EACH STATEMENT EXECUTE FUNCTION ongoingai_notify_keys();

CREATE TRIGGER workspaces_notify
    AFTER INSERT OR UPDATE OR DELETE ON workspaces
    FOR EACH STATEMENT EXECUTE FUNCTION ongoingai_notify_keys();

CREATE TRIGGER gateway_keys_notify
    AFTER INSERT OR DELETE OR UPDATE OF
        id, org_id, workspace_id, name, role, permissions, token_hash,
        token_last4, status, static, expires_at, previous_token_hash,
        previous_expires_at, rotated_at, revoked_at
    ON gateway_keys
    FOR EACH STATEMENT EXECUTE FUNCTION ongoingai_notify_keys();

-- Append-only log of auth decisions and mutations. Absent strings are ''.
CREATE TABLE audit_events (
    time         timestamptz NOT NULL,
    id           text COLLATE "C" PRIMARY KEY,
    org_id       text COLLATE "C" NOT NULL,
    workspace_id text COLLATE "C" NOT NULL,
    actor_key_id text        NOT NULL,
    action       text        NOT NULL,
    target       text        NOT NULL,
    outcome      text        NOT NULL,
    reason       text        NOT NULL,
    client_ip    text        NOT NULL,
    request_id   text        NOT NULL
);

-- ListAudit: one tenant's events newest first, keyset-paged by (time, id).
CREATE INDEX audit_events_tenant_time_idx ON audit_events (org_id, workspace_id, time, id);
-- ListAudit across tenants (auth off, or an operator's view).
CREATE INDEX audit_events_time_idx ON audit_events (time, id);
