package redisstore

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmbot/crmbot/store"
)

// dropProxy forwards bytes between clients and Redis. The first command
// whose bytes hold trap is forwarded to Redis (so it runs), and then the
// client's connection is closed before the reply reaches it: the "sent,
// connection dropped, answer lost" case a retrying client re-sends.
type dropProxy struct {
	ln      net.Listener
	up      string
	trap    []byte
	armed   atomic.Bool
	tripped chan struct{}
	wg      sync.WaitGroup
}

func newDropProxy(t *testing.T, upstream string, trap string) *dropProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &dropProxy{ln: ln, up: upstream, trap: []byte(trap), tripped: make(chan struct{})}
	p.armed.Store(true)
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() { _ = ln.Close(); p.wg.Wait() })
	return p
}

func (p *dropProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.handle(c)
	}
}

func (p *dropProxy) handle(c net.Conn) {
	defer p.wg.Done()
	u, err := net.Dial("tcp", p.up)
	if err != nil {
		_ = c.Close()
		return
	}
	var drop atomic.Bool // set before a trapped command is forwarded
	done := make(chan struct{})
	go func() { // Redis → client, unless the reply is to be lost
		defer close(done)
		buf := make([]byte, 64<<10)
		for {
			n, err := u.Read(buf)
			if n > 0 && drop.Load() {
				_ = c.Close()
				_ = u.Close()
				close(p.tripped)
				return
			}
			if n > 0 {
				if _, werr := c.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				_ = c.Close()
				return
			}
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if bytes.Contains(buf[:n], p.trap) && p.armed.CompareAndSwap(true, false) {
				drop.Store(true)
			}
			if _, werr := u.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	_ = u.Close()
	_ = c.Close()
	<-done
}

// proxiedURL is the test Redis URL with its address replaced by addr.
func proxiedURL(t *testing.T, addr string) string {
	t.Helper()
	u, err := url.Parse(redisURL())
	if err != nil {
		t.Fatal(err)
	}
	u.Host = addr
	return u.String()
}

// TestLostReplyIsAnErrorNotAWrongAnswer: a command that ran on Redis but
// whose reply was lost must not be re-sent (a re-sent SET NX answers "seen
// before" for an event nobody handled, a re-sent acquire answers "held").
func TestLostReplyIsAnErrorNotAWrongAnswer(t *testing.T) {
	up := testClient(t)
	keys, err := store.RandomKeyring()
	if err != nil {
		t.Fatal(err)
	}
	prefix := testPrefix(t, up)

	t.Run("SeenOnce", func(t *testing.T) {
		p := newDropProxy(t, up.Options().Addr, "dropreply-seen")
		s, err := Open(proxiedURL(t, p.ln.Addr().String()), Options{Prefix: prefix, Keys: keys})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		first, err := s.SeenOnce(ctx, "dropreply-seen", time.Minute)
		<-p.tripped
		if !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("SeenOnce with its reply lost = first %v, err %v; want ErrUnavailable (a retry would say first=false)", first, err)
		}
		// The SET NX did run once: the key exists, the next call says so.
		first, err = s.SeenOnce(ctx, "dropreply-seen", time.Minute)
		if err != nil || first {
			t.Fatalf("SeenOnce after the lost reply = %v, %v; want false, nil", first, err)
		}
	})

	t.Run("AcquireLease", func(t *testing.T) {
		p := newDropProxy(t, up.Options().Addr, "dropreply-holder")
		s, err := Open(proxiedURL(t, p.ln.Addr().String()), Options{Prefix: prefix, Keys: keys})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		key := store.SyncKey{Org: "org1", RecordType: "lead"}
		fence, ok, err := s.AcquireLease(ctx, key, "dropreply-holder", time.Minute)
		<-p.tripped
		if !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("AcquireLease with its reply lost = %d, %v, %v; want ErrUnavailable (a retry would say held)", fence, ok, err)
		}
	})

	t.Run("New refuses a retrying client", func(t *testing.T) {
		o := *up.Options()
		o.MaxRetries = 3
		rdb := redis.NewClient(&o)
		defer rdb.Close()
		_, err := New(rdb, Options{Prefix: prefix, Keys: keys})
		if !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("New with MaxRetries 3 = %v, want ErrInvalid", err)
		}
	})
}
