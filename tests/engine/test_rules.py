"""Design rules on inferred graphs: weights that cannot fit in this machine's memory."""

from __future__ import annotations

from collections.abc import Callable

from designer.catalog.spec import Catalog
from designer.engine.analysis import analyze
from designer.engine.inference import ShapeInference
from designer.engine.rules import byte_size, design_rules, machine_memory


def test_a_dense_of_a_trillion_units_is_an_error_with_its_size(builder: Callable, catalog: Catalog) -> None:
    b = builder()
    dense = b.chain(b.add("Input", shape=[1]), b.add("Dense", "dense_1", units=10**12, use_bias=False))
    b.output(dense)
    [diagnostic] = [d for d in analyze(b.graph, catalog).diagnostics if d.code == "weights-beyond-memory"]
    assert diagnostic.severity == "error" and diagnostic.node == dense
    memory = machine_memory()
    assert memory is not None
    assert diagnostic.message == (
        "dense_1 (Dense) would need 4.0 TB of weights (1,000,000,000,000 parameters); "
        f"this machine has {byte_size(memory)}."
    )


def test_many_layers_that_outgrow_the_memory_together_name_the_largest(
    builder: Callable, catalog: Catalog
) -> None:
    b = builder()
    small = b.chain(b.add("Input", shape=[10]), b.add("Dense", "small", units=10, use_bias=False))
    large = b.chain(small, b.add("Dense", "large", units=20, use_bias=False))
    b.output(large)
    engine = ShapeInference(catalog)
    engine.infer(b.graph)
    [diagnostic] = design_rules(b.graph, engine.results, memory_bytes=1000)  # 1,200 bytes of weights
    assert diagnostic.node == large
    assert diagnostic.message == (
        "the model would need 1.2 KB of weights, the most for large (200 parameters); "
        "this machine has 1.0 KB."
    )


def test_a_design_that_fits_has_no_memory_error(builder: Callable, catalog: Catalog) -> None:
    b = builder()
    b.output(b.chain(b.add("Input", shape=[64]), b.add("Dense", "dense", units=10)))
    assert not [d for d in analyze(b.graph, catalog).diagnostics if d.code == "weights-beyond-memory"]


def test_byte_sizes_read_like_a_file_manager() -> None:
    assert [byte_size(n) for n in (512, 1_200, 24_000_000_000, 4 * 10**12, 361 * 10**12)] == [
        "512 B",
        "1.2 KB",
        "24 GB",
        "4.0 TB",
        "361 TB",
    ]
