package main

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/crmbot/crmbot/internal/config"
	"github.com/crmbot/crmbot/store"
	"github.com/crmbot/crmbot/store/embedded"
	"github.com/crmbot/crmbot/store/redisstore"
)

// openStore returns the Redis store when REDIS_URL is set, else the embedded
// one, and a function that closes it.
func openStore(cfg *config.Config, logger *slog.Logger) (store.Store, func() error, error) {
	var keys *store.Keyring
	if len(cfg.EncryptionKey) > 0 {
		k, err := store.ParseKeyring(cfg.EncryptionKey)
		if err != nil {
			return nil, nil, fmt.Errorf("CRMBOT_ENCRYPTION_KEY: %w", err)
		}
		keys = k
	}
	if cfg.RedisURL == "" {
		// Without CRMBOT_ENCRYPTION_KEY the embedded store seals with a key of this process.
		s, err := embedded.New(embedded.Options{Keys: keys})
		if err != nil {
			return nil, nil, err
		}
		logger.Info("embedded store: links and sessions live in this process and are lost on restart (set REDIS_URL to keep them)")
		return s, func() error { return nil }, nil
	}
	s, err := redisstore.Open(cfg.RedisURL, redisstore.Options{Keys: keys})
	if err != nil {
		if strings.HasPrefix(err.Error(), "REDIS_URL") {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	logger.Info("redis store", "key_id", keys.CurrentKeyID())
	return s, s.Close, nil
}
