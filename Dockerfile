# syntax=docker/dockerfile:1
#
# crmbot container image: one static Go binary on distroless (no shell, no package manager), non-root.
#
#   docker build -t crmbot:local --build-arg VERSION="$(git describe --tags --always --dirty)" .
#   docker run --rm -p 3978:3978 crmbot:local                  # demo: embedded store and sandbox Dynamics
#   docker run --rm crmbot:local version
#
# Configuration is the environment (README.md, deploy/README.md). The HEALTHCHECK runs the binary's own
# `healthcheck` subcommand (distroless has no shell and no curl): it probes /livez on CRMBOT_ADDR.
# Kubernetes ignores HEALTHCHECK and uses the probes in deploy/kubernetes instead.

ARG GO_VERSION=1.26

# ---- build: cross-compiles on the builder's own platform for the target platform (docker buildx)
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
WORKDIR /src
# No cgo: a static binary that runs on distroless/static (no libc). -buildvcs=false: .git is not in the context.
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/crmbot ./cmd/crmbot

# ---- run: distroless static (CA certificates, tzdata, /etc/passwd with nonroot = 65532), nothing else
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/crmbot /usr/local/bin/crmbot
USER 65532:65532
EXPOSE 3978
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["/usr/local/bin/crmbot", "healthcheck"]
# SIGTERM drains: /readyz turns 503 at once, in-flight requests get 25 s, background work 20 s more.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/crmbot"]
CMD ["serve"]
