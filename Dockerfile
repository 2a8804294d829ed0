# The peerdns image: bin/peerdns (CoreDNS with the peerdns plugin), static, on distroless, as
# user 65532, and bin/peerdnsctl beside it for the chart's sync-stubs Deployment. deploy/ runs it;
# deploy/README.md shows how to build and push it:
#
#   docker build --build-arg VERSION=$(git describe --tags --dirty) -t IMAGE .
#
# The Go version of the builder is the minor version of go.mod's `go` line (test/deploy checks).

FROM --platform=$BUILDPLATFORM golang:1.26-bookworm AS build
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=v0.1.0-dev
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
	CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
	go build -trimpath -ldflags "-s -w -X main.version=$VERSION" -o /out/ ./cmd/peerdns ./cmd/peerdnsctl

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/peerdns /out/peerdnsctl /
USER 65532:65532
# DNS on 1053 (a process without capabilities cannot bind 53; the Service maps 53 to it), the
# health plugin's 8080, the ready plugin's 8181 and the prometheus plugin's 9153.
EXPOSE 1053/udp 1053/tcp 8080 8181 9153
ENTRYPOINT ["/peerdns"]
CMD ["-conf", "/etc/peerdns/Corefile"]
