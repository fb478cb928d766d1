# syntax=docker/dockerfile:1
#
# The registration service's container image: a release build on the official Swift image,
# then a runtime image that holds only the binary, the shared libraries it loads (found with
# ldd) and CA certificates; no shell, no package manager, no curl. A crash prints Swift's fatal
# error message (what failed, and where) to the log; the stack backtracer is left out (10 MB,
# and it needs the symbols that are stripped).
#
#   docker build -t registration-server .
#   docker run --read-only -p 8080:8080 -e APP_ENV=development -v regdata:/app/data registration-server
#
# The base image is a build argument, so an operator can pin a digest or use a mirror:
#   --build-arg BUILDER_IMAGE=swift:6.3-noble@sha256:…
# Extra CA certificates (e.g. Amazon RDS's bundle for DATABASE_URL …?sslmode=verify-full)
# go in deploy/ca-certificates/*.pem before the build; see docs/DEPLOY.md.

# checkov:skip=CKV_DOCKER_7:The base image is this build argument; its default is the versioned tag swift:6.3-noble, and operators pin a digest through it.
ARG BUILDER_IMAGE=swift:6.3-noble

FROM ${BUILDER_IMAGE} AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src

# Dependencies first: a source change does not resolve them again.
COPY Package.swift ./
RUN swift package resolve

COPY Sources ./Sources
COPY Tests ./Tests
COPY deploy/ca-certificates ./deploy/ca-certificates

# A release build with the Swift runtime linked in, linked by lld with packed relative
# relocations (DT_RELR: 3.5 MB of relocation entries become 30 kB; glibc 2.36 or later reads
# them, and the image carries the builder's glibc) and identical-code folding of functions
# whose address is never taken. --no-export-dynamic undoes the static runtime's
# -export-dynamic: the executable's ~60,000 symbols in its dynamic symbol table were 6.3 MB
# that nothing looks up (the image runs without symbolicated backtraces, and strip removes the
# other symbol table anyway). None of this changes what the code does or how fast it runs.
RUN swift build -c release --static-swift-stdlib --product registration-server \
        -Xswiftc -use-ld=lld -Xlinker -z -Xlinker pack-relative-relocs -Xlinker --icf=safe \
        -Xlinker --no-export-dynamic

# A root file system for the runtime stage: the binary (stripped: its symbols and debug
# information are another 100 MB) and its resource bundle, the libraries ldd names (at the
# paths it names), libxcrypt's libcrypt.so.1 (opened at start-up for the fastest bcrypt; without
# it the built-in one is used), CA certificates (plus any in deploy/ca-certificates) and a passwd entry
# for the user 10001. awk reads ldconfig's whole output: stopping at the first match can kill
# ldconfig with SIGPIPE, which pipefail turns into a failed build (seen once).
# No /usr/share/zoneinfo: the service works in UTC only (log timestamps, email Date headers,
# AWS signatures, HTTP dates), and ICU's data inside the binary carries the zone rules anyway.
RUN bin="$(swift build -c release --static-swift-stdlib --show-bin-path)" \
    && install -d /rootfs/app /rootfs/etc/ssl/certs /rootfs/tmp /data \
    && strip --strip-all -o /rootfs/app/registration-server "$bin/registration-server" \
    && cp -R "$bin/registration-service_App.resources" /rootfs/app/ \
    && ldd /rootfs/app/registration-server | grep '^[[:space:]]' | grep -o '/[^ ]*' \
        | xargs -I{} cp --parents -L {} /rootfs \
    && crypt="$(ldconfig -p | awk '$1 == "libcrypt.so.1" && /x86-64|AArch64/ && !found { print $NF; found = 1 }')" \
    && if [ -n "$crypt" ]; then cp --parents -L "$crypt" /rootfs; fi \
    && cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/ca-certificates.crt \
    && find deploy/ca-certificates -name '*.pem' -exec cat {} + >> /rootfs/etc/ssl/certs/ca-certificates.crt \
    && printf 'root:x:0:0:root:/root:/sbin/nologin\nregistration:x:10001:10001:registration:/app:/sbin/nologin\n' > /rootfs/etc/passwd \
    && printf 'root:x:0:\nregistration:x:10001:\n' > /rootfs/etc/group \
    && printf 'hosts: files dns\n' > /rootfs/etc/nsswitch.conf \
    && chmod 1777 /rootfs/tmp

FROM scratch
COPY --from=build /rootfs/ /
# SQLite's default file (data/registration.sqlite under the working directory) lives on a volume;
# with DATABASE_URL=postgres://… nothing is written anywhere, so the root file system can be read-only.
COPY --from=build --chown=10001:10001 /data /app/data
WORKDIR /app
USER 10001:10001
ENV HOST=0.0.0.0 \
    PORT=8080 \
    APP_ENV=production \
    SWIFT_BACKTRACE=enable=no
VOLUME ["/app/data"]
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/app/registration-server", "healthcheck"]
ENTRYPOINT ["/app/registration-server"]
CMD ["serve"]
