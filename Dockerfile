# syntax=docker/dockerfile:1

# Build: the whole toolchain, thrown away afterwards.
FROM rust:1-bookworm AS build
WORKDIR /src
# Queries are checked against the committed .sqlx/ data, so the build
# needs no database.
ENV SQLX_OFFLINE=true
COPY . .
# The crate registry and the target folder persist between builds in
# BuildKit's (and Podman's) build cache: a rebuild after a change compiles
# only what changed.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked && cp target/release/gazette /gazette

# Run: a small image with the binary, templates and static files compiled in.
FROM debian:bookworm-slim
# CA certificates: feed subscriptions fetch over HTTPS.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin gazette \
    && mkdir -p /data && chown gazette:gazette /data
COPY --from=build /gazette /usr/local/bin/gazette
USER gazette
WORKDIR /data
ENV GAZETTE_BIND=0.0.0.0:3000 \
    GAZETTE_DATABASE=/data/gazette.db \
    RUST_LOG=gazette=info
VOLUME ["/data"]
EXPOSE 3000
# The binary asks its own /readyz: the image needs no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["gazette", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["gazette"]
CMD ["serve"]
