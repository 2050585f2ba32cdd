package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Redis Cluster.
//
// REDIS_URL selects a cluster client with the schemes redis+cluster:// and
// rediss+cluster:// (TLS): the host is one seed node, more seeds go in addr
// query parameters, e.g.
//
//	redis+cluster://user:pass@10.0.0.1:6379?addr=10.0.0.2:6379&addr=10.0.0.3:6379
//
// The rest of the URL is go-redis's ParseClusterURL (redis.ParseClusterURL
// with the "+cluster" dropped from the scheme), so its query options
// (dial_timeout, pool_size, max_redirects …) apply.
//
// Every multi-key step (a Lua script) takes keys of one hash tag — {links}
// or {org:type} — so it runs on one slot; see keys.go.
const (
	clusterScheme    = "redis+cluster"
	clusterTLSScheme = "rediss+cluster"
)

// isClusterURL tells a cluster REDIS_URL from a single-node one.
func isClusterURL(raw string) bool {
	scheme, _, ok := strings.Cut(raw, "://")
	if !ok {
		return false
	}
	scheme = strings.ToLower(scheme)
	return scheme == clusterScheme || scheme == clusterTLSScheme
}

// parseClusterURL reads a redis+cluster:// or rediss+cluster:// URL.
func parseClusterURL(raw string) (*redis.ClusterOptions, error) {
	scheme, rest, _ := strings.Cut(raw, "://")
	base := "redis"
	if strings.EqualFold(scheme, clusterTLSScheme) {
		base = "rediss"
	}
	o, err := redis.ParseClusterURL(base + "://" + rest)
	if err != nil {
		return nil, urlError(clusterScheme+":// or "+clusterTLSScheme+"://", err)
	}
	return o, nil
}

// urlError says what is wrong with a REDIS_URL without repeating it: it may
// hold a password. url.Parse's errors quote the whole URL; go-redis's own
// (scheme, database number, query options) do not.
func urlError(want string, err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return fmt.Errorf("REDIS_URL: not a %s URL", want)
	}
	return fmt.Errorf("REDIS_URL: not a %s URL: %v", want, err)
}

// NewClusterClient returns a Redis Cluster client set up as the store needs
// it (Open uses it; give its result to New): ContextTimeoutEnabled, no
// transparent retries (MaxRetries -1), and a hook on every node client that
// stops the cluster client from re-sending a command whose connection failed
// after it may have been written.
//
// That hook is needed because go-redis's ClusterClient retries on its own:
// its MaxRedirects (default 3) bounds both the MOVED/ASK redirects it
// follows and its re-sends after network errors (EOF, timeouts), whatever
// MaxRetries says. Redirects are safe to follow — the node refused the
// command without running it — and so are retries after a dial error, a
// pool timeout or a server refusal (TRYAGAIN, CLUSTERDOWN, LOADING …). A
// re-send after the command may have run is not (see New). The hook marks
// exactly those errors as final, so MaxRedirects keeps redirects working.
//
// Pipelines are the exception: the cluster client decides to re-send a
// pipeline inside the node call, before any hook sees the result. The store
// only pipelines reads (GetOwners, LinkedSystemUsers), which are safe to
// re-send.
//
// Reading from replicas (ReadOnly, RouteByLatency, RouteRandomly) is refused
// by New: a replica may not have the store's own last write yet.
func NewClusterClient(o *redis.ClusterOptions) *redis.ClusterClient {
	o.ContextTimeoutEnabled = true
	o.MaxRetries = -1
	newNode := o.NewClient
	if newNode == nil {
		newNode = redis.NewClient
	}
	o.NewClient = func(opt *redis.Options) *redis.Client {
		c := newNode(opt)
		c.AddHook(noResend{})
		return c
	}
	return redis.NewClusterClient(o)
}

// noResend is the node-client hook of NewClusterClient: a command that may
// have reached Redis and failed on the way back comes out as a *sentError,
// which go-redis's retry check does not recognise.
type noResend struct{}

func (noResend) DialHook(next redis.DialHook) redis.DialHook { return next }

func (noResend) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if mayHaveRun(err) {
			err = &sentError{err: err}
			cmd.SetErr(err)
		}
		return err
	}
}

// ProcessPipelineHook covers the ASKING+command pipeline the cluster client
// sends when it follows an ASK redirect.
func (noResend) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		for _, c := range cmds {
			if cerr := c.Err(); mayHaveRun(cerr) {
				c.SetErr(&sentError{err: cerr})
			}
		}
		if mayHaveRun(err) {
			err = &sentError{err: err}
		}
		return err
	}
}

// mayHaveRun reports whether err leaves open that Redis ran the command: any
// failure other than a reply from Redis (which says what happened), a dial
// error or a pool timeout (nothing was sent), or a closed client.
func mayHaveRun(err error) bool {
	if err == nil {
		return false
	}
	var rerr redis.Error
	if errors.As(err, &rerr) {
		return false
	}
	var se *sentError
	if errors.As(err, &se) {
		return false // marked already
	}
	var oerr *net.OpError
	if errors.As(err, &oerr) && oerr.Op == "dial" {
		return false
	}
	return !errors.Is(err, redis.ErrPoolTimeout) && !errors.Is(err, redis.ErrClosed)
}

// sentError is a failure after a command may have been sent. It has no
// Unwrap on purpose: go-redis decides to retry with errors.Is/As (io.EOF, a
// net.Error's timeout), and must not see through it. wrapErr unwraps it.
type sentError struct{ err error }

func (e *sentError) Error() string {
	return "command may have run, not re-sent: " + e.err.Error()
}

// cluster returns the cluster client, or nil on a single node.
func (s *Store) cluster() *redis.ClusterClient {
	c, _ := s.rdb.(*redis.ClusterClient)
	return c
}
