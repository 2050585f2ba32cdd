# crmbot — make targets. `make test` is the test command the README and CI use.
GO        ?= go
GOFLAGS   ?=
PKGS      := ./...
BENCHTIME ?= 1s

FUZZTIME  ?= 30s

.PHONY: all build run sandbox test vet fmt-check e2e bench pictures fuzz clean

all: build

build:
	$(GO) build -o bin/crmbot ./cmd/crmbot

## run: the whole product on a bare machine (embedded store, embedded Dataverse sandbox)
run:
	$(GO) run ./cmd/crmbot

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
## Playground (a Teams client) against /api/messages (screenshots in $$E2E_ARTIFACTS)
e2e:
	bash e2e/dataverse/run.sh
	bash e2e/pages/run.sh
	bash e2e/cards/run.sh
	bash e2e/playground/run.sh
	$(GO) test -tags e2e -count=1 -v ./e2e/link/

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

## fuzz: every fuzz target of the request-parsing paths, FUZZTIME each (CI runs them briefly)
FUZZ_PKGS := ./bot/slack/ ./bot/teams/
fuzz:
	@set -e; for pkg in $(FUZZ_PKGS); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 200x $$pkg; \
	  done; \
	done

clean:
	rm -rf bin
