"""Framework adapters: load an artifact, describe its signature, predict a batch."""

from modelport.runtimes.base import Array, Batch, LoadOptions, Runtime

__all__ = ["Array", "Batch", "LoadOptions", "Runtime"]
