// Package testkit holds small helpers shared by the repository's tests:
// the repository root, a goroutine-safe log sink, a free loopback address and
// a settable clock. Its sub-packages hold the helpers with heavier imports
// (redisdb: a Redis database of a test's own; chrome: headless Chromium for
// chromedp; botframework: a fake Bot Framework token issuer; world: the
// sandbox, store, link service and core the bot's end-to-end rigs share).
//
// Test code only: production code must not import testkit or its
// sub-packages.
package testkit
