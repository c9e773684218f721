package app

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/testdb"
)

// The serve command's SIGHUP reaches reloadPricesOn, which reads the
// catalog file again.
func TestSignalReloadsTheCatalogFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "prices.json")
	write := func(version string) {
		t.Helper()
		doc := `{"version": "` + version + `", "unit": "USD per 1M tokens", "models": [{"provider": "openai", "model": "acme-coder",` +
			` "input": "1.00", "output": "2.00", "source": "https://example.com/acme", "checked": "2026-12-01"}]}`
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("v1")
	cfg := config.Default()
	cfg.Storage.Path = testdb.SQLitePath(t)
	cfg.Pricing.CatalogFile = path
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := New(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	before := a.prices.Load().Version()

	write("v2")
	sig := make(chan os.Signal, 1)
	done := make(chan struct{})
	go func() { a.reloadPricesOn(ctx, sig); close(done) }()
	sig <- syscall.SIGHUP
	deadline := time.Now().Add(10 * time.Second)
	for a.prices.Load().Version() == before {
		if time.Now().After(deadline) {
			t.Fatalf("prices still %q after SIGHUP", before)
		}
		time.Sleep(time.Millisecond)
	}
	if got := a.prices.Load().Version(); got != before[:len(before)-len("v1")]+"v2" {
		t.Errorf("version after reload = %q (before %q)", got, before)
	}
	cancel()
	<-done
}
