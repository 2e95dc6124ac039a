"""The engine host's operations for the weights panel: a layer's weights, a sample's activations,
a run's weights over its epochs, its health flags, the model summary and exports.

`InspectionOps.handlers()` gives the ops by name; `EngineHost.handle` serves them. Every number
comes from designer.engine.inspection; this module builds or loads the model, calls those
functions and writes what is drawn as .npy files.

Conventions of every op
- The model comes from `project` (project data, as "analyze" takes it) or, when `run` (a run
  folder) is given, from the run's own graph.json, so that old runs open after the design changed.
  `checkpoint`: null for the initial weights (seeded with the training config's seed: the same
  design always gives the same weights) or a .keras / .weights.h5 file loaded into the model
  (a run's checkpoints/epoch_NNN.weights.h5 or last.keras).
- Arrays to draw are written as .npy files under the request's `out_dir` (created when missing;
  each file replaced in one step, so a reader never sees half of one); their paths in the reply
  are absolute. Views of a variable are float32.
- Non-finite floats travel as the strings "nan", "inf" and "-inf" (float() reads them back);
  null means "not recorded".
- Epoch numbers are those of the checkpoint files: 1 after the first epoch.
- A request that cannot be served raises RequestError with a message for a person: an unknown
  node id, a design with errors, a checkpoint that does not fit, a sample of the wrong shape.

Ops (request fields -> result)
- "inspect_weights" {project | run, node, checkpoint, out_dir, bins = 30} ->
  {node, layer, class, source: "initial" | checkpoint path,
   variables: [{path, name, shape, dtype, trainable, count,
                stats: {mean, std, min, max, norm (L2), sparsity (fraction of exact zeros),
                        near_zero (|x| < 1e-6), count, nan_count, inf_count},
                histogram: {counts, edges}, array: .npy of the whole array,
                heatmap: null | {file, rows, cols, row_step, col_step, index},
                filters: null | {file, count, cell: [h, w], mode: "mean" | "rgb" | "channel", channel},
                bars: null | {file, step}}],
   totals: {trainable, non_trainable} (the layer's parameters)}
  Variables come in Keras' order (layer.weights: the trainable ones first; BatchNormalization:
  gamma, beta trainable, moving_mean, moving_variance not); a layer without any gives [].
  heatmap (rank >= 2): the 2-D slice over the last two axes at `index` (the leading axes,
  all 0 here), block-averaged to at most 256 x 256; `rows` x `cols` is the slice's own size,
  display pixel (i, j) averages rows i*row_step.. and columns j*col_step.. of it.
  filters (kernels of 1-D and 2-D convolutions): inspection.filter_grid, each filter min-max
  scaled to [0, 1] (NaN where not finite); "mean" averages the input channels, "rgb" (3 inputs)
  is an (h, w, 3) colour image, "channel" shows input `channel`. `count` filters of `cell` pixels,
  tiled ceil(sqrt(count)) a row, 1 pixel apart.
  bars (rank 1): at most 512 bars, each the mean of `step` consecutive values.
- "weight_slice" {array: .npy path, index: [ints, one per leading axis], channel: null | int,
  out_dir} -> {heatmap: {...}, filters: {...} | null}: another slice or input channel of an
  `array` that inspect_weights wrote; filters for rank-3 and rank-4 arrays (the panel shows
  them where inspect_weights gave filters).
- "inspect_activations" {project | run, node: null | id, checkpoint, sample, out_dir,
  base_dir: folder relative data paths are read from (default: the run folder, else the
  host's working folder)} with sample one of
    {kind: "data", index}: sample `index` of the training data source as the training script's
      load_data() gives it (before the validation split), loaded by designer.data (no generated
      code runs in the engine);
    {kind: "file", path}: a .png / .jpg / .jpeg / .bmp / .gif image (pixels scaled to [0, 1],
      except for image-folder data, which the model rescales itself), or a .npy / .npz array;
    {kind: "array", path}: a .npy the user drew, its values taken as they are (not scaled).
  Images are converted to the input's channels and resized to its height and width; another
  array must have the input's shape (or as many values). File samples need a one-input model.
  -> {sample: {index: int | null, shape, file, label: str | null, inputs: {name: {shape, file}}},
      layers: {node id: {shape, kind: "maps" | "vector" | "scalar", file, thumbnail, stats,
                         dead_fraction: float | null, ports?: [...]}}}
  `layers` has every node (input nodes show the sample), or only `node` when given. `shape`
  is one sample's (no batch axis). kind and file: inspection.activation_image ("maps" an image
  in [0, 1], "vector" at most 768 bars of block means, "scalar" one value); thumbnail:
  inspection.thumbnail, at most 48 x 48 (a vector: 48 bars). dead_fraction: for ReLU outputs
  (ReLU layers, activation="relu"), the fraction of units (channels) with no positive value.
  A layer with several outputs describes its first, and all of them in `ports`. A node that
  reuses another node's layer shows only where that layer is first called.
- "inspect_run" {run, node, bins = 30, out_dir} -> {epochs: [epoch numbers of the per-epoch
  checkpoints], variables: {variable path: {edges: [bins + 1], counts: .npy (epochs x bins)}},
  gradient_norms: {layer: [per epoch]}, dead_relu: {layer: [per epoch]}, layer_nodes: {layer:
  node id}}: the node's weight distributions over the epochs (edges shared by all rows) and the
  norms and dead fractions the worker recorded, aligned with `epochs` (null where not recorded).
- "run_health" {run} -> {flags: {node id: [flag]}, messages: {node id: [sentence]}, epoch}:
  inspection.health_flags on the weights of the run's last checkpoint (`epoch`; null when there
  is none) and on the recorded norms and dead fractions. Flags: "nan-or-inf",
  "exploding-gradients", "vanishing-gradients", "mostly-dead-relu". Nodes sharing a layer share
  its flags.
- "model_summary" {project | run, checkpoint} -> {rows: [{node, name, class, output_shape, params,
  trainable, non_trainable}], totals: {trainable, non_trainable}}, as model.summary() lists them.
- "export" {project | run, checkpoint, format: "weights.h5" | "keras" | "npz", node (for npz),
  path} -> {path}: the weights, the whole model or the node's arrays, written to a temporary
  file and renamed, so a failure leaves no half-written file.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import math
import os
import re
import warnings
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

from designer.catalog.spec import Catalog
from designer.data import DataLayout, DataSettings, DataSourceError, load_source
from designer.data.sources import needs_model
from designer.engine import inspection
from designer.engine.analysis import analyze
from designer.engine.build import build_model
from designer.engine.custom_ops import CustomLayers
from designer.engine.inference import ShapeInference
from designer.engine.keras_data import KerasData
from designer.engine.protocol import RequestError
from designer.graph import project
from designer.graph.errors import GraphError
from designer.graph.model import ModelGraph

Handler = Callable[[Mapping[str, Any]], Any]

DEFAULT_BINS = 30
DEFAULT_SEED = 42  # TrainingConfig's: the seed of a design without a training config
MODEL_CACHE_SIZE = 4  # models kept, one per (design, checkpoint)
HEATMAP_SIDE = 256
MAX_BARS = 512
MESSAGE_LIMIT = 300  # characters of a Keras error quoted in a message
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
ARRAY_SUFFIXES = (".npy", ".npz")
GRAPH_FILE, CONFIG_FILE, EVENTS_FILE = "graph.json", "config.json", "events.jsonl"  # as in training.runs
CHECKPOINTS, LAST_CHECKPOINT = "checkpoints", "last.keras"
INSPECTION_EVENT = "inspection"


# ------------------------------------------------------------------ the design and its model
@dataclass(frozen=True)
class Design:
    """The design a request names: its graph, training config, and the run it comes from."""

    graph: ModelGraph
    catalog: Catalog  # the host's, plus the specs the project carries from an import
    training: dict[str, Any] | None
    run: Path | None
    key: str  # what the built model depends on, canonical

    @property
    def seed(self) -> int:
        return int((self.training or {}).get("seed", DEFAULT_SEED))

    def where(self, start: bool = False) -> str:
        """How messages name this design ("the design of run ..."), capitalized at a sentence's `start`."""
        text = f"the design of run {self.run}" if self.run else "the design"
        return text[0].upper() + text[1:] if start else text


@dataclass
class LoadedModel:
    """A built model with the weights of `source`, and its activation probe once asked for."""

    model: keras.Model
    source: str
    probe: keras.Model | None = None


@dataclass(frozen=True)
class Sample:
    """One sample for the model: its arrays by input name (no batch axis), its index and label."""

    inputs: dict[str, np.ndarray]
    index: int | None
    label: str | None


class InspectionOps:
    """The inspection ops of one engine host, with the last few models built and the last data
    source loaded, so that clicking node after node builds nothing twice."""

    def __init__(
        self, catalog: Callable[[], Catalog], custom: Callable[[], CustomLayers] | None = None
    ) -> None:
        self._catalog = catalog
        self._custom = custom  # the host's custom-layer files: their crash guard, what stopped it
        self._inference: ShapeInference | None = None
        self._models: OrderedDict[tuple[Any, ...], LoadedModel] = OrderedDict()
        self._data: tuple[str, Any] | None = None

    def forget_models(self) -> None:
        """Drop the models built so far (the custom-layer files were loaded again)."""
        self._models.clear()
        self._inference = None

    def handlers(self) -> dict[str, Handler]:
        return {
            "inspect_weights": self.inspect_weights,
            "weight_slice": self.weight_slice,
            "inspect_activations": self.inspect_activations,
            "inspect_run": self.inspect_run,
            "run_health": self.run_health,
            "model_summary": self.model_summary,
            "export": self.export,
        }

    # ---------------------------------------------------------------- weights
    def inspect_weights(self, request: Mapping[str, Any]) -> dict[str, Any]:
        design = self._design(request)
        loaded = self._loaded(design, request)
        node_id = _text(request, "node")
        layer = loaded.model.get_layer(_layer_name(design, loaded.model, node_id))
        out_dir = _out_dir(request)
        bins = _integer(request, "bins", DEFAULT_BINS, least=1)
        variables = [_variable_reply(layer, variable, out_dir, bins) for variable in layer.weights]
        trainable, non_trainable = inspection.layer_parameter_counts(layer)
        return {
            "node": node_id,
            "layer": layer.name,
            "class": type(layer).__name__,
            "source": loaded.source,
            "variables": variables,
            "totals": {"trainable": trainable, "non_trainable": non_trainable},
        }

    def weight_slice(self, request: Mapping[str, Any]) -> dict[str, Any]:
        path = _existing(_text(request, "array"), "array")
        array = np.load(path, mmap_mode="r", allow_pickle=False)
        out_dir = _out_dir(request)
        index = _optional_integers(request, "index")
        channel = _optional_integer(request, "channel")
        stem = path.name.removesuffix(".npy")
        return {
            "heatmap": _heatmap_reply(array, index, out_dir, stem),
            "filters": _filters_reply(array, channel, out_dir, stem) if array.ndim in (3, 4) else None,
        }

    def model_summary(self, request: Mapping[str, Any]) -> dict[str, Any]:
        design = self._design(request)
        model = self._loaded(design, request).model
        nodes = _layer_nodes(design.graph)
        rows = [
            {
                "node": nodes.get(row.name),
                "name": row.name,
                "class": row.class_name,
                "output_shape": row.output_shape,
                "params": row.params,
                "trainable": row.trainable,
                "non_trainable": row.non_trainable,
            }
            for row in inspection.summary_rows(model)
        ]
        trainable, non_trainable = inspection.parameter_totals(model)
        return {"rows": rows, "totals": {"trainable": trainable, "non_trainable": non_trainable}}

    # ------------------------------------------------------------ activations
    def inspect_activations(self, request: Mapping[str, Any]) -> dict[str, Any]:
        design = self._design(request)
        loaded = self._loaded(design, request)
        selected = request.get("node")
        if selected is not None:
            _layer_name(design, loaded.model, _text(request, "node"))
        out_dir = _out_dir(request)
        sample = self._sample(design, loaded.model, request)
        if loaded.probe is None:
            loaded.probe = inspection.activation_probe(loaded.model)
        batch = _batch(loaded.model, sample.inputs)
        outputs = {**inspection.probe_outputs(loaded.probe, batch), **_input_outputs(loaded.model, batch)}
        relu = set(inspection.relu_layers(loaded.model))
        layers = {
            node_id: _activation_reply(outputs, layer_name, layer_name in relu, out_dir, node_id)
            for node_id, layer_name in _first_callers(design.graph, loaded.model).items()
            if selected is None or node_id == selected
        }
        return {"sample": _sample_reply(sample, out_dir), "layers": layers}

    def _sample(self, design: Design, model: keras.Model, request: Mapping[str, Any]) -> Sample:
        sample = request.get("sample")
        if not isinstance(sample, Mapping) or sample.get("kind") not in ("data", "file", "array"):
            raise RequestError(
                'The request\'s "sample" must be {"kind": "data", "index": n}, {"kind": "file", "path": ...} '
                f'or {{"kind": "array", "path": ...}}, got {sample!r}.'
            )
        if sample["kind"] == "data":
            return self._data_sample(design, model, request, _integer(sample, "index", None, least=0))
        return _file_sample(design, model, _existing(_text(sample, "path"), "sample"), sample["kind"])

    def _data_sample(
        self, design: Design, model: keras.Model, request: Mapping[str, Any], index: int
    ) -> Sample:
        base_dir = Path(str(request.get("base_dir") or design.run or Path.cwd())).expanduser()
        x, y = self._training_data(design, model, base_dir)
        names = [node.name for node in design.graph.input_nodes()]
        if _is_dataset(x) or isinstance(x, tuple):  # an image folder gives tf.data datasets
            with contextlib.chdir(base_dir):  # which read their files (relative paths) as they go
                return _dataset_sample(x, names[0], index)
        arrays = dict(x) if isinstance(x, Mapping) else {names[0]: x}
        count = len(next(iter(arrays.values())))
        if index >= count:
            raise RequestError(
                f"Sample {index} is out of range: the data source has {count} samples (0 to {count - 1})."
            )
        target = next(iter(y.values())) if isinstance(y, Mapping) else y
        inputs = {name: np.asarray(values[index]) for name, values in arrays.items()}
        return Sample(inputs, index, _label(np.asarray(target[index])) if target is not None else None)

    def _training_data(self, design: Design, model: keras.Model, base_dir: Path) -> tuple[Any, Any]:
        """(x, y) of the training source as the training script's load_data() gives them, read
        in `base_dir`; the last data source stays loaded."""
        settings = _data_settings(design)
        key = _data_key(design, settings, base_dir)
        if self._data is None or self._data[0] != key:
            self._data = None
            self._data = (key, _load_data(design, settings, base_dir, model))
        return self._data[1]

    # ------------------------------------------------------------------ runs
    def inspect_run(self, request: Mapping[str, Any]) -> dict[str, Any]:
        run = _run_folder(request)
        design = self._design({"run": str(run)})
        model = self._loaded(design, {}).model
        layer_name = _layer_name(design, model, _text(request, "node"))
        out_dir = _out_dir(request)
        bins = _integer(request, "bins", DEFAULT_BINS, least=1)
        files = inspection.epoch_weight_files(run / CHECKPOINTS)
        epochs = [epoch for epoch, _ in files]
        loaded = (
            inspection.checkpoint_weights([path for _, path in files], model, [layer_name]) if files else []
        )
        variables = {}
        for path, arrays in inspection.weights_over_epochs(loaded).get(layer_name, {}).items():
            counts, edges = inspection.histograms_over_epochs(arrays, bins)
            variables[path] = {
                "edges": [float(edge) for edge in edges],
                "counts": _save(out_dir, f"{_file_stem(path)}.epochs", counts),
            }
        recorded = _recorded_by_epoch(run)
        return {
            "epochs": epochs,
            "variables": variables,
            "gradient_norms": _per_epoch(recorded, "gradient_norms", epochs),
            "dead_relu": _per_epoch(recorded, "dead_relu", epochs),
            "layer_nodes": _layer_nodes(design.graph),
        }

    def run_health(self, request: Mapping[str, Any]) -> dict[str, Any]:
        run = _run_folder(request)
        design = self._design({"run": str(run)})
        model = self._loaded(design, {}).model
        epoch, checkpoint = _last_checkpoint(run)
        weights = inspection.checkpoint_weights([checkpoint], model)[0] if checkpoint else {}
        statistics = {
            layer: {path: inspection.statistics(array) for path, array in variables.items()}
            for layer, variables in weights.items()
        }
        recorded = [record for _, record in sorted(_recorded_by_epoch(run).items())]
        norms = inspection.norms_by_layer(record.get("gradient_norms") or {} for record in recorded)
        dead = (
            {layer: float(value) for layer, value in (recorded[-1].get("dead_relu") or {}).items()}
            if recorded
            else {}
        )
        flags = inspection.health_flags(statistics, norms, dead)
        sharers = _nodes_of_layers(design.graph)
        reply_flags: dict[str, list[str]] = {}
        messages: dict[str, list[str]] = {}
        for layer, layer_flags in flags.items():
            sentences = [_health_message(flag, layer, statistics, norms, dead, epoch) for flag in layer_flags]
            for node_id in sharers.get(layer, []):
                reply_flags[node_id], messages[node_id] = list(layer_flags), sentences
        return {"flags": reply_flags, "messages": messages, "epoch": epoch}

    # ---------------------------------------------------------------- exports
    def export(self, request: Mapping[str, Any]) -> dict[str, Any]:
        kind = request.get("format")
        if kind not in ("weights.h5", "keras", "npz"):
            raise RequestError(f'The export format must be "weights.h5", "keras" or "npz", got {kind!r}.')
        path = Path(_text(request, "path")).expanduser().resolve()
        if not path.parent.is_dir():
            raise RequestError(f"Cannot export to {path}: the folder {path.parent} does not exist.")
        design = self._design(request)
        model = self._loaded(design, request).model
        try:
            if kind == "weights.h5":
                written = inspection.export_weights(model, path)
            elif kind == "keras":
                written = inspection.export_model(model, path)
            else:
                layer_name = _layer_name(design, model, _text(request, "node"))
                written = inspection.export_layer_npz(model, layer_name, path)
        except ValueError as error:
            raise RequestError(str(error)) from None
        return {"path": str(written)}

    # ---------------------------------------------------------- design, model
    def _design(self, request: Mapping[str, Any]) -> Design:
        """The design of `run` (its graph.json and config.json) or else of `project`."""
        if request.get("run"):
            run = _run_folder(request)
            data = _read_json(run / GRAPH_FILE, "the run's design")
            training = _read_json(run / CONFIG_FILE, "the run's training config")
        else:
            data = request.get("project")
            if not isinstance(data, dict):
                raise RequestError('The request needs "project" (the project data) or "run" (a run folder).')
            run, training = None, data.get("training")
        catalog = self._catalog().with_project_specs(data)
        try:
            graph = project.from_dict(data, catalog.ports_of, str(run / GRAPH_FILE) if run else None).graph
        except GraphError as error:
            raise RequestError(str(error)) from None
        training = training if isinstance(training, dict) else None
        return Design(graph, catalog, training, run, _design_key(data, training))

    def _loaded(self, design: Design, request: Mapping[str, Any]) -> LoadedModel:
        """The model of `design` with the weights of the request's `checkpoint`, built once."""
        checkpoint = _checkpoint(request)
        stamp = checkpoint.stat().st_mtime_ns if checkpoint else None
        key = (design.key, str(checkpoint), stamp)
        if key in self._models:
            self._models.move_to_end(key)
            return self._models[key]
        model = self._build(design)
        if checkpoint is not None:
            _load_checkpoint(model, checkpoint, design)
        loaded = LoadedModel(model, str(checkpoint) if checkpoint else "initial")
        self._models[key] = loaded
        while len(self._models) > MODEL_CACHE_SIZE:
            self._models.popitem(last=False)
        return loaded

    def _build(self, design: Design) -> keras.Model:
        """The model of a design without errors, its initial weights seeded. A custom layer that
        stopped the engine is refused, and the others are inferred under the crash guard first,
        as the design's analysis is: a layer that crashes is noted and never run again."""
        custom = self._custom() if self._custom is not None else None
        if custom is not None:
            stopped = sorted({n.type for n in design.graph.nodes.values()} & set(custom.stopped_layers()))
            if stopped:
                names = ", ".join(stopped)
                raise RequestError(
                    f"{names} stopped the engine before: fix its file (it reloads) to inspect this."
                )
        if self._inference is None or self._inference.catalog is not design.catalog:
            self._inference = (
                custom.inference(design.catalog) if custom is not None else ShapeInference(design.catalog)
            )
        errors = analyze(design.graph, design.catalog, self._inference).errors
        if errors:
            listed = "\n".join(f"- {_node_label(design.graph, e.node)}{e.message}" for e in errors[:5])
            more = f"\n(and {len(errors) - 5} more)" if len(errors) > 5 else ""
            raise RequestError(f"{design.where(start=True)} has errors; fix them first:\n{listed}{more}")
        keras.utils.set_random_seed(design.seed)
        try:
            return build_model(design.graph, design.catalog)
        except GraphError as error:
            raise RequestError(str(error)) from None


# ------------------------------------------------------------------ request fields
def _text(request: Mapping[str, Any], key: str) -> str:
    value = request.get(key)
    if not isinstance(value, str) or not value:
        got = "nothing" if value is None else repr(value)
        raise RequestError(f"The request's {key!r} must be a non-empty string, got {got}.")
    return value


def _integer(request: Mapping[str, Any], key: str, default: int | None, least: int) -> int:
    value = request.get(key, default)
    if value is None and default is not None:
        value = default
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise RequestError(f"The request's {key!r} must be an integer of at least {least}, got {value!r}.")
    return value


def _optional_integer(request: Mapping[str, Any], key: str) -> int | None:
    value = request.get(key)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise RequestError(f"The request's {key!r} must be an integer or null, got {value!r}.")
    return value


def _optional_integers(request: Mapping[str, Any], key: str) -> list[int] | None:
    value = request.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise RequestError(f"The request's {key!r} must be a list of integers, got {value!r}.")
    return value


def _existing(text: str, what: str) -> Path:
    path = Path(text).expanduser()
    if not path.is_file():
        raise RequestError(f"The {what} file {path} does not exist.")
    return path.resolve()


def _out_dir(request: Mapping[str, Any]) -> Path:
    folder = Path(_text(request, "out_dir")).expanduser().resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _run_folder(request: Mapping[str, Any]) -> Path:
    folder = Path(_text(request, "run")).expanduser().resolve()
    if not (folder / GRAPH_FILE).is_file():
        raise RequestError(f"{folder} is not a run folder: it has no {GRAPH_FILE}.")
    return folder


def _checkpoint(request: Mapping[str, Any]) -> Path | None:
    value = request.get("checkpoint")
    if value is None:
        return None
    path = _existing(_text(request, "checkpoint"), "checkpoint")
    if not path.name.endswith((".keras", ".weights.h5")):
        raise RequestError(f"A checkpoint is a .keras or .weights.h5 file, got {path.name}.")
    return path


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise RequestError(f"Cannot read {what} from {path}: {error}") from None


def _design_key(data: Mapping[str, Any], training: Any) -> str:
    """The project data without node positions, plus the seed: what the built model depends on."""
    canonical = {key: value for key, value in data.items() if key != "training"}
    canonical["nodes"] = [
        {key: value for key, value in node.items() if key != "position"} for node in data.get("nodes", [])
    ]
    seed = training.get("seed", DEFAULT_SEED) if isinstance(training, Mapping) else DEFAULT_SEED
    return json.dumps([canonical, seed], sort_keys=True, default=str)


def _load_checkpoint(model: keras.Model, path: Path, design: Design) -> None:
    """Load a checkpoint's weights into the model; RequestError when they do not fit it. Keras warns
    (and keeps fresh weights) where only some layers match: that counts as not fitting too."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model.load_weights(str(path))
            problem = next((str(w.message) for w in caught if issubclass(w.category, UserWarning)), None)
        except (ValueError, KeyError, OSError) as error:
            problem = str(error)
    if problem is not None:
        said = " ".join(line.strip() for line in problem.splitlines() if line.strip())
        said = said if len(said) <= MESSAGE_LIMIT else said[: MESSAGE_LIMIT - 3].rstrip() + "..."
        raise RequestError(
            f"The checkpoint {path} does not fit {design.where()}: {said} "
            "Open it with the run it belongs to: a run keeps its own design."
        )


# ------------------------------------------------------------------ nodes and layers
def _layer_name(design: Design, model: keras.Model, node_id: str) -> str:
    """The model layer of a node (its layer owner's name); RequestError for an unknown node or one
    the model does not reach."""
    try:
        owner = design.graph.layer_owner(node_id)
    except GraphError:
        raise RequestError(f"There is no node with id {node_id!r} in {design.where()}.") from None
    try:
        model.get_layer(owner.name)
    except ValueError:
        node = design.graph.node(node_id)
        raise RequestError(
            f"{node.name} is not part of the model: no path leads from it to a model output."
        ) from None
    return owner.name


def _layer_nodes(graph: ModelGraph) -> dict[str, str]:
    """{layer name: id of the node that owns it}."""
    return {node.name: node.id for node in graph if not node.shares}


def _nodes_of_layers(graph: ModelGraph) -> dict[str, list[str]]:
    """{layer name: ids of every node calling it, the owner first}."""
    nodes: defaultdict[str, list[str]] = defaultdict(list)
    for node in sorted(graph, key=lambda n: n.shares is not None):
        nodes[graph.layer_owner(node.id).name].append(node.id)
    return dict(nodes)


def _first_callers(graph: ModelGraph, model: keras.Model) -> dict[str, str]:
    """{node id: layer name} for the nodes in the model whose call is their layer's first (the
    output `activations` shows), in the graph's order."""
    present = {layer.name for layer in model.layers}
    callers: dict[str, str] = {}
    for node_id in graph.topological_order():
        name = graph.layer_owner(node_id).name
        if name in present and name not in callers.values():
            callers[node_id] = name
    return {node_id: callers[node_id] for node_id in graph.nodes if node_id in callers}


def _node_label(graph: ModelGraph, node_id: str | None) -> str:
    return f"{graph.nodes[node_id].name}: " if node_id in graph.nodes else ""


# ------------------------------------------------------------------ files
def _file_stem(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text.replace("/", "."))


def _save(out_dir: Path, stem: str, array: np.ndarray) -> str:
    """`array` as out_dir/stem.npy, replaced in one step; its absolute path."""
    target = out_dir / f"{stem}.npy"
    temporary = out_dir / f".{stem}.{os.getpid()}.partial"
    try:
        with open(temporary, "wb") as file:
            np.save(file, array, allow_pickle=False)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return str(target)


def _view(array: Any) -> np.ndarray:
    return np.asarray(array, dtype=np.float32)


# ------------------------------------------------------------------ replies: weights
def _variable_reply(layer: keras.layers.Layer, variable: Any, out_dir: Path, bins: int) -> dict[str, Any]:
    array = keras.ops.convert_to_numpy(variable)
    stem = _file_stem(variable.path)
    counts, edges = inspection.histogram(array, bins)
    return {
        "path": variable.path,
        "name": variable.name,
        "shape": list(array.shape),
        "dtype": str(variable.dtype),
        "trainable": bool(variable.trainable),
        "count": int(array.size),
        "stats": _json_statistics(inspection.statistics(array)),
        "histogram": {"counts": [int(count) for count in counts], "edges": [float(edge) for edge in edges]},
        "array": _save(out_dir, stem, array),
        "heatmap": _heatmap_reply(array, None, out_dir, stem) if array.ndim >= 2 else None,
        "filters": _filters_reply(array, None, out_dir, stem)
        if inspection.shows_filters(layer, variable)
        else None,
        "bars": _bars_reply(array, out_dir, stem) if array.ndim == 1 else None,
    }


def _heatmap_reply(array: np.ndarray, index: list[int] | None, out_dir: Path, stem: str) -> dict[str, Any]:
    try:
        chosen = list(inspection.leading_index(array.shape, index)) if array.ndim > 2 else []
        matrix = inspection.matrix_slice(array, chosen)
    except ValueError as error:
        raise RequestError(str(error)) from None
    image, (row_step, col_step) = inspection.heatmap(matrix, max_side=HEATMAP_SIDE)
    name = ".".join([stem, "heatmap", *map(str, chosen)])
    return {
        "file": _save(out_dir, name, _view(image)),
        "rows": int(matrix.shape[0]),
        "cols": int(matrix.shape[1]),
        "row_step": row_step,
        "col_step": col_step,
        "index": chosen,
    }


def _filters_reply(array: np.ndarray, channel: int | None, out_dir: Path, stem: str) -> dict[str, Any]:
    inputs = array.shape[-2]
    if channel is not None and not 0 <= channel < inputs:
        raise RequestError(
            f"Channel {channel} is out of range: the kernel has {inputs} input channels (0 to {inputs - 1})."
        )
    grid = inspection.filter_grid(array, channel)
    mode = "channel" if channel is not None else ("rgb" if inputs == 3 else "mean")
    cell = [1, *array.shape[:1]] if array.ndim == 3 else list(array.shape[:2])
    return {
        "file": _save(out_dir, f"{stem}.filters.{mode}{'' if channel is None else channel}", _view(grid)),
        "count": int(array.shape[-1]),
        "cell": [int(side) for side in cell],
        "mode": mode,
        "channel": channel,
    }


def _bars_reply(array: np.ndarray, out_dir: Path, stem: str) -> dict[str, Any]:
    values, step = inspection.bar_values(array, MAX_BARS)
    return {"file": _save(out_dir, f"{stem}.bars", _view(values)), "step": step}


def _json_statistics(statistics: Mapping[str, float]) -> dict[str, float | int | str]:
    return {
        key: value if isinstance(value, int) else inspection.json_number(value)
        for key, value in statistics.items()
    }


# ------------------------------------------------------------------ replies: activations
def _input_layers(model: keras.Model) -> list[keras.layers.Layer]:
    return [layer for layer in model.layers if isinstance(layer, keras.layers.InputLayer)]


def _input_outputs(model: keras.Model, batch: Any) -> dict[str, np.ndarray]:
    """The input layers' "outputs": the batch fed to them."""
    if isinstance(batch, Mapping):
        return {name: np.asarray(values) for name, values in batch.items()}
    return {_input_layers(model)[0].name: np.asarray(batch)}


def _batch(model: keras.Model, inputs: Mapping[str, np.ndarray]) -> Any:
    """The sample as a batch of one, cast to each input's dtype; a dict when there are several."""
    dtypes = {layer.name: layer.output.dtype for layer in _input_layers(model)}
    batch = {
        name: np.asarray(values, dtype=dtypes.get(name, "float32"))[np.newaxis]
        for name, values in inputs.items()
    }
    return next(iter(batch.values())) if len(batch) == 1 else batch


def _activation_reply(
    outputs: Mapping[str, np.ndarray], layer_name: str, relu: bool, out_dir: Path, node_id: str
) -> dict[str, Any]:
    if layer_name in outputs:
        return _output_reply(outputs[layer_name], relu, out_dir, node_id)
    ports = []
    for port in itertools.count():
        key = f"{layer_name}/{port}"
        if key not in outputs:
            break
        ports.append(_output_reply(outputs[key], relu, out_dir, f"{node_id}.{port}"))
    return {**ports[0], "ports": ports}


def _output_reply(batch: np.ndarray, relu: bool, out_dir: Path, stem: str) -> dict[str, Any]:
    value = batch[0]
    kind, image = inspection.activation_image(value)
    return {
        "shape": list(value.shape),
        "kind": kind,
        "file": _save(out_dir, f"activation.{_file_stem(stem)}", _view(image)),
        "thumbnail": _save(
            out_dir, f"activation.{_file_stem(stem)}.thumbnail", _view(inspection.thumbnail(image))
        ),
        "stats": _json_statistics(inspection.statistics(value)),
        "dead_fraction": inspection.unit_dead_fraction(batch) if relu else None,
    }


def _sample_reply(sample: Sample, out_dir: Path) -> dict[str, Any]:
    inputs = {
        name: {"shape": list(values.shape), "file": _save(out_dir, f"sample.{_file_stem(name)}", values)}
        for name, values in sample.inputs.items()
    }
    first = next(iter(inputs.values()))
    return {
        "index": sample.index,
        "shape": first["shape"],
        "file": first["file"],
        "label": sample.label,
        "inputs": inputs,
    }


def _label(value: np.ndarray) -> str:
    """A target as a person reads it: 7, 0.25, [0, 1, 0], or its shape when it is long."""
    if value.size == 1:
        number = value.item()
        return f"{number:.4g}" if isinstance(number, float) else str(number)
    if value.size <= 10:
        return np.array2string(value.ravel(), separator=", ", precision=4)
    return f"an array of shape {value.shape}"


# ------------------------------------------------------------------ samples
def _data_settings(design: Design) -> DataSettings:
    """The design's training data as its training config names it (a run's own config.json
    for a run). No code is run: designer.data loads it as the exported train.py would."""
    if not design.training or not design.training.get("data"):
        raise RequestError(
            "The design has no training data source: choose one in the training settings, "
            "or give an image or a .npy file as the sample."
        )
    try:
        return DataSettings.of_config(design.training)
    except (TypeError, ValueError) as error:  # DataSourceError, or a number that is not one
        raise RequestError(f"The training data source cannot be read: {error}") from None


def _data_key(design: Design, settings: DataSettings, base_dir: Path) -> str:
    """What the loaded data depends on: the folder, the settings, the model's inputs and outputs
    (and the whole design for synthetic regression targets, shaped like the model's outputs)."""
    layout = DataLayout.of_graph(design.graph)
    what = [str(base_dir), repr(settings), repr(layout)]
    if needs_model(settings.data):
        what.append(design.key)
    return hashlib.sha256("\n".join(what).encode()).hexdigest()


def _load_data(design: Design, settings: DataSettings, base_dir: Path, model: keras.Model) -> tuple[Any, Any]:
    """(x, y) of the training source as train.py's load_data() gives them, relative paths read
    from `base_dir`; an image folder gives its dataset (training and validation when split)
    in place of x, and None for y."""
    layout = DataLayout.of_graph(design.graph)
    try:
        keras_side = KerasData(model)
        result = load_source(
            settings.data, layout, training=True, settings=settings, keras=keras_side, base_dir=base_dir
        )
    except DataSourceError as error:
        raise RequestError(f"The training data source cannot be read: {error}") from None
    except Exception as error:  # the user's data: any failure is theirs to read
        raise RequestError(f"Loading the training data failed: {type(error).__name__}: {error}") from None
    return (
        result
        if isinstance(result, tuple) and len(result) == 2 and not _is_dataset(result[0])
        else (result, None)
    )


def _is_dataset(value: Any) -> bool:
    """Whether `value` is a tf.data dataset (what an image folder's load_data() gives)."""
    return hasattr(value, "element_spec")


def _dataset_sample(data: Any, name: str, index: int) -> Sample:
    """Sample `index` of an image folder's dataset (the training part when it is split)."""
    dataset = data[0] if isinstance(data, tuple) else data
    taken = list(dataset.unbatch().skip(index).take(1))
    if not taken:
        raise RequestError(f"Sample {index} is out of range: the image folder has fewer samples.")
    image, target = (keras.ops.convert_to_numpy(part) for part in taken[0])
    classes = getattr(dataset, "class_names", None)
    label = classes[int(target)] if classes and target.size == 1 else _label(target)
    return Sample({name: image}, index, label)


def _file_sample(design: Design, model: keras.Model, path: Path, kind: str) -> Sample:
    """A sample from an image or array file, fitted to the model's only input."""
    inputs = design.graph.input_nodes()
    if len(inputs) != 1:
        names = ", ".join(node.name for node in inputs)
        raise RequestError(
            f"The model has {len(inputs)} inputs ({names}): pick a sample from the data source."
        )
    node = inputs[0]
    shape = tuple(node.params["shape"])
    if kind == "file" and path.suffix.lower() in IMAGE_SUFFIXES:
        channels = shape[-1] if len(shape) == 3 else None
        values = _read_image(path, channels) / (1.0 if _rescaled_by_model(design) else 255.0)
    elif path.suffix.lower() in ARRAY_SUFFIXES:
        values = _read_array(path, node.name)
    else:
        allowed = ", ".join(IMAGE_SUFFIXES + ARRAY_SUFFIXES) if kind == "file" else ".npy"
        raise RequestError(f"{path.name}: a sample file is one of {allowed}.")
    try:
        fitted = inspection.fit_sample(values, shape, node.name)
    except ValueError as error:
        raise RequestError(f"{path.name}: {error}") from None
    return Sample({node.name: fitted}, None, None)


def _rescaled_by_model(design: Design) -> bool:
    """Whether the model takes pixels in [0, 255] (image-folder data, rescaled by the model itself)."""
    data = (design.training or {}).get("data")
    return isinstance(data, Mapping) and data.get("kind") == "image_folder"


def _read_image(path: Path, channels: int | None) -> np.ndarray:
    """An image file as a float array (h, w, c) of pixels in [0, 255], in the input's channels."""
    try:
        from PIL import Image
    except ImportError:
        raise RequestError(
            f"Reading {path.suffix} images needs Pillow (pip install pillow); "
            "or give the sample as a .npy array."
        ) from None
    modes = {1: "L", 3: "RGB", 4: "RGBA"}
    try:
        with Image.open(path) as image:
            converted = image.convert(modes.get(channels or 3, "RGB"))
            return np.asarray(converted, dtype=np.float32)
    except OSError as error:
        raise RequestError(f"{path.name} is not an image Pillow can read: {error}") from None


def _read_array(path: Path, input_name: str) -> np.ndarray:
    """A .npy array, or the array of an .npz named after the input, "x", or its only one."""
    try:
        if path.suffix.lower() == ".npy":
            return np.load(path, allow_pickle=False)
        with np.load(path, allow_pickle=False) as arrays:
            keys = list(arrays.keys())
            key = next((k for k in (input_name, "x") if k in keys), keys[0] if len(keys) == 1 else None)
            if key is None:
                raise RequestError(
                    f"{path.name} holds {', '.join(keys)}: name the sample array {input_name!r} or 'x'."
                )
            return arrays[key]
    except (OSError, ValueError) as error:
        raise RequestError(f"{path.name} is not a numpy array file: {error}") from None


# ------------------------------------------------------------------ runs: events and health
def _recorded_by_epoch(run: Path) -> dict[int, dict[str, Any]]:
    """The worker's inspection records by epoch number (1 after the first epoch; the last record of
    an epoch wins)."""
    records: dict[int, dict[str, Any]] = {}
    path = run / EVENTS_FILE
    if not path.exists():
        return records
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:  # a line cut short by a killed worker
            continue
        if (
            isinstance(event, dict)
            and event.get("type") == INSPECTION_EVENT
            and isinstance(event.get("epoch"), int)
        ):
            records[event["epoch"] + 1] = event
    return records


def _per_epoch(
    recorded: Mapping[int, Mapping[str, Any]], key: str, epochs: Sequence[int]
) -> dict[str, list[Any]]:
    """{layer: [value of each of `epochs`, null where not recorded]} of one kind of record."""
    layers = sorted({layer for record in recorded.values() for layer in record.get(key) or {}})
    return {
        layer: [_recorded_value((recorded.get(epoch, {}).get(key) or {}).get(layer)) for epoch in epochs]
        for layer in layers
    }


def _recorded_value(value: Any) -> float | str | None:
    return None if value is None else inspection.json_number(float(value))


def _last_checkpoint(run: Path) -> tuple[int | None, Path | None]:
    files = inspection.epoch_weight_files(run / CHECKPOINTS)
    if files:
        return files[-1]
    last = run / CHECKPOINTS / LAST_CHECKPOINT
    return (None, last) if last.exists() else (None, None)


def _health_message(
    flag: str,
    layer: str,
    statistics: Mapping[str, Mapping[str, Mapping[str, float]]],
    norms: Mapping[str, Sequence[float]],
    dead: Mapping[str, float],
    epoch: int | None,
) -> str:
    """One sentence for a person on what a flag means and what to try."""
    after = f" after epoch {epoch}" if epoch else ""
    if flag == inspection.NAN_OR_INF:
        bad = {
            path.rsplit("/", 1)[-1]: int(stats["nan_count"] + stats["inf_count"])
            for path, stats in statistics.get(layer, {}).items()
            if stats["nan_count"] or stats["inf_count"]
        }
        listed = ", ".join(f"{name} ({count})" for name, count in bad.items())
        return (
            f"{layer} has NaN or infinite weights{after}: {listed}. Lower the learning rate, clip the "
            "gradients (clipnorm) or look for NaN in the data."
        )
    if flag == inspection.EXPLODING_GRADIENTS:
        highest = max(norms[layer], key=lambda norm: norm if math.isfinite(norm) else math.inf)
        return (
            f"{layer}'s gradient norm exploded (up to {highest:.3g}, or growing more than "
            f"{inspection.HealthThresholds().growth:g} times in an epoch). "
            "Lower the learning rate or clip the gradients."
        )
    if flag == inspection.VANISHING_GRADIENTS:
        return (
            f"{layer}'s gradient norm fell to {norms[layer][-1]:.2g} in the last epoch: it has almost "
            "stopped learning. Try a ReLU-like activation, normalization or a residual connection."
        )
    return (
        f"{dead[layer]:.0%} of {layer}'s ReLU units gave no positive output on the probe batch (dead units). "
        "Lower the learning rate, or try LeakyReLU or He initialization."
    )
