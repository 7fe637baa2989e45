"""`--junit FILE`: one testsuite per run, one testcase per target × check, failures
with their reasons; any name or reason gives well-formed XML that reads back the same;
assertion results survive the JSON report both ways, and older reports still read."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.report_samples import hello, report, target, write

from slim_bake.cli import main
from slim_bake.config import Budget
from slim_bake.judge import Check, Status, Verdict
from slim_bake.report import junit
from slim_bake.report.codec import to_json
from slim_bake.report.compare import compare
from slim_bake.report.reading import parse_report

REPORT_V1 = Path(__file__).parent.parent / "data" / "report-v1"
SH = "/bin/sh is present (layer 1, from the base image)"


def asserted(name: str = "hello-scratch-musl", failures: tuple[str, ...] = (SH,)) -> object:
    checks = (
        Check("smoke"),
        Check("assert.absent", failures),
        Check("assert.user"),
        Check("budget.max"),
    )
    status = Status.ASSERT_FAILED if failures else Status.PASS
    record = target(name, hello(17_808), budget=Budget(max=30_000))
    return replace(record, verdict=Verdict(status, failures, checks))


def cases(xml: str) -> dict[tuple[str, str], str | None]:
    """(classname, name) → failure message (None: passed)."""
    suites = ET.fromstring(xml)
    [suite] = suites.findall("testsuite")
    found = {}
    for case in suite.findall("testcase"):
        failure = case.find("failure")
        found[case.get("classname"), case.get("name")] = (
            failure.get("message") if failure is not None else None
        )
    return found


def test_one_testcase_per_target_and_check_with_failures_named() -> None:
    head = report(asserted(), target("hello-alpine", None, "build-failed", ("the build failed",)))
    xml = junit.render(compare(None, head))
    assert cases(xml) == {
        ("hello-scratch-musl", "build"): None,
        ("hello-scratch-musl", "smoke"): None,
        ("hello-scratch-musl", "assert.absent"): SH,
        ("hello-scratch-musl", "assert.user"): None,
        ("hello-scratch-musl", "budget.max"): None,
        ("hello-alpine", "build"): "the build failed",
    }
    suite = ET.fromstring(xml).find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("failures")) == ("6", "2")


def test_growth_is_a_testcase_when_a_baseline_judged_it() -> None:
    budget = Budget(max_growth=("percent", 5.0), spelled={"max_growth": "5%"})
    before = report(target("hello-scratch-musl", hello(10_000), budget=budget))
    after = report(target("hello-scratch-musl", hello(20_000), budget=budget))
    found = cases(junit.render(compare(before, after)))
    assert found[("hello-scratch-musl", "budget.max_growth")] is not None
    assert found[("hello-scratch-musl", "checks")] is None  # no checks recorded: one case


XML_TEXT = st.text(st.characters(codec="utf-8") | st.characters(), max_size=40)


@settings(max_examples=300, deadline=None)
@given(name=XML_TEXT, reasons=st.lists(XML_TEXT, min_size=1, max_size=3))
def test_any_name_and_reason_gives_xml_that_reads_back(name: str, reasons: list[str]) -> None:
    head = report(asserted(name, tuple(reasons)))
    xml = junit.render(compare(None, head))
    root = ET.fromstring(xml.encode("utf-8"))  # well-formed, and writable as UTF-8
    case = next(c for c in root.iter("testcase") if c.get("name") == "assert.absent")
    failure = case.find("failure")
    assert failure is not None
    shown = junit.xml_safe("\n".join(reasons))
    assert case.get("classname") == junit.xml_safe(name)
    assert failure.get("message") == shown
    assert (failure.text or "") == shown.replace("\r", "\\r")
    if all(junit._legal(ch) for ch in name):
        assert case.get("classname") == name  # legal text is kept exactly


def test_characters_xml_cannot_carry_are_written_visibly() -> None:
    assert junit.xml_safe("a\x1b[2Jb\x00\udc80\uffff") == "a\\x1b[2Jb\\x00\\udc80\\uffff"
    assert junit.xml_safe("tab\tline\nok ✓") == "tab\tline\nok ✓"


def test_assertion_results_survive_the_json_report_and_old_reports_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = to_json(compare(None, report(asserted())))
    assert data["summary"]["statuses"]["assert-failed"] == 1
    read = parse_report(json.dumps(data), "r.json")
    assert read.targets[0].verdict == asserted().verdict  # type: ignore[attr-defined]
    old = parse_report((REPORT_V1 / "v1-main-run.json").read_text(), "v1")
    assert all(t.verdict.checks == () for t in old.targets)
    assert "assert-failed" not in to_json(compare(None, old))["summary"]["statuses"]
    base = write(tmp_path / "base.json", report(asserted(failures=())))
    head = write(tmp_path / "head.json", report(asserted()))
    out = tmp_path / "junit.xml"
    assert main(["report", str(base), str(head), "--junit", str(out)]) == 1
    assert cases(out.read_text())[("hello-scratch-musl", "assert.absent")] == SH
    assert f"hello-scratch-musl: {SH}" in capsys.readouterr().out
