// Package footprint measures the memory of the real crmbot binary: its
// resident set when idle, on Redis against a sandbox Dynamics served over
// HTTP by the benchmark process (so only the server's own memory counts),
// and again with 100,000 account links in Redis; and, for information, the
// embedded demo (sandbox inside the process, embedded store).
//
// It is a benchmark, so `go test ./...` does not run it:
//
//	go test -run '^$' -bench Footprint -benchtime 1x ./e2e/footprint/
//
// The targets (idle ≤ 50 MB, less than 10 MB more with 100k links)
// are reported, not asserted: a benchmark measures.
//
// The code lives in the _test file; this file only documents the package.
package footprint
