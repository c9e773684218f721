package config

import (
	"net"
	"slices"
	"strconv"
	"strings"
)

// NamedProvider is a provider together with its name (its key under
// providers in the YAML).
type NamedProvider struct {
	Name string
	Provider
}

// SortedProviders lists the configured providers ordered by name, so
// routing tables, logs and messages built from them come out the same on
// every run.
func (c Config) SortedProviders() []NamedProvider {
	list := make([]NamedProvider, 0, len(c.Providers))
	for name, p := range c.Providers {
		list = append(list, NamedProvider{Name: name, Provider: p})
	}
	slices.SortFunc(list, func(a, b NamedProvider) int { return strings.Compare(a.Name, b.Name) })
	return list
}

// ProxyInjectStreamUsage reports whether the proxy should ask upstreams for
// usage on streamed responses. The field is a pointer only so that YAML can
// tell "false" from "not set"; unset means true.
func (c Config) ProxyInjectStreamUsage() bool {
	return c.Proxy.InjectStreamUsage == nil || *c.Proxy.InjectStreamUsage
}

// Addr is the listen address in the form net.Listen expects, with IPv6
// hosts bracketed.
func (s Server) Addr() string {
	return net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
}
