"""Existing Keras models -> designs: a live model, a .keras file, a config JSON or `module:function`.

The walk reads the model's own config (`model.get_config()`): every layer call
in its "inbound_nodes" becomes a node, a second call of the same layer a node
that `shares` the first, an InputLayer an Input node, and a `keras.ops` call on
symbolic tensors a node of type "ops.<name>". Nested Functional and Sequential
models are expanded inline, their node names prefixed with the model's name,
and each is recorded as a group. Layers and operations the catalog does not
know (registered custom layers, keras.ops) get specs made on the fly, returned
in `ImportResult.extra_specs` for the caller to merge into its catalog.

Params are the layer's config reduced to the spec's parameters, made JSON, and
only those that differ from Keras' defaults are kept, so `construct(spec,
params)` gives back a layer with the same config. A `training=` call argument
is dropped, and so is a `mask=` that Keras computed itself (Embedding ->
LSTM): it computes it again when the design is built. What cannot be
represented (a subclassed model, a Lambda layer that is not one expression
of x, a constant or any other
keyword argument in a call, an unregistered class) is refused with an
`ImportRefused` that says why and what to do instead.

Weights are written for the design as `build_model` (and the exported code)
builds it: a Keras `.weights.h5` file that `model.load_weights(path)` reads,
which also records which layer each entry belongs to, so that
`load_weights_by_name` can load it into an edited design.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path

from designer.catalog.expressions import lambda_expressions
from designer.catalog.lambda_layer import trust_lambdas
from designer.catalog.spec import Catalog, LayerSpec
from designer.catalog.user_modules import expand_paths, load_paths
from designer.engine.importer.base import (
    LAYER_PATHS_ATTRIBUTE,
    MODEL_FILE_SUFFIXES,
    PROJECT_SPECS_KEY,
    PROJECT_WEIGHTS_KEY,
    SUBCLASSED_MESSAGE,
    WEIGHTS_SUFFIX,
    ImportRefused,
)
from designer.engine.importer.params import json_value, layer_params
from designer.engine.importer.sources import load_file, load_source, model_from_config_data
from designer.engine.importer.walk import ImportResult, identifier, import_model, layer_type_keys
from designer.engine.importer.weights import (
    DesignWeights,
    keras_layer_paths,
    layers_by_path,
    load_weights_by_name,
    save_imported_weights,
    weights_for_design,
)
from designer.graph import project
from designer.trust import TrustStore

__all__ = [
    "LAYER_PATHS_ATTRIBUTE",
    "MODEL_FILE_SUFFIXES",
    "PROJECT_SPECS_KEY",
    "PROJECT_WEIGHTS_KEY",
    "SUBCLASSED_MESSAGE",
    "WEIGHTS_SUFFIX",
    "DesignWeights",
    "ImportRefused",
    "ImportResult",
    "identifier",
    "import_model",
    "import_source",
    "import_to_project",
    "json_value",
    "keras_layer_paths",
    "layer_params",
    "layer_type_keys",
    "layers_by_path",
    "load_file",
    "load_imported_project",
    "load_layer_files",
    "load_source",
    "load_weights_by_name",
    "model_from_config_data",
    "project_weights",
    "save_imported_weights",
    "weights_for_design",
]


def import_source(
    source: str,
    catalog: Catalog,
    weights_dir: Path | None = None,
    *,
    run_code: bool = False,
    as_file: bool = False,
) -> ImportResult:
    """Import a .keras (or legacy .h5) file, a .json model config, or, with `run_code` (it runs
    the code), `module:function` (`path/to/file.py:function` too); weights go to `weights_dir`
    when given. `as_file`: `source` is a file's path, whatever its name."""
    model = load_file(Path(source), run_code=run_code) if as_file else load_source(source, run_code=run_code)
    return import_model(model, catalog, weights_dir=weights_dir)


# -------------------------------------------------------------------- project
def import_to_project(
    source: str,
    output: Path,
    catalog: Catalog,
    weights_dir: Path | None = None,
    on_message: Callable[[str], None] | None = None,
    *,
    run_code: bool = False,
    layers: Sequence[Path] = (),
) -> Path:
    """Import `source` and save it as the project file `output`; the weights go to
    `weights_dir` (by default next to the project) and the project refers to them.
    `module:function` only with `run_code` (see `import_source`). `layers`: custom-layer files
    or folders loaded first (they run: trusted before, or `run_code` is the consent), so that a
    model using their registered classes loads. The files that define the custom classes of
    the design are recorded in the project, and with `run_code` trusted, so that it opens as it
    was imported."""
    output = Path(output)
    folder = Path(weights_dir) if weights_dir is not None else output.parent
    if layers:
        catalog = catalog.merged(load_layer_files(layers, trust=run_code))
    result = import_source(source, catalog, folder, run_code=run_code)
    messages = list(result.messages)
    if result.custom_layers:
        messages.append(f"The project loads the custom layers of {', '.join(result.custom_layers)}.")
        if run_code:
            with contextlib.suppress(OSError):  # --trust is the consent; an unwritable store forgets it
                TrustStore().trust([Path(file) for file in result.custom_layers])
    expressions = lambda_expressions(result.graph)
    if expressions and run_code:  # --trust let the file's Lambdas load: their expressions are trusted
        trust_lambdas(expressions)
    if on_message is not None:
        for message in messages:
            on_message(message)
    project.save(output, result.project(output.parent))
    return output


def load_layer_files(paths: Sequence[Path], *, trust: bool) -> list[LayerSpec]:
    """Run the custom-layer files (and folders) `paths` and return their specs; a file the user
    did not trust before runs only with `trust`, a file that fails is refused."""
    files = expand_paths([Path(path) for path in paths])
    missing = [str(path) for path in paths if not Path(path).exists()]
    if missing:
        raise ImportRefused(f"No such custom-layer file or folder: {', '.join(missing)}.")
    store = TrustStore()
    untrusted = store.untrusted(files)
    if untrusted and not trust:
        raise ImportRefused(
            f"Loading the custom layers of {', '.join(map(str, untrusted))} runs their code with your "
            "permissions. Pass --trust if you trust it."
        )
    loaded = load_paths(files)
    if loaded.problems:
        raise ImportRefused("; ".join(str(problem) for problem in loaded.problems))
    if untrusted:
        with contextlib.suppress(OSError):
            store.trust(untrusted)
    return loaded.specs


def load_imported_project(path: Path, catalog: Catalog) -> tuple[project.Project, Catalog]:
    """Read a project file with the specs its import made; returns it and the catalog it needs
    (Catalog.with_project_specs: a class outside Keras builds only once its module is loaded)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ImportRefused(f"Cannot read {path}: {error}") from error
    merged = catalog.with_project_specs(data)
    return project.from_dict(data, merged.ports_of, str(path), type_key=merged.canonical_key), merged


def project_weights(loaded: project.Project, project_file: Path) -> Path | None:
    """The weights file a project refers to, resolved against the project's folder."""
    weights = loaded.extra.get(PROJECT_WEIGHTS_KEY)
    return (Path(project_file).parent / weights) if isinstance(weights, str) else None
