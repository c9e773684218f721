package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/ongoingai/gateway/internal/store"
)

// pgDump is the program Backup runs.
const pgDump = "pg_dump"

// Backup writes the database to out with pg_dump in its custom format
// (restore with pg_restore): one snapshot, consistent while gateways keep
// writing. pg_dump must be on PATH and at least as new as the server;
// when it is not on PATH, Backup returns a *store.ManualBackupError with
// the command to run where it is.
//
// The password never appears on a command line (other users can read
// those): it is handed to pg_dump as PGPASSWORD.
func (s *Store) Backup(ctx context.Context, out string) error {
	if _, err := os.Lstat(out); err == nil {
		return fmt.Errorf("%s: %w", out, store.ErrBackupExists)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	conninfo, password, err := libpqConninfo(s.dsn)
	if err != nil {
		return fmt.Errorf("postgres: backup: %w", err)
	}
	bin, err := exec.LookPath(pgDump)
	if err != nil {
		e := &store.ManualBackupError{Program: pgDump, Command: shellJoin(pgDumpArgs(out, conninfo))}
		if password != "" {
			e.Note = "The password is left out: set PGPASSWORD to the one in storage.dsn first."
		}
		return e
	}
	tmp := filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".partial")
	_ = os.Remove(tmp)
	args := pgDumpArgs(tmp, conninfo)
	cmd := exec.CommandContext(ctx, bin, args[1:]...)
	cmd.Env = os.Environ()
	if password != "" {
		cmd.Env = append(cmd.Env, "PGPASSWORD="+password)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("postgres: backup: pg_dump: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	if err := os.Rename(tmp, out); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("postgres: backup: %w", err)
	}
	return nil
}

// pgDumpArgs is the pg_dump command line, program name first.
func pgDumpArgs(out, conninfo string) []string {
	return []string{pgDump, "--format=custom", "--file=" + out, "--dbname=" + conninfo}
}

// libpqKeyword reports whether pg_dump (libpq) knows the connection
// parameter key. pgx accepts more: its own settings (pool_*,
// default_query_exec_mode, …) and any other key as a session setting
// (timezone, search_path), which libpq refuses as "invalid URI query
// parameter". pg_dump sets the session it needs itself, so the rest is
// dropped rather than translated.
func libpqKeyword(key string) bool {
	switch key {
	case "host", "hostaddr", "port", "dbname", "user", "password", "passfile", "require_auth",
		"channel_binding", "connect_timeout", "client_encoding", "options", "application_name",
		"fallback_application_name", "keepalives", "keepalives_idle", "keepalives_interval",
		"keepalives_count", "tcp_user_timeout", "replication", "gssencmode", "sslmode",
		"sslnegotiation", "requiressl", "sslcompression", "sslcert", "sslkey", "sslpassword",
		"sslcertmode", "sslrootcert", "sslcrl", "sslcrldir", "sslsni", "requirepeer",
		"ssl_min_protocol_version", "ssl_max_protocol_version", "krbsrvname", "gsslib",
		"gssdelegation", "service", "target_session_attrs", "load_balance_hosts":
		return true
	}
	return false
}

// libpqConninfo turns the store's DSN (URL or key=value, as pgx accepts)
// into one pg_dump accepts: the parameters libpq does not know dropped and the
// password taken out, to travel as PGPASSWORD.
func libpqConninfo(dsn string) (conninfo, password string, err error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", "", fmt.Errorf("storage.dsn is not a valid URL")
		}
		if u.User != nil {
			password, _ = u.User.Password()
			u.User = url.User(u.User.Username())
		}
		q := u.Query()
		for k := range q {
			if !libpqKeyword(k) {
				q.Del(k)
			}
		}
		if pw := q.Get("password"); pw != "" {
			password = pw
		}
		q.Del("password")
		u.RawQuery = q.Encode()
		return u.String(), password, nil
	}
	pairs, err := splitKeyValues(dsn)
	if err != nil {
		return "", "", err
	}
	var kept []string
	for _, kv := range pairs {
		switch {
		case kv[0] == "password":
			password = kv[1]
		case !libpqKeyword(kv[0]):
		default:
			kept = append(kept, kv[0]+"="+quoteConninfo(kv[1]))
		}
	}
	return strings.Join(kept, " "), password, nil
}

// splitKeyValues parses a key=value connection string: values may be
// single-quoted, with \' and \\ inside.
func splitKeyValues(s string) ([][2]string, error) {
	var out [][2]string
	for {
		s = strings.TrimLeft(s, " \t\n")
		if s == "" {
			return out, nil
		}
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return nil, fmt.Errorf("storage.dsn: expected key=value near %q", s)
		}
		key := strings.TrimSpace(s[:eq])
		s = strings.TrimLeft(s[eq+1:], " \t")
		var val strings.Builder
		if strings.HasPrefix(s, "'") {
			i := 1
			for ; i < len(s) && s[i] != '\''; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				val.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("storage.dsn: unterminated quote in %s", key)
			}
			s = s[i+1:]
		} else {
			end := strings.IndexAny(s, " \t\n")
			if end < 0 {
				end = len(s)
			}
			val.WriteString(s[:end])
			s = s[end:]
		}
		out = append(out, [2]string{key, val.String()})
	}
}

// quoteConninfo quotes a key=value value when libpq needs it to.
func quoteConninfo(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t\n'\\") {
		return v
	}
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// shellJoin quotes args for a POSIX shell, so the printed command can be
// pasted as it is.
func shellJoin(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@,+%") == "" {
			quoted[i] = a
			continue
		}
		quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(quoted, " ")
}
