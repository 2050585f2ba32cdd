package soak

import (
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/crmbot/crmbot/store"
)

// TestTwoReplicasSIGSTOP runs two replicas on one Redis. While assignments
// flow, the replica holding leases is frozen (SIGSTOP) for longer than the
// lease TTL: the other must take its record types over, and when the
// frozen one wakes (SIGCONT) it must not commit under its old lease — its
// next renewal or commit is refused ("sync: lost the lease" / "another
// replica took over", crmbot_sync_cycles_total{outcome="lease_lost"}).
// Nothing is lost, nothing doubled on Slack (a copy the frozen replica
// posts on waking is deleted again, see below), nothing dead-lettered.
//
// Two replicas race on the outbox: an entry a live (or frozen) worker is
// still delivering is claimed by the other replica once it has been idle
// for CRMBOT_DELIVERY_RETRY. Before 233f251 both posted (Slack showed the
// notification twice); since, the second finds the (event, user) locked.
func TestTwoReplicasSIGSTOP(t *testing.T) {
	const (
		n    = 48
		pace = 250 * time.Millisecond
		// frozen well past the lease (3 s) and the sync interval (1 s):
		// the other replica has room to take over even on a loaded box.
		frozen = 8 * time.Second
	)
	h := newHarness(t, harnessOptions{replicas: 2})
	for _, p := range h.procs {
		p.start()
	}
	for _, p := range h.procs {
		p.waitReady(30 * time.Second)
	}
	h.waitBaseline(60 * time.Second)
	byName := map[string]*proc{}
	for _, p := range h.procs {
		name := p.replicaName()
		if name == "" {
			t.Fatalf("replica %s did not log its name", p.name)
		}
		byName[name] = p
	}

	var wg sync.WaitGroup
	wg.Go(func() { h.assignSteadily(n, pace) })
	time.Sleep(2 * time.Second)

	// The victim: the replica holding the most leases.
	holders := h.leaseHolders()
	held := map[*proc][]string{}
	for kind, holder := range holders {
		if p := byName[holder]; p != nil {
			held[p] = append(held[p], kind)
		}
	}
	victim, other := h.procs[0], h.procs[1]
	if len(held[other]) > len(held[victim]) {
		victim, other = other, victim
	}
	types := held[victim]
	sort.Strings(types)
	if len(types) == 0 {
		t.Fatalf("no replica holds a lease: %v", holders)
	}
	t.Logf("replica %s (%s) holds %v; replica %s (%s) holds %v", victim.name, victim.replicaName(), types,
		other.name, other.replicaName(), held[other])
	refusals := func() (lost, tookOver int) {
		return victim.countLog("sync: lost the lease"), victim.countLog("another replica took over")
	}
	lost0, took0 := refusals()
	leaseLost0 := sum(victim.metric("crmbot_sync_cycles_total", `outcome="lease_lost"`, "record_type"))

	victim.signal(syscall.SIGSTOP)
	stoppedAt := time.Now()
	var takeover time.Duration
	for takeover == 0 && time.Since(stoppedAt) < frozen {
		now := h.leaseHolders()
		all := true
		for _, k := range types {
			if now[k] != other.replicaName() {
				all = false
			}
		}
		if all {
			takeover = time.Since(stoppedAt)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Until(stoppedAt.Add(frozen)))
	victim.signal(syscall.SIGCONT)
	if takeover == 0 {
		t.Errorf("replica %s did not take over %v within %s of replica %s freezing: leases %v",
			other.name, types, frozen, victim.name, h.leaseHolders())
	} else {
		t.Logf("replica %s froze for %s; replica %s held all its record types %s after the freeze (lease TTL %s)",
			victim.name, frozen, other.name, takeover.Round(10*time.Millisecond), syncLease)
	}

	// Awake, the victim must find its leases gone before it writes.
	end := time.Now().Add(10 * time.Second)
	var lost, tookOver int
	for {
		l, o := refusals()
		lost, tookOver = l-lost0, o-took0
		if lost+tookOver >= len(types) || time.Now().After(end) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	leaseLost := sum(victim.metric("crmbot_sync_cycles_total", `outcome="lease_lost"`, "record_type")) - leaseLost0
	t.Logf("after SIGCONT replica %s: %d renewals refused (\"sync: lost the lease\"), %d commits refused (\"another replica took over\"), "+
		"lease_lost cycles %v", victim.name, lost, tookOver, leaseLost)
	if lost+tookOver < len(types) {
		t.Errorf("replica %s held %d record types but logged only %d refusals after waking", victim.name, len(types), lost+tookOver)
	}
	after := h.leaseHolders()
	for _, k := range types {
		if after[k] == victim.replicaName() {
			t.Errorf("replica %s holds the lease of %s again right after waking", victim.name, k)
		}
	}

	wg.Wait()
	tl := h.waitDelivered(h.deliveryDeadline())
	t.Logf("two replicas, one frozen %s: %s", frozen, tl)
	// A replica frozen after its last "already posted?" check and before its
	// HTTP request leaves the wire posts once more when it wakes, after the
	// replica that claimed its entry posted: no check before the post can
	// close that window (Slack has no idempotency key). The record of a post
	// is first writer wins (ClaimSent), so the replica that wakes finds the
	// other's post recorded and deletes its own copy (chat.delete): what
	// stays in the chat is one card. The copies posted and deleted are
	// counted apart (tally.removed) and logged.
	removedLogged := 0
	for _, p := range h.procs {
		removedLogged += p.countLog("deleted this copy")
	}
	t.Logf("posted twice and deleted again: slack %d, teams %d (replicas logged %d); remaining duplicates: slack %d, teams %d",
		tl.removed[store.PlatformSlack], tl.removed[store.PlatformTeams], removedLogged,
		tl.dups[store.PlatformSlack], tl.dups[store.PlatformTeams])
	h.check(tl)
}

func sum(m map[string]float64) float64 {
	s := 0.0
	for _, v := range m {
		s += v
	}
	return s
}
