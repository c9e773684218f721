-- name: InsertPIISalt :exec
-- First start wins: a concurrent start that lost the race reads the
-- winner's salt afterwards.
INSERT OR IGNORE INTO pii_salt (id, salt) VALUES (1, ?);

-- name: GetPIISalt :one
SELECT salt FROM pii_salt WHERE id = 1;
