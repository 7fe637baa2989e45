"""Reproducible builds without an engine: what the bake file and Dockerfiles say, the
SOURCE_DATE_EPOCH each target gets from git, and --repro-check's comparison of two
`docker save` archives (made here as docker writes them)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
from support.render_helpers import load_hcl, parse, render, stages, wide_config

from slim_bake import repro
from slim_bake.config import load_config
from slim_bake.plan import NO_COMMIT_EPOCH, make_plan, source_date_epochs

# --- docker save archives, made here -----------------------------------------------------

File = tuple[str, bytes, dict[str, Any]]  # path, content, TarInfo fields


def layer_tar(files: list[File]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for path, content, fields in files:
            info = tarfile.TarInfo(path)
            info.size = len(content)
            info.mtime = 1700000000
            for key, value in fields.items():
                setattr(info, key, value)
            if info.type != tarfile.REGTYPE:
                info.size = 0
            tar.addfile(info, io.BytesIO(content) if info.type == tarfile.REGTYPE else None)
    return out.getvalue()


def saved_archive(layers: list[list[File]], created: str = "2023-11-14T22:13:20Z") -> bytes:
    """A `docker save` archive in docker 25+'s layout: blobs, manifest.json, index.json."""
    blobs = [layer_tar(files) for files in layers]
    digests = ["sha256:" + hashlib.sha256(b).hexdigest() for b in blobs]
    config = {
        "created": created,
        "rootfs": {"type": "layers", "diff_ids": digests},
        "history": [{"created_by": f"COPY step {i}"} for i in range(len(blobs))],
    }
    config_bytes = json.dumps(config).encode()
    config_digest = hashlib.sha256(config_bytes).hexdigest()
    members = {f"blobs/sha256/{d.split(':')[1]}": b for d, b in zip(digests, blobs, strict=True)}
    members[f"blobs/sha256/{config_digest}"] = config_bytes
    manifest = [
        {
            "Config": f"blobs/sha256/{config_digest}",
            "Layers": [f"blobs/sha256/{d.split(':')[1]}" for d in digests],
        }
    ]
    members["manifest.json"] = json.dumps(manifest).encode()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def read(archive: bytes) -> repro.SavedImage:
    return repro.read_saved(io.BytesIO(archive))


BASE: list[File] = [
    ("etc", b"", {"type": tarfile.DIRTYPE, "mode": 0o755}),
    ("etc/passwd", b"root:x:0:0::/:/sbin/nologin\n", {"mode": 0o644}),
]
PROGRAM: list[File] = [
    ("usr/local/bin", b"", {"type": tarfile.DIRTYPE, "mode": 0o755}),
    ("usr/local/bin/hello", b"\x7fELF program", {"mode": 0o755}),
    ("usr/local/bin/hi", b"", {"type": tarfile.SYMTYPE, "linkname": "hello"}),
]


def test_two_identical_builds_are_reproducible() -> None:
    first, second = read(saved_archive([BASE, PROGRAM])), read(saved_archive([BASE, PROGRAM]))
    outcome = repro.compare("hello-scratch", first, second)
    assert outcome.reproducible and not outcome.layers
    assert first.image_id.startswith("sha256:") and len(first.diff_ids) == 2
    assert list(repro.describe(outcome)) == [f"hello-scratch: reproducible ({first.image_id})"]


def test_a_file_that_differs_is_named_with_the_reason_and_its_layer() -> None:
    stamped = [(p, c, dict(f)) for p, c, f in PROGRAM]
    stamped[1] = ("usr/local/bin/hello", b"\x7fELF programX", {"mode": 0o755, "mtime": 1796287290})
    first, second = read(saved_archive([BASE, PROGRAM])), read(saved_archive([BASE, stamped]))
    outcome = repro.compare("hello-scratch", first, second)
    assert not outcome.reproducible
    [layer] = outcome.layers
    assert layer.index == 1 and layer.created_by == "COPY step 1"
    [diff] = layer.files
    assert diff.path == "/usr/local/bin/hello"
    assert diff.reasons == ("content (12 B vs 13 B)", "mtime 1700000000 vs 1796287290")
    text = "\n".join(repro.describe(outcome))
    assert "hello-scratch: NOT reproducible" in text
    assert "layer 2 (COPY step 1)" in text
    assert "/usr/local/bin/hello: content (12 B vs 13 B), mtime 1700000000 vs 1796287290" in text


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"mode": 0o700}, "mode 0755 vs 0700"),
        ({"uid": 65532, "gid": 65532}, "owner 0:0 vs 65532:65532"),
        ({"mtime": 1}, "mtime 1700000000 vs 1"),
    ],
)
def test_mode_owner_and_mtime_are_told_apart(change: dict[str, Any], reason: str) -> None:
    changed = [PROGRAM[0], ("usr/local/bin/hello", b"\x7fELF program", {"mode": 0o755, **change})]
    outcome = repro.compare("t", read(saved_archive([PROGRAM[:2]])), read(saved_archive([changed])))
    [layer] = outcome.layers
    assert [(d.path, d.reasons) for d in layer.files] == [("/usr/local/bin/hello", (reason,))]


def test_a_file_in_one_build_only_and_a_changed_link_target_and_config() -> None:
    other = [*PROGRAM[:2], ("usr/local/bin/hi", b"", {"type": tarfile.SYMTYPE, "linkname": "x"})]
    other.append(("usr/local/bin/stamp", b"1796287290123", {}))
    first = read(saved_archive([PROGRAM]))
    second = read(saved_archive([other], created="2026-12-03T08:00:00Z"))
    outcome = repro.compare("t", first, second)
    assert outcome.config == ("created",)  # the layers are compared one by one instead
    found = {d.path: d.reasons for d in outcome.layers[0].files}
    assert found == {
        "/usr/local/bin/hi": ("link target",),
        "/usr/local/bin/stamp": ("in the second build only",),
    }


def test_a_layer_in_one_build_only_lists_all_its_files() -> None:
    outcome = repro.compare("t", read(saved_archive([BASE])), read(saved_archive([BASE, PROGRAM])))
    [layer] = outcome.layers
    assert layer.first is None and layer.second is not None
    assert {d.reasons for d in layer.files} == {("in the second build only",)}
    assert len(layer.files) == 3


def test_check_builds_twice_and_compares_only_what_differs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = make_plan(load_config(render(tmp_path, wide_config())[1]))
    targets = plan.select(["hello-scratch-musl", "hello-alpine"])
    ids = iter([{"a": "sha256:1", "b": "sha256:2"}, {"a": "sha256:1", "b": "sha256:3"}])
    builds: list[int] = []

    def image_ids(tags: list[str]) -> dict[str, str]:
        found = next(ids)
        return dict(zip(tags, found.values(), strict=True))

    saved = {
        "sha256:2": read(saved_archive([PROGRAM])),
        "sha256:3": read(saved_archive([PROGRAM[:2]])),
    }
    monkeypatch.setattr(repro.engine, "image_ids", image_ids)
    monkeypatch.setattr(repro, "save", saved.__getitem__)
    monkeypatch.setattr(repro, "_remove", lambda image: None)

    def build() -> set[str]:
        builds.append(1)
        return {t.name for t in targets}

    outcomes = repro.check(targets, build)
    assert len(builds) == 2
    by_name = {o.target: o for o in outcomes}
    assert by_name["hello-alpine"].reproducible
    broken = by_name["hello-scratch-musl"]
    assert not broken.reproducible
    assert broken.layers[0].files[0].reasons == ("in the first build only",)


# --- What the generated files say ---------------------------------------------------------


def test_every_target_passes_source_date_epoch_from_a_variable(tmp_path: Path) -> None:
    files, _ = render(tmp_path, wide_config())
    bake = load_hcl(files["docker-bake.hcl"])
    [variable] = bake["variable"]
    assert variable["SOURCE_DATE_EPOCH"]["default"] == "0"
    targets = bake_targets(files)
    assert len(targets) == len(make_plan(load_config(tmp_path / "slim.yaml")).targets)
    for target in targets.values():
        # The variable itself (an expression, not a string): bake and slim set it.
        assert target["args"] == {"SOURCE_DATE_EPOCH": "SOURCE_DATE_EPOCH"}
        assert "attest" not in target  # opt-in: the classic store's --load refuses it


def test_attest_renders_provenance_and_an_sbom_of_the_build_stage(tmp_path: Path) -> None:
    config = {**wide_config(), "attest": {"provenance": "max", "sbom": True}}
    files, _ = render(tmp_path, config)
    target = bake_targets(files)["hello-scratch-musl"]
    assert target["attest"] == ["type=provenance,mode=max", "type=sbom"]
    assert target["args"]["BUILDKIT_SBOM_SCAN_STAGE"] == "true"
    generator = {"sbom": True, "sbom_generator": "registry.example/sbom:1"}
    files, _ = render(tmp_path, {**wide_config(), "attest": generator})
    target = bake_targets(files)["hello-scratch-musl"]
    assert target["attest"] == ["type=sbom,generator=registry.example/sbom:1"]
    files, _ = render(tmp_path, {**wide_config(), "attest": {"provenance": "min"}})
    target = bake_targets(files)["hello-scratch-musl"]
    assert target["attest"] == ["type=provenance,mode=min"]
    assert "BUILDKIT_SBOM_SCAN_STAGE" not in target["args"]


def bake_targets(files: dict[str, str]) -> dict[str, dict[str, Any]]:
    blocks = load_hcl(files["docker-bake.hcl"])["target"]
    found = {name: body for block in blocks for name, body in block.items()}
    found.pop("docker-metadata-action")
    return found


def test_every_copied_tree_is_stamped_with_source_date_epoch(tmp_path: Path) -> None:
    files, _ = render(tmp_path, wide_config())
    for name, text in files.items():
        if not name.endswith(".Dockerfile") or "single-stage" in name:
            continue
        by_stage = stages(parse(text))
        for stage in ("rootfs", "closure", "files"):
            if stage not in by_stage:
                continue
            instructions = by_stage[stage]
            # An ARG is scoped to its stage: each stage that stamps declares it.
            assert any(
                i["instruction"] == "ARG" and i["value"] == "SOURCE_DATE_EPOCH"
                for i in instructions
            ), f"{name} {stage}"
            script = [i for i in instructions if i["instruction"] == "RUN"][-1]["script"]
            tree = {"rootfs": "/rootfs", "closure": "/closure", "files": "/files"}[stage]
            last = script.rstrip("\n").split("\n")[-1]
            assert last == f'find {tree} -exec touch -h -d "@${{SOURCE_DATE_EPOCH:-0}}" {{}} +'
        assert "files" in by_stage, name


# --- SOURCE_DATE_EPOCH from git -------------------------------------------------------------


def git(directory: Path, *args: str, when: int | None = None) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}  # fmt: skip
    if when is not None:
        env["GIT_COMMITTER_DATE"] = env["GIT_AUTHOR_DATE"] = f"@{when} +0000"
    subprocess.run(["git", *args], cwd=directory, env=env, check=True, capture_output=True)


def test_each_target_gets_the_commit_time_of_its_own_context(tmp_path: Path) -> None:
    config = {
        "version": 1,
        "artifacts": {
            "hello": {"lang": "c", "context": "hello", "runtimes": ["scratch-musl", "alpine"]},
            "other": {"lang": "c", "context": "other", "runtimes": ["scratch-musl"]},
        },
    }
    (tmp_path / "other").mkdir()
    _, path = render(tmp_path, config)
    (tmp_path / "hello" / "hello.c").write_text("int main(void) { return 0; }\n")
    (tmp_path / "other" / "other.c").write_text("int main(void) { return 1; }\n")
    plan = make_plan(load_config(path))
    targets = list(plan.targets)
    assert set(source_date_epochs(plan, targets).values()) == {NO_COMMIT_EPOCH}  # not in git
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "both", when=1600000000)
    (tmp_path / "other" / "other.c").write_text("int main(void) { return 2; }\n")
    git(tmp_path, "commit", "-qam", "other only", when=1700000000)
    (tmp_path / "slim.yaml").write_text((tmp_path / "slim.yaml").read_text() + "\n")
    git(tmp_path, "commit", "-qam", "outside both contexts", when=1800000000)
    epochs = source_date_epochs(plan, targets)
    assert epochs == {
        "hello-scratch-musl": 1600000000,
        "hello-alpine": 1600000000,
        "other-scratch-musl": 1700000000,
    }


def test_an_unknown_attestation_setting_is_refused_at_its_line(tmp_path: Path) -> None:
    from slim_bake.errors import ConfigError

    with pytest.raises(ConfigError, match=r"attest"):
        render(tmp_path, {**wide_config(), "attest": {"provenance": "full"}})
    with pytest.raises(ConfigError, match=r"attest"):
        render(tmp_path, {**wide_config(), "attest": {"signature": True}})
    with pytest.raises(ConfigError, match=r"sbom_generator"):  # a comma would add options
        render(tmp_path, {**wide_config(), "attest": {"sbom_generator": "x,type=provenance"}})
