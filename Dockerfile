# dbos-drain container image.
#
#   docker build -t dbos-drain .
#   docker run --rm -p 8080:8080 -v "$PWD/database-url:/run/secrets/database-url:ro" \
#     dbos-drain serve --listen http://0.0.0.0:8080 --database-url-file /run/secrets/database-url
#
# Two stages on the same Debian 12 base: "build" compiles the CMake project (Release, tests off)
# with Debian's -dev packages; the final stage has only the runtime libraries and the stripped
# binary, and runs as uid 10001. Layers are ordered for the build cache: the apt layers come
# before any source is copied, so a source change only re-runs the compile.
# scripts/container-test.sh builds this file with podman and runs the image against PostgreSQL.

ARG BASE_IMAGE=debian:bookworm-slim

# --------------------------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS build
RUN set -eux; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        g++ make cmake pkg-config \
        libcpprest-dev libssl-dev nlohmann-json3-dev libpqxx-dev libboost-program-options-dev; \
    rm -rf /var/lib/apt/lists/*
WORKDIR /src
# What is copied is decided by .dockerignore (no .git, no build*/ directories, no tests or docs).
COPY . .
RUN set -eux; \
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DDBOS_DRAIN_BUILD_TESTS=OFF; \
    cmake --build build -j"$(nproc)"; \
    install -D -m 0755 -s build/plugin/dbos-drain /out/dbos-drain; \
    /out/dbos-drain --version

# --------------------------------------------------------------------------------------------
FROM ${BASE_IMAGE}
# Runtime libraries only (what `ldd dbos-drain` needs): C++ REST SDK (with libssl3, brotli,
# zlib), libpqxx (with libpq5), Boost.Program_options; ca-certificates for TLS to PostgreSQL.
RUN set -eux; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libcpprest2.10 libpqxx-6.4 libboost-program-options1.74.0 libssl3 ca-certificates; \
    apt-get clean; \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt/* /var/log/dpkg.log; \
    groupadd --gid 10001 dbos-drain; \
    useradd --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home --no-log-init \
        --shell /usr/sbin/nologin dbos-drain
COPY --from=build /out/dbos-drain /usr/local/bin/dbos-drain

ARG VERSION=0.0.0-dev
ARG REVISION=unknown
ARG SOURCE_URL=https://github.com/dbos-drain/dbos-drain
LABEL org.opencontainers.image.title="dbos-drain" \
      org.opencontainers.image.description="Tells when an application version of a DBOS app has no workflows in flight (drained), from the DBOS system database; CLI and HTTP service for rollout tools." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.licenses="Apache-2.0"

USER 10001:10001
EXPOSE 8080
STOPSIGNAL SIGTERM
ENTRYPOINT ["dbos-drain"]
CMD ["serve"]
