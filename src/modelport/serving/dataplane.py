"""The protocol-neutral core of the server: REST and gRPC handlers only translate and call it.

Every method answers with our own types or raises a ModelportError; transports own the table
from error kind to status code.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

from modelport import __version__
from modelport.errors import InvalidInput
from modelport.monitoring.subjects import PARAMETER as SUBJECT
from modelport.protocol.metadata import model_metadata, server_metadata
from modelport.protocol.types import InferenceRequest, InferenceResponse
from modelport.serving.batcher import Arrivals
from modelport.serving.explaining import Explanations, wants_explanation
from modelport.serving.models import ModelManager, ModelStatus
from modelport.serving.pipeline import CallContext, Stage, compose
from modelport.serving.served import ServedModel

__all__ = ["DataPlane"]


class DataPlane:
    """Health, metadata, inference and the model repository, for one worker."""

    def __init__(
        self,
        models: ModelManager,
        *,
        stages: Sequence[Stage] = (),
        default_deadline_ms: float | None = None,
    ) -> None:
        self.models = models
        self.default_deadline_ms = default_deadline_ms
        """The deadline of a request that names none (None: no deadline)."""
        self._pipeline = compose(stages, self._core) if stages else None
        self.arrivals: Arrivals = models.arrivals or Arrivals()
        models.arrivals = self.arrivals
        self._server_metadata = server_metadata(version=__version__)
        self.explanations = Explanations()

    @property
    def staged(self) -> bool:
        """True when stages wrap inference: transports then describe each call in a
        :class:`CallContext` (protocol, headers); otherwise they skip building one."""
        return self._pipeline is not None

    async def start(self, *, preload: bool = False) -> None:
        await self.models.start(preload=preload)

    async def stop(self) -> None:
        await self.models.stop()

    # -- health and metadata -----------------------------------------------------------------

    def live(self) -> bool:
        return True

    def ready(self) -> bool:
        return self.models.ready

    def server_metadata(self) -> dict[str, Any]:
        return self._server_metadata

    async def model_ready(self, name: str, version: str | None = None) -> bool:
        """Whether that model (version) is loaded; NotFound when it does not exist."""
        if self.models.lookup(name, version) is not None:
            return True
        await self.models.resolve(name, version)  # NotFound (404) when it does not exist
        return False

    async def model_metadata(self, name: str, version: str | None = None) -> dict[str, Any]:
        served = await self.model(name, version)
        return model_metadata(name, self.models.versions(name), served.platform, served.signature)

    async def model(self, name: str, version: str | None = None) -> ServedModel:
        """The version answering for ``name``, loading it when needed."""
        return self.models.lookup(name, version) or await self.models.get(name, version)

    # -- inference ---------------------------------------------------------------------------

    async def infer(
        self,
        name: str,
        version: str | None,
        request: InferenceRequest,
        ctx: CallContext | None = None,
        *,
        deadline: float | None = None,
    ) -> InferenceResponse:
        """Through the stages (auth, routing, monitoring) when there are any, then the core.

        ``deadline`` (a ``time.monotonic()`` instant) comes from the transport: the
        ``x-deadline-ms`` header or the gRPC deadline; else the request's ``deadline_ms``
        parameter, else the server default, counted from here."""
        if self._pipeline is None:
            return await self._answer(name, version, request, deadline)
        if ctx is None:
            ctx = CallContext(name=name, version=version)
        if deadline is not None:
            ctx.notes["deadline"] = deadline
        return await self._pipeline(ctx, request)

    async def _core(self, ctx: CallContext, request: InferenceRequest) -> InferenceResponse:
        return await self._answer(ctx.model, ctx.version, request, ctx.notes.get("deadline"))

    async def _answer(
        self,
        name: str,
        version: str | None,
        request: InferenceRequest,
        deadline: float | None = None,
    ) -> InferenceResponse:
        """Validate against the signature, predict (cached, batched), pick the outputs."""
        served = self.models.lookup(name, version) or await self.models.get(name, version)
        inputs = served.plan.inputs(request)
        if deadline is None and (request.parameters or self.default_deadline_ms is not None):
            deadline = self._deadline(request)
        # a request about a named data subject is never cached (nothing to erase there)
        produced = await served.predict(
            inputs, deadline,
            cacheable=not (request.parameters and SUBJECT in request.parameters))
        response = InferenceResponse(
            model_name=name,
            model_version=served.version,
            id=request.id,
            outputs=served.plan.outputs(request, produced),
        )
        if request.parameters and wants_explanation(request):
            extra, params = await self.explanations.tensors(
                name, served.version, served.runtime, inputs)
            response.outputs.extend(extra)
            response.parameters.update(params)
        return response

    def _deadline(self, request: InferenceRequest) -> float | None:
        given = request.parameters.get("deadline_ms")
        if given is None:
            given = self.default_deadline_ms
            if given is None:
                return None
        elif type(given) not in (int, float) or not 0 < given < math.inf:
            raise InvalidInput(
                f"parameter deadline_ms must be a number of milliseconds > 0, got {given!r}"
            )
        return time.monotonic() + float(given) / 1000.0

    # -- the repository extension ------------------------------------------------------------

    async def repository_index(self) -> list[ModelStatus]:
        return await self.models.index()

    async def load_model(self, name: str) -> ModelStatus:
        return await self.models.load(name)

    async def unload_model(self, name: str) -> ModelStatus:
        return await self.models.unload(name)
