"""Generated model source, without Keras: valid, lint-clean, ruff-format stable,
deterministic, and written the way the styles promise."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from codegen_helpers import (
    CUSTOM_MODULE,
    GRAPHS,
    GraphBuilder,
    branch_graph,
    chain_graph,
    clash_graph,
    custom_graph,
    multi_io_graph,
    shared_graph,
)

from designer.catalog.spec import Catalog, LayerSpec, ParamSpec
from designer.codegen import (
    CodegenError,
    ExportRefused,
    can_be_sequential,
    export,
    generate_functional,
    generate_model,
    generate_sequential,
    generate_subclassed,
)
from designer.codegen.formatting import finish, format_arguments, lint, ruff_command
from designer.codegen.rendering import literal
from designer.graph.model import Edge, ModelGraph

MODEL_STYLES: dict[str, Callable[..., str]] = {
    "functional": generate_functional,
    "subclassed": generate_subclassed,
}


def ruff_format(source: str) -> str:
    command = ruff_command()
    assert command is not None
    result = subprocess.run(
        [*command, "format", *format_arguments(), "-"],
        input=source,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def assert_clean(source: str, local_modules: tuple[str, ...] = ()) -> None:
    ast.parse(source)
    assert lint(source, local_modules=local_modules) == ""
    assert ruff_format(source) == source


@pytest.mark.parametrize("style", ["functional", "subclassed", "sequential"])
@pytest.mark.parametrize("graph_name", sorted(GRAPHS))
def test_every_style_is_valid_clean_stable_and_deterministic(
    catalog: Catalog, graph_name: str, style: str
) -> None:
    graph = GRAPHS[graph_name](catalog)
    if style == "sequential" and not can_be_sequential(graph):
        with pytest.raises(CodegenError, match=r"cannot be written as keras\.Sequential"):
            generate_model(graph, catalog, style)
        return
    source = generate_model(graph, catalog, style)
    assert_clean(source)
    assert generate_model(graph.copy(), catalog, style) == source


def test_functional_code_reads_like_keras_examples(catalog: Catalog) -> None:
    source = generate_functional(chain_graph(catalog), catalog)
    assert "import keras\nfrom keras import layers\n" in source
    assert "def build_model() -> keras.Model:" in source
    assert '    image = keras.Input(shape=(8, 8, 1), name="image")\n' in source
    assert (
        "conv = layers.Conv2D(\n"
        '        4, kernel_size=(3, 3), padding="same", activation="relu", name="conv"\n'
        "    )(image)" in source
    )
    assert '    pool = layers.MaxPooling2D(name="pool")(conv)\n' in source  # pool_size (2, 2) is the default
    assert '    dropout = layers.Dropout(0.3, name="dropout")(hidden)\n' in source
    assert '    norm = layers.BatchNormalization(momentum=0.9, name="norm")(dropout)\n' in source
    assert 'return keras.Model(inputs=image, outputs=label, name="digits_cnn")' in source


def test_several_inputs_are_a_list_and_outputs_a_dict_keyed_by_name(catalog: Catalog) -> None:
    source = generate_functional(multi_io_graph(catalog), catalog)
    # A list: Keras takes a dict by input name for it too, without the warning a dict of inputs
    # gives when called on a list (tests/codegen/test_codegen_styles_agree.py).
    assert "inputs=[image, meta]," in source
    assert 'outputs={"label": label_head, "score": score_head}' in source
    merged = 'merged = layers.Concatenate(name="merged")([flatten, meta_dense])'
    assert merged in source


def test_a_shared_layer_is_created_once_and_called_twice(catalog: Catalog) -> None:
    functional = generate_functional(shared_graph(catalog), catalog)
    assert functional.count("layers.Dense(5") == 1
    assert '    encoder_layer = layers.Dense(5, activation="relu", name="encoder")\n' in functional
    assert "    encoder = encoder_layer(left)\n" in functional
    assert "    encoder_right = encoder_layer(right)\n" in functional
    subclassed = generate_subclassed(shared_graph(catalog), catalog)
    assert subclassed.count("layers.Dense(5") == 1
    assert "encoder = self.encoder(left)" in subclassed
    assert "encoder_right = self.encoder(right)" in subclassed


def test_renamed_variables_keep_the_node_name_as_layer_name(catalog: Catalog) -> None:
    source = generate_functional(clash_graph(catalog), catalog)
    assert 'input_ = keras.Input(shape=(6,), name="input")' in source
    assert 'list_1 = layers.Dense(4, name="list")(input_)' in source
    assert 'keras_ = layers.Dense(4, name="keras")(list_1)' in source
    assert 'dense = layers.Dense(2, name="dense")(list_)' in source


def test_subclassed_model_passes_training_only_where_the_call_takes_it(catalog: Catalog) -> None:
    source = generate_subclassed(chain_graph(catalog), catalog)
    assert "class DigitsCnn(keras.Model):" in source
    assert '@keras.saving.register_keras_serializable(package="designer")' in source
    assert "    def call(self, inputs, training=None):" in source
    assert "dropout = self.dropout(hidden, training=training)" in source
    assert "norm = self.norm(dropout, training=training)" in source
    assert "hidden = self.hidden(flatten)\n" in source
    assert "def get_config(self):" in source and "def from_config(cls, config):" in source
    assert 'model = DigitsCnn()\n    model(keras.Input(shape=(8, 8, 1), name="image"))' in source


def test_subclassed_model_takes_a_dict_when_it_has_several_inputs(catalog: Catalog) -> None:
    source = generate_subclassed(multi_io_graph(catalog), catalog)
    assert 'image = inputs["image"]' in source and 'meta = inputs["meta"]' in source
    assert 'return {"label": label_head, "score": score_head}' in source


def test_sequential_lists_the_layers(catalog: Catalog) -> None:
    source = generate_sequential(chain_graph(catalog), catalog)
    assert "return keras.Sequential(\n        [\n" in source
    assert '            keras.Input(shape=(8, 8, 1), name="image"),\n' in source
    assert '        name="digits_cnn",\n' in source


@pytest.mark.parametrize(
    ("factory", "expected"),
    [(chain_graph, True), (branch_graph, False), (multi_io_graph, False), (shared_graph, False)],
)
def test_can_be_sequential(
    catalog: Catalog, factory: Callable[[Catalog], ModelGraph], expected: bool
) -> None:
    assert can_be_sequential(factory(catalog)) is expected


def test_a_multi_output_layer_is_not_sequential(custom_catalog: Catalog) -> None:
    assert not can_be_sequential(custom_graph(custom_catalog))


def test_nodes_that_feed_no_output_are_left_out(catalog: Catalog) -> None:
    graph = chain_graph(catalog)
    b = GraphBuilder("unused", catalog)
    b.graph = graph
    hidden = graph.node_by_name("hidden")
    assert hidden is not None
    b._ids = iter(range(100, 200))  # fresh ids
    b.add("Dense", "dead_end", [hidden.id], units=3)
    source = generate_functional(graph, catalog)
    assert "dead_end" not in source
    assert can_be_sequential(graph)


def test_custom_layers_are_imported_from_their_module(custom_catalog: Catalog) -> None:
    source = generate_functional(custom_graph(custom_catalog), custom_catalog)
    assert f"from {CUSTOM_MODULE} import Scale, Split" in source
    assert 'scale = Scale(factor=0.5, name="scale")(features)' in source
    assert 'split_first, split_second = Split(name="split")(scale)' in source
    assert 'outputs={"first": first_head, "second": split_second}' in source
    assert_clean(source, (CUSTOM_MODULE,))


@pytest.mark.parametrize("style", ["functional", "subclassed"])
def test_self_contained_code_inlines_the_custom_classes(custom_catalog: Catalog, style: str) -> None:
    source = MODEL_STYLES[style](custom_graph(custom_catalog), custom_catalog, self_contained=True)
    assert CUSTOM_MODULE not in source
    tree = ast.parse(source)
    defined = [node.name for node in tree.body if isinstance(node, (ast.ClassDef, ast.FunctionDef))]
    assert {"Scale", "Split", "_halves", "build_model"} <= set(defined)
    assigned = [
        t.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name)
    ]
    assert "DEFAULT_FACTOR" in assigned  # a module-level constant the class uses
    assert "from keras import ops" not in source  # the custom module imports it, but the classes never use it
    assert source.count("import keras\n") == 1
    assert_clean(source)


def test_self_contained_export_of_a_missing_file_fails_clearly(catalog: Catalog, tmp_path: Path) -> None:
    spec = LayerSpec(
        key="gone.Gone",
        class_name="Gone",
        module="gone",
        category="custom",
        source="user",
        file=str(tmp_path / "gone.py"),
    )
    extended = catalog.merged([spec])
    b = GraphBuilder("gone", extended)
    x = b.input("x", [3])
    b.output(b.add("gone.Gone", "gone", [x]))
    with pytest.raises(CodegenError, match=r"Cannot read the source of gone\.Gone"):
        generate_functional(b.graph, extended, self_contained=True)


def test_parameter_values_are_python_literals() -> None:
    assert literal([3, 3], "tuple") == "(3, 3)"
    assert literal([8], "shape") == "(8,)"
    assert literal([None, 8], "shape") == "(None, 8)"
    assert literal([[1, 1], [2, 2]], "tuple") == "((1, 1), (2, 2))"
    assert literal([1, 2], "any") == "[1, 2]"
    assert literal(3, "tuple") == "3"
    assert literal(0.1) == "0.1" and literal(1e-07) == "1e-07" and literal(2.0) == "2.0"
    assert literal(float("inf")) == 'float("inf")'
    assert literal(True) == "True" and literal(None) == "None"
    assert literal("relu") == '"relu"' and literal('say "hi"') == "'say \"hi\"'"
    assert literal({"a": [1, None]}) == '{"a": [1, None]}'
    with pytest.raises(CodegenError, match="must be JSON"):
        literal(object())


def test_defaults_are_left_out_and_dtype_written_only_when_not_float32(catalog: Catalog) -> None:
    b = GraphBuilder("defaults", catalog)
    tokens = b.input("tokens", [5], dtype="int32")
    embedded = b.add("Embedding", "embedding", [tokens], input_dim=10, output_dim=4, mask_zero=False)
    pooled = b.add("GlobalAveragePooling1D", "pool", [embedded])
    out = b.add("Dense", "out", [pooled], units=2, use_bias=True, kernel_initializer="glorot_uniform")
    b.output(out)
    source = generate_functional(b.graph, catalog)
    assert 'tokens = keras.Input(shape=(5,), dtype="int32", name="tokens")' in source
    assert 'layers.Embedding(10, output_dim=4, name="embedding")' in source
    assert 'out = layers.Dense(2, name="out")(pool)' in source


def test_nested_layers_are_written_as_constructors(catalog: Catalog) -> None:
    b = GraphBuilder("nested", catalog)
    x = b.input("sequence", [7, 3])
    lstm = {
        "class_name": "LSTM",
        "config": {"name": "lstm_4", "units": 6, "return_sequences": False, "trainable": True},
    }
    wrapped = b.add("Bidirectional", "bidirectional", [x], layer=lstm)
    b.output(wrapped)
    source = generate_functional(b.graph, catalog)
    assert 'layers.Bidirectional(layers.LSTM(6), name="bidirectional")(sequence)' in source


def test_the_positional_convention_names_the_ports_after_a_gap(catalog: Catalog) -> None:
    b = GraphBuilder("gap", catalog)
    query = b.input("query", [4, 8])
    key = b.input("key_input", [4, 8])
    attention = b.add("MultiHeadAttention", "attention", [query], num_heads=1, key_dim=2)
    b.graph.connect(Edge(key, 0, attention, 2))  # port 1 (value) left open
    b.output(attention)
    source = generate_functional(b.graph, catalog)
    assert "(\n        query, key=key_input\n    )" in source


def test_same_graph_gives_the_same_bytes_across_processes(catalog: Catalog) -> None:
    code = (
        "import sys; sys.path.insert(0, 'tests/codegen')\n"
        "from codegen_helpers import build_test_catalog, multi_io_graph\n"
        "from designer.codegen import generate_subclassed\n"
        "c = build_test_catalog(); print(generate_subclassed(multi_io_graph(c), c), end='')\n"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "123"},
    )
    assert result.stdout == generate_subclassed(multi_io_graph(catalog), catalog)


def test_a_graph_without_outputs_is_refused(catalog: Catalog) -> None:
    b = GraphBuilder("no_outputs", catalog)
    b.input("x", [3])
    with pytest.raises(CodegenError, match="has no outputs"):
        generate_functional(b.graph, catalog)


def test_an_unknown_layer_type_is_named(catalog: Catalog) -> None:
    extended = catalog.merged(
        [LayerSpec("Mystery", "Mystery", "keras.layers", "test", (ParamSpec("units", "int"),))]
    )
    b = GraphBuilder("mystery", extended)
    x = b.input("x", [3])
    b.output(b.add("Mystery", "mystery", [x]))
    with pytest.raises(CodegenError, match="'mystery' is a Mystery layer, which the catalog does not know"):
        generate_functional(b.graph, catalog)


def test_export_writes_the_model_and_training_files(catalog: Catalog) -> None:
    config = {"losses": {"label": "sparse_categorical_crossentropy"}}
    files = export(chain_graph(catalog), catalog, "sequential", with_training=True, training_config=config)
    assert sorted(files) == ["model.py", "train.py"]
    assert "from model import build_model" in files["train.py"]
    assert sorted(export(chain_graph(catalog), catalog)) == ["model.py"]
    with pytest.raises(CodegenError, match="Unknown code style"):
        export(chain_graph(catalog), catalog, "graphical")


def test_export_refused_carries_the_diagnostics() -> None:
    error = ExportRefused(["'dense' has no input", "no outputs"])
    assert error.diagnostics == ["'dense' has no input", "no outputs"]
    assert "2 error(s)" in str(error) and "'dense' has no input" in str(error)


def test_finish_rejects_invalid_python_with_a_clear_message() -> None:
    with pytest.raises(CodegenError, match=r"not valid Python .* line 2"):
        finish("x = 1\ny = (\n")


def test_finish_sorts_imports_and_formats() -> None:
    source = "from keras import layers\nimport keras\nx=layers.Dense( 1 )\nprint(keras,x)\n"
    assert (
        finish(source) == "import keras\nfrom keras import layers\n\nx = layers.Dense(1)\nprint(keras, x)\n"
    )


def test_finish_refuses_code_that_fails_the_lint() -> None:
    with pytest.raises(CodegenError, match="fails ruff check"):
        finish("import os\n")  # F401: imported but unused


def test_lint_config_ignores_the_project_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.ruff.lint]\nselect = ["D"]\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert lint("x = 1\n") == ""


def test_codegen_imports_neither_keras_nor_qt() -> None:
    code = (
        "import sys\n"
        "import designer.codegen\n"
        "from designer.codegen import formatting, training_data, training_script\n"
        "heavy = ('keras', 'tensorflow', 'PySide6', 'designer.engine')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
