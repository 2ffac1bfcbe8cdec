# tokenwall: `make run` starts the dev stack, `make test` runs every test against real
# components. Go 1.26 is assumed to be on PATH.

GO        ?= go
BIN       := $(CURDIR)/bin
ARTIFACTS ?= $(CURDIR)/.artifacts
PKGS       = $(shell $(GO) list ./... | grep -v /testkit/scan)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
TOOLS_SRC := tools/go.mod tools/go.sum tools/vault/main.go
# The -race run of all packages; the integration tests start real servers, so give them time.
TEST_FLAGS ?= -race -count=1 -timeout 15m

export TOKENWALL_BIN       := $(BIN)
export TOKENWALL_ARTIFACTS := $(ARTIFACTS)

# Fuzz targets as package:Name[:test-budget[:minimize]]; `make fuzz` runs each for FUZZTIME,
# `make test` for 100000 inputs or the target's test-budget when it has one (FuzzRawRequest
# sends each input to a real server: about 150 inputs/s on 2 cores). minimize is the target's
# -fuzzminimizetime (Go's default, 60s, when absent); FuzzRawRequest's is 0s because a
# minimization step that breaks a Content-Length waits out the 1 s read deadline, so each new
# input would cost a minute. Budgets are counts (Nx), not durations: Go 1.26's fuzz coordinator
# can report a bare "context deadline exceeded" failure when a duration runs out
# (golang/go#75804, fixed in 1.27).
FUZZ_TARGETS := ./scrub:FuzzText ./scrub:FuzzJSON ./scrub:FuzzForm ./scrub:FuzzURL ./proxy:FuzzRawRequest:20000x:0s ./proxy/pages:FuzzRewrite:50000x ./proxy/pages/htmltok:FuzzSameAsXNet:20000x
FUZZTIME ?= 2000000x
SOAK ?= 10m
SOAK_REPLICAS ?= 10m

.PHONY: all run test tools build image lint bench bench-load fuzz soak soak-replicas clean

all: build

## run: build what is needed and start Vault, stripe-mock, the billing app and tokenwall on loopback
run: tools build
	$(BIN)/tokenwall-dev --data $(CURDIR)/.dev

# Stamped into the binaries at link time (app.Version: `tokenwall version`, and
# tokenwall_build_info in /metrics); `make build VERSION=v1.4.0 COMMIT=0123abc` sets them,
# as the image build does with its build arguments of the same names.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X github.com/tokenwall/tokenwall/app.version=$(VERSION) -X github.com/tokenwall/tokenwall/app.commit=$(COMMIT)

## build: the production binary (tokenwall) and the dev stack's (tokenwall-dev, what `make run` starts), stamped with VERSION and COMMIT
build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/tokenwall ./cmd/tokenwall
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/tokenwall-dev ./cmd/tokenwall-dev

## image: the container image (deploy/Dockerfile) from a static binary built here, stamped like build, on IMAGE_BASE (distroless static by default), tagged IMAGE; CONTAINER=docker builds with Docker
CONTAINER  ?= podman
IMAGE      ?= tokenwall:$(VERSION)
IMAGE_BASE ?= gcr.io/distroless/static-debian12
image:
	rm -rf $(BIN)/image && mkdir -p $(BIN)/image
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w $(LDFLAGS)" -o $(BIN)/image/tokenwall ./cmd/tokenwall
	@# BUILDAH_FORMAT=docker: Podman keeps HEALTHCHECK only in the Docker image format.
	BUILDAH_FORMAT=docker $(CONTAINER) build -f deploy/Dockerfile --build-arg ROOTFS=prebuilt \
		--build-arg BASE=$(IMAGE_BASE) --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) -t $(IMAGE) $(BIN)/image

## tools: the Vault dev server and stripe-mock, built from the pinned tools/ module (only when missing or stale)
tools: $(BIN)/vault $(BIN)/stripe-mock

# Vault's dependency graph is large (the first build downloads ~4 GB of modules and takes
# ~8 minutes on 2 cores); `go mod download` first so the build itself only compiles.
$(BIN)/vault: $(TOOLS_SRC)
	cd tools && $(GO) mod download && CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" -o $(BIN)/vault ./vault

$(BIN)/stripe-mock: $(TOOLS_SRC)
	cd tools && CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" -o $(BIN)/stripe-mock github.com/stripe/stripe-mock

## test: every test with -race against the real components, then scan the artifacts for card numbers
test: tools
	rm -rf $(ARTIFACTS) && mkdir -p $(ARTIFACTS)
	$(GO) test $(TEST_FLAGS) $(PKGS)
	@# The Kubernetes manifests, offline, in their own module (deploy/kubernetes/test).
	cd deploy/kubernetes/test && $(GO) test -count=1 -timeout 15m ./...
	@# The compose stack, loaded with the compose-spec loader, in its own module (deploy/compose/test).
	cd deploy/compose/test && $(GO) test -count=1 -timeout 15m ./...
	@# The fuzzers' cache of interesting inputs is replayed at each start; FuzzRawRequest's
	@# grows by hundreds a run (a whole server's coverage is noisy), so make test starts fresh:
	@# the committed corpora in testdata/fuzz are what every run replays.
	$(GO) clean -fuzzcache
	$(MAKE) --no-print-directory fuzz FUZZTIME=100000x FUZZ_TEST_BUDGETS=1
	$(GO) test -count=1 -v ./testkit/scan

## fuzz: each Go fuzz target for FUZZTIME (default 2000000x, a few minutes each); failures land in testdata/fuzz
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$$(echo "$$t" | cut -d: -f1); name=$$(echo "$$t" | cut -d: -f2); \
		budget=$(FUZZTIME); own=$$(echo "$$t" | cut -d: -f3); minimize=$$(echo "$$t" | cut -d: -f4); \
		if [ -n "$(FUZZ_TEST_BUDGETS)" ] && [ -n "$$own" ]; then budget=$$own; fi; \
		echo "fuzz $$name ($$budget)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $$budget $${minimize:+-fuzzminimizetime $$minimize} $$pkg || exit 1; \
	done

## soak: drive checkouts through tokenwall for SOAK (default 10m) and check for leaks; make test runs 3 s
soak:
	TOKENWALL_SOAK=$(SOAK) $(GO) test -count=1 -race -run '^TestSoak$$' -v -timeout 0 ./bench

## soak-replicas: two replicas on one PostgreSQL behind nginx under load for SOAK_REPLICAS (default 10m), a replica SIGKILLed each minute; make test runs 16 s
soak-replicas: tools
	SOAK_REPLICAS=$(SOAK_REPLICAS) $(GO) test -count=1 -race -run '^TestReplicasBehindLoadBalancer$$' -v -timeout 0 ./e2e

## lint: gofmt, go vet, staticcheck (the main module, deploy/kubernetes/test and deploy/compose/test)
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	cd deploy/kubernetes/test && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./...
	cd deploy/compose/test && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./...

## bench: Go benchmarks with a baseline in the same run; prints ratios
bench: tools
	$(GO) test -run '^$$' -bench . -benchmem -count=1 -timeout 60m ./...

## bench-load: tokenwall against nginx and a bare Go proxy under wrk and h2load on loopback (installs them when missing); writes BENCHMARKS.md (BENCH_LOAD_QUICK=1: 1 round of 2 s; KEEP=1 keeps the scrubbed temp dir)
bench-load: tools build
	bash bench/load/deps.sh
	BENCH_LOAD_QUICK=$(BENCH_LOAD_QUICK) KEEP=$(KEEP) $(GO) run ./bench/load -out $(CURDIR)/BENCHMARKS.md

clean:
	rm -rf $(BIN) $(ARTIFACTS) .dev
