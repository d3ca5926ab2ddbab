"""Inference pipelines: transforms, models, ensembles and business rules as one servable.

A pipeline is written as YAML (:mod:`~modelport.pipelines.spec`), validated against the
registry (:mod:`~modelport.pipelines.validate`), stored as a versioned registry object of
flavor ``pipeline`` (:mod:`~modelport.pipelines.register`) and loaded as one runtime
(:mod:`~modelport.pipelines.runtime`), so serving, batch and stream scoring take it wherever
they take a model. Rule conditions are parsed safely (:mod:`~modelport.pipelines.expr`).
"""

from __future__ import annotations

from modelport.pipelines.expr import Condition, compile_condition
from modelport.pipelines.register import check_pipeline, register_pipeline
from modelport.pipelines.runtime import PipelineRuntime, load_pipeline
from modelport.pipelines.spec import PipelineSpec, parse_spec, read_spec
from modelport.pipelines.validate import PIPELINE_FLAVOR, Plan, plan_pipeline

__all__ = [
    "PIPELINE_FLAVOR",
    "Condition",
    "PipelineRuntime",
    "PipelineSpec",
    "Plan",
    "check_pipeline",
    "compile_condition",
    "load_pipeline",
    "parse_spec",
    "plan_pipeline",
    "read_spec",
    "register_pipeline",
]
