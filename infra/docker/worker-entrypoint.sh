#!/usr/bin/env bash
# Clone the project into the workspace volume once, point DVC at the bucket, then run the command
# (a `prefect worker start ...`). The flows run in $IPAD_REPO_DIR (prefect.yaml's pull step).
set -euo pipefail
if [ ! -d "$IPAD_REPO_DIR/.git" ]; then
  git clone "${IPAD_GIT_URL:?set IPAD_GIT_URL}" "$IPAD_REPO_DIR"
fi
cd "$IPAD_REPO_DIR"
git config user.name "${GIT_AUTHOR_NAME:-ipad-worker}"
git config user.email "${GIT_AUTHOR_EMAIL:-ipad-worker@localhost}"
pip install --quiet --no-deps -e .   # the library of this checkout, not the image build's copy
bash infra/dvc-remote.sh >/dev/null
exec "$@"
