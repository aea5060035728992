# bbo — build, test and benchmark. `make help` lists the targets.
GO       ?= go
PKGS     ?= ./...
BIN      ?= bin
BENCHTIME ?= 1x

.PHONY: help build test lint fmt bench fuzz demo bbo clean

help: ## list targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

build: lambdas ## compile every package and the seven Lambda binaries (linux/arm64)
	$(GO) build $(PKGS)

lint: ## go vet + staticcheck + gofmt
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) tool staticcheck $(PKGS)

test: lint ## lint, then every unit, fuzz-seed and integration test, with the race detector
	$(GO) test -race -count=1 $(PKGS)

bench: ## benchmarks with the performance targets (figures in README)
	$(GO) test -run='^$$' -bench=. -benchmem $(PKGS)

fuzz: ## run every fuzz target for FUZZTIME each (default 20s)
	@for pkg in $$($(GO) list $(PKGS)); do \
	  for f in $$($(GO) test -list='^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$${FUZZTIME:-20s} $$pkg || exit 1; \
	  done; done

demo: ## run the sample pipelines locally, offline (stub model, about a second)
	$(GO) run ./cmd/bbo demo $(DEMO_FLAGS)

bbo: ## build the bbo CLI into $(BIN)/bbo
	$(GO) build -o $(BIN)/bbo ./cmd/bbo

fmt: ## gofmt the tree
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf $(BIN)

include stack/stack.mk
