package config

import (
	"reflect"
	"testing"
)

func TestSortedProviders(t *testing.T) {
	c := Default()
	c.Providers["groq"] = Provider{"https://api.groq.com/openai", "/groq", "openai"}
	c.Providers["azure"] = Provider{"https://x.openai.azure.com", "/azure", "openai"}
	var names []string
	for _, p := range c.SortedProviders() {
		names = append(names, p.Name)
		if p.Provider != c.Providers[p.Name] {
			t.Errorf("%s: provider %+v, want %+v", p.Name, p.Provider, c.Providers[p.Name])
		}
	}
	if want := []string{"anthropic", "azure", "groq", "openai"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("names = %v, want %v", names, want)
	}
}

func TestProxyInjectStreamUsage(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		name string
		v    *bool
		want bool
	}{{"unset", nil, true}, {"true", &yes, true}, {"false", &no, false}} {
		c := Config{Proxy: Proxy{InjectStreamUsage: tc.v}}
		if got := c.ProxyInjectStreamUsage(); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestServerAddr(t *testing.T) {
	for _, tc := range []struct {
		s    Server
		want string
	}{
		{Server{Host: "0.0.0.0", Port: 8080}, "0.0.0.0:8080"},
		{Server{Host: "::1", Port: 9000}, "[::1]:9000"},
		{Server{Port: 80}, ":80"},
	} {
		if got := tc.s.Addr(); got != tc.want {
			t.Errorf("%+v.Addr() = %q, want %q", tc.s, got, tc.want)
		}
	}
}
