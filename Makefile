# Every target works on a fresh machine with Go; Go modules come from the module proxy.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
PKGS := ./...

.PHONY: test lint unit integration windows demo fuzz bench-errorlog bench-spnscan bench-ack bench-sweep bench-serve build release-snapshot deploy-smoke

## test: everything CI runs: formatting, vet, staticcheck, the Windows build, and all tests
## with the race detector inside a throwaway Samba AD domain (needs root; installs Samba)
test: lint windows integration

lint:
	@go mod download
	@unformatted=$$(gofmt -l .); \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	go vet $(PKGS)
	go run $(STATICCHECK) $(PKGS)

## windows: the agent will run on Windows; its build must never break unseen
windows:
	GOOS=windows GOARCH=amd64 go build -o /dev/null ./cmd/authtriage
	GOOS=windows GOARCH=amd64 go vet ./...

## integration: all tests, with a real Samba AD DC and KDC up (scripts/test.sh)
integration:
	bash scripts/test.sh $(PKGS)

## unit: all tests without the test domain or PostgreSQL (those integration tests skip and say why)
unit:
	go test -race -count=1 $(PKGS)

demo:
	go run ./cmd/authtriage demo

## build: ./authtriage, one static binary, as the release archives hold it
build:
	CGO_ENABLED=0 go build -trimpath -o authtriage ./cmd/authtriage

## release-snapshot: the release archives (linux, windows x amd64, arm64) and their SHA-256
## checksums in dist/, built by goreleaser without a tag or publishing, then checked; not in
## CI (its first run compiles goreleaser)
release-snapshot:
	bash scripts/release-snapshot.sh

## deploy-smoke: the README's install steps in a temporary root as a throwaway user, ending
## with the agent answering over mutual TLS (needs root; make test runs it as TestDeploySmoke)
deploy-smoke:
	bash scripts/deploy-smoke.sh

## fuzz: run each parser's fuzz target for FUZZTIME (default 30s)
FUZZTIME ?= 30s
fuzz:
	go test -run=NONE -fuzz=FuzzRead -fuzztime=$(FUZZTIME) ./sources/errorlog
	go test -run=NONE -fuzz=FuzzRead -fuzztime=$(FUZZTIME) ./sources/eventlog
	go test -run=NONE -fuzz=FuzzParse -fuzztime=$(FUZZTIME) ./config
	go test -run=NONE -fuzz=FuzzLoadLDIF -fuzztime=$(FUZZTIME) ./sources/directory
	go test -run=NONE -fuzz=FuzzParseKDCError -fuzztime=$(FUZZTIME) ./sources/kerberos
	go test -run=NONE -fuzz=FuzzDecodeLine -fuzztime=$(FUZZTIME) ./agent
	go test -run=NONE -fuzz=FuzzParse -fuzztime=$(FUZZTIME) ./commands
	go test -run=NONE -fuzz=FuzzThread -fuzztime=$(FUZZTIME) ./render/slack
	go test -run=NONE -fuzz=FuzzHTTP -fuzztime=$(FUZZTIME) ./bot
	go test -run=NONE -fuzz=FuzzDisplay -fuzztime=$(FUZZTIME) ./internal/display
	go test -run=NONE -fuzz=FuzzCommand -fuzztime=$(FUZZTIME) ./triage
	go test -run=NONE -fuzz=FuzzStrictKeys -fuzztime=$(FUZZTIME) ./agent

## bench-errorlog: our ERRORLOG scan against ripgrep on a generated 1 GiB log
bench-errorlog:
	bash scripts/bench-errorlog.sh

## bench-spnscan: our forest-wide duplicate-SPN scan against ldapsearch over 20,000 accounts
bench-spnscan:
	bash scripts/bench-spnscan.sh

## bench-ack: p50/p99 acknowledgement latency of signed slash commands at rising rates (HTTP mode)
bench-ack:
	bash scripts/bench-ack.sh

## bench-sweep: a fleet sweep of 1,000 simulated hosts against the ideal (hosts x latency / concurrency),
## then 1,000 hosts behind one agent (scripts/bench-sweep-agent.sh)
bench-sweep:
	bash scripts/bench-sweep.sh
	bash scripts/bench-sweep-agent.sh

## bench-serve: 100 triages of a test-domain host through serve's triager, adapters rebuilt per
## triage (the reference) against long-lived ones: ns/op and LDAP binds/op (needs root)
bench-serve:
	bash scripts/bench-serve.sh
