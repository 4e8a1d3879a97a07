#!/bin/sh
# The Dockerfile's install step, kept in one script so that CI runs exactly the same commands
# in a fresh virtual environment (.ci/run: "Dockerfile install step") without Docker.
# Usage: deploy/docker-install.sh CHECKOUT   (with the target Python's bin first on PATH)
set -eu
src="${1:?usage: docker-install.sh CHECKOUT}"
python -m pip install --quiet --no-cache-dir --disable-pip-version-check --no-compile "$src"
kodo-jobs --version
