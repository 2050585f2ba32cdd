package soak

import (
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// TestRedisDown puts toxiproxy (as a library) between crmbot and Redis and
// cuts it for 10 s while assignments flow: /readyz answers 503 during the
// cut and 200 after it, on its own (no restart); every notification still
// arrives and none is doubled on Slack.
func TestRedisDown(t *testing.T) {
	const (
		n      = 60
		pace   = 250 * time.Millisecond
		outage = 10 * time.Second
	)
	var proxy *toxiproxy.Proxy
	h := newHarness(t, harnessOptions{redisURL: func(direct string) string {
		u, err := url.Parse(direct)
		if err != nil {
			t.Fatal(err)
		}
		srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
		proxy = toxiproxy.NewProxy(srv, "redis", "127.0.0.1:0", u.Host)
		if err := proxy.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(proxy.Stop)
		u.Host = proxy.Listen
		return u.String()
	}})
	p := h.procs[0]
	p.start()
	p.waitReady(30 * time.Second)
	h.waitBaseline(60 * time.Second)

	var wg sync.WaitGroup
	wg.Go(func() { h.assignSteadily(n, pace) })
	time.Sleep(2 * time.Second)

	proxy.Stop() // connections refused, open ones closed
	cutAt := time.Now()
	var first503 time.Duration
	var okDuring, polls int
	for time.Since(cutAt) < outage {
		status := p.ready()
		polls++
		switch {
		case status == http.StatusServiceUnavailable && first503 == 0:
			first503 = time.Since(cutAt)
		case status == http.StatusOK && first503 != 0:
			okDuring++ // ready again while Redis is still away
		case status != http.StatusServiceUnavailable && status != http.StatusOK:
			t.Errorf("/readyz answered %d during the outage", status)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if err := proxy.Start(); err != nil { // same port: Listen kept the address
		t.Fatal(err)
	}
	restoredAt := time.Now()
	if first503 == 0 {
		t.Errorf("/readyz never answered 503 in %d polls during the %s outage", polls, outage)
	} else if okDuring > 0 {
		t.Errorf("/readyz answered 200 %d times during the outage, after a first 503", okDuring)
	}
	var backIn time.Duration
	for backIn == 0 {
		if p.ready() == http.StatusOK {
			backIn = time.Since(restoredAt)
			break
		}
		if time.Since(restoredAt) > 30*time.Second {
			t.Fatalf("/readyz not 200 again 30 s after Redis came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("Redis cut for %s: /readyz 503 after %s (%d polls, none 200), 200 again %s after Redis came back",
		outage, first503.Round(time.Millisecond), polls, backIn.Round(time.Millisecond))

	wg.Wait()
	tl := h.waitDelivered(h.deliveryDeadline())
	t.Logf("Redis down %s: %s; all delivered %s after Redis came back", outage, tl, time.Since(restoredAt).Round(100*time.Millisecond))
	h.check(tl)
}
