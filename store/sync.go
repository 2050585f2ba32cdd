package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// SyncKey names one unit of sync work: a record type in one Dynamics org.
// Cursor, owner snapshot, lease, fencing counter and outbox are all per
// SyncKey (one Redis Cluster hash tag each).
type SyncKey struct {
	Org        string // org id or host, as the sync configures it
	RecordType string // entity logical name, e.g. "lead"
}

// String returns "org/type" for logs and errors.
func (k SyncKey) String() string { return k.Org + "/" + k.RecordType }

// Validate reports ErrInvalid for an empty part.
func (k SyncKey) Validate() error {
	if k.Org == "" || k.RecordType == "" {
		return fmt.Errorf("%w: sync key %q needs an org and a record type", ErrInvalid, k)
	}
	return nil
}

// Cursor is the change-tracking position of a SyncKey.
type Cursor struct {
	Token     string    // Dataverse delta token (opaque)
	UpdatedAt time.Time // when it was stored (millisecond precision)
}

// OwnerType tells a user owner from a team owner.
type OwnerType byte

// Owner types.
const (
	OwnerUser OwnerType = 'u'
	OwnerTeam OwnerType = 't'
)

// Owner is what the snapshot remembers of a record: who owns it, and the
// record version the sync saw.
type Owner struct {
	ID      string // systemuserid or teamid (GUID)
	Type    OwnerType
	Version int64 // Dataverse versionnumber
}

// SnapshotStore keeps the change-tracking cursor and the owner snapshot of
// every record. Consumer: the sync poller.
type SnapshotStore interface {
	// GetCursor returns the stored cursor; ErrNotFound before the first
	// commit that set one (a baseline is needed).
	GetCursor(ctx context.Context, key SyncKey) (Cursor, error)
	// GetOwners returns the snapshot of the given record ids (GUIDs); ids
	// never seen are absent from the map. Keys are the ids as passed.
	GetOwners(ctx context.Context, key SyncKey, ids []string) (map[string]Owner, error)
	// SnapshotSize counts the records in the snapshot.
	SnapshotSize(ctx context.Context, key SyncKey) (int64, error)
	// ResetSync deletes the cursor and the whole snapshot in one fenced step,
	// for a re-baseline (expired delta token) or when a record type is
	// dropped. The outbox is kept: events already committed still go out.
	// ErrStaleFence (nothing deleted) when fence is not the current one.
	ResetSync(ctx context.Context, key SyncKey, fence int64) error
}

// LeaseStore hands out one lease per SyncKey, with a fencing token that
// grows with every acquisition. Consumer: the sync poller.
type LeaseStore interface {
	// AcquireLease takes the lease for holder for ttl if nobody holds it.
	// ok is false (and err nil) when someone does. The fence is strictly
	// greater than every fence handed out before for key.
	AcquireLease(ctx context.Context, key SyncKey, holder string, ttl time.Duration) (fence int64, ok bool, err error)
	// RenewLease extends holder's lease to ttl from now; ErrLeaseLost when
	// holder does not hold it (expired, or taken by another).
	RenewLease(ctx context.Context, key SyncKey, holder string, ttl time.Duration) error
	// ReleaseLease gives the lease up; ErrLeaseLost (nothing changed) when
	// holder does not hold it.
	ReleaseLease(ctx context.Context, key SyncKey, holder string) error
}

// Commit is one page of sync results, applied all at once or not at all.
type Commit struct {
	// Cursor, when not nil, replaces the stored cursor (UpdatedAt is set by
	// the store). Baseline pages before the last leave it nil.
	Cursor *Cursor
	// Sets adds or replaces snapshot entries by record id (GUID).
	Sets map[string]Owner
	// Deletes removes snapshot entries (deleted records).
	Deletes []string
	// Events enter the outbox, each at most once per dedupe window.
	Events []OutboxEvent
}

// Size is the number of changes in c (for metrics).
func (c Commit) Size() int { return len(c.Sets) + len(c.Deletes) + len(c.Events) }

// MaxCommitChanges caps Commit.Size: a commit is one atomic step (one Lua
// script on Redis), and a much bigger one would block Redis past its
// lua-time-limit. Pages of a few thousand changes are far below it.
const MaxCommitChanges = 20_000

// CheckCommitSize reports ErrInvalid for a commit over MaxCommitChanges.
func CheckCommitSize(c Commit) error {
	if n := c.Size(); n > MaxCommitChanges {
		return fmt.Errorf("%w: commit of %d changes (sets+deletes+events) is over the %d limit; split the page",
			ErrInvalid, n, MaxCommitChanges)
	}
	return nil
}

// Committer applies a page of sync results atomically under a fencing
// token. Consumer: the sync poller.
type Committer interface {
	// CommitSync applies c in one atomic step if fence is the current fencing
	// token of key; otherwise it returns ErrStaleFence and changes nothing.
	// Events whose dedupe key was enqueued within the dedupe window are
	// skipped, so a retried commit enqueues nothing twice. It returns how
	// many events it enqueued. A commit over MaxCommitChanges is refused
	// with ErrInvalid.
	CommitSync(ctx context.Context, key SyncKey, fence int64, c Commit) (enqueued int, err error)
}

// SyncStore is everything the sync half of the store offers.
type SyncStore interface {
	SnapshotStore
	LeaseStore
	Committer
	Outbox
}

// GUIDBytes is the size of a GUID in its compact form.
const GUIDBytes = 16

// RecordField is the compact snapshot field of a record id: its 16 GUID
// bytes. ErrInvalid when id is not a GUID.
func RecordField(id string) (string, error) {
	g, err := uuid.Parse(id)
	if err != nil || len(id) != 36 {
		return "", fmt.Errorf("%w: record id %q is not a GUID", ErrInvalid, id)
	}
	return string(g[:]), nil
}

// RecordFields maps RecordField over ids.
func RecordFields(ids []string) ([]string, error) {
	fields := make([]string, len(ids))
	for i, id := range ids {
		f, err := RecordField(id)
		if err != nil {
			return nil, err
		}
		fields[i] = f
	}
	return fields, nil
}

// EncodeOwner is the compact snapshot value of o: 16 GUID bytes, the type
// byte, then the version as a uvarint (~22 bytes instead of ~50 as text).
func EncodeOwner(o Owner) (string, error) {
	g, err := uuid.Parse(o.ID)
	if err != nil || len(o.ID) != 36 {
		return "", fmt.Errorf("%w: owner id %q is not a GUID", ErrInvalid, o.ID)
	}
	if o.Type != OwnerUser && o.Type != OwnerTeam {
		return "", fmt.Errorf("%w: owner type %q", ErrInvalid, o.Type)
	}
	if o.Version < 0 {
		return "", fmt.Errorf("%w: negative record version %d", ErrInvalid, o.Version)
	}
	b := make([]byte, 0, GUIDBytes+1+binary.MaxVarintLen64)
	b = append(b, g[:]...)
	b = append(b, byte(o.Type))
	b = binary.AppendUvarint(b, uint64(o.Version))
	return string(b), nil
}

// DecodeOwner reverses EncodeOwner; the id comes back as a lowercase GUID.
func DecodeOwner(v string) (Owner, error) {
	if len(v) < GUIDBytes+2 {
		return Owner{}, fmt.Errorf("snapshot entry of %d bytes is too short", len(v))
	}
	var g uuid.UUID
	copy(g[:], v[:GUIDBytes])
	t := OwnerType(v[GUIDBytes])
	ver, n := binary.Uvarint([]byte(v[GUIDBytes+1:]))
	if n <= 0 || (t != OwnerUser && t != OwnerTeam) {
		return Owner{}, fmt.Errorf("malformed snapshot entry")
	}
	return Owner{ID: g.String(), Type: t, Version: int64(ver)}, nil
}

// CheckHolder reports ErrInvalid for an empty lease holder.
func CheckHolder(holder string) error {
	if strings.TrimSpace(holder) == "" {
		return fmt.Errorf("%w: empty lease holder", ErrInvalid)
	}
	return nil
}

// Errors of the sync half of the store.
var (
	// ErrStaleFence: a commit or reset carried a fencing token that is no
	// longer the current one (another holder took the lease since); nothing
	// was changed. The caller stops working on that SyncKey.
	ErrStaleFence = errors.New("store: stale fencing token")
	// ErrLeaseLost: a renew or release by a holder that does not hold the
	// lease (it expired, or another holder took it).
	ErrLeaseLost = errors.New("store: lease not held")
)
