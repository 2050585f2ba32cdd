package redisstore

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/crmbot/crmbot/store"
)

// keyspace names every key. Each caller-supplied part is escaped
// (url.QueryEscape) so it cannot contain ':' or a brace, which keeps names
// unambiguous and stops an id from choosing a Cluster hash tag.
type keyspace struct{ prefix string }

// linksTag is the hash tag of every key a link step touches together: one
// slot of a Redis Cluster holds every link (links are few and small).
const linksTag = "{links}"

// link: a hash per linked chat user (see linkFields).
func (k keyspace) link(u store.ChatUser) string {
	return k.prefix + linksTag + ":link:" + member(u)
}

// linkUser is the chat user a link key names.
func (k keyspace) linkUser(key string) (store.ChatUser, error) {
	m, ok := strings.CutPrefix(key, k.prefix+linksTag+":link:")
	if !ok {
		return store.ChatUser{}, fmt.Errorf("not a link key: %q", key)
	}
	return parseMember(m)
}

// linkPattern matches every link hash (for SCAN; on a cluster, on each
// master).
func (k keyspace) linkPattern() string {
	return globEscape(k.prefix+linksTag+":link:") + "*"
}

// linkedUsers: a set of member(u) per Dynamics systemuserid.
func (k keyspace) linkedUsers(systemUserID string) string {
	return k.prefix + linksTag + ":sysuser:" + esc(systemUserID)
}

// versionSeq: the counter token versions come from, shared by all links so
// that a relink never reuses a version.
func (k keyspace) versionSeq() string { return k.prefix + linksTag + ":version" }

// flow: a flow session's bytes, by store.LookupKey(id).
func (k keyspace) flow(lookup string) string { return k.prefix + "flow:" + lookup }

// nonce: a sealed pending link request, by store.LookupKey(nonce).
func (k keyspace) nonce(lookup string) string { return k.prefix + "nonce:" + lookup }

// seen: an inbound event id already handled.
func (k keyspace) seen(key string) string { return k.prefix + "seen:" + esc(key) }

// prefs: a chat user's preferences as JSON.
func (k keyspace) prefs(u store.ChatUser) string { return k.prefix + "prefs:" + member(u) }

// conversation: a Teams chat user's conversation reference (a hash, fields
// c* in conversations.go). A single key, so no hash tag is needed.
func (k keyspace) conversation(u store.ChatUser) string { return k.prefix + "conv:" + member(u) }

func esc(s string) string { return url.QueryEscape(s) }

// member encodes a chat user as platform:tenant:user (each part escaped).
func member(u store.ChatUser) string {
	return esc(u.Platform) + ":" + esc(u.Tenant) + ":" + esc(u.UserID)
}

// parseMember reverses member.
func parseMember(m string) (store.ChatUser, error) {
	parts := strings.Split(m, ":")
	if len(parts) != 3 {
		return store.ChatUser{}, fmt.Errorf("malformed chat user %q", m)
	}
	var out [3]string
	for i, p := range parts {
		v, err := url.QueryUnescape(p)
		if err != nil {
			return store.ChatUser{}, fmt.Errorf("malformed chat user %q: %w", m, err)
		}
		out[i] = v
	}
	return store.ChatUser{Platform: out[0], Tenant: out[1], UserID: out[2]}, nil
}

// globEscape quotes SCAN MATCH's special characters.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// syncTag is the hash tag of one (org, record type): every key the fenced
// commit touches shares it, so the commit is one Lua step on one slot of a
// Redis Cluster, and each (org, record type) can land on its own node.
func (k keyspace) syncTag(sk store.SyncKey) string {
	return k.prefix + "{" + esc(sk.Org) + ":" + esc(sk.RecordType) + "}"
}

// syncKeys are the keys of one (org, record type), in the order the Lua
// scripts take them as KEYS.
type syncKeys struct {
	cursor string // hash: t (delta token), at (unix ms)
	owners string // hash: 16-byte record GUID → store.EncodeOwner
	lease  string // string: "<fence>:<holder>", PX = lease TTL
	fence  string // string counter: last fencing token handed out
	outbox string // stream + consumer group
	dead   string // stream of dead letters
	enq    string // sorted set: dedupe key → enqueue time (unix ms)
	reason string // hash: outbox entry id → last failure reason
}

func (k keyspace) sync(sk store.SyncKey) syncKeys {
	t := k.syncTag(sk)
	return syncKeys{
		cursor: t + ":cursor", owners: t + ":owners", lease: t + ":lease", fence: t + ":fence",
		outbox: t + ":outbox", dead: t + ":dead", enq: t + ":enq", reason: t + ":reason",
	}
}

// all lists the keys in the scripts' KEYS order.
func (s syncKeys) all() []string {
	return []string{s.cursor, s.owners, s.lease, s.fence, s.outbox, s.dead, s.enq, s.reason}
}
