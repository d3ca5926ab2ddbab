"""A model's data contract: what each input may hold (type, range, categories, missing values).

Derived from the version's reference data (the sample of its training table the registry
keeps), with a margin around observed ranges, then stored per model and editable by hand
(``modelport monitor contract fraud --set amount.max=5000``). :mod:`.contract_check` turns it
into the per-request check.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml

from modelport.errors import InvalidInput
from modelport.monitoring.config import POLICIES, ContractPolicy
from modelport.protocol.datatypes import DATATYPES
from modelport.protocol.signature import Signature

__all__ = ["Contract", "FieldRule", "derive_contract", "is_feature"]

Kind = Literal["numeric", "categorical"]
MAX_CATEGORIES = 200
"""A text column with more distinct values than this gets no category rule (ids, free text)."""

_SETTABLE = ("min", "max", "categories", "nullable", "kind")


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldRule:
    """What one input may hold."""

    name: str
    datatype: str
    """The OIP datatype the input must be sent as."""
    kind: Kind = "numeric"
    min: float | None = None
    """Lowest allowed value (numeric inputs), None for no bound."""
    max: float | None = None
    categories: tuple[str, ...] | None = None
    """Allowed values of a categorical input; None allows any."""
    nullable: bool = False
    """Whether missing values (NaN, empty text) are allowed."""

    def __post_init__(self) -> None:
        if self.datatype not in DATATYPES:
            raise InvalidInput(f"contract field {self.name!r}: unknown datatype {self.datatype!r}")
        if self.kind not in ("numeric", "categorical"):
            raise InvalidInput(
                f"contract field {self.name!r}: kind must be numeric or categorical, "
                f"got {self.kind!r}"
            )
        if self.min is not None and self.max is not None and self.min > self.max:
            raise InvalidInput(
                f"contract field {self.name!r}: min {self.min} is above max {self.max}"
            )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"datatype": self.datatype, "kind": self.kind}
        if self.min is not None:
            out["min"] = self.min
        if self.max is not None:
            out["max"] = self.max
        if self.categories is not None:
            out["categories"] = list(self.categories)
        out["nullable"] = self.nullable
        return out

    @classmethod
    def from_dict(cls, name: str, data: Mapping[str, Any]) -> FieldRule:
        unknown = set(data) - {"datatype", *_SETTABLE}
        if unknown:
            raise InvalidInput(
                f"contract field {name!r} has unknown key(s) {', '.join(sorted(unknown))}; "
                f"allowed: datatype, {', '.join(_SETTABLE)}"
            )
        cats = data.get("categories")
        return cls(
            name=name,
            datatype=str(data.get("datatype", "FP64")),
            kind=data.get("kind", "numeric"),
            min=_number(name, "min", data.get("min")),
            max=_number(name, "max", data.get("max")),
            categories=None if cats is None else tuple(str(c) for c in cats),
            nullable=bool(data.get("nullable", False)),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Contract:
    """Every input rule of one model, plus the policy that overrides the server's, if any."""

    model: str
    fields: tuple[FieldRule, ...]
    policy: ContractPolicy | None = None
    derived_from: str | None = None
    """The version whose reference data it was derived from, e.g. ``fraud:3``."""
    margin: float = 0.1
    notes: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if self.policy is not None and self.policy not in POLICIES:
            raise InvalidInput(
                f"contract policy must be one of {', '.join(POLICIES)}, got {self.policy!r}"
            )

    def rule(self, name: str) -> FieldRule | None:
        return next((f for f in self.fields if f.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "policy": self.policy,
            "derived_from": self.derived_from,
            "margin": self.margin,
            "fields": {f.name: f.to_dict() for f in self.fields},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Contract:
        if not isinstance(data, Mapping) or not isinstance(data.get("fields"), Mapping):
            raise InvalidInput(
                "a contract is a mapping with 'model' and 'fields' (name -> rule); export one "
                "with `modelport monitor contract NAME --export contract.yaml` to start from"
            )
        return cls(
            model=str(data.get("model", "")),
            fields=tuple(FieldRule.from_dict(str(k), v or {}) for k, v in data["fields"].items()),
            policy=data.get("policy"),
            derived_from=data.get("derived_from"),
            margin=float(data.get("margin", 0.1)),
        )

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @classmethod
    def from_yaml(cls, text: str) -> Contract:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InvalidInput(f"the contract is not valid YAML: {exc}") from None
        return cls.from_dict(data)

    def with_settings(self, settings: Mapping[str, str]) -> Contract:
        """Apply ``field.key=value`` edits (``amount.max=5000``, ``policy=reject``)."""
        contract = self
        for key, value in settings.items():
            if key == "policy":
                contract = replace(contract, policy=None if value in ("", "none") else value)  # type: ignore[arg-type]
                continue
            name, _, attr = key.rpartition(".")
            rule = contract.rule(name)
            if not name or rule is None:
                raise InvalidInput(
                    f"--set {key}: expected FIELD.KEY=VALUE with FIELD one of "
                    f"{', '.join(f.name for f in contract.fields)}, or policy=reject|flag|off"
                )
            new = replace(rule, **{attr: _parse_setting(key, attr, value)})
            contract = replace(
                contract, fields=tuple(new if f.name == name else f for f in contract.fields)
            )
        return contract


def is_feature(shape: tuple[int, ...]) -> bool:
    """Whether an input is one value per row (a table column): ``[-1]`` or ``[-1, 1]``."""
    return shape in ((-1,), (-1, 1))


def derive_contract(
    model: str,
    signature: Signature,
    reference: pd.DataFrame | None,
    *,
    margin: float = 0.1,
    derived_from: str | None = None,
) -> Contract:
    """Rules for every input; ranges, categories and missing values from ``reference``.

    Numeric bounds are the observed range widened by ``margin`` of its width on each side.
    """
    rules: list[FieldRule] = []
    notes: list[str] = []
    for spec in signature.inputs:
        column = None
        if reference is not None and is_feature(spec.shape) and spec.name in reference.columns:
            column = reference[spec.name]
        if column is None:
            kind: Kind = "categorical" if spec.datatype in ("BYTES", "BOOL") else "numeric"
            rules.append(FieldRule(name=spec.name, datatype=spec.datatype, kind=kind,
                                   nullable=True))
            notes.append(f"{spec.name}: not in the reference data, only its type is checked")
            continue
        rules.append(_derive_field(spec.name, spec.datatype, column, margin))
    return Contract(model=model, fields=tuple(rules), derived_from=derived_from, margin=margin,
                    notes=tuple(notes))


def _derive_field(name: str, datatype: str, column: pd.Series[Any], margin: float) -> FieldRule:
    nullable = bool(column.isna().any())
    if datatype == "BOOL":
        return FieldRule(name=name, datatype=datatype, kind="categorical", nullable=nullable)
    if datatype == "BYTES" or not pd.api.types.is_numeric_dtype(column.dtype):
        text = column.dropna().map(_text)
        if datatype == "BYTES":
            nullable = nullable or bool((text == "").any())
        seen = sorted(set(text) - {""})
        cats = tuple(seen) if len(seen) <= MAX_CATEGORIES else None
        return FieldRule(name=name, datatype=datatype, kind="categorical", categories=cats,
                         nullable=nullable)
    values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return FieldRule(name=name, datatype=datatype, nullable=True)
    lo, hi = float(finite.min()), float(finite.max())
    pad = margin * ((hi - lo) or max(abs(hi), 1.0))
    return FieldRule(name=name, datatype=datatype, min=lo - pad, max=hi + pad, nullable=nullable)


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _number(name: str, key: str, value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"contract field {name!r}: {key} must be a number, got {value!r}"
        ) from None
    if math.isnan(number):
        raise InvalidInput(f"contract field {name!r}: {key} must be a number, not NaN")
    return number


def _parse_setting(key: str, attr: str, value: str) -> Any:
    if attr in ("min", "max"):
        return None if value.lower() in ("", "none") else _number(key, attr, value)
    if attr == "nullable":
        if value.lower() not in ("true", "false", "yes", "no", "1", "0"):
            raise InvalidInput(f"--set {key}={value!r}: nullable takes true or false")
        return value.lower() in ("true", "yes", "1")
    if attr == "categories":
        if value.lower() in ("", "none", "any"):
            return None
        return tuple(v.strip() for v in value.split(",") if v.strip())
    if attr == "kind":
        if value not in ("numeric", "categorical"):
            raise InvalidInput(f"--set {key}={value!r}: kind is numeric or categorical")
        return value
    raise InvalidInput(f"--set {key}: unknown rule {attr!r}; settable: {', '.join(_SETTABLE)}")
