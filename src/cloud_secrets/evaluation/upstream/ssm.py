"""AWS Systems Manager Parameter Store calls in `aws.cloudtrail`, as Elastic's AWS integration writes them.

Facts followed: Parameter Store calls are read-only management events (`eventSource: ssm.amazonaws.com`,
logged by every trail); `requestParameters` carry `name` (GetParameter, GetParameterHistory), `names` (up to
10, GetParameters), `path` / `recursive` / `maxResults` (GetParametersByPath), `parameterFilters` /
`maxResults` (DescribeParameters) and `withDecryption` as a JSON boolean when the caller sends it (Stratus Red
Team's `ssm-retrieve-securestring-parameters` detonation and the CloudTrail samples it is detected on);
values are never logged (`responseElements: null`). The integration renders `request_parameters` as Java's
`Map.toString()` and keeps the object in `aws.cloudtrail.flattened.request_parameters`. A parameter's ARN is
`arn:aws:ssm:<region>:<account>:parameter` + the name, whose leading `/` is not doubled (`parameter/prod/db`);
a name without `/` gets one (`parameter/foo`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...timestamps import Timestamp
from .aws import AwsIdentity, access_denied_message, cloudtrail_event

SSM = "ssm.amazonaws.com"
READS = ("GetParameter", "GetParameters", "GetParametersByPath", "GetParameterHistory")


def parameter_arn(account_id: str, region: str, name: str) -> str:
    return f"arn:aws:ssm:{region}:{account_id}:parameter{name if name.startswith('/') else '/' + name}"


def parameter_event(
    action: str,
    identity: AwsIdentity,
    ts: Timestamp,
    *,
    name: str | None = None,
    names: Sequence[str] = (),
    path: str | None = None,
    recursive: bool | None = None,
    with_decryption: bool | None = None,
    max_results: int | None = None,
    region: str = "us-east-1",
    source_address: str | None = None,
    user_agent: str | None = None,
    denied: bool = False,
) -> dict[str, Any]:
    """One Parameter Store call (a read of `READS` or `DescribeParameters`); `with_decryption=None` leaves the
    key out, as SDKs do when the caller does not set it."""
    params: dict[str, Any] = {}
    if name is not None:
        params["name"] = name
    if names:
        params["names"] = list(names)
    if path is not None:
        params["path"] = path
    if recursive is not None:
        params["recursive"] = recursive
    if with_decryption is not None:
        params["withDecryption"] = with_decryption
    if max_results is not None:
        params["maxResults"] = max_results
    resource = parameter_arn(identity.account_id, region, name or (names[0] if names else path or "/"))
    return cloudtrail_event(
        action, identity, ts, event_source=SSM, region=region, source_address=source_address,
        user_agent=user_agent, request_parameters=params or None, read_only=True,
        error_code="AccessDeniedException" if denied else None,
        error_message=access_denied_message(identity, action, resource, "ssm") if denied else None,
    )
