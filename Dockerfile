# One image recipe for every Go program in this repository.
#
#   docker build --build-arg SERVICE=detector -t medic-detector .
#
# SERVICE names a module under services/ (archiver, ingest, detector, correlator, rca,
# remediator, notifier, simulator or medic). Each Medic module replaces
# the shared pkg and schemas modules with ../../pkg and ../../schemas, so the
# build copies exactly those three trees and runs with GOWORK=off: the image
# never depends on the other services' code. (The simulator, a watched
# system, requires neither.)

FROM golang:1.26-bookworm AS build
ARG SERVICE
RUN test -n "$SERVICE" || { echo "set --build-arg SERVICE=<name>" >&2; exit 1; }
ENV CGO_ENABLED=0 GOWORK=off GOFLAGS=-trimpath
WORKDIR /src

# Module files first, so the dependency download stays cached until a go.mod
# or go.sum changes.
COPY pkg/go.* pkg/
COPY schemas/go.* schemas/
COPY services/${SERVICE}/go.* services/${SERVICE}/
WORKDIR /src/services/${SERVICE}
RUN --mount=type=cache,target=/go/pkg/mod go mod download

WORKDIR /src
COPY pkg/ pkg/
COPY schemas/ schemas/
COPY services/${SERVICE}/ services/${SERVICE}/
WORKDIR /src/services/${SERVICE}
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -ldflags="-s -w" -o /out/medic-service .

FROM gcr.io/distroless/static-debian12:nonroot
ARG SERVICE
LABEL org.opencontainers.image.source="https://github.com/medic-sre/medic" \
      org.opencontainers.image.title="medic-${SERVICE}"
COPY --from=build /out/medic-service /usr/local/bin/medic-service
# Numeric, so that Kubernetes can verify runAsNonRoot against the image.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/medic-service"]
