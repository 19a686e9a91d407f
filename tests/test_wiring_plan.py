"""The pure parts of `attach`/`detach`: where our processor goes, what counts as ours, versions, mappings."""

from __future__ import annotations

import pytest

from cloud_secrets.elastic import wiring
from cloud_secrets.errors import UserError

USER = [{"set": {"field": "a", "value": 1}}, {"rename": {"field": "b", "target_field": "c"}}]


def _ours(version: str = "0.1.0") -> dict:
    return wiring.tagging_processor(f"logs-cloud_secrets.secret_access-{version}")


def test_attached_appends_once_and_re_points_in_place() -> None:
    first = wiring.attached({"version": 3, "processors": USER}, _ours())
    assert first["processors"] == [*USER, _ours()] and first["version"] == 4
    assert wiring.attached(first, _ours()) is None  # idempotent
    moved = {"processors": [USER[0], _ours(), USER[1]]}
    upgraded = wiring.attached(moved, _ours("0.2.0"))
    # an unversioned pipeline of the user's: `apply` stamps it version 1 first, so the change is version 2
    assert upgraded["processors"] == [USER[0], _ours("0.2.0"), USER[1]] and upgraded["version"] == wiring.STAMP + 1


def test_a_hand_made_call_counts_as_ours_and_duplicates_collapse() -> None:
    by_hand = {"pipeline": {"name": "logs-cloud_secrets.secret_access-0.1.0", "ignore_failure": True}}
    other = {"pipeline": {"name": "logs-aws.cloudtrail@custom-extra"}}
    body = {"processors": [by_hand, other, _ours()]}
    assert wiring.is_ours(by_hand) and not wiring.is_ours(other) and not wiring.is_ours(USER[0])
    assert wiring.attached(body, _ours())["processors"] == [_ours(), other]


def test_detached_keeps_the_rest_and_deletes_only_what_attach_created() -> None:
    changed, body = wiring.detached({"version": 1, "processors": [*USER, _ours()]})
    assert changed and body == {"version": 2, "processors": USER}
    assert wiring.detached(wiring.attached(None, _ours())) == (True, None)
    assert wiring.detached({"processors": []}) == (False, {"processors": []})
    # the user's, emptied (stamped first when unversioned: see apply)
    assert wiring.detached({"processors": [_ours()]}) == (True, {"processors": [], "version": wiring.STAMP + 1})


def test_namespaces_become_a_condition_and_bad_ones_are_refused() -> None:
    cond = wiring.tagging_processor("p", wiring.check_namespaces(["prod", "default", "prod"]))["pipeline"]["if"]
    assert cond == 'ctx.data_stream instanceof Map && ["default", "prod"].contains(ctx.data_stream.namespace)'
    for bad in ("Prod", "a-b", "x\"y", ""):
        with pytest.raises(UserError):
            wiring.check_namespaces([bad])


def test_versions_sort_as_releases() -> None:
    versions = ["0.10.0", "0.9.0", "1.0.0", "1.0.0-beta1", "0.1.0"]
    assert sorted(versions, key=wiring._version_key) == ["0.1.0", "0.9.0", "0.10.0", "1.0.0-beta1", "1.0.0"]


def test_mappings_merge_with_the_users_and_come_off_again() -> None:
    user = {"template": {"mappings": {"properties": {"labels": {"properties": {"env": {"type": "keyword"}}}}}}}
    merged = wiring.with_mappings(user)
    props = merged["template"]["mappings"]["properties"]
    assert props["labels"] == user["template"]["mappings"]["properties"]["labels"]
    assert props["cloud_secrets"]["properties"]["operation"] == {"type": "keyword"}
    assert wiring.with_mappings(merged) is None
    assert wiring.without_mappings(merged) == (True, user)
    assert wiring.without_mappings(wiring.with_mappings(None)) == (True, None)
    clash = {"template": {"mappings": {"properties": {"cloud_secrets": {"type": "keyword"}}}}}
    with pytest.raises(UserError, match="maps cloud_secrets as keyword"):
        wiring.with_mappings(clash)


def test_the_diff_is_a_unified_diff_of_pretty_json() -> None:
    change = wiring.Change(wiring.PIPELINE, "x@custom", None, {"processors": []}, True)
    assert change.diff().splitlines() == ["--- pipeline x@custom (absent)", "+++ pipeline x@custom (new)",
                                          "@@ -0,0 +1,3 @@", "+{", '+  "processors": []', "+}"]
