# smtp_exporter container image: built on Debian 13 (trixie) by default, or Debian 12 (bookworm);
# the runtime image holds the binary, its default config and the shared libraries it links (plus
# the CA store), nothing else.
#
#   docker build -t smtp_exporter:0.1.0 .
#   docker run --rm -p 9465:9465 smtp_exporter:0.1.0
#   docker run --rm -p 9465:9465 \
#     -v "$PWD/my.toml:/etc/smtp_exporter/smtp_exporter.toml:ro" smtp_exporter:0.1.0 --log.level=debug
#
# Arguments after the image name are appended to the entrypoint's flags; --config.file is already
# set, so mount your config over /etc/smtp_exporter/smtp_exporter.toml instead of passing it.
#
# CI builds this file as it is (podman build, tests/image/build_image.sh) and runs the image
# (tests/image/image_test.sh: version, bundled config, uid, /metrics, libraries, no build tools).

# The Debian release of the build and of the runtime image: trixie (13) or bookworm (12), e.g.
# --build-arg DEBIAN_RELEASE=bookworm. trixie by default: the same exporter there used 11 % less
# CPU per STARTTLS session (OpenSSL 3.5 against 3.0; bench/README.md, compare_releases.sh), for
# 2.6 MiB more peak RSS and a slightly larger image.
ARG DEBIAN_RELEASE=trixie

FROM debian:${DEBIAN_RELEASE}-slim AS build
# .git is not in the build context: pass the revision, e.g. --build-arg REVISION=$(git rev-parse --short=12 HEAD)
ARG REVISION=unknown
WORKDIR /src
# The same dependency list as a developer machine (the -dev packages, cmake, the compiler).
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN ./scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
      -DSMTP_EXPORTER_BUILD_TESTS=OFF -DSMTP_EXPORTER_BUILD_BENCH=OFF \
      -DSMTP_EXPORTER_REVISION="${REVISION}" \
    && cmake --build /build -j"$(nproc)" \
    && DESTDIR=/staging cmake --install /build --strip \
    && /staging/usr/bin/smtp_exporter --config.check \
         --config.file /staging/etc/smtp_exporter/smtp_exporter.toml

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
# The runtime packages of the libraries the binary links directly (its NEEDED entries, mapped with
# dpkg -S; apt brings their own dependencies; libc6, libgcc-s1 and libstdc++6 are in the base
# image; tests/helm/run.sh checks this list for the release it runs on). Several are named per
# release (new sonames; Debian 13's 64-bit time_t transition: libssl3t64; c-ares renamed
# libcares2, its libc-ares2 there only a transitional package). ca-certificates:
# the system CA store that TLS verification uses by default. publicsuffix: the Public Suffix
# List that libpsl reads for DMARC's organizational domain. apt-get clean: the downloaded .debs
# and apt's caches out of the image (80-100 MB; Docker Hub's base images do it through their
# apt configuration, a debootstrapped base does not).
RUN . /etc/os-release \
    && case "$VERSION_CODENAME" in \
      bookworm) release_pkgs="libc-ares2 libcurl4 libfmt9 libpsl5 libspdlog1.10 libssl3 libtomlplusplus3 libyaml-cpp0.7" ;; \
      trixie) release_pkgs="libcares2 libcurl4t64 libfmt10 libpsl5t64 libspdlog1.15 libssl3t64 libtomlplusplus3t64 libyaml-cpp0.8" ;; \
      *) echo "Dockerfile: no runtime package list for Debian '$VERSION_CODENAME' (bookworm, trixie)" >&2; exit 1 ;; \
    esac \
    && apt-get update \
    && apt-get install -y --no-install-recommends \
      ca-certificates \
      libcrypt1 \
      libprometheus-cpp-core1.0 \
      publicsuffix \
      zlib1g \
      $release_pkgs \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 65532 smtp_exporter \
    && useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin smtp_exporter
COPY --from=build /staging/usr/bin/smtp_exporter /usr/bin/smtp_exporter
COPY --from=build /staging/etc/smtp_exporter/smtp_exporter.toml /etc/smtp_exporter/smtp_exporter.toml
# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 9465
ENTRYPOINT ["/usr/bin/smtp_exporter", "--config.file=/etc/smtp_exporter/smtp_exporter.toml"]
