# What people type. `make test` is the one test command README and CI use.
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: test run build bench fuzz lint load chaos emulator

test: ## the whole suite with -race against a real Redis (starts one if needed)
	./scripts/test.sh

run: ## the console demo with the embedded store
	$(GO) run ./cmd/qunbot console -c configs/example.yaml

build: ## a static binary ./qunbot
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o qunbot ./cmd/qunbot

lint:
	@test -z "$$(gofmt -l .)" || (gofmt -l .; echo "gofmt needed"; exit 1)
	$(GO) vet ./...

bench: ## benchmarks (numbers, never assertions)
	QUNBOT_TEST_REDIS_URL=$${QUNBOT_TEST_REDIS_URL:-redis://127.0.0.1:6379/15} $(GO) test -run '^$$' -bench . -benchmem ./...

fuzz: ## every fuzz target in the module for FUZZTIME (default 30s)
	./scripts/fuzz.sh

load: ## the load tool against the local Redis
	$(GO) run ./cmd/qunbot-load -redis $${QUNBOT_REDIS_URL:-redis://127.0.0.1:6379/15}

chaos: ## kill -9 two replicas at random during 20,000 updates (polling, webhook); flushes Redis db 14
	$(GO) run ./cmd/qunbot-chaos -redis $${QUNBOT_CHAOS_REDIS_URL:-redis://127.0.0.1:6379/14}

emulator: ## qunbot against telegram-test-api (npm): a newcomer's way and a burst of 300 messages
	./scripts/tg-emulator.sh
