-- name: CreateConsoleSession :exec
INSERT INTO console_sessions (id_hash, key_id, created_at, last_seen_at, expires_at)
VALUES ($1, $2, $3, $4, $5);

-- name: GetConsoleSession :one
SELECT id_hash, key_id, created_at, last_seen_at, expires_at
FROM console_sessions WHERE id_hash = $1;

-- name: TouchConsoleSession :exec
-- Never moves last_seen_at backwards: replicas touch in any order.
UPDATE console_sessions SET last_seen_at = $2 WHERE id_hash = $1 AND last_seen_at < $2;

-- name: DeleteConsoleSession :exec
DELETE FROM console_sessions WHERE id_hash = $1;

-- name: DeleteEndedConsoleSessions :execrows
-- Sessions past their absolute end, or idle since before idle_before.
DELETE FROM console_sessions WHERE expires_at <= $1 OR last_seen_at < $2;
