"""`egvs --version` and `egvs --help` stay fast: building the parser imports no heavy stack,
not even numpy (`egvs eval` loaded it through `egvs.datasets`, a third of the start-up time).

Checked by what is imported, not by timing (timings are noisy on shared machines). Every command
module's ``register()`` runs here, so a new top-level import of a media, model or plotting package
in any of them fails this test.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = (
    "av",
    "cv2",
    "ctranslate2",
    "gradio",
    "h5py",
    "matplotlib",
    "numpy",
    "onnx",
    "onnxruntime",
    "opentimelineio",
    "scipy",
    "torch",
    "tqdm",
    "yaml",
)

PROBE = f"""
import contextlib, io, json, sys
import egvs.cli.main as m
for argv in (["--version"], ["--help"]):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        m.main(argv)
print(json.dumps(sorted(n for n in {HEAVY!r} if n in sys.modules)))
"""


def test_version_and_help_import_no_heavy_module() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out.splitlines()[-1]) == []
