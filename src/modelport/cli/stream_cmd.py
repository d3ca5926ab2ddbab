"""``modelport stream``: score a Redis stream or Kafka topic continuously, and watch its groups.

    modelport stream run fraud@production \\
        --source "redis://localhost:6379/0?stream=transactions&group=scorer" \\
        --sink   "redis://localhost:6379/0?stream=scores"
    modelport stream status --source "redis://localhost:6379/0?stream=transactions"
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import typer

from modelport.cli.common import JSON_OPTION, open_registry
from modelport.cli.output import err_console, print_json, print_table
from modelport.errors import InvalidInput, ModelportError, PredictionFailed
from modelport.registry.loader import load_version
from modelport.runtimes.base import Array, Batch, Runtime
from modelport.streaming.backends import default_consumer, make_sink, make_source
from modelport.streaming.metrics import StreamMetrics
from modelport.streaming.scorer import ScoredModel, Scorer, ScorerStats, ScoringPolicy
from modelport.streaming.status import GroupStatus, stream_status
from modelport.streaming.urls import dead_letter_for, parse_endpoint

app = typer.Typer(
    help="Score events from Redis Streams or Kafka as they arrive; see consumer-group status.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

log = logging.getLogger(__name__)


@app.command()
def run(
    ref: str = typer.Argument(..., help="name, name@alias or name:version (plain name = latest)."),
    source: str = typer.Option(
        ...,
        "--source",
        help="redis://host:port/db?stream=S&group=G or kafka://broker:9092/topic?group=G",
    ),
    sink: str = typer.Option(
        ..., "--sink", help="redis://host:port/db?stream=S or kafka://broker:9092/topic"
    ),
    dead_letter: str | None = typer.Option(
        None,
        "--dead-letter",
        help="Where malformed messages go (default: the source name + '.dead-letter').",
    ),
    max_batch: int = typer.Option(256, help="Most messages per micro-batch."),
    max_wait_ms: float = typer.Option(20.0, help="Longest wait to fill a micro-batch (ms)."),
    max_in_flight: int = typer.Option(
        4, help="Micro-batches read but not yet acknowledged (back-pressure bound)."
    ),
    claim_idle: float = typer.Option(
        30.0, help="Redis: claim entries another consumer left pending this long (seconds)."
    ),
    consumer: str | None = typer.Option(
        None,
        help="Stable consumer name (default HOSTNAME-REF); give each scorer on a host its own.",
    ),
    metrics_port: int | None = typer.Option(
        None, help="Serve Prometheus metrics at http://0.0.0.0:PORT/metrics."
    ),
    field: str = typer.Option("data", help="Redis entry field holding the JSON message."),
    id_field: list[str] = typer.Option(
        ["id"], "--id-field",
        help="Event field copied into its result as is, to join results back (repeatable, "
        "e.g. --id-field transaction_id); default: id, when present.",
    ),
) -> None:
    """Score every event of SOURCE with a registered model, writing results to SINK."""
    if claim_idle < 0:
        raise InvalidInput(f"--claim-idle must be >= 0 seconds, got {claim_idle}")
    if not field:
        raise InvalidInput("--field must name the Redis entry field holding the JSON message")
    policy = ScoringPolicy(
        max_batch=max_batch, max_wait_ms=max_wait_ms, max_in_flight=max_in_flight,
        id_fields=tuple(id_field),
    )
    src = parse_endpoint(source, role="source")
    dst = parse_endpoint(sink, role="sink")
    dead = parse_endpoint(dead_letter, role="sink") if dead_letter else dead_letter_for(src)
    name = consumer or default_consumer(ref)
    with open_registry() as registry:
        info = registry.resolve(ref)
        runtime = load_version(registry, info)
    model = ScoredModel(
        name=info.name,
        version=str(info.version),
        signature=info.signature,
        predict=_guarded_predict(runtime, info.ref),
    )
    scorer = Scorer(
        model,
        make_source(src, consumer=name, field=field, claim_idle_ms=int(claim_idle * 1000)),
        make_sink(dst, field=field, source=src),
        make_sink(dead, field=field, source=src),
        policy=policy,
        metrics=StreamMetrics(info.name),
    )
    if metrics_port is not None:
        bound = scorer.metrics.serve(metrics_port)
        err_console.print(f"metrics on http://0.0.0.0:{bound}/metrics", highlight=False)
    err_console.print(
        f"scoring {info.ref} from {src} as consumer {name!r} into {dst} "
        f"(dead letters: {dead}); SIGTERM or Ctrl-C stops after the batches in hand",
        highlight=False,
    )
    try:
        stats = asyncio.run(_run(scorer))
    finally:
        scorer.metrics.close()
        runtime.unload()
    err_console.print(
        f"stopped: consumed {stats.consumed}, produced {stats.produced}, "
        f"skipped {stats.duplicates} replayed, dead-lettered {stats.dead_lettered}",
        highlight=False,
    )
    if stats.aborted:
        raise typer.Exit(130)


async def _run(scorer: Scorer) -> ScorerStats:
    scorer.install_signal_handlers()
    return await scorer.run()


def _guarded_predict(runtime: Runtime, ref: str) -> Callable[[Batch], dict[str, Array]]:
    """``runtime.predict`` with framework errors turned into PredictionFailed naming the model."""

    def predict(inputs: Batch) -> dict[str, Array]:
        try:
            return runtime.predict(inputs)
        except ModelportError:
            raise
        except Exception as exc:
            raise PredictionFailed(f"{ref} failed to predict: {type(exc).__name__}: {exc}") from exc

    return predict


@app.command()
def status(
    source: str = typer.Option(
        ...,
        "--source",
        help="The scored stream: redis://host:port/db?stream=S[&group=G] or "
        "kafka://broker:9092/topic?group=G",
    ),
    sink: str | None = typer.Option(None, "--sink", help="Also count the sink's records."),
    dead_letter: str | None = typer.Option(
        None,
        "--dead-letter",
        help="Dead-letter stream (default: the source name + '.dead-letter').",
    ),
    window: float = typer.Option(1.0, help="Seconds between the two samples for throughput."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Lag, pending entries, throughput and dead letters of each consumer group of SOURCE."""
    if window < 0:
        raise InvalidInput(f"--window must be >= 0 seconds, got {window}")
    src = parse_endpoint(source, role="status")
    groups = asyncio.run(
        stream_status(
            src,
            sink=parse_endpoint(sink, role="sink") if sink else None,
            dead_letter=parse_endpoint(dead_letter, role="sink") if dead_letter else None,
            window_s=window,
        )
    )
    if json_out:
        print_json([g.to_dict() for g in groups])
        return
    _print_groups(groups)


def _print_groups(groups: list[GroupStatus]) -> None:
    print_table(
        ["stream", "group", "length", "lag", "pending", "per second", "dead letters", "sink"],
        [
            (
                g.stream,
                g.group,
                g.length,
                g.lag,
                g.pending,
                None if g.throughput is None else round(g.throughput, 1),
                g.dead_letters,
                g.sink_length,
            )
            for g in groups
        ],
        title="consumer groups",
    )
    consumers = [(g.group, c.name, c.pending, c.idle_ms) for g in groups for c in g.consumers]
    if consumers:
        print_table(["group", "consumer", "pending", "idle ms"], consumers, title="consumers")
