"""The documentation site's generated pages say what the code does.

The site itself is built by ``bash scripts/test.sh`` (``mkdocs build --strict``); these tests
check the generators in ``docs/sitegen`` in-process: the op table page has a row for every op of
the table (a new row appears with no change to the docs) and never shows a wrong rule as a
formula, the command line page has every subcommand, the API reference has every public module,
and the page machinery (runnable blocks, README sections, docstrings as Markdown) does what the
pages rely on.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
from pathlib import Path

import pytest

from microgradnet import ops
from microgradnet.cli import build_parser
from microgradnet.ops import BUILTIN_OPS, Op

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs"))

from sitegen import api_pages, command_line, op_table, readme, runner
from sitegen.griffe_docstrings import markdown_docstring


# ----- the op table page -----
@pytest.fixture(scope="module")
def op_page() -> str:
    return op_table.op_table_markdown()


@pytest.mark.parametrize("op", BUILTIN_OPS, ids=lambda op: op.name)
def test_the_op_table_page_has_every_row(op_page: str, op: Op) -> None:
    assert f'<tr id="row-{op.name}">' in op_page  # its line of the table
    assert f"### `{op.name}` {{ #op-{op.name} }}" in op_page  # its section


def test_the_op_table_page_has_no_row_the_table_lacks(op_page: str) -> None:
    assert op_page.count('<tr id="row-') == len(BUILTIN_OPS)


def test_a_new_row_appears_without_touching_the_docs(monkeypatch: pytest.MonkeyPatch) -> None:
    cube = Op("cube", lambda x: x * x * x, lambda x, out: 3.0 * x * x, "cube")
    monkeypatch.setattr(ops, "BUILTIN_OPS", (ops.ADD, cube))  # the page reads the table anew
    page = op_table.op_table_markdown()
    assert '<tr id="row-cube">' in page
    report = op_table.report_row(cube)
    # d(x³)/dx = 3·x², from the rule run on sympy symbols
    assert report.derivatives == [
        '<math display="inline"><mrow><mfrac><mrow><mo>∂</mo><mi>out</mi></mrow><mrow><mo>∂</mo>'
        "<mi>x</mi></mrow></mfrac><mo>=</mo><mrow><mn>3</mn><mo>&#xB7;</mo><msup><mi>x</mi>"
        "<mn>2</mn></msup></mrow></mrow></math>"
    ]
    assert not report.from_sympy
    assert report.compiled == "yes, vectorised"


def test_a_wrong_rule_is_not_shown_as_the_derivative() -> None:
    # The forward is x², the rule says x: the page must show sympy's 2·x and say so.
    wrong = Op("wrong_square", lambda x: x * x, lambda x, out: x, "sq")
    report = op_table.report_row(wrong)
    assert report.from_sympy
    assert "<mn>2</mn>" in report.derivatives[0]


def test_a_row_that_fails_in_compiled_mode_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    import math as m

    import microgradnet

    floats_only = Op("floats_only", m.atan, lambda x, out: 1.0 / (1.0 + x * x), "atan")
    assert op_table.report_row(floats_only).compiled.startswith("yes, element")

    def refuse(fn, example):  # type: ignore[no-untyped-def]
        raise microgradnet.compiled.TraceError("no kernel")

    monkeypatch.setattr(microgradnet, "compile", refuse, raising=False)
    assert op_table.report_row(ops.TANH).compiled == "no: TraceError: no kernel"


def test_the_probes_report_what_a_row_raises() -> None:
    report = op_table.report_row(ops.LOG)
    assert ("x = 0", "ValueError: log: undefined for non-positive value 0.0") in report.raises
    assert op_table.report_row(ops.SIN).raises == []


def test_forward_mode_is_not_yet_until_the_library_has_jvp(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import microgradnet

    monkeypatch.delattr(microgradnet, "jvp", raising=False)
    assert op_table.report_row(ops.TANH).forward_mode == "not yet"

    def wrong_jvp(fn, inputs, v):  # type: ignore[no-untyped-def]
        return 0.0, 2.0 * v[0]  # not tanh's derivative

    monkeypatch.setattr(microgradnet, "jvp", wrong_jvp, raising=False)
    assert op_table.report_row(ops.TANH).forward_mode.startswith("no: jvp gives 2,")

    def exact_jvp(fn, inputs, v):  # type: ignore[no-untyped-def]
        x = inputs[0]
        return math.tanh(x), (1 - math.tanh(x) ** 2) * v[0]

    monkeypatch.setattr(microgradnet, "jvp", exact_jvp, raising=False)
    assert op_table.report_row(ops.TANH).forward_mode == "yes"


# ----- the other generated pages -----
def test_the_command_line_page_has_every_subcommand() -> None:
    page = command_line.cli_markdown()
    names = list(command_line.subcommands(build_parser()))
    assert names  # the parser has subcommands, and the helper finds them
    for name in names:
        assert f"## `microgradnet {name}`" in page
        assert f"$ microgradnet {name} --help" in page


def test_the_api_reference_has_every_public_module() -> None:
    modules = api_pages.public_modules()
    package = api_pages.PACKAGE
    for path in package.rglob("*.py"):
        parts = path.relative_to(package).with_suffix("").parts
        dotted = ".".join(("microgradnet", *parts)).removesuffix(".__init__")
        if any(part.startswith("_") for part in dotted.split(".")):
            assert dotted not in modules
        else:
            assert dotted in modules
    assert modules[0] == "microgradnet" and len(set(modules)) == len(modules)
    assert api_pages.api_page("microgradnet.ops")[1].endswith("::: microgradnet.ops\n")


def test_members_inherited_from_a_class_without_a_page_are_shown() -> None:
    # Value's functions live in a private base class: the engine's page must list them ...
    assert {"exp", "tanh", "sum", "dot"} <= set(
        api_pages.inherited_from_unlisted("microgradnet.engine")
    )
    # ... while a layer's Module methods are on Module's own entry, not repeated on each layer.
    assert "parameters" not in api_pages.inherited_from_unlisted("microgradnet.nn")


def test_readme_sections_are_included_whole() -> None:
    section = readme.readme_section("Performance")
    assert "bench_engine.py" in section and "## " not in section.replace("### ", "")
    with pytest.raises(KeyError, match="No Such Section"):
        readme.readme_section("No Such Section")


# ----- runnable blocks -----
def test_a_run_block_shows_its_output_and_its_drawing() -> None:
    if shutil.which("dot") is None:  # in CI a missing dot must fail, not skip
        assert not os.environ.get("CI"), "Graphviz's `dot` is not installed: run scripts/setup.sh"
        pytest.skip("Graphviz's `dot` is not installed")
    page = "\n".join(
        [
            "```python run",
            "from microgradnet import Value",
            "from microgradnet.viz import draw_dot",
            "x = Value(2.0, label='x')",
            "print('data', (x * x).data)",
            "```",
            "",
            "```python run",
            "draw_dot(x * x)",
            "```",
        ]
    )
    out = runner.run_blocks(page, "test.md")
    assert "```python\nfrom microgradnet import Value" in out
    assert '```text title="Output"\ndata 4.0\n```' in out
    assert '<div class="mgn-figure"><svg' in out  # drawn by the real dot


def test_a_run_block_shows_a_figure_as_svg() -> None:
    page = "```python run\nfrom microgradnet.viz import plot_function_and_gradient\n"
    page += "plot_function_and_gradient(lambda x: x.tanh())\n```"
    out = runner.run_blocks(page, "test.md")
    assert '<div class="mgn-figure"><svg' in out and "Output" not in out


def test_a_run_block_that_fails_fails_the_build() -> None:
    with pytest.raises(runner.BlockError, match=r"(?s)test.md, block 1.*ZeroDivisionError"):
        runner.run_blocks("```python run\n1 / 0\n```", "test.md")
    with pytest.raises(runner.BlockError, match="should raise ValueError"):
        runner.run_blocks("```python run raises ValueError\n1 + 1\n```", "test.md")
    with pytest.raises(runner.BlockError, match="NameError"):  # not the error the page expects
        runner.run_blocks("```python run raises ValueError\nValue(-1.0).log()\n```", "test.md")
    page = "```python run\nfrom microgradnet import Value\n```\n"
    page += "```python run raises ArithmeticError\nValue(1.0) / 0\n```"
    out = runner.run_blocks(page, "test.md")
    assert "ZeroDivisionError: div: division of 1.0 by zero" in out


# ----- docstrings as Markdown -----
def test_docstrings_read_as_markdown() -> None:
    text = "\n".join(
        [
            "See :func:`compile` and :class:`~microgradnet.compiled.TraceError`.",
            "",
            "Example:",
            "    >>> x = 1  # doctest: +SKIP",
            "    >>> x",
            "    1",
            "",
            "After.",
        ]
    )
    assert markdown_docstring(text).split("\n") == [
        "See `compile` and `TraceError`.",
        "",
        "Example:",
        "    ```pycon",
        "    >>> x = 1",
        "    >>> x",
        "    1",
        "    ```",
        "",
        "After.",
    ]
