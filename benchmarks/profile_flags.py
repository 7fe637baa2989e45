"""What does each flag of the `min` size profile do? Measured, not assumed.

Compiles examples/hello/hello.c and examples/textstats (about 2,600 lines of C) in the
gcc toolchain image (the offline stand-in by default) with musl-gcc and with gcc,
static, the way slim's C presets do (`CC -static CFLAGS -o OUT ./*.c LDFLAGS`, then the
profile's strip), and prints, per program and C library:

- the `default` profile without and with its strip step;
- each flag that `min` adds, alone on top of `default`;
- the flags of `min` added one at a time (cumulative), ending at `min` itself;
- a few flags `min` leaves out, on top of `min`, so their effect is on record too.

Every binary is run (hello: its output; textstats: `--self-test`) and must print
exactly what the `default` build prints: a flag that changes behaviour is marked.
The flags come from slim's own presets (languages.yaml), so the table measures the
shipped profiles. One `docker run` does all the compiling.

    python benchmarks/profile_flags.py [--image slim-standin/gcc:bookworm] [--go-image IMAGE]
        [--quick]

--quick: hello with musl only (and Go, and Rust when its image is there); exit status 1
when `default` or `min` does not link, `min` is not smaller than `default`, a flag of the
profiles changes the output, or a Go build does not print hello's greeting
(tests/integration/test_benchmarks.py runs it so that the script cannot rot).
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from slim_bake import presets

ROOT = Path(__file__).resolve().parent.parent
GCC_IMAGE = "slim-standin/gcc:bookworm"
GO_IMAGE = "slim-standin/golang:bookworm"
# No stand-in ships Rust; one is made by hand (see --help): mmdebstrap --variant=minbase
# --include=rustc,cargo,gcc,libc6-dev bookworm rust.tar && docker import rust.tar IMAGE
RUST_IMAGE = "slim-bench/rust:bookworm"

# Flags measured on top of `min` that it does not adopt, and why. (label, cflags,
# ldflags, extra strip arguments, note)
CANDIDATES: list[tuple[str, list[str], list[str], str, str]] = [
    ("strip -R .comment", [], [], "-R .comment", "saves the compiler's version string only"),
    ("-fno-stack-protector", ["-fno-stack-protector"], [], "", "no effect here; drops a hardening"),
    ("-fno-unwind-tables", ["-fno-unwind-tables"], [], "", "no effect beyond the asynchronous one"),
    ("-Wl,-n", [], ["-Wl,-n"], "", "no page alignment: breaks the binary"),
    ("-Wl,-N", [], ["-Wl,-N"], "", "writable text: breaks the binary"),
]
PROGRAMS = {  # name: (context folder, arguments of the behaviour check)
    "hello": (ROOT / "examples" / "hello", []),
    "textstats": (ROOT / "examples" / "textstats", ["--self-test"]),
}
TOOLCHAINS = {  # label: (compiler, link mode)
    "musl static": ("musl-gcc", "-static"),
    "glibc static": ("gcc", "-static"),
}
QUICK = (("hello",), ("musl static",))  # --quick: programs, toolchains


@dataclass(frozen=True)
class Variant:
    label: str
    group: str  # "profile", "alone", "cumulative", "left out"
    cflags: tuple[str, ...]
    ldflags: tuple[str, ...]
    strip: str | None  # strip's arguments; None: not stripped
    note: str = ""


@dataclass(frozen=True)
class Row:
    program: str
    toolchain: str
    variant: Variant
    size: int  # -1: did not build
    same_output: bool


def profile_flags(name: str) -> tuple[list[str], list[str], str | None]:
    """(cflags, ldflags, strip arguments or None) of a C profile, from slim's presets."""
    profile = presets.languages()["c"].profiles[name]
    variables = profile.vars
    strip = None
    for step in profile.post:
        if step.startswith("{strip} "):
            strip = step.removeprefix("{strip} ").replace(" {out}", "")
    return list(variables.get("cflags", [])), list(variables.get("ldflags", [])), strip


def flag_groups(cflags: list[str], ldflags: list[str]) -> list[tuple[str, list[str], list[str]]]:
    """The flags `min` adds as steps; -ffunction-sections and -fdata-sections are one
    step (each puts what it names in its own section, for --gc-sections to drop)."""
    steps: list[tuple[str, list[str], list[str]]] = []
    sections = [f for f in cflags if f in ("-ffunction-sections", "-fdata-sections")]
    for flag in cflags:
        if flag in sections:
            if flag == sections[0]:
                steps.append((" ".join(sections), sections, []))
            continue
        steps.append((flag, [flag], []))
    steps += [(flag, [], [flag]) for flag in ldflags]
    return steps


def variants() -> list[Variant]:
    d_c, d_l, d_strip = profile_flags("default")
    m_c, m_l, m_strip = profile_flags("min")
    added_c = [f for f in m_c if f not in d_c]
    added_l = [f for f in m_l if f not in d_l]
    # -Os replaces the default's -O level rather than adding to it
    optimisation = next((f for f in added_c if f.startswith("-O")), None)
    base_c = [f for f in d_c if not (optimisation and f.startswith("-O"))]
    result = [
        Variant("default without strip", "profile", tuple(d_c), tuple(d_l), None),
        Variant("default", "profile", tuple(d_c), tuple(d_l), d_strip),
    ]
    for label, cflags, ldflags in flag_groups(added_c, added_l):
        start = base_c if cflags == [optimisation] else d_c
        result.append(
            Variant(
                f"default + {label}", "alone", tuple(start + cflags), tuple(d_l + ldflags), d_strip
            )
        )
    cumulative_c, cumulative_l = list(d_c), list(d_l)
    for label, cflags, ldflags in flag_groups(added_c, added_l):
        if cflags == [optimisation]:
            cumulative_c = [f for f in cumulative_c if not f.startswith("-O")]
        cumulative_c += cflags
        cumulative_l += ldflags
        result.append(
            Variant(f"+ {label}", "cumulative", tuple(cumulative_c), tuple(cumulative_l), d_strip)
        )
    result.append(Variant("min (from the preset)", "profile", tuple(m_c), tuple(m_l), m_strip))
    for label, cflags, ldflags, strip_extra, note in CANDIDATES:
        strip = f"{m_strip or '--strip-all'} {strip_extra}".strip()
        variant = Variant(
            f"min + {label}", "left out", tuple(m_c + cflags), tuple(m_l + ldflags), strip, note
        )
        result.append(variant)
    return result


def _script(all_variants: list[Variant], programs: list[str], toolchains: list[str]) -> str:
    """A shell script that builds every program × toolchain × variant and prints
    `program|toolchain|index|bytes|output checksum` lines."""
    lines = ["set -eu", "mkdir -p /tmp/b"]
    for program in programs:
        args = " ".join(shlex.quote(a) for a in PROGRAMS[program][1])
        for toolchain in toolchains:
            cc, mode = TOOLCHAINS[toolchain]
            for i, v in enumerate(all_variants):
                out = f"/tmp/b/{program}-{cc}-{i}"
                cflags = " ".join(map(shlex.quote, v.cflags))
                ldflags = " ".join(map(shlex.quote, v.ldflags))
                strip = f" && strip {v.strip} {out}" if v.strip is not None else ""
                key = f"{program}|{toolchain}|{i}"
                built = (
                    f"(cd /src/{program} && {cc} {mode} {cflags} -o {out} ./*.c {ldflags}){strip}"
                )
                checksum = f"$({out} {args} 2>&1 | md5sum | cut -c1-12)"
                lines.append(
                    f'if {built} 2>/dev/null; then echo "{key}|$(wc -c <{out})|{checksum}";'
                    f" else echo '{key}|-1|'; fi"
                )
    return "\n".join(lines) + "\n"


def measure_c(
    image: str, programs: tuple[str, ...] = tuple(PROGRAMS), toolchains: tuple[str, ...] = ()
) -> list[Row]:
    all_variants = variants()
    mounts: list[str] = []
    for program in programs:
        mounts += ["-v", f"{PROGRAMS[program][0]}:/src/{program}:ro"]
    done = subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "--network=none",
            *mounts,
            image,
            "sh",
            "-c",
            _script(all_variants, list(programs), list(toolchains or TOOLCHAINS)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"profile_flags: the compile run failed:\n{done.stderr[-3000:]}")
    found: dict[tuple[str, str], dict[int, tuple[int, str]]] = {}
    for line in done.stdout.splitlines():
        program, toolchain, index, size, digest = line.split("|")
        found.setdefault((program, toolchain), {})[int(index)] = (int(size), digest)
    rows = []
    for (program, toolchain), sizes in found.items():
        reference = sizes[1][1]  # the `default` build's output
        for i, v in enumerate(all_variants):
            rows.append(Row(program, toolchain, v, sizes[i][0], sizes[i][1] == reference))
    return rows


def c_table(rows: list[Row]) -> str:
    """One Markdown table per program × C library."""
    blocks = [_flags_legend()]
    for program, toolchain in dict.fromkeys((r.program, r.toolchain) for r in rows):
        mine = [r for r in rows if (r.program, r.toolchain) == (program, toolchain)]
        default = next(r.size for r in mine if r.variant.label == "default")
        previous = default
        cc, mode = TOOLCHAINS[toolchain]
        lines = [
            f"**{program}, {toolchain}** (`{cc} {mode} FLAGS -o OUT ./*.c LDFLAGS`, then strip)",
            "",
            "| how | build | bytes | vs default | this step | same output |",
            "|---|---|---:|---:|---:|---|",
        ]
        for r in mine:
            v = r.variant
            label = v.label + (f" ({v.note})" if v.note else "")
            if r.size < 0:
                lines.append(f"| {v.group} | {label} | does not link | | | |")
                continue
            step = f"{r.size - previous:+,}" if v.group == "cumulative" else ""
            if v.group == "cumulative":
                previous = r.size
            same = "yes" if r.same_output else "**no**"
            lines.append(
                f"| {v.group} | {label} | {r.size:,} | {r.size - default:+,} | {step} | {same} |"
            )
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def _flags_legend() -> str:
    d_c, d_l, d_strip = profile_flags("default")
    m_c, m_l, m_strip = profile_flags("min")
    return (
        "Profiles (from `src/slim_bake/presets/languages.yaml`):"
        f" `default` = `{' '.join(d_c + d_l)}`,"
        f" then `strip {d_strip}`; `min` = `{' '.join(m_c + m_l)}`, then `strip {m_strip}`."
        " *alone*: one flag of `min` added to `default`; *cumulative*: the flags of `min` added"
        " one at a time; *left out*: measured on top of `min`, not adopted. *same output*: the"
        " binary prints exactly what the `default` build prints (hello: its greeting;"
        " textstats: `--self-test`)."
    )


# --- Go -----------------------------------------------------------------------------

GO_HELLO = 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("Hello, world!")\n}\n'
GO_VARIANTS: list[tuple[str, str, str]] = [  # label, CGO_ENABLED, go build flags
    ("CGO_ENABLED=1 go build", "1", ""),
    ("CGO_ENABLED=0 go build", "0", ""),
    ("CGO_ENABLED=0 -trimpath", "0", "-trimpath"),
    ("CGO_ENABLED=0 -ldflags=-s", "0", "-ldflags=-s"),
    ("CGO_ENABLED=0 -ldflags=-w", "0", "-ldflags=-w"),
    ("CGO_ENABLED=0 -trimpath -ldflags='-s -w' (min)", "0", "-trimpath -ldflags='-s -w'"),
]


def run_script(image: str, source: str, script: list[str]) -> subprocess.CompletedProcess[str]:
    """Run shell lines in `image` with `source` mounted read-only at /src, no network."""
    command = ["docker", "run", "--rm", "--network=none", "-v", f"{source}:/src:ro", image]
    return subprocess.run(
        [*command, "sh", "-c", "\n".join(script)], capture_output=True, text=True, check=False
    )


def measure_go(image: str) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "main.go").write_text(GO_HELLO)
        Path(tmp, "go.mod").write_text("module hello\n\ngo 1.19\n")
        script = ["set -eu", "cp -r /src /tmp/h", "cd /tmp/h"]
        for i, (_, cgo, flags) in enumerate(GO_VARIANTS):
            script.append(f"CGO_ENABLED={cgo} go build {flags} -o /tmp/g{i} .")
            script.append(f'echo "{i}|$(wc -c </tmp/g{i})|$(/tmp/g{i})"')
        done = run_script(image, tmp, script)
    if done.returncode != 0:
        return f"(Go not measured: {done.stderr.strip()[-500:]})\n"
    sizes = {
        int(i): (int(n), out)
        for i, n, out in (line.split("|", 2) for line in done.stdout.splitlines())
    }
    base = sizes[0][0]
    lines = ["| build | bytes | vs first | prints |", "|---|---:|---:|---|"]
    for i, (label, _, _) in enumerate(GO_VARIANTS):
        size, out = sizes[i]
        lines.append(f"| `{label}` | {size:,} | {size - base:+,} | {out} |")
    return (
        "**hello.go, Go toolchain of the stand-in** (`go build -o OUT .`)\n\n"
        + "\n".join(lines)
        + "\n"
    )


# --- Rust ---------------------------------------------------------------------------

RUST_HELLO = 'fn main() {\n    println!("Hello, world!");\n}\n'
CARGO_TOML = '[package]\nname = "hello"\nversion = "0.1.0"\nedition = "2021"\n'


def rust_variants() -> list[tuple[str, dict[str, str]]]:
    """(label, CARGO_PROFILE_RELEASE_* environment) from slim's Rust profiles."""
    profiles = presets.languages()["rust"].profiles
    default: dict[str, str] = dict(profiles["default"].env)
    minimal: dict[str, str] = dict(profiles["min"].env)
    added = {k: v for k, v in minimal.items() if default.get(k) != v}
    result = [("cargo's release profile", {}), ("default", default)]
    result += [(f"default + {_short(k)}={v}", {**default, k: v}) for k, v in added.items()]
    cumulative = dict(default)
    for k, v in added.items():
        cumulative[k] = v
        result.append((f"+ {_short(k)}={v}", dict(cumulative)))
    result.append(("min (from the preset)", minimal))
    return result


def _short(key: str) -> str:
    return key.removeprefix("CARGO_PROFILE_RELEASE_").lower()


def measure_rust(image: str) -> str:
    if subprocess.run(
        ["docker", "image", "inspect", image], capture_output=True, check=False
    ).returncode:
        return f"(Rust not measured: no image {image} with a Rust toolchain in the engine)\n"
    variants_ = rust_variants()
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "src").mkdir()
        Path(tmp, "src", "main.rs").write_text(RUST_HELLO)
        Path(tmp, "Cargo.toml").write_text(CARGO_TOML)
        script = ["set -eu", "cp -r /src /tmp/h", "cd /tmp/h", "cargo --version >&2"]
        for i, (_, env) in enumerate(variants_):
            assignments = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
            script += [
                "rm -rf target",
                f"env {assignments} cargo build --release --offline --quiet",
                f'echo "{i}|$(wc -c <target/release/hello)|$(target/release/hello)"',
            ]
        done = run_script(image, tmp, script)
    if done.returncode != 0:
        return f"(Rust not measured: {done.stderr.strip()[-500:]})\n"
    version = done.stderr.strip().splitlines()[0] if done.stderr.strip() else "cargo"
    sizes = {
        int(i): (int(n), out)
        for i, n, out in (line.split("|", 2) for line in done.stdout.splitlines())
    }
    default = sizes[1][0]
    lines = ["| build | bytes | vs default | prints |", "|---|---:|---:|---|"]
    for i, (label, _) in enumerate(variants_):
        size, out = sizes[i]
        lines.append(f"| {label} | {size:,} | {size - default:+,} | {out} |")
    return (
        f"**hello.rs, {version}, host target (glibc, dynamic)** (`cargo build --release`"
        " with CARGO_PROFILE_RELEASE_* set; Cargo.toml untouched). No stand-in ships Rust:"
        f" `{image}` is Debian bookworm's rustc and cargo, made by hand"
        " (`mmdebstrap --variant=minbase --include=rustc,cargo,gcc,libc6-dev bookworm rust.tar`,"
        " `docker import`).\n\n" + "\n".join(lines) + "\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--image", default=GCC_IMAGE, help="gcc + musl-tools image (default: %(default)s)"
    )
    parser.add_argument(
        "--go-image", default=GO_IMAGE, help="Go toolchain image (default: %(default)s)"
    )
    parser.add_argument(
        "--rust-image", default=RUST_IMAGE, help="Rust toolchain image (default: %(default)s)"
    )
    parser.add_argument("--quick", action="store_true", help="hello with musl only; checked")
    args = parser.parse_args()
    if not args.quick:
        print(report(args.image, args.go_image, args.rust_image))
        return 0
    rows = measure_c(args.image, *QUICK)
    go = measure_go(args.go_image)
    print("\n".join([c_table(rows), go, measure_rust(args.rust_image)]))
    problems = c_problems(rows) + go_problems(go)
    for problem in problems:
        print(f"profile_flags: {problem}", file=sys.stderr)
    return 1 if problems else 0


def report(gcc_image: str, go_image: str, rust_image: str, quick: bool = False) -> str:
    """The whole per-flag report as Markdown (hello with musl only when quick)."""
    rows = measure_c(gcc_image, *QUICK) if quick else measure_c(gcc_image)
    return "\n".join([c_table(rows), measure_go(go_image), measure_rust(rust_image)])


def c_problems(rows: list[Row]) -> list[str]:
    """What contradicts the profiles' promise: both link, `min` is smaller than
    `default`, stripping saves bytes, and no flag they use changes the output."""
    problems = []
    for program, toolchain in dict.fromkeys((r.program, r.toolchain) for r in rows):
        size = {
            r.variant.label: r.size
            for r in rows
            if (r.program, r.toolchain) == (program, toolchain)
        }
        where = f"{program}, {toolchain}"
        if min(size["default"], size["min (from the preset)"]) < 0:
            problems.append(f"{where}: `default` or `min` does not link")
        elif not size["min (from the preset)"] < size["default"] < size["default without strip"]:
            sizes = [size[k] for k in ("min (from the preset)", "default", "default without strip")]
            problems.append(f"{where}: not min < default < default without strip: {sizes}")
    problems += [
        f"{r.program}, {r.toolchain}: `{r.variant.label}` changes the output"
        for r in rows
        if r.variant.group != "left out" and not r.same_output
    ]
    return problems


def go_problems(table: str) -> list[str]:
    """Every Go build ran and printed hello's greeting."""
    greeted = sum(line.endswith("| Hello, world! |") for line in table.splitlines())
    if greeted != len(GO_VARIANTS):
        return [f"{greeted} of {len(GO_VARIANTS)} Go builds printed the greeting:\n{table}"]
    return []


if __name__ == "__main__":
    sys.exit(main())
