# crmbot — make targets. `make test` is the test command the README and CI use.
GO        ?= go
GOFLAGS   ?=
PKGS      := ./...
BENCHTIME ?= 1s

FUZZTIME  ?= 30s

.PHONY: all build run demo sandbox test vet fmt-check e2e soak bench pictures fuzz clean

all: build

build:
	$(GO) build -o bin/crmbot ./cmd/crmbot

## run: the whole product on a bare machine (embedded store, embedded Dataverse sandbox)
run:
	$(GO) run ./cmd/crmbot

## demo: the bot (embedded store and sandbox, a record reassigned to a linked demo user every
## DEMO_ACTIVITY) and the Microsoft 365 Agents Playground as Chloé Dubois, together; Ctrl-C stops both.
## Needs Node 20+ and npm (the playground is pinned in e2e/playground/package-lock.json).
DEMO_ACTIVITY ?= 30s
demo:
	@command -v npm >/dev/null || { echo "make demo: the Agents Playground needs Node 20+ and npm"; exit 2; }
	npm ci --prefix e2e/playground --no-audit --no-fund --loglevel=error
	$(GO) build -o bin/crmbot ./cmd/crmbot
	@trap 'kill $$pid 2>/dev/null; wait $$pid 2>/dev/null' EXIT INT TERM; \
	log=$${TMPDIR:-/tmp}/crmbot-demo.log; echo "crmbot logs (JSON): $$log"; \
	./bin/crmbot --demo-activity $(DEMO_ACTIVITY) 2>"$$log" & pid=$$!; \
	ok=; for i in $$(seq 1 100); do \
	  kill -0 $$pid 2>/dev/null || { echo "make demo: crmbot stopped (is port 3978 taken?)"; exit 1; }; \
	  ./bin/crmbot healthcheck >/dev/null 2>&1 && { ok=1; break; }; sleep 0.2; done; \
	[ -n "$$ok" ] || { echo "make demo: crmbot did not answer /livez within 20 s"; exit 1; }; \
	cd e2e/playground && npm start

## sandbox: the Dataverse sandbox alone on 127.0.0.1:8089
sandbox:
	$(GO) run ./cmd/crmbot sandbox --addr 127.0.0.1:8089

## test: formatting, vet, and every Go test with the race detector
test: fmt-check vet
	$(GO) test -race -count=1 $(PKGS)

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

## e2e: real clients no one here wrote, against our servers: the npm dynamics-web-api client against the
## sandbox, headless Chromium on our web pages and through account linking, the Microsoft 365 Agents
## Playground (a Teams client) against /api/messages, and the demo on a bare machine answering it; the
## status page in headless Chromium (screenshots in $$E2E_ARTIFACTS)
e2e:
	bash e2e/dataverse/run.sh
	bash e2e/pages/run.sh
	bash e2e/cards/run.sh
	bash e2e/playground/run.sh
	bash e2e/status/run.sh
	$(GO) test -tags e2e -count=1 -v ./e2e/link/

## soak: the crash soak (issue 8): 1,000 assignments while the crmbot process is killed -9 ten times and
## restarted, against a real Redis (its own database, flushed), the sandbox and the fake Slack and Teams;
## nothing may be lost nor doubled on Slack. Ends with a one-line summary (lost / duplicates per platform).
## `make test` runs the same test with 60 assignments and 3 kills.
SOAK_ASSIGNMENTS ?= 1000
SOAK_KILLS       ?= 10
soak:
	@sum=$$(mktemp); trap 'rm -f $$sum' EXIT; \
	$(GO) test ./e2e/soak/ -run Soak -count=1 -v -soak.assignments=$(SOAK_ASSIGNMENTS) -soak.kills=$(SOAK_KILLS) \
	  -soak.summary=$$sum -timeout 30m; rc=$$?; \
	echo; if [ -s $$sum ]; then cat $$sum; else echo "soak: no summary (the test did not get that far)"; fi; exit $$rc

## pictures: the README's card pictures (docs/img): the conversation core driven through the demo org,
## rendered as Block Kit and Adaptive Cards, drawn in headless Chromium
pictures:
	rm -rf /tmp/crmbot-showcase
	$(GO) test -count=1 -run '^TestShowcase$$' ./bot -showcase=/tmp/crmbot-showcase
	bash e2e/cards/render.sh docs/img /tmp/crmbot-showcase

## bench: benchmarks whose figures the README reports (ratios measured side by side)
bench:
	$(GO) test -run '^$$' -bench 'DecodePage5000' -benchmem -benchtime $(BENCHTIME) ./crm/
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./crm/sandbox/
	$(GO) test -run '^$$' -bench CommitPage5000 -benchtime 50x ./store/redisstore/
	$(GO) test -run '^$$' -bench SlashLeads -benchtime 300x ./bot/slack/
	$(GO) test -run '^$$' -bench DetectCommit -benchtime 3x ./sync/
	$(GO) test -run '^$$' -bench NotificationLatency -benchtime 1x ./sync/
	$(GO) test -run '^$$' -bench Footprint -benchtime 1x ./e2e/footprint/

## fuzz: every fuzz target of the request-parsing paths, FUZZTIME each (CI runs them briefly).
## Go 1.26's fuzz coordinator can report a bare "context deadline exceeded" as the -fuzztime
## window closes (golang/go#75804, fixed in 1.27): such a run, with no failing input written,
## is run once more; any other failure fails at once.
FUZZ_PKGS := ./bot/slack/ ./bot/teams/
fuzz:
	@set -e; log=$$(mktemp); trap 'rm -f $$log' EXIT; \
	for pkg in $(FUZZ_PKGS); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    for try in 1 2; do \
	      echo "== $$pkg $$f ($(FUZZTIME))"; \
	      if $(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 200x $$pkg >$$log 2>&1; then \
	        cat $$log; break; \
	      fi; \
	      cat $$log; \
	      if [ $$try = 1 ] && grep -q 'context deadline exceeded' $$log && ! grep -q 'Failing input written' $$log; then \
	        echo "== $$f: the Go fuzz deadline race (golang/go#75804), no failing input: once more"; continue; \
	      fi; \
	      exit 1; \
	    done; \
	  done; \
	done

clean:
	rm -rf bin
