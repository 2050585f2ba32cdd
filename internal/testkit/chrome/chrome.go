// Package chrome starts headless Chromium for the chromedp-driven end-to-end
// tests (e2e/status, e2e/link, e2e/playground).
//
// Test code only: production code must not import it.
package chrome

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// Path finds the Chromium to drive: $CHROME_PATH, else /usr/bin/chromium,
// else chromium, chromium-browser or google-chrome on PATH. It fails tb when
// there is none.
func Path(tb testing.TB) string {
	tb.Helper()
	path := os.Getenv("CHROME_PATH")
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if path != "" {
			break
		}
		path, _ = exec.LookPath(name)
	}
	if path == "" {
		tb.Fatal("no Chromium found (apt-get install chromium, or set CHROME_PATH)")
	}
	return path
}

// Options are chromedp's default allocator options (headless, no first run,
// …) plus the Chromium at path, no sandbox, a width×height window, no GPU
// and lang as the browser's language; extra come last.
func Options(path string, width, height int, lang string, extra ...chromedp.ExecAllocatorOption) []chromedp.ExecAllocatorOption {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.WindowSize(width, height),
		chromedp.Flag("disable-gpu", true), chromedp.Flag("lang", lang))
	return append(opts, extra...)
}

// New returns the context of a tab in a fresh Chromium (its own profile: no
// cookies) allocated with opts; tab and allocator are cancelled when tb
// ends, the tab first. Chromium itself starts at the first chromedp.Run on
// the returned context, and lives as long as the context of that Run.
func New(tb testing.TB, opts []chromedp.ExecAllocatorOption, tabOpts ...chromedp.ContextOption) context.Context {
	tb.Helper()
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx, tabOpts...)
	tb.Cleanup(func() { cancelTab(); cancelAlloc() })
	return ctx
}

// Shot saves a full-page screenshot of the tab as dir/name.png and returns
// its path; it fails tb if it cannot.
func Shot(tb testing.TB, ctx context.Context, dir, name string) string {
	tb.Helper()
	var png []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		tb.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}
