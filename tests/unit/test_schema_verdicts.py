"""slim.yaml's schema pass is remembered (config/schema.py): the same document starts
without importing jsonschema; anything else is validated again."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slim_bake.config import load_config
from slim_bake.config.schema import _verdict_path
from slim_bake.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
VALID = "version: 1\nartifacts:\n  hello: {lang: c, context: ./hello, runtimes: [scratch-musl]}\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SLIM_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "hello").mkdir()
    (tmp_path / "hello" / "hello.c").write_text("int main(void) { return 0; }\n")
    (tmp_path / "slim.yaml").write_text(VALID)
    return tmp_path


def _loads_jsonschema(project: Path) -> bool:
    """Whether a fresh process loading slim.yaml imports jsonschema."""
    script = f"""
        import sys
        from pathlib import Path
        from slim_bake.config import load_config
        load_config(Path({str(project / "slim.yaml")!r}))
        print("jsonschema" in sys.modules)
    """
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), *sys.path])}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip() == "True"


def test_a_document_that_passed_starts_without_jsonschema(project: Path) -> None:
    assert _loads_jsonschema(project)  # first time: validated
    assert not _loads_jsonschema(project)  # the same document again: remembered
    (project / "slim.yaml").write_text(VALID + "# a comment changes no value\n")
    assert not _loads_jsonschema(project)
    (project / "slim.yaml").write_text(VALID.replace("scratch-musl", "alpine"))
    assert _loads_jsonschema(project)  # another value: validated again


def test_a_remembered_pass_lets_no_other_document_through(project: Path) -> None:
    load_config(project / "slim.yaml")
    # The same text but for one value's type: `version: "1"` is a string, which the
    # schema refuses.
    (project / "slim.yaml").write_text(VALID.replace("version: 1", 'version: "1"'))
    with pytest.raises(ConfigError, match="version"):
        load_config(project / "slim.yaml")
    (project / "slim.yaml").write_text(VALID.replace("scratch-musl", "scratch-muls"))
    with pytest.raises(ConfigError, match="scratch-muls"):
        load_config(project / "slim.yaml")


def test_a_cache_that_cannot_be_written_only_costs_time(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = project / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv("SLIM_CACHE_DIR", str(blocker / "cache"))
    assert load_config(project / "slim.yaml").artifacts
    assert load_config(project / "slim.yaml").artifacts


_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_scalars, inner, max_size=3),
    max_leaves=12,
)


def _same(a: Any, b: Any) -> bool:
    """Equal with the same type at every level (True is not 1, 1 is not 1.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        pairs_a = sorted((repr(_typed_key(k)), k, v) for k, v in a.items())
        pairs_b = sorted((repr(_typed_key(k)), k, v) for k, v in b.items())
        return len(pairs_a) == len(pairs_b) and all(
            ka == kb and _same(x, y) and _same(va, vb)
            for (ka, x, va), (kb, y, vb) in zip(pairs_a, pairs_b, strict=True)
        )
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return repr(a) == repr(b)


def _typed_key(key: Any) -> tuple[str, str]:
    return type(key).__name__, repr(key)


@given(_values, _values)
def test_two_documents_share_a_verdict_only_when_they_are_the_same(a: Any, b: Any) -> None:
    schema = {"type": "object"}
    assert (_verdict_path(a, schema) == _verdict_path(b, schema)) == _same(a, b)


def test_the_verdict_depends_on_the_schema() -> None:
    assert _verdict_path({"a": 1}, {"type": "object"}) != _verdict_path({"a": 1}, {})


def test_a_document_with_any_problem_leaves_nothing_in_the_cache(project: Path) -> None:
    # The schema takes any runtime name; the check after it does not know this one.
    (project / "slim.yaml").write_text(VALID.replace("scratch-musl", "scratch-muls"))
    with pytest.raises(ConfigError):
        load_config(project / "slim.yaml")
    assert not list((project / "cache").rglob("*"))
    (project / "slim.yaml").write_text(VALID)
    load_config(project / "slim.yaml")
    assert len(list((project / "cache").rglob("*"))) == 2  # the folder and one pass
