# drillctl — see README.md. Every target works on a fresh machine with Go installed.
GO       ?= go
BIN      ?= bin/drillctl
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X github.com/drillctl/drillctl/cli.Version=$(VERSION)
PKGS     := ./...

.PHONY: build test lint demo bench fuzz validate-examples clean

build: ## build bin/drillctl
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/drillctl

test: lint validate-examples ## lint, validate shipped playbooks, run every test
	$(GO) test -count=1 -timeout 20m $(PKGS)

lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

validate-examples: build ## every shipped playbook must validate
	./$(BIN) playbook validate playbooks/examples/*.yaml

demo: build ## run a real drill against the lab on the embedded server
	./$(BIN) demo

bench: ## benchmarks (timings live here, never in tests)
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

.PHONY: schema schema-check

schema: build ## regenerate schema/playbook.schema.json, the JSON Schema editors read (a test fails when it is stale)
	./$(BIN) playbook schema > schema/playbook.schema.json.tmp && mv schema/playbook.schema.json.tmp schema/playbook.schema.json

schema-check: ## Ajv: the shipped schema accepts every example and flags the invalid test playbooks (needs node and npm)
	cd schema/check && npm ci --no-audit --no-fund --loglevel=error && node check.mjs

fuzz: ## fuzz the playbook loader for a while
	$(GO) test -run '^$$' -fuzz FuzzLoad -fuzztime 60s ./playbooks

clean:
	rm -rf bin
