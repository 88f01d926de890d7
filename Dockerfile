# authtriage: one static binary in an image with nothing else in it.
#   docker build -t authtriage .
#   docker run --rm authtriage demo
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/authtriage ./cmd/authtriage

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/authtriage /authtriage
# An unprivileged user with no home; the image has no shell and no passwd file to need.
USER 65532:65532
ENTRYPOINT ["/authtriage"]
CMD ["demo"]
