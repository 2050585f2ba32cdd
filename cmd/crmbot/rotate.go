package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/crmbot/crmbot/internal/config"
	"github.com/crmbot/crmbot/store"
	"github.com/crmbot/crmbot/store/redisstore"
)

// rotateKeys re-encrypts every stored token with the first key of
// CRMBOT_ENCRYPTION_KEY. Rotation: put a new key first, keep the old one
// listed, deploy, run this, then drop the old key (after at least 10 minutes,
// so pending link nonces sealed with it can still be opened).
func rotateKeys(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rotate-keys", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 30*time.Minute, "give up after this long (safe to run again)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	if cfg.RedisURL == "" {
		return errors.New("rotate-keys: REDIS_URL is not set; the embedded store keeps no tokens across restarts, so there is nothing to rotate")
	}
	keys, err := store.ParseKeyring(cfg.EncryptionKey)
	if err != nil {
		return err
	}
	s, err := redisstore.Open(cfg.RedisURL, redisstore.Options{Keys: keys})
	if err != nil {
		return err
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	rep, err := s.RotateKeys(ctx)
	fmt.Fprintf(stdout, "rotate-keys: %d links, %d re-encrypted with key id %s, %d broken (those users must relink)\n",
		rep.Links, rep.Rewritten, keys.CurrentKeyID(), rep.Broken)
	return err
}
