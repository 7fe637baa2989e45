"""Growth budgets and "why it grew", on reports made in memory (no engine): growth
judged in percent and in bytes, targets new, removed, not built or failed on either
side shown as such, and the explanation naming the layer, the file or the base."""

from __future__ import annotations

import pytest
from support.report_samples import (
    BASE_LAYER,
    COPY_BINARY,
    COPY_ROOTFS,
    figures,
    hello,
    report,
    target,
)

from slim_bake.config import Budget
from slim_bake.report import markdown
from slim_bake.report.compare import compare
from slim_bake.report.explain import digest_change
from slim_bake.report.model import FILE_LIMIT, State
from slim_bake.report.terminal import why_lines
from slim_bake.units import parse_growth

PERCENT_5 = Budget(max_growth=parse_growth("5%"), spelled={"max_growth": "5%"})
BYTES_10K = Budget(max_growth=parse_growth("10kB"), spelled={"max_growth": "10kB"})


def judged(before: int, after: int, budget: Budget) -> tuple[str, tuple[str, ...]]:
    base = report(target("hello-scratch-musl", hello(before)))
    head = report(target("hello-scratch-musl", hello(after), budget=budget))
    result = compare(base, head).targets[0]
    return result.status, result.reasons


@pytest.mark.parametrize(
    ("after", "budget", "status"),
    [
        (19_900, PERCENT_5, "pass"),  # +4.7% of 19,121 B (121 B rootfs + 19,000 B binary)
        (20_100, PERCENT_5, "over-budget"),  # +5.8%
        (29_000, BYTES_10K, "pass"),  # +10,000 B: at the limit is within it
        (29_001, BYTES_10K, "over-budget"),
        (5_000, PERCENT_5, "pass"),  # shrinking never breaks a growth budget
    ],
)
def test_growth_is_judged_in_percent_or_bytes_against_the_baseline(
    after: int, budget: Budget, status: str
) -> None:
    got, reasons = judged(19_000, after, budget)
    assert got == status
    if status == "over-budget":
        assert len(reasons) == 1
        assert f"max_growth {budget.spelled['max_growth']}" in reasons[0]
        assert f"+{after - 19_000:,} B" in reasons[0]
    else:
        assert reasons == ()


def test_without_max_growth_a_target_may_grow() -> None:
    assert judged(19_000, 90_000, Budget()) == ("pass", ())


def test_a_growth_failure_does_not_hide_a_failed_smoke_check() -> None:
    base = report(target("hello-scratch-musl", hello(19_000)))
    head = report(
        target(
            "hello-scratch-musl",
            hello(40_000),
            status="smoke-failed",
            reasons=("smoke check: exit code 1, expected 0",),
            budget=PERCENT_5,
        )
    )
    result = compare(base, head)
    [only] = result.targets
    assert only.status == "smoke-failed"
    assert only.reasons[0].startswith("smoke check")
    assert "max_growth 5%" in only.reasons[1]
    assert only.over_budget
    assert result.exit_code == 1


def test_new_removed_not_built_and_failed_targets_are_shown_as_such_never_passed_silently() -> None:
    base = report(
        target("hello-a", hello(19_000)),
        target("hello-b", None, status="build-failed", reasons=("the build failed",)),
        target("hello-c", hello(19_000)),
        target("hello-d", hello(19_000)),
        target("hello-f", hello(19_000)),
    )
    head = report(
        target("hello-a", hello(19_100), budget=PERCENT_5),
        target("hello-b", hello(19_000), budget=PERCENT_5),
        target("hello-e", hello(19_000), budget=PERCENT_5),
        target("hello-f", None, status="measure-failed", reasons=("measurement failed: x",)),
        config_targets=("hello-a", "hello-b", "hello-c", "hello-e", "hello-f"),
    )
    result = compare(base, head)
    states = {t.name: t.state for t in (*result.targets, *result.missing)}
    assert states == {
        "hello-a": State.COMPARED,
        "hello-b": State.BASELINE_FAILED,
        "hello-e": State.NEW,
        "hello-f": State.FAILED,
        "hello-c": State.NOT_BUILT,  # still in slim.yaml, not selected in this run
        "hello-d": State.REMOVED,  # gone from slim.yaml
    }
    by_name = {t.name: t for t in result.targets}
    assert by_name["hello-b"].base is not None and by_name["hello-b"].base.status == "build-failed"
    assert by_name["hello-b"].delta is None  # nothing to compare with: not judged, not passed
    assert by_name["hello-f"].status == "measure-failed"
    assert result.exit_code == 3


def test_a_bigger_binary_is_explained_by_its_layer_and_file() -> None:
    base = report(target("hello-scratch-musl", hello(17_808)))
    head = report(target("hello-scratch-musl", hello(57_808), budget=PERCENT_5))
    [result] = compare(base, head).targets
    explanation = result.explanation
    assert explanation is not None
    assert not explanation.base.changed
    assert explanation.cause == "our layers changed, base image unchanged"
    [layer] = explanation.layers
    assert (layer.change, layer.instruction, layer.delta) == (
        "grew",
        "COPY /out/hello /usr/local/bin/hello",
        40_000,
    )
    [file] = explanation.files
    assert (file.path, file.change, file.before, file.after) == (
        "/usr/local/bin/hello",
        "grown",
        17_808,
        57_808,
    )
    assert file.instruction == "COPY /out/hello /usr/local/bin/hello"


def test_an_extra_file_is_named_with_the_instruction_that_added_it() -> None:
    certs = ("/etc/ssl/certs/ca-certificates.crt", 222_000)
    base = report(target("hello-scratch-musl", hello(17_808)))
    head = report(target("hello-scratch-musl", hello(17_808, (certs,))))
    explanation = compare(base, head).targets[0].explanation
    assert explanation is not None
    assert [(c.change, c.instruction) for c in explanation.layers] == [("grew", "COPY /rootfs/ /")]
    assert [(f.path, f.change, f.delta) for f in explanation.files] == [
        (certs[0], "added", 222_000)
    ]


def test_a_new_base_image_is_named_and_our_layers_are_cleared() -> None:
    binary = [(683_000, COPY_BINARY)]
    files = [("/usr/local/bin/hello", 683_000, 1)]
    static = ("slim-standin/distroless:static", "sha256:" + "1" * 64, 1_530_000)
    cc = ("slim-standin/distroless:cc", "sha256:" + "2" * 64, 8_377_000)
    base = report(target("hello-distroless-static", figures(binary, files, static)))
    head = report(target("hello-distroless-static", figures(binary, files, cc)))
    [result] = compare(base, head).targets
    explanation = result.explanation
    assert explanation is not None
    assert explanation.base.changed
    assert explanation.base.delta == 8_377_000 - 1_530_000
    assert explanation.cause == "base image changed, our layers did not"
    assert explanation.layers == () and explanation.files == ()


def test_the_same_base_name_with_a_new_image_id_is_a_changed_base() -> None:
    binary, files = [(683_000, COPY_BINARY)], [("/usr/local/bin/hello", 683_000, 1)]
    old = ("distroless:static", "sha256:" + "1" * 64, 1_530_000)
    new = ("distroless:static", "sha256:" + "3" * 64, 1_600_000)
    base = report(target("hello-distroless-static", figures(binary, files, old)))
    head = report(target("hello-distroless-static", figures(binary, files, new)))
    explanation = compare(base, head).targets[0].explanation
    assert explanation is not None and explanation.base.changed


def test_a_new_instruction_is_an_added_layer_and_a_changed_one_names_both() -> None:
    base = report(target("t-x", figures([(100, "COPY a /a"), (200, "RUN make")], [])))
    head = report(
        target(
            "t-x",
            figures([(100, "COPY a /a"), (300, "RUN make -j2"), (50, "COPY b /b")], []),
        )
    )
    explanation = compare(base, head).targets[0].explanation
    assert explanation is not None
    changes = {(c.change, c.instruction, c.before_instruction) for c in explanation.layers}
    assert changes == {("grew", "RUN make -j2", "RUN make"), ("added", "COPY b /b", None)}


def test_with_only_the_largest_files_listed_an_unlisted_file_is_new_or_grown() -> None:
    many = [(f"/data/{n:04}", 1_000 + n, 0) for n in range(FILE_LIMIT + 20)]
    total = sum(size for _, size, _ in many)
    base_figures = figures([(total, "COPY data /data")], many)
    assert not base_figures.files.complete and len(base_figures.files.largest) == FILE_LIMIT
    grown = [*many[:-1], ("/data/0000", 5_000, 0)]  # was among the smallest, unlisted
    head_figures = figures([(total + 4_000, "COPY data /data")], grown)
    explanation = (
        compare(report(target("t-x", base_figures)), report(target("t-x", head_figures)))
        .targets[0]
        .explanation
    )
    assert explanation is not None
    [file] = explanation.files
    assert (file.path, file.change, file.before) == ("/data/0000", "unlisted", None)


def test_base_layers_are_not_counted_as_ours() -> None:
    measured = figures([(10, COPY_ROOTFS)], [], ("debian", "sha256:" + "4" * 64, 1_000))
    assert measured.layers[0].diff_id == BASE_LAYER and measured.layers[0].from_base
    assert measured.base_size == 1_000


def test_a_pinned_base_at_a_new_digest_is_named_with_both_digests() -> None:
    binary, files = [(683_000, COPY_BINARY)], [("/usr/local/bin/hello", 683_000, 1)]
    pinned = "distroless:static@sha256:"
    old = (pinned + "a" * 64, "sha256:" + "1" * 64, 1_530_000)
    new = (pinned + "b" * 64, "sha256:" + "3" * 64, 1_600_000)
    base = report(target("hello-distroless-static", figures(binary, files, old)))
    head = report(target("hello-distroless-static", figures(binary, files, new)))
    [result] = compare(base, head).targets
    assert result.explanation is not None
    words = digest_change(result.explanation.base)
    assert words == (
        f"base distroless:static changed (digest sha256:{'a' * 12}… → sha256:{'b' * 12}…)"
    )
    assert f"  {words}: +70kB" in why_lines(result)
    comment = markdown.render(compare(base, head))
    assert (
        f"**Base image changed:** `distroless:static` digest `sha256:{'a' * 12}…` →"
        f" `sha256:{'b' * 12}…`"
    ) in comment
    other = ("distroless:cc@sha256:" + "b" * 64, "sha256:" + "3" * 64, 1_600_000)
    moved = compare(base, report(target("hello-distroless-static", figures(binary, files, other))))
    assert moved.targets[0].explanation is not None
    assert digest_change(moved.targets[0].explanation.base) is None  # another image, not a digest
