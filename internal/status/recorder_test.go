package status_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/crmbot/crmbot/internal/status"
	"github.com/crmbot/crmbot/store"
)

func attrs(e status.LogEntry) map[string]string {
	m := map[string]string{}
	for _, a := range e.Attrs {
		m[a.Key] = a.Value
	}
	return m
}

func TestRecorder(t *testing.T) {
	t.Run("keeps the last n, newest first", func(t *testing.T) {
		rec := status.NewRecorder(nil, 3)
		log := slog.New(rec)
		for i := range 5 {
			log.Warn(fmt.Sprintf("warning %d", i))
		}
		got := rec.Entries()
		if len(got) != 3 || got[0].Message != "warning 4" || got[1].Message != "warning 3" || got[2].Message != "warning 2" {
			t.Fatalf("entries %+v", got)
		}
		if got[0].Time.IsZero() || got[0].Level != slog.LevelWarn {
			t.Errorf("entry %+v", got[0])
		}
	})
	t.Run("fewer than n", func(t *testing.T) {
		rec := status.NewRecorder(nil, 10)
		if len(rec.Entries()) != 0 {
			t.Fatal("entries before any log")
		}
		slog.New(rec).Error("one")
		if got := rec.Entries(); len(got) != 1 || got[0].Message != "one" {
			t.Fatalf("entries %+v", got)
		}
	})
	t.Run("Warn and above only, everything passed on", func(t *testing.T) {
		var buf bytes.Buffer
		rec := status.NewRecorder(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}), 10)
		log := slog.New(rec)
		log.Debug("debug line")
		log.Info("info line", "k", "v")
		log.Warn("warn line")
		log.Error("error line")
		log.Log(context.Background(), slog.LevelError+4, "above error")
		var msgs []string
		for _, e := range rec.Entries() {
			msgs = append(msgs, e.Message)
		}
		if strings.Join(msgs, ",") != "above error,error line,warn line" {
			t.Errorf("kept %v", msgs)
		}
		for _, want := range []string{"debug line", `info line" k=v`, "warn line", "error line", "above error"} {
			if !strings.Contains(buf.String(), want) {
				t.Errorf("the next handler did not get %q: %s", want, buf.String())
			}
		}
	})
	t.Run("a next handler at Error still lets Warn be recorded", func(t *testing.T) {
		var buf bytes.Buffer
		rec := status.NewRecorder(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelError}), 10)
		slog.New(rec).Warn("only recorded")
		if len(rec.Entries()) != 1 || buf.Len() != 0 {
			t.Fatalf("entries %+v, next got %q", rec.Entries(), buf.String())
		}
	})
	t.Run("WithAttrs and WithGroup", func(t *testing.T) {
		var buf bytes.Buffer
		rec := status.NewRecorder(slog.NewJSONHandler(&buf, nil), 10)
		log := slog.New(rec).With("component", "sync").WithGroup("req").With("type", "lead")
		log.Warn("slow", "took", "4s", slog.Group("page", "n", 3))
		got := rec.Entries()
		if len(got) != 1 {
			t.Fatalf("entries %+v", got)
		}
		want := map[string]string{"component": "sync", "req.type": "lead", "req.took": "4s", "req.page.n": "3"}
		if a := attrs(got[0]); fmt.Sprint(a) != fmt.Sprint(want) {
			t.Errorf("attrs %v, want %v", a, want)
		}
		if !strings.Contains(buf.String(), `"req":{"type":"lead","took":"4s","page":{"n":3}}`) {
			t.Errorf("the next handler lost the groups: %s", buf.String())
		}
		// The parent is unchanged and shares the ring.
		slog.New(rec).Warn("plain")
		if got := rec.Entries(); len(got) != 2 || len(got[0].Attrs) != 0 {
			t.Errorf("entries %+v", got)
		}
	})
	t.Run("secrets are redacted", func(t *testing.T) {
		var buf bytes.Buffer
		rec := status.NewRecorder(slog.NewTextHandler(&buf, nil), 10)
		log := slog.New(rec).With("client_secret", "cs-1234")
		log.Warn("oauth failed",
			"token", "xoxb-1", "Authorization", "Bearer eyJ.abc", "password", "hunter2", "code", "auth-code-1",
			slog.Group("oauth", "refresh_token", "rt-1", "status_code", 400),
			"err", fmt.Errorf("POST https://login.example/token?code=abc123&state=s: invalid_grant"),
			"header", "Bearer eyJhbGciOi.payload.sig", "user", "U0CHLOE",
			"tokens", store.Tokens{RefreshToken: "rt-2", AccessToken: "at-2"})
		e := rec.Entries()[0]
		a := attrs(e)
		for _, k := range []string{"client_secret", "token", "Authorization", "password", "code", "oauth.refresh_token"} {
			if a[k] != "[redacted]" {
				t.Errorf("%s = %q, want [redacted]", k, a[k])
			}
		}
		if a["oauth.status_code"] != "400" || a["user"] != "U0CHLOE" {
			t.Errorf("harmless attributes redacted: %v", a)
		}
		for _, leak := range []string{"cs-1234", "xoxb-1", "eyJ", "hunter2", "auth-code-1", "rt-1", "abc123", "rt-2", "at-2"} {
			for k, v := range a {
				if strings.Contains(v, leak) {
					t.Errorf("%s = %q keeps the secret %q", k, v, leak)
				}
			}
		}
		if !strings.Contains(a["err"], "invalid_grant") || !strings.Contains(a["err"], "code=[redacted]") {
			t.Errorf("err = %q", a["err"])
		}
	})
	t.Run("long values are cut, attrs are capped", func(t *testing.T) {
		rec := status.NewRecorder(nil, 1)
		args := []any{"long", strings.Repeat("é", 1000)}
		for i := range 20 {
			args = append(args, fmt.Sprintf("k%d", i), i)
		}
		slog.New(rec).Warn(strings.Repeat("m", 2000), args...)
		e := rec.Entries()[0]
		if len(e.Message) > 600 || len(e.Attrs) > 10 || len(e.Attrs[0].Value) > 400 || !strings.HasSuffix(e.Attrs[0].Value, "é…") {
			t.Errorf("entry of %d bytes, %d attrs, first value %d bytes", len(e.Message), len(e.Attrs), len(e.Attrs[0].Value))
		}
	})
	t.Run("concurrent loggers", func(t *testing.T) {
		rec := status.NewRecorder(nil, 16)
		var wg sync.WaitGroup
		for g := range 8 {
			log := slog.New(rec).With("g", g)
			wg.Go(func() {
				for i := range 200 {
					log.Warn("w", "i", i)
					if i%50 == 0 {
						_ = rec.Entries()
					}
				}
			})
		}
		wg.Wait()
		if n := len(rec.Entries()); n != 16 {
			t.Fatalf("%d entries, want 16", n)
		}
	})
}
