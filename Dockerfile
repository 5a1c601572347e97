# Multi-stage: build a static binary, run it as a non-root user on a
# distroless base (no shell, no package manager).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/qunbot ./cmd/qunbot

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/qunbot /usr/local/bin/qunbot
COPY configs /etc/qunbot
USER nonroot:nonroot
ENV QUNBOT_HTTP_LISTEN=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/qunbot"]
CMD ["run", "-c", "/etc/qunbot/qunbot.yaml"]
