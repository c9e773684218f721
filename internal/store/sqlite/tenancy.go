package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/internal/tenancyconv"
	"github.com/ongoingai/gateway/internal/store/internal/traceconv"
	"github.com/ongoingai/gateway/internal/store/sqlite/litedb"
)

var _ store.Tenancy = (*Store)(nil)

// sqliteError is what modernc.org/sqlite's errors offer: the extended
// result code, which tells a unique violation from a foreign key one.
type sqliteError interface{ Code() int }

func hasCode(err error, code int) bool {
	var e sqliteError
	return errors.As(err, &e) && e.Code() == code
}

func isUniqueViolation(err error) bool {
	return hasCode(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE) || hasCode(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

func isForeignKeyViolation(err error) bool {
	return hasCode(err, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY)
}

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

// notFound turns "no rows" into store.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// inTx runs fn in one write transaction on the writer connection.
func (s *Store) inTx(ctx context.Context, fn func(q *litedb.Queries) error) error {
	return s.InTx(ctx, func(tx *sql.Tx) error { return fn(litedb.New(tx)) })
}

// ListOrgs returns every org, oldest first.
func (s *Store) ListOrgs(ctx context.Context) ([]store.Org, error) {
	rows, err := litedb.New(s.reader).ListOrgs(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list orgs: %w", err)
	}
	orgs := make([]store.Org, len(rows))
	for i, r := range rows {
		orgs[i] = store.Org{ID: r.ID, Name: r.Name, CreatedAt: fromMicros(r.CreatedAt)}
	}
	return orgs, nil
}

// GetOrg returns org id, or store.ErrNotFound.
func (s *Store) GetOrg(ctx context.Context, id string) (store.Org, error) {
	r, err := litedb.New(s.reader).GetOrg(ctx, id)
	if err != nil {
		return store.Org{}, fmt.Errorf("sqlite: get org %q: %w", id, notFound(err))
	}
	return store.Org{ID: r.ID, Name: r.Name, CreatedAt: fromMicros(r.CreatedAt)}, nil
}

// CreateOrg stores o; store.ErrConflict when its id is taken.
func (s *Store) CreateOrg(ctx context.Context, o store.Org) error {
	n, err := litedb.New(s.writer).CreateOrg(ctx, litedb.CreateOrgParams{ID: o.ID, Name: o.Name, CreatedAt: micros(o.CreatedAt)})
	if err == nil && n == 0 {
		err = store.ErrConflict
	}
	if err != nil {
		return fmt.Errorf("sqlite: create org %q: %w", o.ID, err)
	}
	return nil
}

// RenameOrg renames org id; store.ErrNotFound when there is none.
func (s *Store) RenameOrg(ctx context.Context, id, name string) error {
	n, err := litedb.New(s.writer).RenameOrg(ctx, litedb.RenameOrgParams{ID: id, Name: name})
	if err == nil && n == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("sqlite: rename org %q: %w", id, err)
	}
	return nil
}

// DeleteOrg deletes an org without workspaces: store.ErrNotFound when there
// is none, store.ErrConflict while it has workspaces.
func (s *Store) DeleteOrg(ctx context.Context, id string) error {
	n, err := litedb.New(s.writer).DeleteOrg(ctx, id)
	if err != nil || n == 0 {
		err = tenancyconv.Conditional(err, err == nil, violation(err), func() error {
			_, err := s.GetOrg(ctx, id)
			return err
		})
		return fmt.Errorf("sqlite: delete org %q: %w", id, err)
	}
	return nil
}

// ListWorkspaces returns the org's workspaces, oldest first.
func (s *Store) ListWorkspaces(ctx context.Context, orgID string) ([]store.Workspace, error) {
	rows, err := litedb.New(s.reader).ListWorkspaces(ctx, orgID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list workspaces: %w", err)
	}
	out := make([]store.Workspace, len(rows))
	for i, r := range rows {
		out[i] = workspaceFromRow(r)
	}
	return out, nil
}

// GetWorkspace returns workspace id of org orgID, or store.ErrNotFound.
func (s *Store) GetWorkspace(ctx context.Context, orgID, id string) (store.Workspace, error) {
	r, err := litedb.New(s.reader).GetWorkspace(ctx, litedb.GetWorkspaceParams{OrgID: orgID, ID: id})
	if err != nil {
		return store.Workspace{}, fmt.Errorf("sqlite: get workspace %q/%q: %w", orgID, id, notFound(err))
	}
	return workspaceFromRow(r), nil
}

// CreateWorkspace stores w: store.ErrConflict when its org has the id,
// store.ErrNotFound when its org does not exist.
func (s *Store) CreateWorkspace(ctx context.Context, w store.Workspace) error {
	n, err := litedb.New(s.writer).CreateWorkspace(ctx, litedb.CreateWorkspaceParams{
		ID: w.ID, OrgID: w.OrgID, Name: w.Name, CreatedAt: micros(w.CreatedAt),
	})
	if err := tenancyconv.CreateWorkspace(w, n, err, violation(err)); err != nil {
		return fmt.Errorf("sqlite: create workspace %q: %w", w.ID, err)
	}
	return nil
}

// RenameWorkspace renames workspace id of org orgID; store.ErrNotFound when
// there is none.
func (s *Store) RenameWorkspace(ctx context.Context, orgID, id, name string) error {
	n, err := litedb.New(s.writer).RenameWorkspace(ctx, litedb.RenameWorkspaceParams{OrgID: orgID, ID: id, Name: name})
	if err == nil && n == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("sqlite: rename workspace %q/%q: %w", orgID, id, err)
	}
	return nil
}

// DeleteWorkspace deletes a workspace and its dead (revoked or expired)
// keys: store.ErrNotFound when there is none, store.ErrConflict while any of
// its keys can still authenticate. One statement: SQLite runs it under its
// write lock, so no key can appear between the check and the delete.
func (s *Store) DeleteWorkspace(ctx context.Context, orgID, id string) error {
	n, err := litedb.New(s.writer).DeleteWorkspace(ctx, litedb.DeleteWorkspaceParams{OrgID: orgID, ID: id})
	if err != nil || n == 0 {
		err = tenancyconv.Conditional(err, err == nil, violation(err), func() error {
			_, err := s.GetWorkspace(ctx, orgID, id)
			return err
		})
		return fmt.Errorf("sqlite: delete workspace %q/%q: %w", orgID, id, err)
	}
	return nil
}

// ListKeys lists the keys in tenant t, newest first.
func (s *Store) ListKeys(ctx context.Context, t store.Tenant) ([]store.GatewayKey, error) {
	rows, err := litedb.New(s.reader).ListKeys(ctx, litedb.ListKeysParams{
		OrgID: traceconv.OptString(t.OrgID), WorkspaceID: traceconv.OptString(t.WorkspaceID),
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: list keys: %w", err)
	}
	return tenancyconv.Rows(rows, keyFromRow)
}

// GetKey returns key id, or store.ErrNotFound.
func (s *Store) GetKey(ctx context.Context, id string) (store.GatewayKey, error) {
	row, err := litedb.New(s.reader).GetKey(ctx, id)
	if err != nil {
		return store.GatewayKey{}, fmt.Errorf("sqlite: get key %q: %w", id, notFound(err))
	}
	return keyFromRow(row)
}

// AllKeys returns every active or rotating key.
func (s *Store) AllKeys(ctx context.Context) ([]store.GatewayKey, error) {
	rows, err := litedb.New(s.reader).AllKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlite: all keys: %w", err)
	}
	return tenancyconv.Rows(rows, keyFromRow)
}

// CreateKey stores k: store.ErrConflict when its id or token hash is taken
// (as any key's current or previous token), store.ErrNotFound when its org
// or workspace does not exist.
func (s *Store) CreateKey(ctx context.Context, k store.GatewayKey) error {
	perms, err := traceconv.EncodePermissions(k.Permissions)
	if err != nil {
		return fmt.Errorf("sqlite: create key %q: %w", k.ID, err)
	}
	n, err := litedb.New(s.writer).CreateKey(ctx, litedb.CreateKeyParams{
		ID:                k.ID,
		OrgID:             k.OrgID,
		WorkspaceID:       k.WorkspaceID,
		Name:              k.Name,
		Role:              k.Role,
		Permissions:       perms,
		TokenHash:         k.TokenHash,
		TokenLast4:        k.TokenLast4,
		Status:            string(k.Status),
		Static:            boolInt(k.Static),
		ExpiresAt:         microsPtr(k.ExpiresAt),
		PreviousTokenHash: traceconv.OptString(k.PreviousTokenHash),
		PreviousExpiresAt: microsPtr(k.PreviousExpiresAt),
		CreatedBy:         k.CreatedBy,
		CreatedAt:         micros(k.CreatedAt),
		RotatedAt:         microsPtr(k.RotatedAt),
		RevokedAt:         microsPtr(k.RevokedAt),
		LastUsedAt:        microsPtr(k.LastUsedAt),
	})
	if err := tenancyconv.CreateKey(k, n, err, violation(err)); err != nil {
		return fmt.Errorf("sqlite: create key %q: %w", k.ID, err)
	}
	return nil
}

// RotateKey gives key id a new token; the old one works until graceUntil.
func (s *Store) RotateKey(ctx context.Context, id, newHash, newLast4 string, graceUntil, now time.Time) (store.GatewayKey, error) {
	g, n := micros(graceUntil), micros(now)
	row, err := litedb.New(s.writer).RotateKey(ctx, litedb.RotateKeyParams{
		ID: id, NewHash: newHash, NewLast4: newLast4, GraceUntil: &g, Now: &n,
	})
	if err != nil {
		return store.GatewayKey{}, fmt.Errorf("sqlite: rotate key %q: %w", id, s.keyUpdateErr(ctx, id, err))
	}
	return keyFromRow(row)
}

// RevokeKey revokes key id at once.
func (s *Store) RevokeKey(ctx context.Context, id string, now time.Time) (store.GatewayKey, error) {
	n := micros(now)
	row, err := litedb.New(s.writer).RevokeKey(ctx, litedb.RevokeKeyParams{ID: id, Now: &n})
	if err != nil {
		return store.GatewayKey{}, fmt.Errorf("sqlite: revoke key %q: %w", id, s.keyUpdateErr(ctx, id, err))
	}
	return keyFromRow(row)
}

// keyUpdateErr maps the error of a conditional update of key id.
func (s *Store) keyUpdateErr(ctx context.Context, id string, err error) error {
	return tenancyconv.Conditional(err, errors.Is(err, sql.ErrNoRows), violation(err), func() error {
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
	n := micros(now)
	err := s.inTx(ctx, func(q *litedb.Queries) error {
		expired, err := q.ExpireKeys(ctx, &n)
		if err != nil {
			return err
		}
		ended, err := q.EndGracePeriods(ctx, &n)
		changed = expired + ended
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: expire keys: %w", err)
	}
	return int(changed), nil
}

// TouchKeys records last-used times in one transaction, one prepared
// statement for all keys. Unknown ids are ignored.
func (s *Store) TouchKeys(ctx context.Context, lastUsed map[string]time.Time) error {
	if len(lastUsed) == 0 {
		return nil
	}
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: touch keys: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	stmts := &preparedTx{Tx: tx}
	defer stmts.close()
	q := litedb.New(stmts)
	for id, t := range lastUsed {
		us := micros(t)
		if err := q.TouchKey(ctx, litedb.TouchKeyParams{ID: id, LastUsedAt: &us}); err != nil {
			return fmt.Errorf("sqlite: touch key %q: %w", id, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: touch keys: %w", err)
	}
	return nil
}

// SyncStaticKeys makes the static keys exactly keys, in one transaction.
func (s *Store) SyncStaticKeys(ctx context.Context, keys []store.GatewayKey) error {
	now := micros(time.Now())
	err := s.inTx(ctx, func(q *litedb.Queries) error {
		keep := make([]string, 0, len(keys))
		for _, k := range keys {
			if err := q.EnsureOrg(ctx, litedb.EnsureOrgParams{ID: k.OrgID, CreatedAt: now}); err != nil {
				return err
			}
			if err := q.EnsureWorkspace(ctx, litedb.EnsureWorkspaceParams{ID: k.WorkspaceID, OrgID: k.OrgID, CreatedAt: now}); err != nil {
				return err
			}
			perms, err := traceconv.EncodePermissions(k.Permissions)
			if err != nil {
				return err
			}
			n, err := q.UpsertStaticKey(ctx, litedb.UpsertStaticKeyParams{
				ID:          k.ID,
				OrgID:       k.OrgID,
				WorkspaceID: k.WorkspaceID,
				Name:        k.Name,
				Role:        k.Role,
				Permissions: perms,
				TokenHash:   k.TokenHash,
				TokenLast4:  k.TokenLast4,
				ExpiresAt:   microsPtr(k.ExpiresAt),
				CreatedBy:   k.CreatedBy,
				CreatedAt:   micros(k.CreatedAt),
			})
			if err := tenancyconv.UpsertStaticKey(k, n, err, violation(err)); err != nil {
				return err
			}
			keep = append(keep, k.ID)
		}
		ids, err := json.Marshal(keep)
		if err != nil {
			return err
		}
		_, err = q.RevokeStaticKeysExcept(ctx, litedb.RevokeStaticKeysExceptParams{Now: &now, Keep: string(ids)})
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: sync static keys: %w", err)
	}
	return nil
}

// keyWatchInterval is how often WatchKeys looks for changes: well inside
// the second in which a change must reach every gateway, and cheap, since
// a look that finds nothing is one pragma read from memory.
const keyWatchInterval = 200 * time.Millisecond

// WatchKeys calls onChange, until ctx ends, whenever any connection to
// this file (this process's writer, another gateway, the CLI) commits a
// change to an org, workspace or key. SQLite has no notifications, so it
// polls on a connection of its own: PRAGMA data_version, which moves when
// another connection commits and costs no disk read, then the key_changes
// counter the tenancy triggers bump (0006_key_changes.sql), so that the
// constant trace and rollup commits do not each cost a reload. It returns
// nil when ctx ends, or the error that broke the connection (the caller
// resubscribes, and reloads, since changes may have been missed).
func (s *Store) WatchKeys(ctx context.Context, onChange func()) error {
	// data_version is per connection, so the watcher needs one that stays
	// the same for its whole life: a pool of exactly one, held as a Conn.
	db, err := openDB(s.path, url.Values{"_pragma": {"query_only(1)"}})
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		return watchErr(ctx, err)
	}
	defer conn.Close()
	q := litedb.New(conn)
	dataVersion := func() (v int64, err error) {
		err = conn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v)
		return v, err
	}
	// The data version first: a commit between the two reads then shows as
	// a data version change at the next look, never as nothing.
	lastData, err := dataVersion()
	if err != nil {
		return watchErr(ctx, err)
	}
	lastKeys, err := q.KeyChangesVersion(ctx)
	if err != nil {
		return watchErr(ctx, err)
	}
	ticker := time.NewTicker(keyWatchInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		data, err := dataVersion()
		if err != nil {
			return watchErr(ctx, err)
		}
		if data == lastData {
			continue
		}
		lastData = data
		keys, err := q.KeyChangesVersion(ctx)
		if err != nil {
			return watchErr(ctx, err)
		}
		if keys != lastKeys {
			lastKeys = keys
			onChange()
		}
	}
}

// watchErr is nil once ctx has ended (the watch is over, not broken).
func watchErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("sqlite: watch keys: %w", err)
}

func workspaceFromRow(r litedb.Workspace) store.Workspace {
	return store.Workspace{ID: r.ID, OrgID: r.OrgID, Name: r.Name, CreatedAt: fromMicros(r.CreatedAt)}
}

func keyFromRow(r litedb.GatewayKey) (store.GatewayKey, error) {
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
		Static:            r.Static != 0,
		ExpiresAt:         timePtr(r.ExpiresAt),
		PreviousExpiresAt: timePtr(r.PreviousExpiresAt),
		CreatedBy:         r.CreatedBy,
		CreatedAt:         fromMicros(r.CreatedAt),
		RotatedAt:         timePtr(r.RotatedAt),
		RevokedAt:         timePtr(r.RevokedAt),
		LastUsedAt:        timePtr(r.LastUsedAt),
	}
	if r.PreviousTokenHash != nil {
		k.PreviousTokenHash = *r.PreviousTokenHash
	}
	return k, nil
}

func microsPtr(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	us := micros(*t)
	return &us
}

func timePtr(us *int64) *time.Time {
	if us == nil {
		return nil
	}
	t := fromMicros(*us)
	return &t
}
