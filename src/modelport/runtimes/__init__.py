"""Framework adapters: load an artifact, describe its signature, predict a batch.

One module per framework (``<flavor>_runtime.py``), registered by flavor in ``catalog``,
which also detects an artifact's flavor. Shared pieces: ``tabular`` (feature columns,
classifier outputs), ``tensors`` (tensor inputs by signature), ``artifacts`` (byte sniffing,
``modelport.json`` sidecars), ``skops_trust`` (what a skops file may contain) and
``mlflow_model`` (reading MLflow model directories). Frameworks are imported only on load.
"""

from modelport.runtimes.base import Array, Batch, LoadOptions, Runtime

__all__ = ["Array", "Batch", "LoadOptions", "Runtime"]
