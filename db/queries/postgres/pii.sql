-- name: InsertPIISalt :exec
-- First start wins: a concurrent start that lost the race reads the
-- winner's salt afterwards.
INSERT INTO pii_salt (id, salt) VALUES (1, $1) ON CONFLICT (id) DO NOTHING;

-- name: GetPIISalt :one
SELECT salt FROM pii_salt WHERE id = 1;
