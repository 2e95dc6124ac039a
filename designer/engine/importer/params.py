"""A layer's config as design params: reduced to the spec's parameters, JSON, defaults left out."""

from __future__ import annotations

import copy
import functools
import json
import warnings
from collections.abc import Mapping
from typing import Any

import keras
import numpy as np
from keras.src.utils.naming import to_snake_case

from designer.catalog.keras_layers import construct
from designer.catalog.spec import LayerSpec

_SERIALIZABLE_MODULES = {
    "keras.initializers": keras.initializers,
    "keras.regularizers": keras.regularizers,
    "keras.constraints": keras.constraints,
}


# --------------------------------------------------------------------- params
def layer_params(spec: LayerSpec, config: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A layer's node params from its Keras config, and the config keys it loses.

    Values become JSON; `trainable` is kept when False and `dtype` when not
    float32; of the spec's parameters only those are kept without which the
    layer would not have the same config (so an activation "linear" where the
    default is None goes, and the strides of a pooling whose window is not
    the default stay). Config keys the spec lacks are lost; they are listed
    when the layer made from the params has another value for them. A value
    with no JSON form raises TypeError.
    """
    known = {param.name for param in spec.params}
    params: dict[str, Any] = {}
    others: dict[str, Any] = {}
    for key, value in config.items():
        if key == "dtype":
            value = policy_name(value)
            if value not in (None, "float32"):
                params[key] = value
        elif key == "trainable":
            if value is False:
                params[key] = False
        elif key in known:
            params[key] = json_value(value, key)
        elif key != "name" and value is not None:
            others[key] = value
    kept, made = _reduced(spec, params)
    return kept, [key for key, value in others.items() if not _reproduced(made, key, value)]


def _reproduced(made: Mapping[str, Any], key: str, value: Any) -> bool:
    try:
        return _same_json(made.get(key, _ABSENT), json_value(value, key))
    except TypeError:
        return False


_ABSENT = object()
_REDUCED: dict[tuple[str, str, str], tuple[dict[str, Any], dict[str, Any]]] = {}


def _reduced(spec: LayerSpec, params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """`params` without those the layer gets anyway, and the config of the layer made from
    what is kept (cached: many layers of a model are alike)."""
    key = (spec.module, spec.class_name, json.dumps(params, sort_keys=True, default=str))
    if key not in _REDUCED:
        _REDUCED[key] = _reduce(spec, params)
    kept, made = _REDUCED[key]
    return copy.deepcopy(kept), made


def _reduce(spec: LayerSpec, params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Drop what a layer made from the required params alone has too, then put back whatever
    the layer made from the rest does not reproduce."""
    required = {param.name for param in spec.params if param.required}
    defaults = _made_config(spec, {name: params[name] for name in required if name in params})
    kept = {
        key
        for key, value in params.items()
        if key in required or not _same_json(defaults.get(key, _ABSENT), value)
    }
    made = _made_config(spec, {key: params[key] for key in kept})
    if not made:
        return dict(params), {}
    kept |= {key for key, value in params.items() if not _same_json(made.get(key, _ABSENT), value)}
    return spec.non_default_params({key: value for key, value in params.items() if key in kept}), made


def _made_config(spec: LayerSpec, params: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON config of the layer made from `params` ({} if it cannot be made)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            config = construct(spec, params).get_config()
        return {key: json_value(value, key) for key, value in config.items() if key not in ("dtype", "name")}
    except Exception:  # a layer that cannot be made this way: keep every param
        return {}


def _same_json(first: Any, second: Any) -> bool:
    if first is _ABSENT or second is _ABSENT:
        return False
    return json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


def json_value(value: Any, key: str = "") -> Any:
    """A config value as JSON: lists for tuples and arrays, the short name of a default
    initializer, regularizer or constraint ("glorot_uniform"); TypeError if it has none."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [json_value(item, key) for item in value]
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    if isinstance(value, Mapping):
        return _json_mapping(value, key)
    raise TypeError(f"the value of `{key}` ({type(value).__name__}) has no JSON form")


def _json_mapping(value: Mapping[str, Any], key: str) -> Any:
    class_name = value.get("class_name")
    if class_name in ("__tuple__", "__numpy__"):
        return json_value(value["config"]["value"], key)
    converted = {str(name): json_value(item, key) for name, item in value.items()}
    if value.get("module") in _SERIALIZABLE_MODULES and value.get("registered_name") is None:
        return _short_name(json.dumps(converted, sort_keys=True)) or converted
    return converted


@functools.cache
def _short_name(serialized: str) -> str | None:
    """The identifier Keras takes for a serialized initializer/regularizer/constraint
    when the serialized config is that identifier's default, else None."""
    value = json.loads(serialized)
    identifier_name = to_snake_case(value["class_name"])
    try:
        instance = _SERIALIZABLE_MODULES[value["module"]].get(identifier_name)
        default = keras.saving.serialize_keras_object(instance)
    except (ValueError, TypeError, KeyError):
        return None
    same = json.dumps(default, sort_keys=True, default=str) == serialized
    return identifier_name if same else None


def policy_name(value: Any) -> Any:
    """A serialized DTypePolicy as its name ("float32"); any other value unchanged."""
    if isinstance(value, Mapping) and value.get("class_name") == "DTypePolicy":
        return (value.get("config") or {}).get("name")
    return json_value(value, "dtype")
