package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// healthcheck probes the server's /livez (or --url) once and fails unless it
// answers 2xx. It is the container image's HEALTHCHECK: the distroless image
// has no shell and no curl, so the binary probes itself.
func healthcheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: crmbot healthcheck [flags]\n\nProbes crmbot's /livez once; exits 0 on a 2xx answer, non-zero otherwise (for container HEALTHCHECKs).")
		fs.PrintDefaults()
	}
	addr := getenv("CRMBOT_ADDR")
	def, defErr := healthURL(addr)
	target := fs.String("url", def, "the URL to probe (default derived from $CRMBOT_ADDR)")
	timeout := fs.Duration("timeout", 2*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("healthcheck: unexpected argument %q (see crmbot healthcheck -h)", fs.Arg(0))
	}
	urlSet := false
	fs.Visit(func(f *flag.Flag) { urlSet = urlSet || f.Name == "url" })
	if !urlSet && defErr != nil {
		return fmt.Errorf("healthcheck: CRMBOT_ADDR %q: %v (or pass --url)", addr, defErr)
	}
	if u, err := url.Parse(*target); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("healthcheck: --url %q is not an absolute http(s) URL", *target)
	}
	if *timeout <= 0 {
		return fmt.Errorf("healthcheck: --timeout %s must be positive", *timeout)
	}

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *target, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %v", err)
	}
	client := &http.Client{
		// A probe talks to this process directly: no proxy from the
		// environment, no redirects (a redirect is not a healthy answer).
		Transport:     &http.Transport{Proxy: nil, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			return fmt.Errorf("healthcheck: GET %s: connection refused: is crmbot running and listening there (CRMBOT_ADDR)?", *target)
		case errors.Is(err, context.DeadlineExceeded):
			return fmt.Errorf("healthcheck: GET %s: no answer within %s", *target, *timeout)
		}
		return fmt.Errorf("healthcheck: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg := strings.TrimSpace(string(body))
		if msg != "" {
			msg = ": " + msg
		}
		return fmt.Errorf("healthcheck: GET %s: %s%s", *target, resp.Status, msg)
	}
	fmt.Fprintf(stdout, "ok: GET %s: %s\n", *target, resp.Status)
	return nil
}

// healthURL derives the /livez URL from a listen address: an empty or
// wildcard host means the loopback interface (":3978" →
// http://127.0.0.1:3978/livez).
func healthURL(addr string) (string, error) {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		addr = ":3978"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	if port == "" || port == "0" {
		return "", fmt.Errorf("no fixed port to probe")
	}
	switch host {
	case "", "0.0.0.0", "::", "[::]":
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/livez", nil
}
