"""Open Inference Protocol (KServe V2) types and codecs. The ground floor: imports nothing above."""

from modelport.protocol.datatypes import DATATYPE_TO_NUMPY, numpy_dtype, oip_datatype
from modelport.protocol.signature import Signature, TensorSpec
from modelport.protocol.types import InferenceRequest, InferenceResponse, RequestedOutput, Tensor

__all__ = [
    "DATATYPE_TO_NUMPY",
    "InferenceRequest",
    "InferenceResponse",
    "RequestedOutput",
    "Signature",
    "Tensor",
    "TensorSpec",
    "numpy_dtype",
    "oip_datatype",
]
