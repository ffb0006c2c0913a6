"""Mutation testing of the derivative rules and the backward walk, with Cosmic Ray.

Each mutant is one small change to ``microgradnet/ops.py``'s derivative rules (every row's
``derivative`` and the helpers it names, and the calling contract that shapes them) or to the
backward walk ``microgradnet/_backward.py``: a number replaced (``1.0`` by ``2.0``), an operator
swapped (``-`` by ``+``, ``>`` by ``>=``), a condition negated, a loop skipped. The relevant
tests then run against it; a mutant is *killed* when they fail, *survives* when they pass. A
surviving mutant of a derivative rule is a wrong derivative our suite would let through (or an
equivalent rewrite: see the report).

Mutating files in place would break everyone else's runs, so the package and its tests (as last
committed, or as on disk with ``--source worktree``) are copied into a work folder first, and
Cosmic Ray mutates the copy. Mutations outside the rules
(the forward functions, a row's flags and names, docstrings) are skipped: the rows' lines are
found by reading ``ops.py``'s syntax tree, so new rows take part with no change here.

    .venv/bin/python benchmarks/mutation/mutate_rules.py               # rules and the walk
    .venv/bin/python benchmarks/mutation/mutate_rules.py --target ops  # rules only
    .venv/bin/python benchmarks/mutation/mutate_rules.py --suite existing  # without the
                                                        # tests written to kill rule mutants

A survivor shown to compute what the original computes (``a | b`` as ``a + b`` on two
comparisons, say) is listed in ``equivalent.toml`` beside this script, by its function and its
changed line, with the reason: such mutants are not run (``--run-equivalent`` runs them anyway)
and the score leaves them out, listing them with their reasons. ``REPORT.md`` holds the last
measured scores.

Needs the ``mutation`` extra (``pip install 'microgradnet[mutation]'``: cosmic-ray). On a busy
two-core machine the rules took 15 minutes (``--jobs 2``) and the walk 50 (``--jobs 1``, two
mutants looping until the timeout); the report lists every survivor with its diff and ends with
the score per target.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import tomllib
import zlib
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent

TARGETS = {"ops": "microgradnet/ops.py", "backward": "microgradnet/_backward.py"}
PROJECT = ("microgradnet", "tests", "pyproject.toml")

# Each target's tests run in two stages, fast and decisive first: a mutant the first stage kills
# costs one small run; only a survivor of it pays for the second. Each stage is the arguments of
# one `python` command.
PYTEST = "-m pytest -x -q -p no:cacheprovider"
OPS_TESTS = [  # the op table's own tests, fastest first
    "tests/test_ops.py",
    "tests/test_op_edges.py",
    "tests/test_torch_reference.py",
    "tests/test_op_table.py",
]
STAGES = {
    # the tests written to kill rule mutants, as a plain script: pytest's start-up would cost
    # more than the checks
    "ops": ["tests/test_rule_mutants.py", f"{PYTEST} {' '.join(OPS_TESTS)}"],
    "backward": [
        # small graphs through every path of the walk against central differences, as a plain
        # script; then the tuned walk against the reference on random graphs; then the rest
        "tests/test_walk_mutants.py",
        f"{PYTEST} tests/test_backward_walks.py",
        f"{PYTEST} tests/test_engine.py tests/test_hooks_and_freezing.py tests/test_anomaly.py "
        "tests/test_properties.py tests/test_torch_reference.py",
    ],
}
EXISTING_STAGES = [f"{PYTEST} {OPS_TESTS[0]}", f"{PYTEST} {' '.join(OPS_TESTS[1:])}"]
# Survivors shown to compute what the original computes, each with the reason: not counted
# against the score, but listed in the report.
EQUIVALENT = Path(__file__).with_name("equivalent.toml")


# ----- which lines hold a derivative rule -----
Position = tuple[int, int]  # (line from 1, column from 0), as Cosmic Ray reports them
Span = tuple[Position, Position]


def _span(node: ast.AST, lines: list[str]) -> Span:
    def column(line: int, offset: int) -> int:  # ast counts UTF-8 bytes, Cosmic Ray characters
        return len(lines[line - 1].encode()[:offset].decode())

    start = (node.lineno, column(node.lineno, node.col_offset))  # type: ignore[attr-defined]
    end_line = node.end_lineno or node.lineno  # type: ignore[attr-defined]
    return start, (end_line, column(end_line, node.end_col_offset or 0))  # type: ignore[attr-defined]


def rule_spans(source: str) -> list[Span]:
    """Where ``ops.py``'s derivative rules are: each row's ``derivative`` (a lambda, or the
    module-level function it names) and the calling contract that shapes the rules."""
    tree = ast.parse(source)
    lines = source.splitlines()
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    spans: list[Span] = []

    def add(node: ast.AST) -> None:
        if isinstance(node, ast.Name) and node.id in functions:
            node = functions[node.id]
        spans.append(_span(node, lines))

    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Op":
            derivative = node.args[2] if len(node.args) > 2 else None
            for keyword in node.keywords:
                if keyword.arg == "derivative":
                    derivative = keyword.value
            if derivative is not None:
                add(derivative)
    if "_local_derivatives_rule" in functions:
        add(functions["_local_derivatives_rule"])
    return sorted(set(spans))


def walk_spans(source: str) -> list[Span]:
    """Where the functions of ``_backward.py`` are (their docstrings excluded)."""
    tree = ast.parse(source)
    lines = source.splitlines()
    spans = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            body = node.body
            if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                body = body[1:]  # the docstring
            if body:
                spans.append((_span(body[0], lines)[0], _span(node, lines)[1]))
    return spans


# ----- the run -----
def copy_project(
    work: Path, source: str, names: Sequence[str] = PROJECT, source_root: Path = ROOT
) -> None:
    """The package, its tests and pyproject.toml, as committed (``head``) or as on disk (in
    ``source_root``, the repository by default)."""
    if source == "head":
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "--format=tar", "HEAD", *names],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(work)], input=archive, check=True)
        return
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    for name in names:
        if (source_root / name).is_dir():
            shutil.copytree(source_root / name, work / name, ignore=ignore)
        else:
            shutil.copy2(source_root / name, work / name)


def test_command(stages: list[str]) -> str:
    """One shell command running ``stages`` in turn, stopping at the first failure."""
    python = VENV_BIN / "python"
    return "sh -c '" + " && ".join(f"{python} {stage}" for stage in stages) + "'"


def write_config(work: Path, module: str, command: str, timeout: float) -> Path:
    config = work / f"{Path(module).stem}.toml"
    config.write_text(
        "[cosmic-ray]\n"
        f'module-path = "{module}"\n'
        f"timeout = {timeout}\n"
        "excluded-modules = []\n"
        f'test-command = "{command}"\n'
        "\n[cosmic-ray.distributor]\n"
        'name = "local"\n',
        encoding="utf-8",
    )
    return config


def skip_outside(
    session: Path, module: str, spans: list[Span], part: int = 0, parts: int = 1
) -> tuple[int, int]:
    """Mark every mutation outside ``spans``, or outside this part of them, as skipped; (kept,
    skipped). Parts are drawn by a checksum of the mutation, the same in every session."""
    from cosmic_ray.work_db import WorkDB, use_db  # type: ignore[import-untyped]
    from cosmic_ray.work_item import WorkerOutcome, WorkResult  # type: ignore[import-untyped]

    skipped, kept = [], 0
    with use_db(str(session), WorkDB.Mode.open) as db:
        for item in db.pending_work_items:
            inside = all(
                any(start <= tuple(m.start_pos) and tuple(m.end_pos) <= end for start, end in spans)
                for m in item.mutations
                if str(m.module_path) == module
            )
            key = "".join(f"{m.operator_name}:{m.occurrence}" for m in item.mutations)
            if inside and zlib.crc32(key.encode()) % parts == part:
                kept += 1
            else:
                skipped.append(item.job_id)
        if skipped:
            result = WorkResult(output="outside the rules", worker_outcome=WorkerOutcome.SKIPPED)
            db.set_multiple_results(skipped, result)
    return kept, len(skipped)


def outcomes(session: Path) -> dict[str, dict[str, object]]:
    """Each tested mutant of a session by job id: its mutation, diff and whether it survived."""
    dump = subprocess.run(
        [str(VENV_BIN / "cosmic-ray"), "dump", str(session)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    found = {}
    for line in dump.splitlines():
        item, result = json.loads(line)
        if result is None or result.get("worker_outcome") == "skipped":
            continue
        survived = result.get("test_outcome") == "survived"
        mutation = item["mutations"][0]
        found[item["job_id"]] = {
            **mutation,
            "survived": survived,
            "diff": result.get("diff", ""),
            "run": result.get("output") != LISTED,
        }
    return found


def survivors(session: Path) -> tuple[int, int, list[dict[str, object]]]:
    """(killed, run, survivors) of a session."""
    tested = outcomes(session)
    alive = [{**m, "job_id": job} for job, m in tested.items() if m["survived"]]
    return len(tested) - len(alive), len(tested), alive


# ----- survivors known to be equivalent -----
def enclosing(source: str, line: int) -> str:
    """The name of the top-level function or assignment (an op's row) holding ``line``."""
    for node in ast.parse(source).body:
        if node.lineno <= line <= (node.end_lineno or node.lineno):
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                return node.name
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                return node.targets[0].id
    return ""


def line_of(mutant: dict[str, object]) -> int:
    """The line a mutant starts on."""
    start: Sequence[int] = mutant["start_pos"]  # type: ignore[assignment]
    return int(start[0])


def changed_lines(diff: str) -> tuple[str, str]:
    """The lines a mutant's diff removes and adds, each stripped, joined by newlines."""
    lines = diff.splitlines()
    removed = [x[1:].strip() for x in lines if x.startswith("-") and not x.startswith("---")]
    added = [x[1:].strip() for x in lines if x.startswith("+") and not x.startswith("+++")]
    return "\n".join(removed), "\n".join(added)


def known_equivalents(path: Path = EQUIVALENT) -> list[dict[str, str]]:
    """The entries of ``equivalent.toml``: ``module``, ``where`` (a function or a row),
    ``removed`` and ``added`` (the changed line, stripped, before and after) and ``reason``."""
    if not path.exists():
        return []
    entries: list[dict[str, str]] = tomllib.loads(path.read_text(encoding="utf-8"))["equivalent"]
    return entries


def equivalence(module: str, source: str, mutant: dict[str, object]) -> str | None:
    """Why a surviving mutant is equivalent, if ``equivalent.toml`` says it is. A mutant is
    matched by its function and changed line, not by line number: an entry outlives edits
    elsewhere in the file, and stops matching (the mutant is reported again) when its line
    changes."""
    removed, added = changed_lines(str(mutant["diff"]))
    where = enclosing(source, line_of(mutant))
    for entry in known_equivalents():
        if (entry["module"], entry["where"], entry["removed"], entry["added"]) == (
            module,
            where,
            removed,
            added,
        ):
            return entry["reason"]
    return None


LISTED = "not run: listed in equivalent.toml"


def mark_listed_equivalents(session: Path, module: str, source: str) -> int:
    """Record the mutants ``equivalent.toml`` lists as surviving, without running them (each
    costs a full run of every stage, which an equivalent mutant always survives); how many.
    Only mutants on a line an entry names are mutated here to compare their diffs."""
    import cosmic_ray.plugins  # type: ignore[import-untyped]
    from cosmic_ray.mutating import _make_diff, mutate_code  # type: ignore[import-untyped]
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult

    lines = source.splitlines()
    named = {entry["removed"] for entry in known_equivalents() if entry["module"] == module}
    marked = 0
    with use_db(str(session), WorkDB.Mode.open) as db:
        for item in list(db.pending_work_items):
            (mutation,) = item.mutations
            if lines[mutation.start_pos[0] - 1].strip() not in named:
                continue
            operator = cosmic_ray.plugins.get_operator(mutation.operator_name)()
            mutated = mutate_code(source, operator, mutation.occurrence)
            if mutated is None:
                continue
            diff = "\n".join(_make_diff(source, mutated, module))
            found = {"diff": diff, "start_pos": mutation.start_pos}
            if equivalence(module, source, found) is not None:
                result = WorkResult(
                    output=LISTED,
                    diff=diff,
                    worker_outcome=WorkerOutcome.NORMAL,
                    test_outcome=TestOutcome.SURVIVED,
                )
                db.set_result(item.job_id, result)
                marked += 1
    return marked


def _summary(module: str, parts: list[Path], started: float) -> dict[str, object]:
    tested: dict[str, dict[str, object]] = {}
    for part in parts:  # a mutant tested in two parts (a part split in two) counts once
        tested.update(outcomes(part / "session.sqlite"))
    source = (parts[0] / module).read_text(encoding="utf-8")  # restored after each mutant
    alive: list[dict[str, object]] = []
    equivalent: list[dict[str, object]] = []
    for job, m in tested.items():
        if m["survived"]:
            where = enclosing(source, line_of(m))
            reason = equivalence(module, source, m)
            found = {**m, "job_id": job, "where": where}
            (alive if reason is None else equivalent).append({**found, "reason": reason})
    seconds = round(time.perf_counter() - started)
    run, killed = len(tested), len(tested) - len(alive) - len(equivalent)
    return dict(
        module=module,
        mutants=run,
        killed=killed,
        equivalent=equivalent,
        survived=alive,
        seconds=seconds,
    )


def _exec_parts(config_name: str, parts: list[Path]) -> None:
    """Cosmic Ray on every part at once, each on its own copy of the package."""
    cosmic_ray = str(VENV_BIN / "cosmic-ray")
    running = [
        subprocess.Popen(
            [cosmic_ray, "exec", config_name, "session.sqlite"],
            cwd=part,
            env={**os.environ, "PYTHONPATH": str(part)},  # the part's copy is what is tested
        )
        for part in parts
    ]
    if any(process.wait() for process in running):
        raise RuntimeError("cosmic-ray exec failed in a part; see its output above")


def run_target(
    name: str, work: Path, suite: str, timeout: float, jobs: int, run_equivalent: bool = False
) -> dict[str, object]:
    module = TARGETS[name]
    source = (work / module).read_text(encoding="utf-8")
    spans = rule_spans(source) if name == "ops" else walk_spans(source)
    stages = STAGES[name]
    if suite == "existing" and name == "ops":  # without the tests written to kill mutants
        stages = EXISTING_STAGES
    config = write_config(work, module, test_command(stages), timeout)
    cosmic_ray = str(VENV_BIN / "cosmic-ray")
    parts = []
    kept = listed = 0
    for i in range(jobs):
        part = work / f"{name}-{i}"
        part.mkdir()
        copy_project(part, "worktree", source_root=work)
        shutil.copy2(config, part / config.name)
        session = part / "session.sqlite"
        subprocess.run([cosmic_ray, "init", config.name, str(session)], cwd=part, check=True)
        kept += skip_outside(session, module, spans, i, jobs)[0]
        if not run_equivalent:
            listed += mark_listed_equivalents(session, module, source)
        parts.append(part)
    print(
        f"{module}: {kept} mutants in the rules, in {jobs} parts; {listed} listed as "
        "equivalent, not run",
        flush=True,
    )
    env = {**os.environ, "PYTHONPATH": str(parts[0])}
    subprocess.run([cosmic_ray, "baseline", config.name], cwd=parts[0], check=True, env=env)
    started = time.perf_counter()
    _exec_parts(config.name, parts)
    return _summary(module, parts, started)


def retest(work: Path, source: str, timeout: float) -> list[dict[str, object]]:
    """Run the survivors of an earlier run in ``work`` again, against the tests as they are now
    (the mutated package stays as it was)."""
    results = []
    for name, module in TARGETS.items():
        parts = sorted(p for p in work.glob(f"{name}-*") if (p / "session.sqlite").exists())
        if not parts:
            continue
        reopened: set[object] = set()
        for part in parts:
            shutil.rmtree(part / "tests")
            copy_project(part, source, ["tests"])
            write_config(part, module, test_command(STAGES[name]), timeout)  # today's stages
            _, _, alive = survivors(part / "session.sqlite")
            source = (part / module).read_text(encoding="utf-8")
            alive = [a for a in alive if equivalence(module, source, a) is None]
            again = [(a["job_id"],) for a in alive if a["job_id"] not in reopened]
            shared = [(a["job_id"],) for a in alive if a["job_id"] in reopened]
            reopened.update(job for (job,) in again)
            with sqlite3.connect(part / "session.sqlite") as db:
                db.executemany("DELETE FROM work_results WHERE job_id = ?", again)  # pending
                # a survivor two parts share (a part split in two) is tested again in one
                db.executemany(
                    "UPDATE work_results SET worker_outcome = 'SKIPPED', test_outcome = NULL "
                    "WHERE job_id = ?",
                    shared,
                )
        started = time.perf_counter()
        _exec_parts(f"{Path(module).stem}.toml", parts)
        results.append(_summary(module, parts, started))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", choices=["ops", "backward", "all"], default="all")
    parser.add_argument(
        "--suite",
        choices=["all", "existing"],
        default="all",
        help="existing: leave out tests/test_rule_mutants.py, to score the suite without it",
    )
    parser.add_argument(
        "--source",
        choices=["head", "worktree"],
        default="head",
        help="test the last commit (default: consistent while others edit) or the files on disk",
    )
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per mutant")
    parser.add_argument("--jobs", type=int, default=2, help="mutants tested at once")
    parser.add_argument("--work", type=Path, help="work folder (default: a new temporary one)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--run-equivalent",
        action="store_true",
        help="also run the mutants equivalent.toml lists (to check that each still survives)",
    )
    parser.add_argument(
        "--retest",
        type=Path,
        metavar="WORK",
        help="run the survivors of an earlier run's work folder again, with today's tests",
    )
    args = parser.parse_args()
    os.environ.setdefault("HYPOTHESIS_PROFILE", "ci")
    # No third-party pytest plugins (xdist, nbmake, playwright, ...): the tests here need none,
    # and loading them doubled the cost of every mutant's run.
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    if args.retest is not None:
        os.environ["PYTHONPATH"] = str(args.retest)
        results = retest(args.retest, args.source, args.timeout)
        return report(results, "survivors retested", args.json)

    work = args.work or Path(tempfile.mkdtemp(prefix="mutation-"))
    if work.exists() and any(work.iterdir()):
        parser.error(f"--work {work}: the folder must be empty or new")
    work.mkdir(parents=True, exist_ok=True)
    copy_project(work, args.source)
    os.environ["PYTHONPATH"] = str(work)  # the copy, not the installed package, is tested
    names = list(TARGETS) if args.target == "all" else [args.target]
    results = [
        run_target(name, work, args.suite, args.timeout, args.jobs, args.run_equivalent)
        for name in names
    ]
    return report(results, f"{args.suite} tests, work folder {work}", args.json)


def report(results: list[dict[str, object]], title: str, json_path: Path | None) -> int:
    """Print the score and every survivor's diff (and write them as JSON)."""
    print(f"\nmutation testing ({title})")
    for result in results:
        mutants, killed = int(result["mutants"]), int(result["killed"])  # type: ignore[call-overload]
        equivalent: list[dict[str, object]] = result["equivalent"]  # type: ignore[assignment]
        survived: list[dict[str, object]] = result["survived"]  # type: ignore[assignment]
        countable = mutants - len(equivalent)
        score = 100.0 * killed / countable if countable else 100.0
        print(
            f"{result['module']}: {killed} of {mutants} mutants killed, {len(equivalent)} "
            f"equivalent, {len(survived)} survived: score {killed}/{countable} = {score:.1f}% "
            f"({result['seconds']} s)"
        )
        for alive in equivalent:
            print(
                f"  equivalent: {alive['operator_name']} in {alive['where']}, line "
                f"{line_of(alive)}: {changed_lines(str(alive['diff']))[1]}"
            )
            print(f"    {alive['reason']}")
        for alive in survived:
            print(
                f"  survived: {alive['operator_name']} in {alive['where']}, line {line_of(alive)}"
            )
            print("    " + str(alive["diff"]).replace("\n", "\n    "))
    if json_path:
        json_path.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
