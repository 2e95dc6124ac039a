"""The `designer` command: the GUI by default, headless subcommands for scripts and CI.

`designer [FILE]` opens the editor; `designer validate|summary|export ...` work
without a display. Errors a person can fix (a bad project file, a graph with
errors) are printed as one clear message and a non-zero exit, never a traceback.
A design with custom layers is analysed in a child process under `--timeout`
(`designer.supervised`), so that their code can neither hang the command nor end
it without a word.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from designer.graph import project
from designer.graph.errors import GraphError
from designer.graph.model import ModelGraph
from designer.supervised import ChildReport, failure_message, run_supervised

if TYPE_CHECKING:
    from designer.engine.analysis import OpenedProject

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2

Handler = Callable[[argparse.Namespace, TextIO], int]


def _quiet_tensorflow() -> None:
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _open(args: argparse.Namespace, out: TextIO) -> OpenedProject:
    """The project named on the command line with its catalog; layer files that fail are warnings."""
    from designer.engine.analysis import open_project

    opened = open_project(args.file, trust=args.trust, layers=args.layers)
    for problem in opened.problems:
        out.write(f"warning: {problem}\n")
    return opened


def cmd_validate(args: argparse.Namespace, out: TextIO) -> int:
    """The design's diagnostics, then what `designer train` would refuse in its training section."""
    from designer.engine.analysis import analyze
    from designer.training.config import training_section_problems

    opened = _open(args, out)
    loaded, catalog = opened.project, opened.catalog
    analysis = analyze(loaded.graph, catalog)
    for diagnostic in analysis.diagnostics:
        out.write(format_diagnostic(loaded.graph, diagnostic) + "\n")
    training = training_section_problems(loaded)
    for problem in training:
        out.write(f"error [training]: {problem}\n")
    errors = len(analysis.errors) + len(training)
    warnings = len(analysis.diagnostics) - len(analysis.errors)
    out.write(f"{args.file}: {errors} error(s), {warnings} warning(s)\n")
    return EXIT_INVALID if errors else EXIT_OK


def cmd_summary(args: argparse.Namespace, out: TextIO) -> int:
    from designer.engine.analysis import analyze
    from designer.engine.summary import summary_table

    opened = _open(args, out)
    loaded, catalog = opened.project, opened.catalog
    analysis = analyze(loaded.graph, catalog)
    out.write(summary_table(loaded.graph, analysis) + "\n")
    for diagnostic in analysis.errors:
        out.write(format_diagnostic(loaded.graph, diagnostic) + "\n")
    return EXIT_INVALID if analysis.errors else EXIT_OK


def cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    from designer.codegen import CodegenError, export, python_names
    from designer.engine.analysis import analyze

    opened = _open(args, out)
    loaded, catalog = opened.project, opened.catalog
    analysis = analyze(loaded.graph, catalog)
    if analysis.errors:
        out.write(f"{args.file}: export refused, the design has {len(analysis.errors)} error(s):\n")
        for diagnostic in analysis.errors:
            out.write(format_diagnostic(loaded.graph, diagnostic) + "\n")
        return EXIT_INVALID
    for old, new in python_names(loaded.graph).renamed.items():
        out.write(f"renamed: {old} -> {new} (in the code; the layer keeps its name)\n")
    try:
        files = export(
            loaded.graph,
            catalog,
            args.style,
            self_contained=args.self_contained,
            with_training=args.with_training,
            training_config=loaded.training,
        )
    except CodegenError as error:
        out.write(f"{args.file}: {error}\n")
        return EXIT_INVALID
    for path in write_export(files, args.output, folder=args.with_training):
        out.write(f"wrote {path}\n")
    return EXIT_OK


def cmd_train(args: argparse.Namespace, out: TextIO) -> int:
    from designer.engine.analysis import analyze
    from designer.engine.importer import weights_for_design
    from designer.training.data import model_output_shapes
    from designer.training.launcher import ModelCheck, WeightsMatch, train_cli
    from designer.training.runs import default_runs_root

    catalog = _open(args, out).catalog

    def match_weights(graph: ModelGraph, source: str) -> WeightsMatch:
        path = default_runs_root(args.file.resolve()) / ".initial" / f"{graph.name}.weights.h5"
        written = weights_for_design(graph, catalog, source, path)
        return WeightsMatch(written.path, written.loaded, written.fresh)

    def check(graph: ModelGraph) -> ModelCheck:
        analysis = analyze(graph, catalog)
        errors = [format_diagnostic(graph, d) for d in analysis.errors]
        return ModelCheck(errors, model_output_shapes(graph, analysis.results))

    return train_cli(
        args.file,
        catalog=catalog,
        check_model=check,
        epochs=args.epochs,
        data=args.data,
        run_dir=args.run_dir,
        fix=args.fix,
        fresh=args.fresh,
        match_weights=match_weights,
        out=out,
        err=sys.stderr,  # this call's, not the one train_cli's default captured at import
    )


def cmd_import(args: argparse.Namespace, out: TextIO) -> int:
    from designer.engine.analysis import default_catalog
    from designer.engine.importer import import_to_project

    output = import_to_project(
        args.source,
        args.output,
        default_catalog(),
        args.weights_dir,
        on_message=lambda message: print(f"note: {message}", file=out),
        run_code=args.trust,
        layers=args.layers,
    )
    out.write(f"{output}: imported {args.source}\n")
    return EXIT_OK


def write_export(files: dict[str, str], output: Path, folder: bool) -> list[Path]:
    """One file to `output` (or into it, when it is a folder); several files into folder `output`."""
    from designer.graph.project import atomic_write_text

    if folder or output.is_dir():
        targets = {output / name: text for name, text in files.items()}
    else:
        targets = {output: next(iter(files.values()))}
    for path, text in targets.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, text)
    return list(targets)


def format_diagnostic(graph: object, diagnostic: object) -> str:
    """`error [conv_1]: message (hint)` on one line."""
    nodes = getattr(graph, "nodes", {})
    node = nodes.get(getattr(diagnostic, "node", None) or "")
    where = f" [{node.name}]" if node is not None else ""
    hint = getattr(diagnostic, "hint", "")
    text = f"{diagnostic.severity}{where}: {diagnostic.message}"  # type: ignore[attr-defined]
    return f"{text}\n    hint: {hint}" if hint else text


COMMANDS: dict[str, tuple[str, Handler]] = {
    "validate": ("List the diagnostics of a project; exit 1 when there are errors.", cmd_validate),
    "summary": ("Print the layer table (like model.summary()) with parameter totals.", cmd_summary),
    "export": ("Write the model as Python code (and a training script).", cmd_export),
    "train": ("Train the model on its configured data; a line per epoch, a run folder.", cmd_train),
    "import": (
        "Import a Keras model (.keras, JSON config, or module:function with --trust) as a project.",
        cmd_import,
    ),
}
_SOURCE_COMMANDS = {"import"}  # take a SOURCE, not a project file
SUPERVISED_COMMANDS = {"validate", "summary", "export"}  # custom-layer code runs in a child
DEFAULT_TIMEOUT_S = 60.0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="designer",
        description="Keras model designer. Without a subcommand, opens the editor (on FILE, or an example).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, _) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        if name not in _SOURCE_COMMANDS:
            command.add_argument("file", type=Path, help="project file (.json)")
            command.add_argument("--trust", action="store_true", help="run the project's custom layer code")
            command.add_argument(
                "--layers",
                action="append",
                type=Path,
                default=[],
                metavar="PATH",
                help="also load the custom layers of this .py file or folder (repeatable)",
            )
        if name in SUPERVISED_COMMANDS:
            command.add_argument(
                "--timeout",
                type=_seconds,
                default=DEFAULT_TIMEOUT_S,
                metavar="SECONDS",
                help=f"how long custom layer code may run (default {DEFAULT_TIMEOUT_S:g})",
            )
    _add_extra_arguments(sub)
    return parser


def _seconds(text: str) -> float:
    """A positive number of seconds, for --timeout."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _add_extra_arguments(sub: argparse._SubParsersAction) -> None:
    """Options of subcommands beyond the project file."""
    export = sub.choices["export"]
    export.add_argument("--style", choices=("functional", "subclassed", "sequential"), default="functional")
    export.add_argument("--self-contained", action="store_true", help="inline custom layer classes")
    export.add_argument("--with-training", action="store_true", help="also write train.py (OUT is a folder)")
    export.add_argument("-o", "--output", type=Path, required=True, help="output .py file, or folder")
    source = sub.choices["import"]
    source.add_argument("source", help="a .keras file, a model JSON config, or module:function (--trust)")
    source.add_argument("-o", "--output", type=Path, required=True, help="the project file to write")
    source.add_argument("--weights-dir", type=Path, default=None, help="where the imported weights go")
    source.add_argument(
        "--trust", action="store_true", help="run the code a module:function source or --layers names"
    )
    source.add_argument(
        "--layers",
        action="append",
        type=Path,
        default=[],
        metavar="PATH",
        help="load the custom layers of this .py file or folder first; the project records those it uses",
    )
    train = sub.choices["train"]
    train.add_argument("--epochs", type=int, default=None, help="override the configured epochs")
    train.add_argument("--data", default=None, help="data source, e.g. sklearn:digits or data.npz")
    train.add_argument("--run-dir", type=Path, default=None, help="run folder (default <project>.runs/run_N)")
    train.add_argument("--fix", action="store_true", help="apply the obvious fix when the data does not fit")
    train.add_argument(
        "--fresh", action="store_true", help="start from fresh initial weights, not the imported model's"
    )


def run_command(argv: Sequence[str], out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Run one subcommand; one whose design runs custom-layer code runs in a supervised child."""
    args = build_parser().parse_args(argv)
    _quiet_tensorflow()
    report = ChildReport.from_environment()
    files = custom_layer_names(args) if report is None and args.command in SUPERVISED_COMMANDS else []
    if files:
        return _run_in_child(argv, args.timeout, files, out, err)
    if report is not None:
        import designer.engine.analysis  # noqa: F401  Keras' import comes before the time limit

        report.running()
    status = _handle(args, out, err)
    if report is not None:
        report.ended(status)
    return status


def _handle(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        return COMMANDS[args.command][1](args, out)
    except GraphError as error:
        err.write(f"error: {error}\n")
        return EXIT_USAGE
    except OSError as error:
        err.write(f"error: {error.filename or ''}: {error.strerror or error}\n")
        return EXIT_USAGE


def custom_layer_names(args: argparse.Namespace) -> list[str]:
    """The names of the custom-layer files and folders the command's design would run (its
    project's and those of --layers); a project file that cannot be read names none (the
    command itself reports it)."""
    try:
        data = project.read_data(args.file)
    except GraphError:
        data = None
    entries = data.get("custom_layers") if isinstance(data, dict) else None
    named = [entry for entry in entries if isinstance(entry, str)] if isinstance(entries, list) else []
    return [Path(entry).name for entry in [*named, *map(str, args.layers)]]


def _run_in_child(argv: Sequence[str], timeout: float, files: list[str], out: TextIO, err: TextIO) -> int:
    """The command, run by a child under a time limit; what it printed, and why it did not finish."""
    outcome = run_supervised(argv, timeout)
    out.write(outcome.out)
    err.write(outcome.err)
    if outcome.status is not None:
        return outcome.status
    err.write(f"error: {failure_message(outcome, files, timeout)}\n")
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and (argv[0] in COMMANDS or argv[0] in ("-h", "--help")):
        return run_command(argv)
    from designer.app import main as gui_main

    return gui_main(argv)


if __name__ == "__main__":
    sys.exit(main())
