"""Quality figures from labels, the Markdown table, the extensible HTML report, and field access."""

from __future__ import annotations

import json
from pathlib import Path

from backtest_helpers import MIN, T0
from cloud_secrets.evaluation.backtest.alerts import Alert
from cloud_secrets.evaluation.backtest.quality import DAY_MS, assess, markdown, read_labels, summary, with_pack_total
from cloud_secrets.evaluation.backtest.report import Report
from cloud_secrets.fieldpath import compile_getter
from cloud_secrets.timestamps import iso_ms

DAY = DAY_MS


def labels_file(tmp_path: Path) -> Path:
    rows = [("benign_week", "benign", "app", T0), ("benign_week", "benign", "ci", T0 + DAY + MIN),
            ("stratus", "attack", "thief", T0 + DAY + 2 * MIN), ("stratus", "attack", "thief", T0 + DAY + 3 * MIN),
            ("low_and_slow", "attack", "slow", T0 + DAY + 4 * MIN), ("benign_week", "benign", "app", T0 + 3 * DAY)]
    path = tmp_path / "labels.jsonl"
    path.write_text("".join(json.dumps({"index": i, "line": i + 1, "scenario": s, "kind": k, "identity": who,
                                        "actor": who, "dataset": "aws.cloudtrail", "timestamp": iso_ms(ts)}) + "\n"
                            for i, (s, k, who, ts) in enumerate(rows)))
    return path


def alert(rule: str, events: list[int], start: int) -> Alert:
    return Alert(rule, "x", None, start, start, len(events), events, [e + 1 for e in events])


def test_recall_false_alerts_per_day_after_warmup_and_markdown(tmp_path: Path) -> None:
    alerts = [alert("a", [2, 3], T0 + DAY), alert("a", [0], T0), alert("a", [1], T0 + DAY + MIN),
              alert("a", [5], T0 + 3 * DAY), alert("b", [1, 4], T0 + DAY)]
    labels = read_labels(labels_file(tmp_path), {0, 1, 2, 3, 4, 5})
    q = assess(alerts, labels, ["a", "b", "c"])
    by = {r.rule: r for r in q.rules}
    assert labels.scenarios == ["stratus", "low_and_slow"] and q.benign_identities == 2
    assert by["a"].detected == {"stratus"} and by["a"].missed == ["low_and_slow"]
    # benign alerts: one in the warm-up day (not counted), two after it, over the 2 days after the warm-up
    assert by["a"].false_alerts == 2 and by["a"].false_per_day == 1.0
    assert by["a"].benign_identities_alerted == {"app", "ci"}
    assert by["b"].detected == {"low_and_slow"} and by["b"].false_alerts == 0  # has an attack document
    assert by["c"].detected == set() and by["c"].alerts == 0
    table = markdown(q)
    assert table.splitlines()[0] == "| scenario | `a` | `b` | `c` |"
    assert "| stratus | ✓ | ✗ | ✗ |" in table and "| **false alerts / day** | 1.0 | 0.0 | 0.0 |" in table
    total = with_pack_total(q, leave_out=("c",))
    assert [r.rule for r in total.rules] == ["a", "b", "whole pack", "c"]
    assert total.rules[2].detected == {"stratus", "low_and_slow"} and total.rules[2].false_alerts == 2


def test_tiers_visible_total_and_summary_json(tmp_path: Path) -> None:
    """"visible" judges the rules that are not building blocks together; the summary gives every pack rule's
    recall as [caught, total], false alerts a day after the warm-up and tier, and leaves out the seed."""
    alerts = [alert("bb", [2, 3], T0 + DAY), alert("bb", [1], T0 + DAY + MIN), alert("bb", [5], T0 + 3 * DAY),
              alert("v", [4], T0 + DAY), alert("v", [1], T0 + 2 * DAY), alert("seed_as_written", [1], T0 + DAY)]
    labels = read_labels(labels_file(tmp_path), {0, 1, 2, 3, 4, 5})
    q = with_pack_total(assess(alerts, labels, ["v", "bb", "seed_as_written"], building_blocks=frozenset({"bb"})))
    assert [r.rule for r in q.rules] == ["v", "visible", "bb", "whole pack", "seed_as_written"]
    assert "| *tier* | visible | **what an analyst sees** | building block | all tiers | reference |" in markdown(q)
    assert summary(q) == {
        "rules": {"v": {"recall": [1, 2], "false_alerts_per_day": 0.5, "building_block": False},
                  "bb": {"recall": [1, 2], "false_alerts_per_day": 1.0, "building_block": True}},
        "visible": {"recall": [1, 2], "false_alerts_per_day": 0.5},
    }
    later = with_pack_total(assess(alerts, labels, ["v", "bb"], 2 * DAY + MIN, frozenset({"bb"})))
    assert summary(later)["visible"]["false_alerts_per_day"] == 0.0  # the warm-up is respected


def test_report_sections_can_be_added_by_other_modules(tmp_path: Path) -> None:
    report = Report("Title <&>")
    report.add_section("First", "<p>one</p>")
    report.add_image("Picture", b"\x89PNG fake", caption="a caption")
    page = report.write(tmp_path / "r.html").read_text()
    assert page.index("<h2>First</h2>") < page.index("<h2>Picture</h2>")
    assert "Title &lt;&amp;&gt;" in page and "data:image/png;base64,iVBORyBmYWtl" in page


def test_fields_as_elasticsearch_reads_them() -> None:
    doc = {"a": {"b": [1, [2, 3]], "c": {"d": 4}, "n": None}, "x.y": 5, "arr": [{"k": 1}, {"k": [2]}],
           "e": {"f.g": 6}, "empty": []}
    assert compile_getter("a.b")(doc) == [1, 2, 3]
    assert compile_getter("a.c.d")(doc) == 4
    assert compile_getter("x.y")(doc) == 5  # dotted key
    assert compile_getter("arr.k")(doc) == [1, 2]  # array of objects
    assert compile_getter("e.f.g")(doc) == 6
    for missing in ("a.c", "a.n", "zz", "a.zz", "empty", "a"):  # objects are not values; null and [] are missing
        assert compile_getter(missing)(doc) is None, missing
