package playground

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/crmbot/crmbot/internal/testkit/chrome"
)

// Selectors into the playground's web UI (0.2.28). Cards are drawn by the
// adaptivecards library (class ac-adaptiveCard, buttons titled by the
// action's title); the compose box is a Lexical editor.
const (
	composeBox = `div[contenteditable="true"][role="textbox"]`
	sendButton = `button[aria-label="Send Message"]`
)

// Browser is the playground's web UI in headless Chromium.
type Browser struct {
	ctx   context.Context
	shots string
	t     testing.TB
}

// Browser opens the playground's web UI in a fresh headless Chromium
// (closed on cleanup) and waits for the compose box. Screenshots go to
// $E2E_ARTIFACTS/playground, or a temp dir the test logs. Opening the UI
// makes the playground send the bot installationUpdate and conversationUpdate.
// The UI shows only messages pushed while it is open.
func (p *Playground) Browser(t testing.TB) *Browser {
	t.Helper()
	path := chrome.Path(t)
	ctx := chrome.New(t, chrome.Options(path, 1280, 900, p.User.Locale), chromedp.WithLogf(t.Logf))

	// The first Run starts Chromium and ties it to its context: give it the
	// tab's own, not a per-step timeout that would close the browser.
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start Chromium (%s): %v", path, err)
	}
	b := &Browser{ctx: ctx, t: t, shots: os.Getenv("E2E_ARTIFACTS")}
	if b.shots != "" {
		b.shots = filepath.Join(b.shots, "playground")
	} else {
		var err error
		if b.shots, err = os.MkdirTemp("", "crmbot-e2e-playground-"); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(b.shots, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("playground screenshots in %s", b.shots)
	if err := b.run("open the playground UI", chromedp.Navigate(p.URL()),
		chromedp.WaitVisible(composeBox, chromedp.ByQuery)); err != nil {
		b.failShot("open")
		t.Fatal(err)
	}
	return b
}

// Context is the browser tab, for chromedp actions of your own.
func (b *Browser) Context() context.Context { return b.ctx }

// WaitCard waits for an Adaptive Card whose text contains text.
func (b *Browser) WaitCard(text string) error {
	return b.run(fmt.Sprintf("wait for a card with %q", text), chromedp.WaitVisible(cardXPath(text), chromedp.BySearch))
}

// WaitNoCard waits until no Adaptive Card contains text (a card replaced in place).
func (b *Browser) WaitNoCard(text string) error {
	return b.run(fmt.Sprintf("wait for no card with %q", text), chromedp.WaitNotPresent(cardXPath(text), chromedp.BySearch))
}

// Click presses the button titled title on the card containing cardText
// (an Action.Execute sends adaptiveCard/action and draws the card the bot returns).
func (b *Browser) Click(cardText, title string) error {
	sel := cardXPath(cardText) + `//button[@title=` + xpathString(title) + `]`
	return b.run(fmt.Sprintf("click %q on the card with %q", title, cardText),
		chromedp.WaitVisible(sel, chromedp.BySearch), chromedp.Click(sel, chromedp.BySearch))
}

// Say types text into the compose box and sends it, as a person would.
func (b *Browser) Say(text string) error {
	return b.run(fmt.Sprintf("say %q", text), chromedp.Click(composeBox, chromedp.ByQuery),
		chromedp.SendKeys(composeBox, text, chromedp.ByQuery), chromedp.Click(sendButton, chromedp.ByQuery))
}

// Screenshot saves the whole page as name.png and returns its path.
func (b *Browser) Screenshot(name string) (string, error) {
	var png []byte
	if err := b.run("screenshot "+name, chromedp.FullScreenshot(&png, 100)); err != nil {
		return "", err
	}
	path := filepath.Join(b.shots, name+".png")
	return path, os.WriteFile(path, png, 0o644)
}

// run runs actions with DefaultTimeout; on failure it saves a screenshot.
func (b *Browser) run(what string, actions ...chromedp.Action) error {
	ctx, cancel := context.WithTimeout(b.ctx, DefaultTimeout)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		return fmt.Errorf("playground UI: %s: %w (screenshot: %s)", what, err, b.failShot(what))
	}
	return nil
}

// failShot saves a screenshot for a failed step, best effort.
func (b *Browser) failShot(what string) string {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	var png []byte
	if chromedp.Run(ctx, chromedp.FullScreenshot(&png, 90)) != nil {
		return "none"
	}
	name := "failed-" + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, strings.ToLower(what))
	path := filepath.Join(b.shots, name+".png")
	if os.WriteFile(path, png, 0o644) != nil {
		return "none"
	}
	return path
}

func cardXPath(text string) string {
	return `//*[contains(concat(" ", @class, " "), " ac-adaptiveCard ")][contains(., ` + xpathString(text) + `)]`
}

// xpathString quotes s as an XPath 1.0 string literal.
func xpathString(s string) string {
	if !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	if !strings.Contains(s, `'`) {
		return `'` + s + `'`
	}
	return `concat("` + strings.ReplaceAll(s, `"`, `", '"', "`) + `")`
}
