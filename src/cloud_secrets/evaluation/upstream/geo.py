"""`source.geo.*` and `source.as.*` as the official integrations' GeoIP processors write them.

The `aws.cloudtrail` and `gcp.audit` ingest pipelines run, on `source.ip`, a `geoip` processor with the
default properties (`continent_name`, `country_iso_code`, `country_name`, `region_iso_code`,
`region_name`, `city_name`, `location`) into `source.geo`, then a `geoip` processor on
`GeoLite2-ASN.mmdb` with `properties: [asn, organization_name]` into `source.as`, renamed to
`source.as.number` and `source.as.organization.name` (elastic/integrations,
packages/gcp/data_stream/audit/elasticsearch/ingest_pipeline/default.yml; the AWS CloudTrail pipeline
has the same three steps). Private addresses get nothing.

The simulator only uses documentation and private address ranges, which no real GeoIP database
resolves, so this module stands in for the databases: a fixed plan from the simulator's address blocks
to networks (documentation AS numbers, RFC 5398) and places. The output has the shape the processors
give a resolvable address.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any, NamedTuple


class Place(NamedTuple):
    continent: str
    country_iso: str
    country: str
    region_iso: str
    region: str
    city: str
    lat: float
    lon: float


PLACES: dict[str, Place] = {
    "us-va": Place("North America", "US", "United States", "US-VA", "Virginia", "Ashburn", 39.0437, -77.4875),
    "us-ca": Place("North America", "US", "United States", "US-CA", "California", "San Jose", 37.3388, -121.8916),
    "us-ny": Place("North America", "US", "United States", "US-NY", "New York", "New York", 40.7126, -74.0066),
    "gb": Place("Europe", "GB", "United Kingdom", "GB-ENG", "England", "London", 51.5142, -0.0931),
    "de": Place("Europe", "DE", "Germany", "DE-HE", "Hesse", "Frankfurt am Main", 50.1169, 8.6837),
    "fr": Place("Europe", "FR", "France", "FR-IDF", "Île-de-France", "Paris", 48.8582, 2.3387),
    "nl": Place("Europe", "NL", "Netherlands", "NL-NH", "North Holland", "Amsterdam", 52.3759, 4.8975),
    "ro": Place("Europe", "RO", "Romania", "RO-B", "Bucharest", "Bucharest", 44.4354, 26.1033),
    "sg": Place("Asia", "SG", "Singapore", "SG-01", "Central Singapore", "Singapore", 1.2868, 103.8503),
    "br": Place("South America", "BR", "Brazil", "BR-SP", "Sao Paulo", "São Paulo", -23.5475, -46.6361),
}


class Network(NamedTuple):
    first: int  # last octet range of the /24 (inclusive)
    last: int
    asn: int
    org: str
    places: tuple[str, ...]  # picked by the last octet


# The simulator's address plan (simulate/common.py) as networks. AS numbers 64496-64511 and 65536-65551
# are reserved for documentation (RFC 5398).
_PLAN: dict[str, tuple[Network, ...]] = {
    "192.0.2": (
        Network(1, 19, 64496, "Example Corp", ("us-va", "us-va", "gb", "de", "us-ny")),  # office egress
        Network(20, 99, 64496, "Example Corp", ("us-va",)),
        Network(100, 140, 64497, "Example VPN Service", ("nl", "us-ca", "sg", "de", "gb")),  # VPN exits
        Network(141, 254, 64498, "Example Travel Wi-Fi", ("fr", "sg", "br", "us-ca")),  # hotels, airports
    ),
    "203.0.113": (
        Network(1, 49, 64499, "Example Cable Broadband", ("us-ny", "us-ca", "us-va")),  # people at home
        Network(50, 99, 64500, "Example Telecom", ("gb", "de", "fr", "nl")),
        Network(100, 149, 64501, "Example Mobile", ("us-ny", "gb")),
        Network(150, 254, 64502, "Example Bulletproof Hosting", ("ro", "nl", "sg", "br")),  # attackers
    ),
    "198.51.100": (
        Network(1, 120, 64503, "Example Hosted CI", ("us-va", "us-ca")),  # hosted CI runners
        Network(121, 129, 64504, "Example Cloud NAT", ("us-va",)),  # cluster NAT gateways
        Network(130, 199, 64505, "Example Monitoring SaaS", ("us-va",)),
        Network(200, 254, 64506, "Example VPS Cloud", ("nl", "sg", "de", "br")),  # attackers' cloud hosts
    ),
}
_V6_HOME = (64507, "Example Fibre", ("us-ny", "gb", "de", "us-ca", "fr"))


def _place_fields(p: Place) -> dict[str, Any]:
    return {
        "continent_name": p.continent,
        "country_iso_code": p.country_iso,
        "country_name": p.country,
        "region_iso_code": p.region_iso,
        "region_name": p.region,
        "city_name": p.city,
        "location": {"lat": p.lat, "lon": p.lon},
    }


@lru_cache(maxsize=8192)
def _lookup(ip: str) -> tuple[int, str, str] | None:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if addr.version == 6:
        if not ip.startswith("2001:db8:"):
            return None
        asn, org, places = _V6_HOME
        word = int(ip.split(":")[2] or "0", 16)
        return asn, org, places[word % len(places)]
    prefix, _, octet = ip.rpartition(".")
    for net in _PLAN.get(prefix, ()):
        last = int(octet)
        if net.first <= last <= net.last:
            return net.asn, net.org, net.places[last % len(net.places)]
    return None


def geo_fields(ip: str | None) -> dict[str, Any] | None:
    """`{"geo": {...}, "as": {...}}` for the `source` object of a document whose `source.ip` is `ip`,
    or None for an address the databases would not resolve (private ranges)."""
    if not ip:
        return None
    found = _lookup(ip)
    if found is None:
        return None
    asn, org, place = found
    return {"geo": _place_fields(PLACES[place]), "as": {"number": asn, "organization": {"name": org}}}


def enrich_source(doc: dict[str, Any]) -> None:
    """Add the GeoIP processors' output to `doc["source"]` when its `ip` resolves (in place)."""
    source = doc.get("source")
    if not source:
        return
    extra = geo_fields(source.get("ip"))
    if extra:
        source.update(extra)
