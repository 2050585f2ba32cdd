package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/crmbot/crmbot/store"
)

// RunRecent checks the recent assignments: newest first, one entry per
// record, at most store.MaxRecent, per chat user, and no lost write under
// concurrency.
func RunRecent(t *testing.T, newFixture NewFunc) {
	f := newFixture(t, mustKeyring(t))
	rs, ok := f.Store.(store.RecentStore)
	if !ok {
		t.Fatal("the store does not keep recent assignments (store.RecentStore)")
	}
	c := ctx(t)
	alice := store.ChatUser{Platform: store.PlatformSlack, Tenant: "T1", UserID: "UALICE"}
	bob := store.ChatUser{Platform: store.PlatformTeams, Tenant: "t-1", UserID: "29:bob"}
	if got, err := rs.RecentFor(c, alice); err != nil || len(got) != 0 {
		t.Fatalf("empty: %v, %v", got, err)
	}
	at := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	rec := func(i int) store.Recent {
		return store.Recent{RecordType: "lead", RecordID: fmt.Sprintf("00000000-0000-0000-0000-%012d", i), Title: fmt.Sprint("Lead ", i),
			Kind: 1, By: "Seán", At: at.Add(time.Duration(i) * time.Minute)}
	}
	for i := range store.MaxRecent + 3 {
		if err := rs.AddRecent(c, alice, rec(i)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := rs.RecentFor(c, alice)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != store.MaxRecent || got[0].Title != fmt.Sprint("Lead ", store.MaxRecent+2) || !got[0].At.Equal(rec(store.MaxRecent+2).At) || got[0].By != "Seán" {
		t.Fatalf("after %d adds: %d entries, first %+v", store.MaxRecent+3, len(got), got[0])
	}
	// The same record again moves to the top, once.
	again := rec(5)
	again.Title = "Lead 5 (renamed)"
	if err := rs.AddRecent(c, alice, again); err != nil {
		t.Fatal(err)
	}
	got, _ = rs.RecentFor(c, alice)
	n := 0
	for _, r := range got {
		if r.RecordID == again.RecordID {
			n++
		}
	}
	if got[0].Title != again.Title || n != 1 || len(got) != store.MaxRecent {
		t.Fatalf("re-added record: first %q, %d copies, %d entries", got[0].Title, n, len(got))
	}
	if other, _ := rs.RecentFor(c, bob); len(other) != 0 {
		t.Fatalf("bob sees alice's: %v", other)
	}
	if err := rs.AddRecent(c, store.ChatUser{}, rec(1)); err == nil {
		t.Fatal("an invalid chat user was accepted")
	}
	// Concurrent adds for different records all land (up to the cap).
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if err := rs.AddRecent(c, bob, rec(100+i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got, _ := rs.RecentFor(c, bob); len(got) != 8 {
		t.Fatalf("concurrent adds: %d of 8 kept", len(got))
	}
}
