"""Real build contexts: neither .git nor generated files are sent, and BuildKit's cache holds."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest
from support.ignore_helpers import lister, write

from slim_bake.cli import main
from slim_bake.config import load_config
from slim_bake.plan import make_plan


def _bake(root: Path, target: str) -> str:
    subprocess.run(
        ["docker", "buildx", "bake", "-f", "docker-bake.hcl", "--load", target],
        cwd=root,
        check=True,
        capture_output=True,
    )
    plan = make_plan(load_config(root / "slim.yaml"))
    [tag] = next(t for t in plan.targets if t.name == target).tags
    out = subprocess.run(
        ["docker", "image", "inspect", "-f", "{{.Id}}", tag],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def _context(tag: str) -> list[str]:
    out = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "find", tag, "/src", "-mindepth", "1"],
        check=True,
        capture_output=True,
        text=True,
    )
    return sorted(line.removeprefix("/src/") for line in out.stdout.splitlines())


ODD = ["#c", "!d", " e", "f ", "a*b", "[g]", "q?"]  # contexts that are pattern syntax


@pytest.mark.docker
def test_other_contexts_named_like_pattern_syntax_stay_out_and_only_they(
    docker_engine: None, tmp_path: Path
) -> None:
    registry = f"slimtest-ignore-{uuid.uuid4().hex[:8]}"
    config = lister(registry)
    artifacts = config["artifacts"]
    assert isinstance(artifacts, dict)
    for i, name in enumerate(ODD):
        (tmp_path / name).mkdir()
        (tmp_path / name / "f").write_text("x\n")
        artifacts[f"odd{i}"] = {**artifacts["everything"], "context": f"./{name}"}
    for twin in ("c", "d", "e", "f", "ab", "g", "q"):  # what a wrong pattern would catch
        (tmp_path / twin).write_text("kept\n")
    path = write(tmp_path, config)
    assert main(["generate", "-c", str(path)]) == 0
    _bake(tmp_path, "everything-single-stage")
    tag = f"{registry}/everything:single-stage"
    try:
        assert _context(tag) == ["ab", "c", "d", "e", "f", "g", "prog", "q", "slim.yaml"]
    finally:
        subprocess.run(["docker", "image", "rm", "-f", tag], capture_output=True, check=False)


@pytest.mark.docker
def test_a_real_build_context_holds_neither_git_nor_generated_files_and_keeps_its_cache(
    docker_engine: None, tmp_path: Path
) -> None:
    registry = f"slimtest-ignore-{uuid.uuid4().hex[:8]}"
    path = write(tmp_path, lister(registry))
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "secret.txt").write_text("not for the image\n")
    (tmp_path / "keep.txt").write_text("source\n")
    (tmp_path / ".dockerignore").write_text("secret.txt\n")
    assert main(["generate", "-c", str(path)]) == 0
    first = _bake(tmp_path, "everything-single-stage")
    tag = f"{registry}/everything:single-stage"
    try:
        assert _context(tag) == [".dockerignore", "keep.txt", "prog", "slim.yaml"]
        # A generated file changes (as a regeneration would): the context is the same,
        # so the `COPY . .` step and the whole image come from the cache.
        other = tmp_path / "dockerfiles" / "hello-single-stage.Dockerfile"
        other.write_text(other.read_text() + "# changed\n")
        bake_file = tmp_path / "docker-bake.hcl"
        bake_file.write_text(bake_file.read_text() + "\n# changed\n")
        (tmp_path / ".git" / "changed").write_text("x\n")
        assert _bake(tmp_path, "everything-single-stage") == first
        # A real source change does reach the build (the check above can fail).
        (tmp_path / "keep.txt").write_text("source, changed\n")
        assert _bake(tmp_path, "everything-single-stage") != first
    finally:
        subprocess.run(["docker", "image", "rm", "-f", tag], capture_output=True, check=False)
