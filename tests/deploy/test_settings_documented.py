"""Every environment variable the code reads is in deploy/README.md's table of settings,
and every one the deployment files set is a documented one (a typo in a manifest would
otherwise be ignored by every service).

The code is read, not run: each ``os.environ.get``/``[...]``/``getenv``/``in os.environ``
with a literal name, a module constant, or an f-string over a service's name (expanded
for each service), click's ``envvar=``, and pydantic-settings classes (``env_prefix`` plus
each field, or the field's alias). A read whose name cannot be told statically fails the
test, so none is missed silently."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from services.common.config import DEFAULT_PORTS
from tests.deploy.tools import DEPLOY, ROOT

README = DEPLOY / "README.md"
CODE = ("services", "tools", "bench")
SERVICE_NAMES = tuple(DEFAULT_PORTS)  # dispatch, units, incidents, edge
OURS = re.compile(r"^(UC_|KAFKA_|DATABASE_URL$)")


class Unresolved(Exception):
    pass


def module_constants(tree: ast.Module) -> dict[str, str]:
    constants: dict[str, str] = {}
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    constants[target.id] = node.value.value
    return constants


def names_of(node: ast.expr, constants: dict[str, str]) -> list[str]:
    """The variable name(s) an expression evaluates to."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Name) and node.id in constants:
        return [constants[node.id]]
    if isinstance(node, ast.JoinedStr):
        results = [""]
        for part in node.values:
            if isinstance(part, ast.Constant):
                results = [r + str(part.value) for r in results]
            else:  # a placeholder: the service's name, in upper case as the code writes it
                results = [r + s.upper() for r in results for s in SERVICE_NAMES]
        return results
    if isinstance(node, ast.List | ast.Tuple):
        return [name for item in node.elts for name in names_of(item, constants)]
    raise Unresolved(ast.unparse(node))


def is_environ(node: ast.expr) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


def reads_in(tree: ast.Module) -> Iterator[tuple[int, ast.expr]]:
    """(line, the expression naming the variable) for every read in a module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            environ_method = (
                isinstance(func, ast.Attribute)
                and func.attr in ("get", "setdefault", "pop")
                and is_environ(func.value)
            )
            getenv = getattr(func, "attr", getattr(func, "id", "")) == "getenv"
            if (environ_method or getenv) and node.args:
                yield node.lineno, node.args[0]
            for keyword in node.keywords:
                if keyword.arg == "envvar":  # click
                    yield node.lineno, keyword.value
        elif isinstance(node, ast.Subscript) and is_environ(node.value):
            if isinstance(node.ctx, ast.Load):
                yield node.lineno, node.slice
        elif (
            isinstance(node, ast.Compare)
            and any(isinstance(op, ast.In | ast.NotIn) for op in node.ops)
            and any(is_environ(c) for c in node.comparators)
        ):
            yield node.lineno, node.left


def settings_classes(tree: ast.Module) -> Iterator[tuple[int, list[str]]]:
    """Variables of pydantic-settings classes: env_prefix + FIELD, or the field's alias."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        bases = {ast.unparse(b).rsplit(".", 1)[-1] for b in node.bases}
        if "BaseSettings" not in bases:
            continue
        prefix = ""
        for item in node.body:
            if isinstance(item, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "model_config" for t in item.targets
            ):
                value = item.value
                pairs: list[tuple[str | None, ast.expr]] = []
                if isinstance(value, ast.Call):
                    pairs = [(k.arg, k.value) for k in value.keywords]
                elif isinstance(value, ast.Dict):
                    pairs = [
                        (k.value if isinstance(k, ast.Constant) else None, v)
                        for k, v in zip(value.keys, value.values, strict=True)
                    ]
                for key, expr in pairs:
                    if key == "env_prefix" and isinstance(expr, ast.Constant):
                        prefix = str(expr.value)
        for item in node.body:
            if not (isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)):
                continue
            field = item.target.id
            if field == "model_config" or field.startswith("_"):
                continue
            aliases: list[str] = []
            if isinstance(item.value, ast.Call) and ast.unparse(item.value.func).endswith("Field"):
                for keyword in item.value.keywords:
                    if keyword.arg in ("alias", "validation_alias"):
                        aliases += [
                            s.value
                            for s in ast.walk(keyword.value)
                            if isinstance(s, ast.Constant) and isinstance(s.value, str)
                        ]
            yield item.lineno, [a.upper() for a in aliases] or [(prefix + field).upper()]


def code_files() -> Iterator[Path]:
    for folder in CODE:
        yield from sorted((ROOT / folder).rglob("*.py"))


def variables_read() -> dict[str, list[str]]:
    """Each variable the code reads, with where."""
    found: dict[str, list[str]] = {}
    unresolved = []
    for path in code_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = module_constants(tree)
        where = path.relative_to(ROOT)
        for line, expr in reads_in(tree):
            try:
                names = names_of(expr, constants)
            except Unresolved as exc:
                unresolved.append(f"{where}:{line}: {exc}")
                continue
            for name in names:
                found.setdefault(name, []).append(f"{where}:{line}")
        for line, names in settings_classes(tree):
            for name in names:
                found.setdefault(name, []).append(f"{where}:{line}")
    assert not unresolved, (
        "cannot tell which environment variable these read (use a literal or a module "
        f"constant): {unresolved}"
    )
    return found


def documented() -> dict[str, list[str]]:
    """The settings table of deploy/README.md: variable -> its other cells. A row may name
    several variables in its first cell."""
    text = README.read_text(encoding="utf-8")
    rows: dict[str, list[str]] = {}
    in_table = False
    for line in text.splitlines():
        if re.match(r"^\|\s*Variable\s*\|", line):
            in_table = True
            continue
        if in_table and not line.startswith("|"):
            break
        if in_table and not re.match(r"^\|\s*-", line):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", cells[0]):
                rows[name] = cells[1:]
    return rows


def test_the_reader_finds_reads_in_every_form() -> None:
    source = """
import os
from os import environ, getenv
NAME = "UC_CONSTANT"
a = os.environ.get("UC_GET")
b = os.environ["UC_SUBSCRIPT"]
c = getenv("UC_GETENV")
d = "UC_IN" in os.environ
e = os.environ.get(NAME)
f = os.environ.get(f"UC_{service.upper()}_PORT")
g = click.option("--token", envvar="UC_CLICK")
class S(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="UC_")
    lease_seconds: float = 10.0
    url: str = Field("", validation_alias=AliasChoices("DATABASE_URL", "UC_DB"))
"""
    tree = ast.parse(source)
    constants = module_constants(tree)
    names = {n for _, expr in reads_in(tree) for n in names_of(expr, constants)}
    names |= {n for _, found in settings_classes(tree) for n in found}
    expected = {"UC_GET", "UC_SUBSCRIPT", "UC_GETENV", "UC_IN", "UC_CONSTANT", "UC_CLICK",
                "UC_LEASE_SECONDS", "DATABASE_URL", "UC_DB"}  # fmt: skip
    expected |= {f"UC_{s.upper()}_PORT" for s in SERVICE_NAMES}
    assert names == expected
    with pytest.raises(Unresolved):
        names_of(ast.parse("os.environ.get(name)").body[0].value.args[0], {})  # type: ignore[attr-defined]


def test_every_variable_the_code_reads_is_documented() -> None:
    read = variables_read()
    assert {"KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "UC_DISPATCH_PORT"} <= set(read)
    missing = {name: where for name, where in sorted(read.items()) if name not in documented()}
    assert not missing, f"add these to the settings table in deploy/README.md: {missing}"


def test_every_documented_variable_has_a_default_a_meaning_and_its_readers() -> None:
    rows = documented()
    assert len(rows) >= 30
    for name, cells in rows.items():
        assert len(cells) == 3 and all(cells), f"{name}: default, meaning, read by"


def variables_set_by_deployment_files() -> dict[str, str]:
    """Our variables that the Dockerfile, compose and the Kubernetes files set."""
    found: dict[str, str] = {}
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    for name in re.findall(r"\b([A-Z][A-Z0-9_]+)=", dockerfile):
        found[name] = "Dockerfile"
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    for service, spec in compose["services"].items():
        if str(spec.get("image", "")).startswith(("apache/kafka", "postgres")):
            continue
        for name in spec.get("environment", {}):
            found[name] = f"compose.yaml: {service}"
    env_files = [*(DEPLOY / "kubernetes").rglob("*.env*"), DEPLOY / "env.example"]
    for env in env_files:
        for line in env.read_text(encoding="utf-8").splitlines():
            line = line.lstrip("#")  # a commented setting is still one to document
            if re.match(r"^[A-Z][A-Z0-9_]+=", line):
                found[line.split("=", 1)[0]] = str(env.relative_to(DEPLOY))
    for manifest in (DEPLOY / "kubernetes").rglob("*.yaml"):
        for doc in yaml.safe_load_all(manifest.read_text(encoding="utf-8")):
            for match in re.finditer(r"'name': '([A-Z][A-Z0-9_]+)'", str(doc)):
                found[match.group(1)] = str(manifest.relative_to(DEPLOY))
    return {name: where for name, where in found.items() if OURS.match(name)}


def test_every_variable_the_deployment_files_set_is_documented() -> None:
    set_here = variables_set_by_deployment_files()
    assert {"KAFKA_BOOTSTRAP_SERVERS", "UC_SERVICE_TOKEN", "KAFKA_SASL_PASSWORD"} <= set(set_here)
    unknown = {name: where for name, where in set_here.items() if name not in documented()}
    assert not unknown, f"set but not a documented setting (a typo?): {unknown}"
