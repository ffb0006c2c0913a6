"""MkDocs hooks: the pages generated from the code, and the directives pages use.

Loaded by ``mkdocs.yml`` (``hooks:``). At build time they:

* add an API reference page per public module (:mod:`api_pages`) and list the pages and the
  notebooks in the navigation, so a new module or notebook appears without editing the docs;
* expand the directives a page writes on a line of its own: ``{{ op-table }}`` (the op table,
  :mod:`op_table`), ``{{ cli }}`` (every subcommand's help), ``{{ readme TITLE }}`` (a section of
  the README, written once), ``{{ source DOTTED.NAME }}`` (an object's source code),
  ``{{ api-modules }}`` and ``{{ notebooks }}`` (lists of links);
* run the ```` ```python run ```` blocks (:mod:`runner`).
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import logging
import re
import shutil
import sys
import textwrap
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

_DOCS = str(Path(__file__).resolve().parents[1])
if _DOCS not in sys.path:
    sys.path.insert(0, _DOCS)

from sitegen import api_pages, command_line, notebooks, op_table, readme, runner  # noqa: E402

_DIRECTIVE = re.compile(r"^\{\{ (?P<name>[\w-]+)(?: (?P<arg>.+?))? \}\}$", re.MULTILINE)

# Navigation entries that the hooks fill in: the page, then every generated page after it.
API_INDEX = "api.md"
NOTEBOOKS_INDEX = "notebooks.md"


def _api_nav() -> list[Any]:
    return [{"Overview": API_INDEX}] + [
        {module: api_pages.api_page(module)[0]} for module in api_pages.public_modules()
    ]


def _notebooks_nav() -> list[Any]:
    return [{"Overview": NOTEBOOKS_INDEX}] + [
        {title: path} for title, path in notebooks.notebooks()
    ]


class KnownDocstringWarnings(logging.Filter):
    """Logs griffe's warnings about the docstrings listed in ``mkdocs.yml`` (``extra:
    docstring_warnings_to_fix``, each ``"FILE: start of the message"``) as INFO, so that the
    strict build fails on every other docstring warning while those await a fix."""

    def __init__(self, entries: list[str]) -> None:
        super().__init__()
        self.entries = [entry.partition(": ")[::2] for entry in entries]
        self.seen: set[int] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        for i, (path, start) in enumerate(self.entries):
            at, _, text = message.partition(f"{path}:")
            if at.startswith("griffe:") and text.partition(": ")[2].startswith(start):
                self.seen.add(i)
                record.levelno, record.levelname = logging.INFO, "INFO"
                record.msg, record.args = f"{message} (known, awaiting a fix)", None
        return True


_griffe_log = logging.getLogger("mkdocs.plugins.griffe")
_known: KnownDocstringWarnings | None = None


def code_digest() -> str:
    """A digest of the package's source and the notebooks: what executed notebooks depend on."""
    root = Path(__file__).resolve().parents[2]
    digest = hashlib.sha256()
    paths = sorted((root / "microgradnet").rglob("*.py")) + sorted(
        notebooks.NOTEBOOKS.glob("*.ipynb")
    )
    for path in paths:
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _notebook_cache(config: MkDocsConfig) -> None:
    """Key mkdocs-jupyter's cache of executed notebooks on the code as well as the notebook:
    its own key is the notebook alone, and outputs must come from a run of the current code.
    Caches of other versions are removed."""
    plugin = config.plugins.get("mkdocs-jupyter")
    if plugin is None or not plugin.config.get("cache"):
        return
    base = Path(config.config_file_path).parent / plugin.config["cache_dir"]
    if base.name.startswith("code-"):
        base = base.parent
    current = base / f"code-{code_digest()}"
    if base.is_dir():
        for old in base.iterdir():
            if old == current:
                continue
            if old.is_dir() and old.name.startswith("code-"):
                shutil.rmtree(old, ignore_errors=True)
            elif old.suffix == ".json":  # written with the plugin's own key alone
                old.unlink()
    plugin.config["cache_dir"] = str(current)


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    """Fill the API reference and Notebooks sections of the navigation, set up the list of
    docstring warnings awaiting a fix, and key the notebook cache on the code."""
    global _known
    _notebook_cache(config)
    if _known is not None:
        _griffe_log.removeFilter(_known)
    _known = KnownDocstringWarnings(list(config.extra.get("docstring_warnings_to_fix", [])))
    _griffe_log.addFilter(_known)
    fill = {API_INDEX: _api_nav, NOTEBOOKS_INDEX: _notebooks_nav}
    for entry in config.nav or []:
        if isinstance(entry, dict):
            for title, target in entry.items():
                if isinstance(target, str) and target in fill:
                    entry[title] = fill[target]()
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add the generated API reference pages."""
    documented = api_pages.classes_with_a_page()
    for module in api_pages.public_modules():
        path, content = api_pages.api_page(module, documented)
        files.append(File.generated(config, path, content=content))
    return files


def _source(dotted: str) -> str:
    module_name, _, attribute = dotted.rpartition(".")
    obj = getattr(importlib.import_module(module_name), attribute)
    code = textwrap.dedent(inspect.getsource(obj)).rstrip()
    return f'```python title="{dotted}"\n{code}\n```'


def _links(entries: list[tuple[str, str]], page: Page) -> str:
    depth = page.file.src_uri.count("/")
    prefix = "../" * depth
    return "\n".join(f"- [{title}]({prefix}{path})" for title, path in entries)


def _notebooks_executed(config: MkDocsConfig) -> bool:
    plugin = config.plugins.get("mkdocs-jupyter")
    return bool(plugin is not None and plugin.config.get("execute"))


def _notebooks_list(page: Page, config: MkDocsConfig) -> str:
    if _notebooks_executed(config):
        said = (
            "The pages below are the committed notebooks (which have no outputs) **run when this "
            "site was built**, with the outputs of that run. A build reuses the outputs of an "
            "earlier build only while neither the notebook nor any file of the package has "
            "changed."
        )
    else:
        said = (
            "**This build did not run the notebooks** (`DOCS_EXECUTE_NOTEBOOKS=false`, as in the "
            "test command, which runs each notebook with nbmake instead): the pages below show "
            "their code without outputs. `bash scripts/docs.sh` builds the site with them run."
        )
    return said + "\n\n" + _links(notebooks.notebooks(), page)


def expand(name: str, arg: str | None, page: Page, config: MkDocsConfig) -> str:
    """The Markdown a directive stands for.

    Raises:
        ValueError: an unknown directive, or one missing its argument.
    """
    if name == "op-table":
        return op_table.op_table_markdown()
    if name == "cli":
        return command_line.cli_markdown()
    if name == "api-modules":
        modules = api_pages.public_modules()
        return _links([(f"`{m}`", api_pages.api_page(m)[0]) for m in modules], page)
    if name == "notebooks":
        return _notebooks_list(page, config)
    if name in ("readme", "source") and not arg:
        raise ValueError(f"{page.file.src_uri}: {{{{ {name} }}}} needs an argument")
    if name == "readme" and arg:
        return readme.readme_section(arg)
    if name == "source" and arg:
        return _source(arg)
    raise ValueError(f"{page.file.src_uri}: unknown directive {{{{ {name} }}}}")


def on_post_build(config: MkDocsConfig) -> None:
    """Say which listed docstring warnings no longer occur, so their entries can go."""
    if _known is None:
        return
    log = logging.getLogger("mkdocs.plugins.sitegen")
    for i, (path, start) in enumerate(_known.entries):
        if i not in _known.seen:
            log.info("docstring_warnings_to_fix: %s: %r no longer occurs", path, start)


def on_page_content(html: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """A notebook's page opens with a link to its ``.ipynb`` file (copied beside the page)."""
    name = Path(page.file.src_uri).name
    if not name.endswith(".ipynb"):
        return html
    link = f'<p><a href="{name}" download>Download this notebook ({name})</a></p>'
    return link + html


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Expand the page's directives, then run its ```python run``` blocks."""
    markdown = _DIRECTIVE.sub(lambda m: expand(m["name"], m["arg"], page, config), markdown)
    return runner.run_blocks(markdown, page.file.src_uri)
