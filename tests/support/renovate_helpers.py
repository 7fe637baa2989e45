"""Renovate's Dockerfile manager, as far as the pins file needs it: which files it reads,
what it extracts from a FROM line, and how it writes a new digest (a recorded update)."""

from __future__ import annotations

import re

# Renovate's Dockerfile extraction (lib/modules/manager/dockerfile/extract.ts, the
# `fromRegex` and `splitImageParts`, with the default escape character), copied from
# https://github.com/renovatebot/renovate/blob/c2dd4f856f068eeda4c10afc3752c35fe1f6cab1/lib/modules/manager/dockerfile/extract.ts
# and its default file patterns (lib/modules/manager/dockerfile/index.ts).
RENOVATE_FROM = re.compile(
    r"^[ \t]*FROM(?:\\[ \t]*\r?\n| |\t|#.*?\r?\n|--platform=\S+)+(?P<image>\S+)"
    r"(?:(?:\\[ \t]*\r?\n| |\t|#.*?\r?\n)+as[ \t]+(?P<name>\S+))?",
    re.IGNORECASE | re.MULTILINE,
)
RENOVATE_FILES = (
    re.compile(r"(^|/|\.)([Dd]ocker|[Cc]ontainer)file$"),
    re.compile(r"(^|/)([Dd]ocker|[Cc]ontainer)file[^/]*$"),
)


def renovate_deps(text: str) -> list[dict[str, str | None]]:
    """What Renovate extracts from each FROM line: depName, tag, digest (stages that
    name an earlier stage, and scratch, skipped as Renovate skips them)."""
    deps: list[dict[str, str | None]] = []
    stages: list[str] = []
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        match = RENOVATE_FROM.match(line)
        if match is None:
            continue
        if match["name"]:
            stages.append(match["name"])
        image = match["image"]
        if image == "scratch" or image in stages:
            continue
        tagged, _, digest = image.partition("@")
        parts = tagged.split(":")
        if len(parts) == 1 or "/" in parts[-1]:
            name, tag = tagged, None
        else:
            name, tag = ":".join(parts[:-1]), parts[-1]
        deps.append({"from": image, "depName": name, "tag": tag, "digest": digest or None})
    return deps


def renovate_update(text: str, dep: dict[str, str | None], digest: str) -> str:
    """Renovate's replacement of a digest: its autoReplaceStringTemplate
    `{{depName}}{{#if newValue}}:{{newValue}}{{/if}}{{#if newDigest}}@{{newDigest}}{{/if}}`
    written over the dependency's current text."""
    new = f"{dep['depName']}" + (f":{dep['tag']}" if dep["tag"] else "") + f"@{digest}"
    current = str(dep["from"])
    assert text.count(current) == 1
    return text.replace(current, new)
