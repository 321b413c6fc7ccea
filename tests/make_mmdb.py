"""Writes two small MaxMind-format databases for the geolocation tests, with networks the
test chooses: a country database and an ASN database.

usage: make_mmdb.py OUT_DIR
The networks and what they hold are fixed here and repeated in tests/panels.rs."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pydeps import need  # noqa: E402

MMDBWriter = need("mmdb_writer").MMDBWriter
IPSet = need("netaddr").IPSet

out = Path(sys.argv[1])

countries = MMDBWriter(ip_version=6, database_type="GeoLite2-Country", ipv4_compatible=True)
for net, code, name in [
    ("203.0.113.0/24", "KR", "South Korea"),
    ("198.51.100.0/24", "DE", "Germany"),
    ("2001:db8:1::/48", "JP", "Japan"),
]:
    countries.insert_network(
        IPSet([net]), {"country": {"iso_code": code, "names": {"en": name, "ko": name}}}
    )
countries.to_db_file(str(out / "country.mmdb"))

asns = MMDBWriter(ip_version=6, database_type="GeoLite2-ASN", ipv4_compatible=True)
for net, number, org in [
    ("203.0.113.0/24", 64500, "Example Telecom"),
    ("2001:db8:1::/48", 64501, "Example Cloud"),
]:
    asns.insert_network(
        IPSet([net]),
        {"autonomous_system_number": number, "autonomous_system_organization": org},
    )
asns.to_db_file(str(out / "asn.mmdb"))
print("ok")
