package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/crmbot/crmbot/store"
)

// RunPokes checks the poke bus: every subscriber (another store over the
// same data stands for another replica) gets each poke, and a subscription
// ends with its context.
func RunPokes(t *testing.T, newFixture NewFunc) {
	f := newFixture(t, mustKeyring(t))
	other := f.Reopen(mustKeyring(t))
	c := ctx(t)
	subCtx, cancel := context.WithCancel(c)
	mine, err := f.Store.Pokes(subCtx)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := other.Pokes(subCtx)
	if err != nil {
		t.Fatal(err)
	}
	key := store.SyncKey{Org: "org.example:1", RecordType: "lead"}
	if err := f.Store.Poke(c, key); err != nil {
		t.Fatal(err)
	}
	for name, ch := range map[string]<-chan store.SyncKey{"this replica": mine, "another replica": theirs} {
		select {
		case got := <-ch:
			if got != key {
				t.Fatalf("%s got poke %+v, want %+v", name, got, key)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s got no poke", name)
		}
	}
	if err := f.Store.Poke(c, store.SyncKey{Org: "o"}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("poke without a record type: %v, want ErrInvalid", err)
	}
	cancel()
	deadline := time.After(5 * time.Second)
	for open := true; open; {
		select {
		case _, open = <-mine:
		case <-deadline:
			t.Fatal("the subscription outlived its context")
		}
	}
}
