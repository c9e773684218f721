package postgres

import "testing"

// pg_dump speaks libpq, which refuses pgx's pool settings and the session
// settings pgx passes through (timezone, search_path); the password
// travels in the environment, never on a command line.
func TestLibpqConninfo(t *testing.T) {
	cases := []struct{ dsn, conninfo, password string }{
		{"postgres://gw:s3cret@db:5432/gw?sslmode=disable&pool_max_conns=20",
			"postgres://gw@db:5432/gw?sslmode=disable", "s3cret"},
		{"postgresql://db/gw?user=gw&password=pw&statement_cache_capacity=10",
			"postgresql://db/gw?user=gw", "pw"},
		{"host=db user=gw password='a b\\'c' dbname=gw pool_min_conns=2",
			"host=db user=gw dbname=gw", "a b'c"},
		{"host=/var/run/postgresql dbname='my db'", "host=/var/run/postgresql dbname='my db'", ""},
		{"postgres://gw@db/gw?timezone=Pacific%2FChatham&application_name=gw&search_path=x",
			"postgres://gw@db/gw?application_name=gw", ""},
		{"host=db dbname=gw timezone=UTC connect_timeout=5", "host=db dbname=gw connect_timeout=5", ""},
	}
	for _, c := range cases {
		conninfo, password, err := libpqConninfo(c.dsn)
		if err != nil || conninfo != c.conninfo || password != c.password {
			t.Errorf("libpqConninfo(%q) = %q, %q, %v; want %q, %q", c.dsn, conninfo, password, err, c.conninfo, c.password)
		}
	}
	if _, _, err := libpqConninfo("host=db password='open"); err == nil {
		t.Error("an unterminated quote was accepted")
	}
}
