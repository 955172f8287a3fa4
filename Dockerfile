# syntax=docker/dockerfile:1
# Gatehouse in a container: one binary (the UI embedded) on Debian slim, as a non-root user, with
# its data in the /data volume. Build: `docker build -t gatehouse .` (BuildKit, the default).
# See docs/deployment.md#containers.

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

# --- build ------------------------------------------------------------------------------------
# backend/build.rs needs, besides Rust: the wasm32 target (the UI is compiled to WebAssembly by a
# nested cargo build) and Node.js + npm (`npm ci` and esbuild bundle the JS packages).
FROM rust:${RUST_VERSION}-slim-${DEBIAN_RELEASE} AS builder
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/* \
 && rustup target add wasm32-unknown-unknown
WORKDIR /src
COPY . .
# The registry, npm's cache and the target directory are BuildKit cache mounts: a rebuild after a
# source change recompiles only what changed instead of every dependency. The binary is copied
# out of the cache mount, which is not part of the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/root/.npm \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin gatehouse \
 && install -D -m 0755 target/release/gatehouse /out/gatehouse

# --- run --------------------------------------------------------------------------------------
FROM debian:${DEBIAN_RELEASE}-slim
# ca-certificates: the system trust store for ldaps:// and StartTLS (rustls-native-certs).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# A fixed uid/gid, so files on bind mounts and volumes keep one owner across image versions.
# /data/recordings exists in the image so a named volume mounted there (shared recordings, see
# compose.ha.yml) starts out owned by this user too.
RUN groupadd --system --gid 10001 gatehouse \
 && useradd --system --uid 10001 --gid 10001 --home-dir /data --shell /usr/sbin/nologin gatehouse \
 && mkdir -p /data/recordings /etc/gatehouse \
 && chown -R 10001:10001 /data \
 && chmod 0700 /data
COPY --from=builder /out/gatehouse /usr/local/bin/gatehouse

# Listen on every address of the container; keep the database, secret key and recordings in the
# volume. A gatehouse.toml mounted at /etc/gatehouse/gatehouse.toml is read (it is the working
# directory), by `serve` and by the health check alike.
ENV GATEHOUSE_BIND=0.0.0.0:8443 \
    GATEHOUSE_DATA_DIR=/data
WORKDIR /etc/gatehouse
VOLUME ["/data"]
EXPOSE 8443
USER 10001:10001
# `gatehouse healthcheck` GETs /readyz on the configured bind address, root path and scheme (no
# curl in the image); unhealthy while the database is unreachable or migrations are pending.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD ["gatehouse", "healthcheck", "--timeout", "5"]
# SIGTERM ends terminals cleanly within shutdown_grace_secs.
STOPSIGNAL SIGTERM
ENTRYPOINT ["gatehouse"]
CMD ["serve"]
