package config

import (
	"reflect"
	"testing"
)

func TestMaskedHidesEverySecret(t *testing.T) {
	c := Default()
	c.Storage.DSN = "postgres://gw:s3cret@db:5432/gw?sslmode=disable"
	c.Providers["openai"] = Provider{"https://user:upstream-pw@proxy.example", "/openai", "openai"}
	c.Auth.Keys = []StaticKey{validKey("a"), validKey("b")}
	c.PII.Replacement.HashSalt = "pepper"
	c.Observability.OTel.Endpoint = "https://otel:otel-pw@collector:4318"
	c.Observability.OTel.Headers = map[string]string{"api-key": "hdr-secret", "x-empty": ""}
	c.Tracing.CaptureHeaders = []string{"x-request-id"}
	before := c.clone()

	m := c.Masked()

	if got, want := m.Storage.DSN, "postgres://gw:********@db:5432/gw?sslmode=disable"; got != want {
		t.Errorf("dsn = %q, want %q", got, want)
	}
	if got, want := m.Providers["openai"].Upstream, "https://user:********@proxy.example"; got != want {
		t.Errorf("upstream = %q, want %q", got, want)
	}
	for i, k := range m.Auth.Keys {
		if k.Token != Redacted {
			t.Errorf("keys[%d].token = %q", i, k.Token)
		}
		if k.ID != c.Auth.Keys[i].ID {
			t.Errorf("keys[%d].id changed to %q", i, k.ID)
		}
	}
	if m.PII.Replacement.HashSalt != Redacted {
		t.Errorf("hash_salt = %q", m.PII.Replacement.HashSalt)
	}
	if got, want := m.Observability.OTel.Endpoint, "https://otel:********@collector:4318"; got != want {
		t.Errorf("otel endpoint = %q, want %q", got, want)
	}
	if want := map[string]string{"api-key": Redacted, "x-empty": ""}; !reflect.DeepEqual(m.Observability.OTel.Headers, want) {
		t.Errorf("otel headers = %v, want %v", m.Observability.OTel.Headers, want)
	}

	// Masking a copy must leave the original fully usable.
	if !reflect.DeepEqual(c, before) {
		t.Fatalf("Masked modified its receiver:\n%+v\nwas\n%+v", c, before)
	}
	m.Auth.Keys[0].Permissions[0] = "changed"
	*m.Proxy.InjectStreamUsage = false
	m.Tracing.CaptureHeaders[0] = "changed"
	if c.Auth.Keys[0].Permissions[0] != "proxy:write" || !c.ProxyInjectStreamUsage() || c.Tracing.CaptureHeaders[0] != "x-request-id" {
		t.Fatal("the masked copy shares memory with the original")
	}
}

func TestMaskedLeavesEmptySecretsEmpty(t *testing.T) {
	m := Default().Masked()
	if !reflect.DeepEqual(m, Default()) {
		t.Fatalf("masking a secret-free config changed it: %+v", m)
	}
}

func TestMaskDSN(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""},
		{"postgres://gw@db/gw", "postgres://gw@db/gw"},
		{"postgres://gw:pw@db/gw", "postgres://gw:********@db/gw"},
		{"postgresql://db/gw?user=gw&password=pw", "postgresql://db/gw?password=********&user=gw"},
		{"host=db user=gw password=pw dbname=gw", "host=db user=gw password=******** dbname=gw"},
		{"host=db password = 'p w\\'x' dbname=gw", "host=db password = ******** dbname=gw"},
		{"host=db PASSWORD=pw", "host=db PASSWORD=********"},
		{"postgres://gw:pw@db:bad-port/gw", Redacted},
	}
	for _, tc := range cases {
		if got := maskDSN(tc.in); got != tc.want {
			t.Errorf("maskDSN(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
