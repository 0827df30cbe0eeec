# callscope: build the binary with Go, run it on Debian bookworm-slim with
# the tools of the offline engines, as a non-root user.
#
#   docker build -t callscope .
#   docker run -p 8123:8123 -v callscope-data:/var/lib/callscope callscope
#
# The base images are arguments so that a mirror or a pinned digest can be
# given: --build-arg GO_IMAGE=… --build-arg RUNTIME_IMAGE=….
ARG GO_IMAGE=golang:1.26-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${GO_IMAGE} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/callscope ./cmd/callscope

FROM ${RUNTIME_IMAGE}
COPY packaging/install-runtime.sh /tmp/install-runtime.sh
RUN sh /tmp/install-runtime.sh && rm /tmp/install-runtime.sh
COPY --from=build /out/callscope /usr/local/bin/callscope
ENV CALLSCOPE_DATA_DIR=/var/lib/callscope \
    CALLSCOPE_ADDR=0.0.0.0:8123 \
    CALLSCOPE_LOG_FORMAT=json
USER 10001:10001
WORKDIR /var/lib/callscope
VOLUME ["/var/lib/callscope"]
EXPOSE 8123
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD curl -fsS -o /dev/null http://127.0.0.1:8123/health || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["callscope"]
CMD ["serve"]
