# Fennec in a container: a single node (broker with its built-in nameserver).
#   docker build -t fennec .
#   docker run -p 9876:9876 -p 10911:10911 -v fennec-data:/var/lib/fennec fennec
# The build runs scripts/install.sh, which CI exercises on every change.
FROM rust:1.85-bookworm AS build
WORKDIR /src
COPY . .
RUN scripts/install.sh /out

FROM debian:bookworm-slim
COPY --from=build /out/ /
RUN useradd --system --home-dir /var/lib/fennec fennec \
    && mkdir -p /var/lib/fennec && chown fennec /var/lib/fennec
USER fennec
WORKDIR /var/lib/fennec
EXPOSE 9876 10911
VOLUME /var/lib/fennec
CMD ["mqbroker", "--with-namesrv", "--bind", "0.0.0.0", "--namesrv-port", "9876", \
     "--listen-port", "10911", "--store-dir", "/var/lib/fennec/store"]
