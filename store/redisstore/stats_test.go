package redisstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/crmbot/crmbot/store"
)

// BenchmarkLinkCounts100k times LinkCounts over 100k link hashes (written
// directly, pipelined: PutLink would take far longer to seed), every 10th
// broken, a third of them on Teams.
//
//	go test -run '^$' -bench LinkCounts100k -benchtime 10x ./store/redisstore
func BenchmarkLinkCounts100k(b *testing.B) {
	const n = 100_000
	keys, err := store.RandomKeyring()
	if err != nil {
		b.Fatal(err)
	}
	s, rdb := testStore(b, keys)
	ctx := context.Background()
	want := map[string]store.LinkCount{}
	pipe := rdb.Pipeline()
	for i := range n {
		platform := store.PlatformSlack
		if i%3 == 0 {
			platform = store.PlatformTeams
		}
		u := store.ChatUser{Platform: platform, Tenant: fmt.Sprintf("T%04d", i%1000), UserID: fmt.Sprintf("U%08d", i)}
		fields := []any{fSystemUser, fmt.Sprintf("00000000-0000-0000-0000-%012d", i), fVersion, i + 1,
			fLinkedAt, time.Now().UnixMilli(), fRefresh, "v1.00000000.ciphertext-placeholder-of-a-refresh-token"}
		c := want[platform]
		c.Linked++
		if i%10 == 0 {
			fields = append(fields, fBroken, "1", fBrokenReason, "refused")
			c.Broken++
		}
		want[platform] = c
		pipe.HSet(ctx, s.ks.link(u), fields...)
		if pipe.Len() == 1000 {
			if _, err := pipe.Exec(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		got, err := s.LinkCounts(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			b.Fatalf("LinkCounts = %v, want %v", got, want)
		}
	}
}
