-- Workspace ids are unique per organization, not across the installation:
-- two organizations may each have a workspace "prod", and creating one never
-- tells an organization that another already uses the id (a global key let
-- anyone enumerate and squat other tenants' ids).
--
-- Everything else already names a workspace together with its org: traces,
-- rollups and audit events carry (org_id, workspace_id), and so do gateway
-- keys, whose foreign key now references the pair.
ALTER TABLE gateway_keys DROP CONSTRAINT gateway_keys_workspace_id_fkey;
ALTER TABLE workspaces DROP CONSTRAINT workspaces_pkey;
-- org_id leads, so one org's workspaces are a range of this key, and the
-- separate index on org_id is no longer needed.
ALTER TABLE workspaces ADD CONSTRAINT workspaces_pkey PRIMARY KEY (org_id, id);
DROP INDEX workspaces_org_idx;

-- A key's org and workspace were checked apart before (the workspace only by
-- id), so a key could name an org its workspace did not belong to. Give
-- each such pair its workspace rather than refuse the upgrade: the key then
-- lives on in exactly the org and workspace it already authenticated as.
INSERT INTO workspaces (id, org_id, name, created_at)
SELECT k.workspace_id, k.org_id, k.workspace_id, min(k.created_at)
FROM gateway_keys k
WHERE NOT EXISTS (
    SELECT 1 FROM workspaces w WHERE w.org_id = k.org_id AND w.id = k.workspace_id
)
GROUP BY k.org_id, k.workspace_id;

-- CASCADE as before: a workspace is deleted only once none of its keys can
-- authenticate, and the dead keys go with it.
ALTER TABLE gateway_keys ADD CONSTRAINT gateway_keys_workspace_fkey
    FOREIGN KEY (org_id, workspace_id) REFERENCES workspaces (org_id, id) ON DELETE CASCADE;
