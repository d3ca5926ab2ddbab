"""The OpenAPI document, built from each served model's signature, and the ``/docs`` page.

Each model gets its own ``/v1/models/{name}:predict`` path whose row schema names its
features and their types, and its own ``/v2/models/{name}/infer`` path whose schema and example
show the tensors it takes (for a tabular model, one ``[N, F]`` tensor or one ``[N]`` tensor per
feature), so generated clients and the docs page know what to send.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from modelport.protocol.signature import Signature, TensorSpec

__all__ = ["DOCS_HTML", "openapi_document"]

_JSON_TYPE = {"BOOL": "boolean", "BYTES": "string", "FP16": "number", "FP32": "number",
              "FP64": "number"}

_ERROR = {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}
_TENSOR = {
    "type": "object",
    "required": ["name", "shape", "datatype"],
    "properties": {
        "name": {"type": "string"},
        "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
        "datatype": {"type": "string", "enum": ["BOOL", "BYTES", "FP16", "FP32", "FP64", "INT8",
                     "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"]},
        "parameters": {"type": "object"},
        "data": {"type": "array"},
    },
}
_V2_REQUEST = {
    "type": "object",
    "required": ["inputs"],
    "properties": {
        "id": {"type": "string"},
        "parameters": {"type": "object"},
        "inputs": {"type": "array", "items": {"$ref": "#/components/schemas/Tensor"}},
        "outputs": {"type": "array", "items": {"type": "object", "required": ["name"],
                    "properties": {"name": {"type": "string"}, "parameters": {"type": "object"}}}},
    },
}
_V2_RESPONSE = {
    "type": "object",
    "properties": {
        "model_name": {"type": "string"},
        "model_version": {"type": "string"},
        "id": {"type": "string"},
        "outputs": {"type": "array", "items": {"$ref": "#/components/schemas/Tensor"}},
    },
}
_FEEDBACK_ITEM = {
    "type": "object",
    "description": "What happened after one answered request: the true label (monitoring) "
                   "and/or an A/B outcome (conversion or value). Ids are the answer's id.",
    "properties": {
        "request_id": {"type": "string", "description": "the id the inference answer carried "
                                                        "(\"id\" is accepted too)"},
        "row": {"type": "integer", "minimum": 0,
                "description": "which row, for a request that scored several"},
        "label": {"description": "the ground truth: a number, true/false or a string"},
        "conversion": {"type": "boolean", "description": "A/B: did the request convert"},
        "value": {"type": "number", "description": "A/B: a value the request produced"},
    },
    "required": ["request_id"],
    "example": {"request_id": "order-1001", "label": 1},
}
_FEEDBACK = {
    "oneOf": [
        {"$ref": "#/components/schemas/FeedbackItem"},
        {"type": "array", "items": {"$ref": "#/components/schemas/FeedbackItem"}},
        {"type": "object", "required": ["feedback"], "properties": {
            "feedback": {"type": "array", "items": {"$ref": "#/components/schemas/FeedbackItem"}}}},
    ],
}


def openapi_document(
    models: Iterable[tuple[str, Signature | None]], *, version: str
) -> dict[str, Any]:
    """OpenAPI 3.1 for the V2 routes plus one friendly predict path per model."""
    paths: dict[str, Any] = {}
    for name, signature in models:
        paths[f"/v1/models/{name}:predict"] = {"post": _predict_operation(name, signature)}
        if signature is not None and signature.inputs:
            paths[f"/v2/models/{name}/infer"] = {"post": _infer_operation(name, signature)}
    paths.update(_v2_paths())
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "modelport",
            "version": version,
            "description": "Open Inference Protocol (V2) and friendly row predictions.",
        },
        "paths": paths,
        "components": {
            "schemas": {"Error": _ERROR, "Tensor": _TENSOR, "InferenceRequest": _V2_REQUEST,
                        "InferenceResponse": _V2_RESPONSE, "FeedbackItem": _FEEDBACK_ITEM},
        },
    }


def _value_schema(spec: TensorSpec) -> dict[str, Any]:
    """The JSON schema of one row's value for a tensor (its dims after the batch dim)."""
    datatype = spec.datatype
    schema: dict[str, Any] = {"type": _JSON_TYPE.get(datatype, "integer")}
    for dim in reversed(spec.shape[1:]):
        schema = {"type": "array", "items": schema}
        if dim >= 0:
            schema["minItems"] = schema["maxItems"] = dim
    schema["description"] = f"{datatype}, shape {list(spec.shape)}"
    return schema


def _predict_operation(name: str, signature: Signature | None) -> dict[str, Any]:
    if signature is None or not signature.inputs:
        row: dict[str, Any] = {"description": "one row of the model's inputs"}
        prediction: dict[str, Any] = {}
    else:
        props = {s.name: _value_schema(s) for s in signature.inputs}
        row = {
            "oneOf": [
                {"type": "object", "properties": props, "required": list(props)},
                {"type": "array", "description": "values in input order: " + ", ".join(props)},
            ]
        }
        outs = signature.outputs
        if len(outs) == 1:
            prediction = _value_schema(outs[0])
        else:
            prediction = {"type": "object", "properties": {s.name: _value_schema(s) for s in outs}}
    body = {
        "type": "object",
        "required": ["instances"],
        "properties": {"instances": {"type": "array", "minItems": 1, "items": row}},
    }
    answer = {
        "type": "object",
        "properties": {
            "model_name": {"type": "string"},
            "model_version": {"type": "string"},
            "predictions": {"type": "array", "items": prediction},
        },
    }
    return {
        "summary": f"Predict rows with {name}",
        "operationId": f"predict_{name}",
        "tags": ["predict"],
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
        "responses": {"200": _json("predictions, one per row", answer), **_errors()},
    }


def _tensor_schema(spec: TensorSpec, description: str) -> dict[str, Any]:
    rank = len(spec.shape)
    return {
        "type": "object",
        "description": description,
        "required": ["name", "shape", "datatype", "data"],
        "properties": {
            "name": {"type": "string", "const": spec.name},
            "datatype": {"type": "string", "const": spec.datatype},
            "shape": {"type": "array", "items": {"type": "integer", "minimum": 0},
                      "minItems": rank, "maxItems": rank},
            "parameters": {"type": "object"},
            "data": {"type": "array"},
        },
    }


def _infer_operation(name: str, signature: Signature) -> dict[str, Any]:
    """The V2 infer call of one model: the tensor forms it takes, with an example body."""
    matrix = signature.matrix
    forms = []
    if matrix is not None:
        width = matrix.shape[1]
        matrix_form = _tensor_schema(
            matrix, f"one [rows, {width}] tensor, columns in feature order: "
            + ", ".join(signature.input_names) + " (any input name is accepted)")
        matrix_form["properties"].pop("name")
        forms.append({"type": "array", "minItems": 1, "maxItems": 1, "items": matrix_form})
        example = [{"name": matrix.name, "shape": [1, width], "datatype": matrix.datatype,
                    "data": [_zero(matrix.datatype)] * width}]
    else:
        example = [{"name": s.name, "shape": [1, *(max(d, 1) for d in s.shape[1:])],
                    "datatype": s.datatype, "data": [_zero(s.datatype)]}
                   for s in signature.inputs]
    columns = [_tensor_schema(s, f"input {s.name}, shape {list(s.shape)}")
               for s in signature.inputs]
    forms.append({"type": "array", "minItems": len(columns), "maxItems": len(columns),
                  "items": {"anyOf": columns}})
    body = {
        "type": "object",
        "required": ["inputs"],
        "properties": {**_V2_REQUEST["properties"],  # type: ignore[dict-item]
                       "inputs": forms[0] if len(forms) == 1 else {"oneOf": forms}},
        "example": {"inputs": example},
    }
    return {
        "summary": f"Open Inference Protocol inference with {name}",
        "operationId": f"infer_{name}",
        "tags": ["v2"],
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
        "responses": {
            "200": _json("outputs", {"$ref": "#/components/schemas/InferenceResponse"}),
            "413": _json("body over the size limit", {"$ref": "#/components/schemas/Error"}),
            **_errors(),
        },
    }


def _zero(datatype: str) -> Any:
    return {"BOOL": False, "BYTES": ""}.get(datatype, 0.0 if datatype.startswith("FP") else 0)


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors() -> dict[str, Any]:
    error = {"$ref": "#/components/schemas/Error"}
    return {
        "400": _json("the input does not fit the model", error),
        "404": _json("no such model or version", error),
        "503": _json("the model is loading or unavailable", error),
    }


def _get(summary: str) -> dict[str, Any]:
    return {"get": {"summary": summary, "tags": ["v2"], "responses": {"200": {"description": "ok"},
                                                                    **_errors()}}}


def _v2_paths() -> dict[str, Any]:
    infer = {
        "post": {
            "summary": "Open Inference Protocol inference",
            "tags": ["v2"],
            "requestBody": {
                "required": True,
                "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/InferenceRequest"}}},
            },
            "responses": {
                "200": _json("outputs", {"$ref": "#/components/schemas/InferenceResponse"}),
                "413": _json("body over the size limit", {"$ref": "#/components/schemas/Error"}),
                **_errors(),
            },
        }
    }
    feedback = {
        "post": {
            "summary": "ground truth and A/B outcomes for answered requests",
            "tags": ["monitoring"],
            "requestBody": {"required": True,
                            "content": {"application/json": {"schema": _FEEDBACK}}},
            "responses": {
                "200": _json("how many items were stored", {"type": "object", "properties": {
                    "accepted": {"type": "integer"}, "outcomes": {"type": "integer"}}}),
                **_errors(),
                "404": _json("an unknown request id (not in the inference log) or model",
                             {"$ref": "#/components/schemas/Error"}),
                "409": _json("feedback for that request row is already stored",
                             {"$ref": "#/components/schemas/Error"}),
            },
        }
    }
    post = {"post": {"summary": "model repository", "tags": ["v2"],
                     "responses": {"200": {"description": "ok"}, **_errors()}}}
    return {
        "/v2/health/live": _get("server liveness"),
        "/v2/health/ready": _get("server readiness"),
        "/v2": _get("server metadata"),
        "/v2/models/{model_name}": _get("model metadata"),
        "/v2/models/{model_name}/ready": _get("model readiness"),
        "/v2/models/{model_name}/infer": infer,
        "/v2/models/{model_name}/feedback": feedback,
        "/v2/models/{model_name}/versions/{model_version}": _get("model version metadata"),
        "/v2/models/{model_name}/versions/{model_version}/ready": _get("model version readiness"),
        "/v2/models/{model_name}/versions/{model_version}/infer": infer,
        "/v2/repository/index": post,
        "/v2/repository/models/{model_name}/load": post,
        "/v2/repository/models/{model_name}/unload": post,
    }


DOCS_HTML = b"""<!doctype html>
<html><head><meta charset="utf-8"><title>modelport API</title>
<style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
code,textarea,pre{font-family:ui-monospace,monospace;font-size:.9rem}
section{border:1px solid #ddd;border-radius:6px;padding:.8rem 1rem;margin:1rem 0}
textarea{width:100%;height:7rem}pre{background:#f6f6f6;padding:.5rem;overflow:auto}
</style></head><body>
<h1>modelport API</h1>
<p>The full schema is at <a href="/openapi.json">/openapi.json</a>.</p>
<div id="ops">loading...</div>
<script>
function example(s){
  if(!s)return null;
  if(s.example!==undefined)return s.example;
  if(s.oneOf)return example(s.oneOf[0]);
  if(s.type==="object"){
    const o={};for(const k in (s.properties||{}))o[k]=example(s.properties[k]);return o}
  if(s.type==="array"){return [example(s.items)]}
  return {number:0.0,integer:0,boolean:false,string:""}[s.type] ?? null;
}
fetch("/openapi.json").then(r=>r.json()).then(doc=>{
  const ops=document.getElementById("ops");ops.textContent="";
  for(const [path,item] of Object.entries(doc.paths)){
    for(const [method,op] of Object.entries(item)){
      const sec=document.createElement("section");
      sec.innerHTML="<b>"+method.toUpperCase()+"</b> <code></code><p></p>";
      sec.querySelector("code").textContent=path;sec.querySelector("p").textContent=op.summary||"";
      const body=op.requestBody&&op.requestBody.content["application/json"].schema;
      if(body&&!path.includes("{")){
        const ta=document.createElement("textarea");
        ta.value=JSON.stringify(example(body),null,1);
        const btn=document.createElement("button");btn.textContent="Send";
        const out=document.createElement("pre");
        btn.onclick=async()=>{const r=await fetch(path,{method:"POST",body:ta.value});
          out.textContent=r.status+" "+await r.text()};
        sec.append(ta,btn,out);
      }
      ops.append(sec);
    }
  }
});
</script></body></html>
"""
