package config

import (
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Redacted replaces every secret in Masked output. Empty secrets stay
// empty, so the masked form still shows whether a secret is set.
const Redacted = "********"

// Masked returns a deep copy of c that is safe to print or log: static key
// tokens, the DSN password, the PII hash salt, OTLP header values and any
// password embedded in an upstream or endpoint URL are replaced by
// Redacted. c itself is left untouched.
func (c Config) Masked() Config {
	m := c.clone()
	m.Storage.DSN = maskDSN(m.Storage.DSN)
	for name, p := range m.Providers {
		p.Upstream = maskURLPassword(p.Upstream)
		m.Providers[name] = p
	}
	for i := range m.Auth.Keys {
		m.Auth.Keys[i].Token = mask(m.Auth.Keys[i].Token)
	}
	m.PII.Replacement.HashSalt = mask(m.PII.Replacement.HashSalt)
	m.Observability.OTel.Endpoint = maskURLPassword(m.Observability.OTel.Endpoint)
	for k, v := range m.Observability.OTel.Headers {
		m.Observability.OTel.Headers[k] = mask(v)
	}
	return m
}

// clone copies every map, slice and pointer, so the copy can be changed
// without reaching back into c.
func (c Config) clone() Config {
	d := c
	d.Providers = maps.Clone(c.Providers)
	if c.Proxy.InjectStreamUsage != nil {
		b := *c.Proxy.InjectStreamUsage
		d.Proxy.InjectStreamUsage = &b
	}
	if c.Storage.AutoMigrate != nil {
		b := *c.Storage.AutoMigrate
		d.Storage.AutoMigrate = &b
	}
	d.Tracing.CaptureHeaders = slices.Clone(c.Tracing.CaptureHeaders)
	d.Pricing.Overrides = maps.Clone(c.Pricing.Overrides)
	d.Auth.Keys = slices.Clone(c.Auth.Keys)
	for i := range d.Auth.Keys {
		d.Auth.Keys[i].Permissions = slices.Clone(d.Auth.Keys[i].Permissions)
	}
	d.Observability.OTel.Headers = maps.Clone(c.Observability.OTel.Headers)
	d.PII.Scopes = slices.Clone(c.PII.Scopes)
	return d
}

func mask(secret string) string {
	if secret == "" {
		return ""
	}
	return Redacted
}

// dsnPassword finds password=value in the keyword/value DSN form, where the
// value is either a single-quoted string (with backslash escapes) or runs
// to the next space.
var dsnPassword = regexp.MustCompile(`(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s]*)`)

// maskDSN hides the password in both Postgres DSN forms: the URL
// (postgres://user:pw@host/db?password=pw) and keyword/value
// (host=h password=pw). A URL that does not parse is hidden whole, since
// there is no telling where its password is.
func maskDSN(dsn string) string {
	if dsn == "" {
		return ""
	}
	if !strings.Contains(dsn, "://") {
		return dsnPassword.ReplaceAllString(dsn, "${1}"+Redacted)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return Redacted
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), urlPlaceholder)
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", urlPlaceholder)
		u.RawQuery = q.Encode()
	}
	return unplaceholder(u)
}

// maskURLPassword hides user:password@ credentials in an upstream URL.
func maskURLPassword(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, has := u.User.Password(); !has {
		return raw
	}
	u.User = url.UserPassword(u.User.Username(), urlPlaceholder)
	return unplaceholder(u)
}

// urlPlaceholder stands in for Redacted while a URL is re-encoded: net/url
// would percent-encode the asterisks, and "%2A%2A..." reads like a value.
const urlPlaceholder = "ongoingai-redacted-placeholder"

func unplaceholder(u *url.URL) string {
	return strings.ReplaceAll(u.String(), urlPlaceholder, Redacted)
}
