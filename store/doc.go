// Package store keeps crmbot's state: account links with encrypted tokens, flow
// sessions, link nonces, inbound-event dedupe, preferences (user state), and
// sync cursors, owner snapshots, the outbox and leases (sync state).
//
// The interfaces here are narrow and named for their consumers; two
// implementations satisfy them: redisstore (Redis, shared by replicas) and
// embedded (in process, for `go run ./cmd/crmbot` with no Redis). One
// conformance suite, storetest, runs against both.
package store
