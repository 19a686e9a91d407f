"""The backtest on simulated documents tagged by the package's pipeline on the real engine, and its
HTML report screenshotted in headless Chromium."""

from __future__ import annotations

import subprocess
from pathlib import Path

import orjson
import pytest
from PIL import Image

from cloud_secrets.assets.dashboards import dashboards
from cloud_secrets.assets.rules.exceptions import Allowlist
from cloud_secrets.evaluation import baselines
from cloud_secrets.evaluation.backtest import (
    Result,
    assess,
    package_rules,
    read_labels,
    run_file,
    seed_as_written,
    select,
)
from cloud_secrets.evaluation.backtest.plots import build_report
from cloud_secrets.evaluation.backtest.readers import native_available
from cloud_secrets.evaluation.backtest.rulepack import with_allowlist
from cloud_secrets.evaluation.backtest.run import run_lines
from cloud_secrets.evaluation.backtest.sample import Sample
from cloud_secrets.evaluation.simulate.allowlist import automation_identities
from cloud_secrets.evaluation.simulate.attacks import ATTACKS
from cloud_secrets.timestamps import iso_ms, to_ms

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def sample(two_day_sample: Sample) -> Sample:
    return two_day_sample  # conftest: all attacks in 2 days of 40 identities, seed 3, tagged once per session


@pytest.fixture(scope="module")
def pack_result(sample: Sample) -> Result:
    """The pack and the seed as written over the sample, with the native reader when built (run once here)."""
    return run_file(str(sample.tagged), [*package_rules(), seed_as_written()])


@pytest.mark.engine
def test_rules_catch_the_scenarios_they_are_built_for(sample: Sample, pack_result: Result) -> None:
    result = pack_result
    assert result.documents == sample.documents
    labels = read_labels(sample.labels, {i for a in result.alerts for i in a.events})
    q = {r.rule: r for r in assess(result.alerts, labels, result.judged_rules()).rules}
    assert len(labels.scenarios) == len(ATTACKS)  # every attack scenario once
    assert {"vault_token_harvest", "ssm_parameters_by_path_sweep"} <= q["bulk_access_distinct_secrets"].detected
    # Key Vault data-plane reads are in azure.platformlogs: the pack sees them, the seed as written does not.
    assert "seed_azure_list_get" in q["enumerate_then_retrieve"].detected
    assert "seed_azure_list_get" not in q["seed_as_written"].detected
    assert "microburst_keyvault_dump" in q["bulk_access_sequence"].detected
    assert "microburst_keyvault_dump" not in q["seed_as_written"].detected
    # 42 secrets in 5 batch calls: only the rule that counts secrets per call sees it.
    assert "stratus_aws_batch_retrieve" in q["bulk_access_distinct_secrets"].detected
    assert "stratus_aws_batch_retrieve" not in q["bulk_access_sequence"].detected
    assert q["failed_access_spray"].detected == {"denied_probing"}
    assert "compromised_ci_identity" in q["first_seen_secret_access"].detected
    # the transform's summary rows, derived from the stream, feed baseline_deviation: a dump of a vault or
    # of 20 secrets in an hour beats the thief's identity's baseline; its alert covers that hour's documents
    assert not result.skipped_rules
    assert {"microburst_keyvault_dump", "stratus_gcp_retrieve"} <= q["baseline_deviation"].detected
    assert "low_and_slow" not in q["baseline_deviation"].detected  # five secrets an hour


@pytest.mark.engine
def test_the_native_reader_gives_the_python_readers_results(sample: Sample, pack_result: Result) -> None:
    """The compiled reader parses only the fields the pack reads (Runner.fields): every rule, with alert
    suppression and the simulated team's allowlist as rule exceptions, alerts exactly as over whole documents."""
    assert native_available(), "the native reader is not built: run `make bootstrap`"
    allow = Allowlist(tuple(automation_identities(sample.labels.read_text().splitlines())))
    runs = (([*package_rules(), seed_as_written()], pack_result), (with_allowlist(package_rules(), allow), None))
    for rules, done in runs:  # the fixture's run is the native reader's (asserted available above)
        native = done or run_file(str(sample.tagged), rules, native=True)
        python = run_file(str(sample.tagged), rules, native=False)
        assert [a.to_json() for a in native.alerts] == [a.to_json() for a in python.alerts]
        assert [a.events for a in native.alerts] == [a.events for a in python.alerts]
        assert (native.documents, native.parsed, native.suppressed, native.first_ts, native.last_ts) == \
            (python.documents, python.parsed, python.suppressed, python.first_ts, python.last_ts)
        assert len(native.alerts) > 100


@pytest.mark.engine
def test_the_prefilter_skips_no_line_a_rule_reads(sample: Sample) -> None:
    """The byte prefilter (prefilter.py: literals, whole values between quotes) is an optimisation only: the
    whole pack alerts exactly as when every line is parsed, and it did skip lines."""
    rules = [*package_rules(), seed_as_written()]
    with sample.tagged.open("rb") as handle:
        lines = handle.read().splitlines()
    every = run_lines(lines, "sample", rules, prefilter=False)
    skipping = run_lines(lines, "sample", rules)
    assert [a.to_json() for a in skipping.alerts] == [a.to_json() for a in every.alerts]
    assert every.parsed == every.documents > skipping.parsed
    assert len(every.alerts) > 100


@pytest.mark.engine
def test_baseline_alerts_equal_the_reference_on_the_simulated_sample(sample: Sample) -> None:
    """On the simulator's days, the backtest's baseline_deviation alerts are the reference's over the summary
    rows of the whole file, and each alert's documents are its identity's summarised documents of its hour."""
    result = run_file(str(sample.tagged), select(package_rules(), ["baseline_deviation"]))
    with sample.tagged.open("rb") as handle:
        docs = [orjson.loads(line) for line in handle]
    expected = [(x["identity"], x["start"], x["event_count"], x["limit"], x["run"])
                for x in baselines.backtest_alerts(baselines.summary_rows(docs), run_minute=0)]
    got = [(a.identity, iso_ms(int(a.fields["current_hour"])), a.fields["current_secrets"], a.fields["limit"],
            iso_ms(a.detected_at or 0)) for a in result.alerts]
    assert sorted(got) == sorted(expected) and len(expected) >= 3
    for a in result.alerts:
        hour = int(a.fields["current_hour"])
        mine = [i for i, d in enumerate(docs) if baselines.is_secret_access(d)
                and d["cloud_secrets"].get("identity") == a.identity and hour <= to_ms(d["@timestamp"])
                < hour + 3_600_000]
        assert a.events == mine


@pytest.mark.engine
def test_report_renders_in_headless_chromium(sample: Sample, tmp_path: Path) -> None:
    assert CHROMIUM.exists(), "headless Chromium is missing: run `make browser`"
    rules = [*package_rules(), seed_as_written()]
    result = run_file(str(sample.tagged), rules)
    labels = read_labels(sample.labels, {i for a in result.alerts for i in a.events})
    quality = assess(result.alerts, labels, [r.slug for r in rules], building_blocks=frozenset(
        r.slug for r in rules if r.building_block))
    page = build_report(result, quality, labels, sample.tagged.name, sample.tagged).write(tmp_path / "report.html")
    text = page.read_text(encoding="utf-8")
    assert "<script" not in text and "http://" not in text and "https://" not in text  # self-contained
    previews = [f"<h2>Dashboard preview: {d.title}</h2>" for d in dashboards()]
    assert len(previews) == 3 and all(title in text for title in previews)
    assert "<h2>What an analyst sees: visible rules</h2>" in text and "<h2>Building blocks" in text
    # the report's plots (false alerts, the visible and the building-block timelines) and the dashboards' previews
    assert text.count("data:image/png;base64,") == 3 + 3
    shot = tmp_path / "report.png"
    subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1280,9000",
         page.resolve().as_uri()],
        capture_output=True, timeout=120, check=True)
    with Image.open(shot) as image:
        assert image.format == "PNG" and image.size == (1280, 9000)
        rgb = image.convert("RGB")
    gray = rgb.convert("L").point(lambda v: 255 if v < 250 else 0)
    end = gray.crop((0, 0, 1280, 9000 - 20)).getbbox()  # the page's content (the last rows: a scrollbar)
    assert end is not None and 4000 < end[3] < 9000 - 100  # the whole page, previews included, in the shot
    top = rgb.crop((0, 0, 1280, 2000)).getcolors(maxcolors=1 << 20)
    previews = rgb.crop((0, int(end[3] * 0.65), 1280, end[3])).getcolors(maxcolors=1 << 20)  # the last two
    assert top is not None and len(top) > 200  # tables, coloured cells and plots, not a blank page
    assert previews is not None and len(previews) > 200  # the dashboards' panels at the end, drawn
