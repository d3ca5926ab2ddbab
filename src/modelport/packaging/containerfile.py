"""The Containerfile ``modelport build`` writes: readable, two stages, nothing to compile.

Stage one installs the pinned wheels from the build context into a virtualenv (no network, no
compiler); stage two copies that virtualenv and the model onto a clean base, runs as uid 10001,
and starts through :mod:`modelport.packaging.boot`. The model comes last, in its own layer,
so a new model version rebuilds one small layer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from modelport.packaging.k8s_pod import HOME, RUN_AS_USER
from modelport.packaging.model_settings import MODEL_DIR

__all__ = ["DATA", "DEFAULT_BASE", "VENV", "containerfile"]

DEFAULT_BASE = "python:3.11-slim-bookworm"
VENV = "/opt/modelport/venv"
DATA = "/var/lib/modelport"

_SITE = f"{VENV}/lib/python3.11/site-packages"
_PRUNE = " \\\n    && ".join([
    # Test suites, C headers, static archives and Cython sources: never used at run time.
    f"find {_SITE} -depth -mindepth 2 -type d \\( -name tests -o -name include \\) "
    "-exec rm -rf {} +",
    f"find {_SITE} \\( -name '*.a' -o -name '*.pyx' -o -name '*.pxd' -o -name '*.pxi' \\) "
    "-delete",
    # Arrow Flight (an RPC framework nothing here loads) and Arrow's own C++ tests.
    f"rm -rf {_SITE}/pyarrow/*flight* {_SITE}/pyarrow/_pyarrow_cpp_tests* {_SITE}/pyarrow/src",
])


def containerfile(*, base: str, labels: Mapping[str, str], with_model: bool) -> str:
    """The Containerfile text for ``base`` (it must provide python3 >= 3.11 with venv)."""
    label_lines = " \\\n      ".join(f"{k}={json.dumps(v)}" for k, v in sorted(labels.items()))
    cmd = '["--allow-anonymous", "--preload"]' if with_model else "[]"
    model = (f"COPY --chown=0:0 model {MODEL_DIR}\n" if with_model else "")
    return f"""\
# Written by modelport build. Build it yourself with:
#   podman build --format docker -t IMAGE .      (or: docker build -t IMAGE .)
ARG BASE={base}

FROM ${{BASE}} AS install
COPY wheels /wheels
RUN python3 -m venv {VENV} \\
    && {VENV}/bin/pip install --no-index --find-links /wheels --no-cache-dir \\
       --disable-pip-version-check --require-hashes --no-deps -r /wheels/requirements.txt \\
    && {VENV}/bin/pip uninstall --yes --disable-pip-version-check pip setuptools \\
    && {_PRUNE}

FROM ${{BASE}}
COPY --from=install {VENV} {VENV}
# A place for a volume the server user owns (Compose mounts its artifact store here).
RUN mkdir -p {DATA} && chown {RUN_AS_USER}:{RUN_AS_USER} {DATA}
ENV PATH={VENV}/bin:/usr/local/bin:/usr/bin:/bin \\
    HOME=/tmp \\
    MODELPORT_HOME={HOME} \\
    PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1
LABEL {label_lines}
USER {RUN_AS_USER}:{RUN_AS_USER}
EXPOSE 8080 8081
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \\
    CMD ["{VENV}/bin/python", "-m", "modelport.packaging.healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["{VENV}/bin/python", "-m", "modelport.packaging.boot"]
CMD {cmd}
{model}"""
