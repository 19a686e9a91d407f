"""Small samples of simulated documents for the demo and the benchmarks (instead of the package's pipeline-test
fixtures, which runtime code never reads).

`examples`: one document of each (dataset, action) the simulator writes in a short run of every scenario, secret
store accesses and other services alike. `other_service_events`: CloudTrail management events of services that
are not secret stores, as a production stream mostly holds.
"""

from __future__ import annotations

import json
import random
from functools import lru_cache
from typing import Any

from ..upstream.aws import AwsIdentity, cloudtrail_event
from .scenarios import ALL, Options, generate

#: Common CloudTrail management events of other services (event.provider, event.action).
OTHER_AWS_ACTIONS = (
    ("ec2.amazonaws.com", "DescribeInstances"), ("sts.amazonaws.com", "AssumeRole"),
    ("s3.amazonaws.com", "ListBuckets"), ("kms.amazonaws.com", "Decrypt"), ("iam.amazonaws.com", "GetRole"),
    ("logs.amazonaws.com", "CreateLogStream"), ("lambda.amazonaws.com", "ListFunctions20150331"),
    ("ecr.amazonaws.com", "GetAuthorizationToken"), ("monitoring.amazonaws.com", "GetMetricData"),
)


@lru_cache(maxsize=4)
def _examples(seed: int) -> tuple[str, ...]:
    seen: dict[tuple[str, str], str] = {}
    for doc, _ in generate(ALL, Options(seed=seed, days=1, identities=30)):
        event = doc.get("event", {})
        key = (str(event.get("dataset")), str(event.get("action")))
        if key not in seen:
            seen[key] = json.dumps(doc)
    return tuple(seen[k] for k in sorted(seen))


def examples(seed: int = 0) -> list[dict[str, Any]]:
    """One simulated document of each (event.dataset, event.action), sorted by them; fresh objects each call."""
    return [json.loads(d) for d in _examples(seed)]


def other_service_events(n: int, seed: int = 7, start: float = 1772409600.0) -> list[dict[str, Any]]:
    """`n` CloudTrail events of other AWS services (OTHER_AWS_ACTIONS), one a second from `start`."""
    rng = random.Random(seed)
    who = AwsIdentity.assumed_role("111122223333", "app-runtime", "i-0abc")
    out = []
    for i in range(n):
        provider, action = rng.choice(OTHER_AWS_ACTIONS)
        out.append(cloudtrail_event(action, who, start + i, event_source=provider, source_address="10.0.3.7",
                                    user_agent="aws-sdk-go-v2/1.30.0", read_only=True))
    return out
