package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/internal/tenancyconv"
	"github.com/ongoingai/gateway/internal/store/internal/traceconv"
	"github.com/ongoingai/gateway/internal/store/postgres/pgdb"
)

var _ store.Tenancy = (*Store)(nil)

// keysChannel is the NOTIFY channel the migration's triggers signal on
// whenever an org, workspace or key changes (see 0002_tenancy.sql).
const keysChannel = "ongoingai_keys"

// foreignKeyViolation is SQLSTATE 23503: a row names an org or workspace
// that does not exist.
const foreignKeyViolation = "23503"

func isForeignKeyViolation(err error) bool { return hasCode(err, foreignKeyViolation) }

// violation names the constraint err violated, for tenancyconv.
func violation(err error) tenancyconv.Violation {
	switch {
	case isUniqueViolation(err):
		return tenancyconv.Unique
	case isForeignKeyViolation(err):
		return tenancyconv.ForeignKey
	}
	return tenancyconv.NoViolation
}

// notFound turns pgx's "no rows" into store.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// ListOrgs returns every org, oldest first.
func (s *Store) ListOrgs(ctx context.Context) ([]store.Org, error) {
	rows, err := pgdb.New(s.pool).ListOrgs(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: list orgs: %w", err)
	}
	orgs := make([]store.Org, len(rows))
	for i, r := range rows {
		orgs[i] = orgFromRow(r)
	}
	return orgs, nil
}

// GetOrg returns org id, or store.ErrNotFound.
func (s *Store) GetOrg(ctx context.Context, id string) (store.Org, error) {
	row, err := pgdb.New(s.pool).GetOrg(ctx, id)
	if err != nil {
		return store.Org{}, fmt.Errorf("postgres: get org %q: %w", id, notFound(err))
	}
	return orgFromRow(row), nil
}

// CreateOrg stores o; store.ErrConflict when its id is taken.
func (s *Store) CreateOrg(ctx context.Context, o store.Org) error {
	n, err := pgdb.New(s.pool).CreateOrg(ctx, pgdb.CreateOrgParams{ID: o.ID, Name: o.Name, CreatedAt: o.CreatedAt})
	if err != nil {
		return fmt.Errorf("postgres: create org %q: %w", o.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("postgres: create org %q: %w", o.ID, store.ErrConflict)
	}
	return nil
}

// RenameOrg renames org id; store.ErrNotFound when there is none.
func (s *Store) RenameOrg(ctx context.Context, id, name string) error {
	n, err := pgdb.New(s.pool).RenameOrg(ctx, pgdb.RenameOrgParams{ID: id, Name: name})
	if err == nil && n == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("postgres: rename org %q: %w", id, err)
	}
	return nil
}

// DeleteOrg deletes an org without workspaces: store.ErrNotFound when there
// is none, store.ErrConflict while it has workspaces.
func (s *Store) DeleteOrg(ctx context.Context, id string) error {
	n, err := pgdb.New(s.pool).DeleteOrg(ctx, id)
	if err != nil || n == 0 {
		err = tenancyconv.Conditional(err, err == nil, violation(err), func() error {
			_, err := s.GetOrg(ctx, id)
			return err
		})
		return fmt.Errorf("postgres: delete org %q: %w", id, err)
	}
	return nil
}

// ListWorkspaces returns the org's workspaces, oldest first.
func (s *Store) ListWorkspaces(ctx context.Context, orgID string) ([]store.Workspace, error) {
	rows, err := pgdb.New(s.pool).ListWorkspaces(ctx, orgID)
	if err != nil {
		return nil, fmt.Errorf("postgres: list workspaces: %w", err)
	}
	out := make([]store.Workspace, len(rows))
	for i, r := range rows {
		out[i] = workspaceFromRow(r)
	}
	return out, nil
}

// GetWorkspace returns workspace id of org orgID, or store.ErrNotFound.
func (s *Store) GetWorkspace(ctx context.Context, orgID, id string) (store.Workspace, error) {
	row, err := pgdb.New(s.pool).GetWorkspace(ctx, pgdb.GetWorkspaceParams{OrgID: orgID, ID: id})
	if err != nil {
		return store.Workspace{}, fmt.Errorf("postgres: get workspace %q/%q: %w", orgID, id, notFound(err))
	}
	return workspaceFromRow(row), nil
}

// CreateWorkspace stores w: store.ErrConflict when its org has the id,
// store.ErrNotFound when its org does not exist.
func (s *Store) CreateWorkspace(ctx context.Context, w store.Workspace) error {
	n, err := pgdb.New(s.pool).CreateWorkspace(ctx, pgdb.CreateWorkspaceParams{
		ID: w.ID, OrgID: w.OrgID, Name: w.Name, CreatedAt: w.CreatedAt,
	})
	if err := tenancyconv.CreateWorkspace(w, n, err, violation(err)); err != nil {
		return fmt.Errorf("postgres: create workspace %q: %w", w.ID, err)
	}
	return nil
}

// RenameWorkspace renames workspace id of org orgID; store.ErrNotFound when
// there is none.
func (s *Store) RenameWorkspace(ctx context.Context, orgID, id, name string) error {
	n, err := pgdb.New(s.pool).RenameWorkspace(ctx, pgdb.RenameWorkspaceParams{OrgID: orgID, ID: id, Name: name})
	if err == nil && n == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("postgres: rename workspace %q/%q: %w", orgID, id, err)
	}
	return nil
}

// DeleteWorkspace deletes a workspace and its dead (revoked or expired)
// keys: store.ErrNotFound when there is none, store.ErrConflict while any of
// its keys can still authenticate.
func (s *Store) DeleteWorkspace(ctx context.Context, orgID, id string) error {
	var n int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Lock the workspace row first: a key being created in it then
		// waits (its foreign key check needs the row), and the delete, a
		// later statement, sees every key committed before it.
		if _, err := tx.Exec(ctx, "SELECT 1 FROM workspaces WHERE org_id = $1 AND id = $2 FOR UPDATE", orgID, id); err != nil {
			return err
		}
		var err error
		n, err = pgdb.New(tx).DeleteWorkspace(ctx, pgdb.DeleteWorkspaceParams{OrgID: orgID, ID: id})
		return err
	})
	if err != nil || n == 0 {
		err = tenancyconv.Conditional(err, err == nil, violation(err), func() error {
			_, err := s.GetWorkspace(ctx, orgID, id)
			return err
		})
		return fmt.Errorf("postgres: delete workspace %q/%q: %w", orgID, id, err)
	}
	return nil
}

// ListKeys lists the keys in tenant t, newest first.
func (s *Store) ListKeys(ctx context.Context, t store.Tenant) ([]store.GatewayKey, error) {
	rows, err := pgdb.New(s.pool).ListKeys(ctx, pgdb.ListKeysParams{
		OrgID: traceconv.OptString(t.OrgID), WorkspaceID: traceconv.OptString(t.WorkspaceID),
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list keys: %w", err)
	}
	return tenancyconv.Rows(rows, keyFromRow)
}

// GetKey returns key id, or store.ErrNotFound.
func (s *Store) GetKey(ctx context.Context, id string) (store.GatewayKey, error) {
	row, err := pgdb.New(s.pool).GetKey(ctx, id)
	if err != nil {
		return store.GatewayKey{}, fmt.Errorf("postgres: get key %q: %w", id, notFound(err))
	}
	return keyFromRow(row)
}

// AllKeys returns every active or rotating key.
func (s *Store) AllKeys(ctx context.Context) ([]store.GatewayKey, error) {
	rows, err := pgdb.New(s.pool).AllKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: all keys: %w", err)
	}
	return tenancyconv.Rows(rows, keyFromRow)
}

// CreateKey stores k: store.ErrConflict when its id or token hash is taken
// (as any key's current or previous token), store.ErrNotFound when its org
// or workspace does not exist.
func (s *Store) CreateKey(ctx context.Context, k store.GatewayKey) error {
	perms, err := traceconv.EncodePermissions(k.Permissions)
	if err != nil {
		return fmt.Errorf("postgres: create key %q: %w", k.ID, err)
	}
	n, err := pgdb.New(s.pool).CreateKey(ctx, pgdb.CreateKeyParams{
		ID:                k.ID,
		OrgID:             k.OrgID,
		WorkspaceID:       k.WorkspaceID,
		Name:              k.Name,
		Role:              k.Role,
		Permissions:       perms,
		TokenHash:         k.TokenHash,
		TokenLast4:        k.TokenLast4,
		Status:            string(k.Status),
		Static:            k.Static,
		ExpiresAt:         k.ExpiresAt,
		PreviousTokenHash: traceconv.OptString(k.PreviousTokenHash),
		PreviousExpiresAt: k.PreviousExpiresAt,
		CreatedBy:         k.CreatedBy,
		CreatedAt:         k.CreatedAt,
		RotatedAt:         k.RotatedAt,
		RevokedAt:         k.RevokedAt,
		LastUsedAt:        k.LastUsedAt,
	})
	if err := tenancyconv.CreateKey(k, n, err, violation(err)); err != nil {
		return fmt.Errorf("postgres: create key %q: %w", k.ID, err)
	}
	return nil
}

// RotateKey gives key id a new token; the old one works until graceUntil.
func (s *Store) RotateKey(ctx context.Context, id, newHash, newLast4 string, graceUntil, now time.Time) (store.GatewayKey, error) {
	row, err := pgdb.New(s.pool).RotateKey(ctx, pgdb.RotateKeyParams{
		ID: id, NewHash: newHash, NewLast4: newLast4, GraceUntil: graceUntil, Now: now,
	})
	if err != nil {
		return store.GatewayKey{}, fmt.Errorf("postgres: rotate key %q: %w", id, s.keyUpdateErr(ctx, id, err))
	}
	return keyFromRow(row)
}

// RevokeKey revokes key id at once.
func (s *Store) RevokeKey(ctx context.Context, id string, now time.Time) (store.GatewayKey, error) {
	row, err := pgdb.New(s.pool).RevokeKey(ctx, pgdb.RevokeKeyParams{ID: id, Now: now})
	if err != nil {
		return store.GatewayKey{}, fmt.Errorf("postgres: revoke key %q: %w", id, s.keyUpdateErr(ctx, id, err))
	}
	return keyFromRow(row)
}

// keyUpdateErr maps the error of a conditional update of key id.
func (s *Store) keyUpdateErr(ctx context.Context, id string, err error) error {
	return tenancyconv.Conditional(err, errors.Is(err, pgx.ErrNoRows), violation(err), func() error {
		_, err := s.GetKey(ctx, id)
		return err
	})
}

// ExpireKeys marks keys past ExpiresAt expired and ends grace periods that
// are over, in one transaction; it returns how many keys changed. Expiry
// runs first and clears the previous token too, so a key that qualifies
// for both counts once.
func (s *Store) ExpireKeys(ctx context.Context, now time.Time) (int, error) {
	var changed int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := pgdb.New(tx)
		expired, err := q.ExpireKeys(ctx, now)
		if err != nil {
			return err
		}
		ended, err := q.EndGracePeriods(ctx, now)
		changed = expired + ended
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: expire keys: %w", err)
	}
	return int(changed), nil
}

// TouchKeys records last-used times in one statement. Unknown ids are
// ignored: the key may have been deleted with its workspace since.
func (s *Store) TouchKeys(ctx context.Context, lastUsed map[string]time.Time) error {
	if len(lastUsed) == 0 {
		return nil
	}
	arg := pgdb.TouchKeysParams{
		Ids:   make([]string, 0, len(lastUsed)),
		Times: make([]time.Time, 0, len(lastUsed)),
	}
	for id, t := range lastUsed {
		arg.Ids = append(arg.Ids, id)
		arg.Times = append(arg.Times, t)
	}
	if err := pgdb.New(s.pool).TouchKeys(ctx, arg); err != nil {
		return fmt.Errorf("postgres: touch keys: %w", err)
	}
	return nil
}

// SyncStaticKeys makes the static keys exactly keys, in one transaction.
func (s *Store) SyncStaticKeys(ctx context.Context, keys []store.GatewayKey) error {
	now := time.Now().UTC()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := pgdb.New(tx)
		keep := make([]string, 0, len(keys))
		for _, k := range keys {
			if err := q.EnsureOrg(ctx, pgdb.EnsureOrgParams{ID: k.OrgID, CreatedAt: now}); err != nil {
				return err
			}
			if err := q.EnsureWorkspace(ctx, pgdb.EnsureWorkspaceParams{ID: k.WorkspaceID, OrgID: k.OrgID, CreatedAt: now}); err != nil {
				return err
			}
			perms, err := traceconv.EncodePermissions(k.Permissions)
			if err != nil {
				return err
			}
			n, err := q.UpsertStaticKey(ctx, pgdb.UpsertStaticKeyParams{
				ID:          k.ID,
				OrgID:       k.OrgID,
				WorkspaceID: k.WorkspaceID,
				Name:        k.Name,
				Role:        k.Role,
				Permissions: perms,
				TokenHash:   k.TokenHash,
				TokenLast4:  k.TokenLast4,
				ExpiresAt:   k.ExpiresAt,
				CreatedBy:   k.CreatedBy,
				CreatedAt:   k.CreatedAt,
			})
			if err := tenancyconv.UpsertStaticKey(k, n, err, violation(err)); err != nil {
				return err
			}
			keep = append(keep, k.ID)
		}
		_, err := q.RevokeStaticKeysExcept(ctx, pgdb.RevokeStaticKeysExceptParams{Now: now, Keep: keep})
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: sync static keys: %w", err)
	}
	return nil
}

// WatchKeys listens on the keys channel on one pooled connection, held for
// as long as ctx lives, and calls onChange for each notification. When the
// connection breaks it reconnects, and calls onChange once more, because
// notifications sent while nobody listened are lost. It returns nil when ctx
// ends.
func (s *Store) WatchKeys(ctx context.Context, onChange func()) error {
	const retryDelay = time.Second
	first := true
	for ctx.Err() == nil {
		err := s.listen(ctx, onChange, !first)
		first = false
		if ctx.Err() != nil {
			break
		}
		_ = err // the next attempt either recovers or fails the same way
		select {
		case <-ctx.Done():
		case <-time.After(retryDelay):
		}
	}
	return nil
}

// listen runs one LISTEN session until it fails or ctx ends. resync calls
// onChange as soon as the session listens, to cover what an earlier,
// broken session may have missed.
func (s *Store) listen(ctx context.Context, onChange func(), resync bool) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// The session is left LISTENing, so it must not return to the pool for
	// someone else's queries: close it instead of releasing it as is.
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = conn.Conn().Close(closeCtx)
		conn.Release()
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+keysChannel); err != nil {
		return err
	}
	if resync {
		onChange()
	}
	for {
		if _, err := conn.Conn().WaitForNotification(ctx); err != nil {
			return err
		}
		onChange()
	}
}

func orgFromRow(r pgdb.Org) store.Org {
	return store.Org{ID: r.ID, Name: r.Name, CreatedAt: r.CreatedAt.UTC()}
}

func workspaceFromRow(r pgdb.Workspace) store.Workspace {
	return store.Workspace{ID: r.ID, OrgID: r.OrgID, Name: r.Name, CreatedAt: r.CreatedAt.UTC()}
}

func keyFromRow(r pgdb.GatewayKey) (store.GatewayKey, error) {
	perms, err := traceconv.DecodePermissions(r.Permissions)
	if err != nil {
		return store.GatewayKey{}, fmt.Errorf("key %q: %w", r.ID, err)
	}
	k := store.GatewayKey{
		ID:                r.ID,
		OrgID:             r.OrgID,
		WorkspaceID:       r.WorkspaceID,
		Name:              r.Name,
		Role:              r.Role,
		Permissions:       perms,
		TokenHash:         r.TokenHash,
		TokenLast4:        r.TokenLast4,
		Status:            store.KeyStatus(r.Status),
		Static:            r.Static,
		ExpiresAt:         utcPtr(r.ExpiresAt),
		PreviousExpiresAt: utcPtr(r.PreviousExpiresAt),
		CreatedBy:         r.CreatedBy,
		CreatedAt:         r.CreatedAt.UTC(),
		RotatedAt:         utcPtr(r.RotatedAt),
		RevokedAt:         utcPtr(r.RevokedAt),
		LastUsedAt:        utcPtr(r.LastUsedAt),
	}
	if r.PreviousTokenHash != nil {
		k.PreviousTokenHash = *r.PreviousTokenHash
	}
	return k, nil
}

// utcPtr copies t in UTC: pgx hands times back in the local zone.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
