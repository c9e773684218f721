package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium; .ci/run installs it when missing.
const chromiumPath = "/usr/bin/chromium"

// screenshotDir is where the console story leaves a screenshot of each
// page, for review: $CONSOLE_SCREENSHOTS, else a fixed directory under the
// system temp dir (logged by the test).
func screenshotDir(t *testing.T, driver string) string {
	t.Helper()
	base := os.Getenv("CONSOLE_SCREENSHOTS")
	if base == "" {
		base = filepath.Join(os.TempDir(), "ongoingai-console-screenshots")
	}
	dir := filepath.Join(base, driver)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// tab is one headless Chromium tab on the gateway.
type tab struct {
	t    *testing.T
	g    *gateway
	ctx  context.Context
	shot string // screenshot directory
}

// newBrowser starts a headless Chromium with a fresh profile, as root
// needs it (no sandbox) and without anything that phones home.
func newBrowser(t *testing.T, g *gateway, shots string) *tab {
	t.Helper()
	if _, err := exec.LookPath(chromiumPath); err != nil {
		t.Fatalf("%s not found: install Debian's chromium (apt-get install -y chromium); .ci/run does", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	tb := &tab{t: t, g: g, ctx: ctx, shot: shots}
	// The first Run starts the browser: without a timeout (it would end
	// the browser with it).
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return tb
}

// do runs steps with a bound of 20 s.
func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// eval evaluates a JavaScript expression.
func eval[T any](b *tab, js string, opts ...chromedp.EvaluateOption) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, opts...))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}

// waitFor waits until the expression is true. Pages change by htmx swaps
// and by navigations (sign-in, sign-out); while one is under way the
// expression may fail, which counts as not yet.
func (b *tab) waitFor(what, js string) {
	b.t.Helper()
	guarded := "(() => { try { return !!(" + js + ") } catch (e) { return false } })()"
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](guarded))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("waiting for %s (%s): %v\npage:\n%s", what, js, err, b.text())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// clickText clicks the first button or link whose text is exactly text,
// optionally inside the element matching within.
func (b *tab) clickText(within, text string) {
	b.t.Helper()
	if within == "" {
		within = "body"
	}
	js := fmt.Sprintf(`(() => { const el = [...document.querySelector(%q).querySelectorAll("a, button")].find(e => e.textContent.trim() === %q); if (!el) return false; el.click(); return true })()`, within, text)
	if !eval[bool](b, js) {
		b.t.Fatalf("no link or button %q in %s; page:\n%s", text, within, b.text())
	}
}

// screenshot saves the whole page as name.png.
func (b *tab) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.shot, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func (b *tab) text() string { return eval[string](b, `document.body ? document.body.innerText : ""`) }

// proxyStatus makes one chat call with token through the proxy and returns
// the status. A refusal's body is the gateway's own {"error": "..."},
// which the OpenAI client cannot read, so this one goes by plain HTTP; the
// calls that must succeed use the official client (useToken).
func (g *gateway) proxyStatus(token string) int {
	status, _ := g.chat(token)
	return status
}

// useToken makes a chat call with token through the official OpenAI client.
func (g *gateway) useToken(token string) error {
	_, err := g.openai(gatewayHeader, token).Chat.Completions.New(context.Background(), chatParams("gpt-4o-mini"))
	return err
}

// TestConsoleInBrowser walks the operator console in headless Chromium on
// both stores: sign in (a wrong key, then a right one), create a key and
// use it on the proxy, rotate it (both tokens work during the grace),
// revoke it (refused within 1 s), find its calls on Traces and the actions
// in the Audit log, refuse a replayed form without its CSRF token, sign
// out; then a viewer sees no key controls. A screenshot of each page goes
// to screenshotDir.
func TestConsoleInBrowser(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver, withAuth)
		shots := screenshotDir(t, driver)
		t.Logf("console screenshots: %s", shots)
		b := newBrowser(t, g, shots)

		// Sign in: no session sends the browser to the form.
		b.do(chromedp.Navigate(g.URL + "/console"))
		if loc := eval[string](b, "location.pathname"); loc != "/console/login" {
			t.Fatalf("/console without a session landed on %s", loc)
		}
		b.screenshot("01-sign-in")
		b.do(chromedp.SendKeys(chromedp.CSS("#gateway-key"), "ogw_not-a-key"))
		b.clickText("form", "Sign in")
		b.waitFor("the wrong key refused", `document.body.innerText.includes("Invalid gateway key")`)
		// The refusal is a fresh page with an empty field.
		b.do(chromedp.SendKeys(chromedp.CSS("#gateway-key"), acmeOwnerToken))
		b.clickText("form", "Sign in")
		b.waitFor("the overview", `location.pathname === "/console" && document.querySelector("h1")?.textContent === "Overview"`)
		cookieJS := `document.cookie`
		if c := eval[string](b, cookieJS); strings.Contains(c, "ongoingai_console") {
			t.Errorf("the session cookie is readable from JavaScript: %q", c)
		}

		// Create a key and use its token on the proxy.
		b.clickText("nav", "Keys")
		b.waitFor("the keys page", `document.querySelector("h1")?.textContent === "Keys"`)
		b.do(chromedp.SendKeys(chromedp.CSS("#key-name"), "browser-made"))
		eval[string](b, `document.getElementById("key-role").value = "developer"`)
		b.clickText("#create-key", "Create key")
		b.waitFor("the new token", `!!document.getElementById("new-token")`)
		token := eval[string](b, `document.getElementById("new-token").textContent`)
		if !mintedToken.MatchString(token) {
			t.Fatalf("#new-token holds %q", token)
		}
		if !eval[bool](b, `[...document.querySelectorAll(".new-token button")].some(e => e.textContent === "Copy")`) {
			t.Error("no Copy button next to the new token")
		}
		b.screenshot("02-keys-created")
		if err := g.useToken(token); err != nil {
			t.Fatalf("new token on the proxy: %v", err)
		}
		keyID := strings.TrimPrefix(eval[string](b, `document.getElementById("new-token-title").textContent`), "New token for ")
		row := "#key-" + keyID

		// Rotate, with a second click on Confirm.
		b.clickText(row, "Rotate")
		b.waitFor("Confirm", `[...document.querySelectorAll("`+row+` button")].some(e => e.textContent === "Confirm")`)
		b.clickText(row, "Confirm")
		b.waitFor("the rotated token", `!!document.getElementById("new-token") && document.getElementById("new-token").textContent !== `+jsString(token))
		rotated := eval[string](b, `document.getElementById("new-token").textContent`)
		if !strings.Contains(b.text(), "The previous token keeps working until") {
			t.Error("rotation does not say when the old token stops")
		}
		b.screenshot("03-keys-rotated")
		for _, tok := range []string{token, rotated} {
			if err := g.useToken(tok); err != nil {
				t.Errorf("during the grace a token is refused: %v", err)
			}
		}

		// Revoke: refused on the proxy within a second.
		b.clickText(row, "Revoke")
		b.waitFor("Confirm", `[...document.querySelectorAll("`+row+` button")].some(e => e.textContent === "Confirm")`)
		b.clickText(row, "Confirm")
		b.waitFor("revoked", `document.querySelector("`+row+`")?.innerText.includes("revoked")`)
		revokedAt := time.Now()
		for _, tok := range []string{rotated, token} {
			for g.proxyStatus(tok) != http.StatusUnauthorized {
				if time.Since(revokedAt) > time.Second {
					t.Fatalf("revoked token still works %v after the revocation", time.Since(revokedAt))
				}
				time.Sleep(20 * time.Millisecond)
			}
		}

		// Traces show the calls made with the key.
		// Traces are written in the background: open the page again until
		// the key's calls are on it.
		keysCalls := `[...document.querySelectorAll("#traces tbody tr")].filter(r => r.innerText.includes(` + jsString(keyID) + `)).length >= 3`
		for listed := time.Now(); ; time.Sleep(100 * time.Millisecond) {
			b.clickText("nav", "Traces")
			b.waitFor("the traces page", `!!document.querySelector("#traces")`)
			if eval[bool](b, "(() => { try { return !!("+keysCalls+") } catch (e) { return false } })()") {
				break
			}
			if time.Since(listed) > 15*time.Second {
				t.Fatalf("the key's calls are not on the Traces page; page:\n%s", b.text())
			}
		}
		b.screenshot("04-traces")
		b.clickText("#traces tbody", eval[string](b, `document.querySelector("#traces tbody a").textContent`))
		b.waitFor("a trace's detail", `document.querySelector("h1")?.textContent.startsWith("Trace ")`)
		b.screenshot("05-trace-detail")

		// Analytics, Workspaces.
		b.clickText("nav", "Analytics")
		b.waitFor("charts", `!!document.querySelector("svg.chart")`)
		b.screenshot("06-analytics")
		b.clickText("nav", "Workspaces")
		b.waitFor("workspaces", `document.querySelector("h1")?.textContent === "Workspaces"`)
		b.screenshot("07-workspaces")

		// The Audit log has the sign-in and the key's history.
		b.clickText("nav", "Audit log")
		b.waitFor("the actions", `["console.sign_in", "key.create", "key.rotate", "key.revoke"].every(a => [...document.querySelectorAll("#audit tbody td")].some(td => td.textContent === a))`)
		b.screenshot("08-audit-log")

		// A form replayed without its CSRF token is refused; nothing made.
		status := eval[int](b, `fetch("/console/keys", {method: "POST", body: new URLSearchParams({name: "replayed", role: "viewer", workspace_id: "prod"})}).then(r => r.status)`, chromedp.EvalAwaitPromise)
		if status != http.StatusForbidden {
			t.Errorf("form without its CSRF token: %d, want 403", status)
		}
		var keys keyList
		if code, body := g.call("GET", "/api/gateway-keys", acmeOwnerToken, ""); code != http.StatusOK || json.Unmarshal([]byte(body), &keys) != nil {
			t.Fatalf("listing keys: %d %s", code, body)
		}
		for _, k := range keys.Items {
			if k.Name == "replayed" {
				t.Error("the replayed form created a key")
			}
		}

		// Sign out ends the session: /console asks to sign in again.
		b.clickText("header", "Sign out")
		b.waitFor("the sign-in form", `location.pathname === "/console/login"`)
		b.do(chromedp.Navigate(g.URL + "/console"))
		if loc := eval[string](b, "location.pathname"); loc != "/console/login" {
			t.Fatalf("after sign-out /console is %s", loc)
		}

		// A viewer sees no key controls.
		viewer := g.createKey(acmeOwnerToken, `{"name":"looker","role":"viewer"}`)
		b.do(chromedp.SendKeys(chromedp.CSS("#gateway-key"), viewer.Token))
		b.clickText("form", "Sign in")
		b.waitFor("the viewer's overview", `document.querySelector("h1")?.textContent === "Overview"`)
		b.screenshot("09-viewer-overview")
		if strings.Contains(eval[string](b, `document.querySelector("nav").innerText`), "Keys") {
			t.Error("a viewer's navigation offers Keys")
		}
		b.do(chromedp.Navigate(g.URL + "/console/keys"))
		page := b.text()
		for _, control := range []string{"Create key", "Rotate", "Revoke"} {
			if strings.Contains(page, control) {
				t.Errorf("a viewer sees %q on /console/keys", control)
			}
		}
	})
}

// jsString quotes s as a JavaScript string.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
