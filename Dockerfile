# Viva server image (used by docker-compose.yml). Build: docker build -t viva .
FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends pkg-config libopus-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Postgres queries are checked against the committed .sqlx/ cache: no database needed here.
RUN cargo build --release --locked --bin viva

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libopus0 espeak-ng curl \
        ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/viva --create-home viva
COPY --from=build /src/target/release/viva /usr/local/bin/viva
USER viva
WORKDIR /var/lib/viva
# The web client is built into the binary.
ENV VIVA_BIND=0.0.0.0:8080 \
    VIVA_DATA_DIR=/var/lib/viva
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD curl -fsS http://127.0.0.1:8080/health || exit 1
ENTRYPOINT ["viva"]
CMD ["serve"]
