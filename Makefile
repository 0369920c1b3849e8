# kda — build, run and test. `make help` lists the targets.
GO ?= go
BIN := bin/kda
LISTEN ?= 127.0.0.1:4567
DATA ?= ./kda-data

.PHONY: help console build run test test-browser test-short bench fuzz vet clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

console: ## build the web console into web/dist (npm ci, then esbuild)
	cd web && npm ci --no-audit --no-fund && npm run build

build: console ## build the console, then ./bin/kda with the console embedded
	$(GO) build -o $(BIN) ./cmd/kda

run: build ## build, then serve the demo stream on $(LISTEN) with data in $(DATA)
	./$(BIN) serve --demo --listen $(LISTEN) --data $(DATA)

test: vet console ## every test: unit, AWS SDK, fuzz seed corpora, crash test (race detector on), then the browser tests
	$(GO) test -race -count=1 -timeout 15m ./...
	cd web && npm test

test-browser: console ## the console's unit and browser tests only (needs chromium)
	cd web && npm test

test-short: ## quick tests without the race detector or the crash test
	$(GO) test -short -count=1 ./...

vet: ## go vet, and gofmt over every tracked Go file
	$(GO) vet ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './web/node_modules/*')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi

bench: ## the performance benchmarks quoted in the README
	$(GO) test -run '^$$' -bench . -benchtime 3s -count 5 ./engine/store/ ./connectors/kinesisapi/
	$(GO) test -run '^$$' -bench 'FilterProject$$|Tumbling|Sliding|EndToEnd|DecodeJSON' -cpu 1 -count 5 ./operators/expr/ ./operators/window/ ./operators/input/ ./engine/app/

fuzz: ## fuzz the request decoders for a minute each
	$(GO) test -run '^$$' -fuzz FuzzDecodeJSON -fuzztime 60s ./connectors/kinesisapi/
	$(GO) test -run '^$$' -fuzz FuzzDecodeCBOR -fuzztime 60s ./connectors/kinesisapi/

clean: ## remove build output (not the data directory)
	rm -rf bin web/node_modules web/test-results
	find web/dist -type f ! -name .gitkeep -delete
