# A Prefect worker for this project: the pinned stack (make setup) in /opt/ipad/.venv; the project
# checkout itself lives in the `workspace` volume (cloned at first start, see entrypoint), so that
# the retraining flow can commit data versions and DVC keeps its cache between runs.
# GPU: the torch wheel pinned in pyproject.toml is a CUDA build; the NVIDIA container toolkit
# provides the driver (compose: deploy.resources.reservations.devices; Kubernetes: nvidia.com/gpu).
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends git make curl libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/ipad
COPY pyproject.toml Makefile constraints.txt README.md ./
COPY params.yaml ./
COPY src ./src
COPY tasks ./tasks
COPY flows ./flows
RUN make setup
ENV PATH=/opt/ipad/.venv/bin:$PATH IPAD_REPO_DIR=/workspace/ipad-vad
COPY infra/docker/worker-entrypoint.sh /usr/local/bin/worker-entrypoint
ENTRYPOINT ["worker-entrypoint"]
