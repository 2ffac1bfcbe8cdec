# The compose stack's locally built images besides tokenwall's (deploy/Dockerfile), one target
# each; deploy/compose.yaml builds them from the repository root:
#   billing      the demo billing app (examples/billing), as user 65532
#   stripe-mock  Stripe's mock server at the version the tests pin (tools/go.mod), as user 65532
#   vault-init   the Vault image plus bash, to run deploy/vault/setup.sh (a bash script)
# The compose test checks that the versions here match tools/go.mod and compose.yaml.

ARG GO_IMAGE=golang:1.26-bookworm
ARG BASE=gcr.io/distroless/static-debian12
ARG VAULT_IMAGE=hashicorp/vault:1.21.0

FROM ${GO_IMAGE} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/billing ./examples/billing/cmd/billing \
 && CGO_ENABLED=0 GOBIN=/out go install -trimpath -ldflags "-s -w" github.com/stripe/stripe-mock@v0.203.0

FROM ${BASE} AS billing
COPY --from=build /out/billing /usr/local/bin/billing
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/billing"]

FROM ${BASE} AS stripe-mock
COPY --from=build /out/stripe-mock /usr/local/bin/stripe-mock
USER 65532:65532
EXPOSE 12111
ENTRYPOINT ["/usr/local/bin/stripe-mock"]

FROM ${VAULT_IMAGE} AS vault-init
RUN apk add --no-cache bash
USER 65532:65532
ENTRYPOINT ["bash"]
