// Package soak holds the crash and failover tests of the "assigned to you"
// pipeline (issue 8's acceptance tests). They run the real crmbot binary
// as subprocesses on a real Redis, against the Dataverse sandbox, the fake
// Slack and the fake Teams connector served by the test process over real
// HTTP, and count what reached the fakes:
//
//   - TestSoak: assignments at a steady pace while the process is killed
//     with SIGKILL at random moments and restarted; nothing may be lost,
//     nothing doubled on Slack; Teams duplicates are counted and reported.
//     -soak.assignments and -soak.kills set the counts (small by default,
//     so it runs in go test ./...; `make soak` runs 1,000 and 10).
//   - TestTwoReplicasSIGSTOP: two replicas; the one holding a lease is
//     frozen past the lease TTL; the other takes over and the frozen one's
//     next commit is refused when it wakes.
//   - TestRedisDown: Redis behind a toxiproxy cut for 10 s: /readyz says
//     503 during the cut and 200 after it on its own; nothing is lost.
//
// The code lives in the _test files; this file only documents the package.
package soak
