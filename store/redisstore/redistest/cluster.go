package redistest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// ClusterMasters is how many masters Cluster starts.
const ClusterMasters = 3

// Cluster starts a throwaway Redis Cluster of ClusterMasters masters (no
// replicas) from the redis-server and redis-cli binaries on PATH: one
// redis-server per master on free 127.0.0.1 ports, in t.TempDir(), without
// persistence, joined by `redis-cli --cluster create`. It returns once every
// node reports cluster_state:ok, and kills the servers when t ends. It
// returns the nodes' addresses.
//
// Without the binaries it skips loudly, except under CI, where it fails.
func Cluster(t testing.TB) []string {
	t.Helper()
	server, cli := lookBinary(t, "redis-server"), lookBinary(t, "redis-cli")
	dir := t.TempDir()
	addrs := make([]string, 0, ClusterMasters)
	for i := range ClusterMasters {
		addrs = append(addrs, startNode(t, server, dir, i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append(append([]string{"--cluster", "create"}, addrs...), "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, a := range addrs {
		waitClusterOK(ctx, t, a, dir)
	}
	return addrs
}

// ClusterURL is the REDIS_URL of a cluster (redisstore.Open's
// redis+cluster:// form): the first address as host, the others as addr
// parameters.
func ClusterURL(addrs []string) string {
	u := "redis+cluster://" + addrs[0]
	for i, a := range addrs[1:] {
		sep := "&"
		if i == 0 {
			sep = "?"
		}
		u += sep + "addr=" + a
	}
	return u
}

func lookBinary(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	msg := fmt.Sprintf("%s not found on PATH (apt-get install redis-server): %v", name, err)
	if os.Getenv("CI") != "" {
		t.Fatal("CI is set: " + msg)
	}
	fmt.Fprintln(os.Stderr, "!!! SKIPPING a Redis Cluster test: "+msg)
	t.Skip(msg)
	return ""
}

// startNode starts cluster node i on a free port and waits until it answers
// PING. A node's cluster bus listens on its port + 10000, so both must be
// free; another test process may take a port between the check and the
// start, so a node that fails to start is tried again on other ports.
func startNode(t testing.TB, server, dir string, i int) string {
	t.Helper()
	var lastErr error
	for range 10 {
		port := freePortPair(t)
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		logFile := filepath.Join(dir, fmt.Sprintf("redis-%d.log", i))
		cmd := exec.Command(server,
			"--bind", "127.0.0.1", "--port", strconv.Itoa(port),
			"--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(dir, fmt.Sprintf("nodes-%d.conf", i)),
			"--cluster-node-timeout", "5000",
			"--dir", dir, "--dbfilename", fmt.Sprintf("dump-%d.rdb", i),
			"--save", "", "--appendonly", "no",
			"--daemonize", "no", "--logfile", logFile,
		)
		if err := cmd.Start(); err != nil {
			t.Fatalf("start redis-server: %v", err)
		}
		exited := make(chan struct{}) // closed when the process has ended
		go func() { _ = cmd.Wait(); close(exited) }()
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			<-exited
		})
		if lastErr = waitPing(addr, exited); lastErr == nil {
			return addr
		}
		_ = cmd.Process.Kill()
		log, _ := os.ReadFile(logFile)
		lastErr = fmt.Errorf("%w\n%s", lastErr, tail(string(log), 2000))
	}
	t.Fatalf("redis-server (cluster node %d) did not start: %v", i, lastErr)
	return ""
}

// freePortPair returns a port p such that p and p+10000 (its cluster bus)
// are free on 127.0.0.1 right now. Ports are drawn from 20000–29999, below
// the usual ephemeral range, so the bus port stays valid.
func freePortPair(t testing.TB) int {
	t.Helper()
	for range 100 {
		p := 20000 + rand.IntN(10000)
		l1, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			continue
		}
		l2, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p+10000)))
		_ = l1.Close()
		if err != nil {
			continue
		}
		_ = l2.Close()
		return p
	}
	t.Fatal("no free port pair for a Redis Cluster node")
	return 0
}

// waitPing waits until the node at addr answers PING, or its process ends.
func waitPing(addr string, exited <-chan struct{}) error {
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer rdb.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		err := rdb.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("redis-server on %s exited (last ping: %v)", addr, err)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server on %s does not answer: %w", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitClusterOK waits until the node at addr reports cluster_state:ok.
func waitClusterOK(ctx context.Context, t testing.TB, addr, dir string) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer rdb.Close()
	var info string
	for {
		var err error
		info, err = rdb.ClusterInfo(ctx).Result()
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("cluster node %s not ok: %v\n%s\n(logs in %s)", addr, err, info, dir)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
