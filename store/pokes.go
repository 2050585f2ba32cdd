package store

import (
	"context"
	"strings"
)

// PokeBus carries "read this record type's changes now" between replicas:
// a Dataverse webhook reaches whichever replica the load balancer picks,
// while another may hold that record type's lease. Best effort: a poke lost
// (a replica reconnecting) costs latency only, since the poller still polls.
// Consumer: the sync poller.
type PokeBus interface {
	// Poke tells every replica subscribed (this one included) to read key's
	// changes now.
	Poke(ctx context.Context, key SyncKey) error
	// Pokes delivers the pokes of every replica until ctx ends; the channel
	// is closed then. Pokes that arrive while the receiver is busy may be
	// dropped (one pending poke per key is enough).
	Pokes(ctx context.Context) (<-chan SyncKey, error)
}

// EncodePoke is the wire form of a poke: "org\x00type".
func EncodePoke(k SyncKey) string { return k.Org + "\x00" + k.RecordType }

// DecodePoke reverses EncodePoke; false for anything else.
func DecodePoke(s string) (SyncKey, bool) {
	org, rt, ok := strings.Cut(s, "\x00")
	if !ok || org == "" || rt == "" {
		return SyncKey{}, false
	}
	return SyncKey{Org: org, RecordType: rt}, true
}
