"""The shipped Grafana dashboard and Prometheus alert rules name only metrics the
exporter really serves: scraped from a `tickwire serve --device model` process."""
import json
import re
import urllib.request
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from conftest import ServeDaemon

REPO = Path(__file__).resolve().parents[1]
DASHBOARD = REPO / "deploy" / "grafana" / "tickwire-dashboard.json"
RULES = REPO / "deploy" / "prometheus" / "tickwire-alerts.yaml"
METRIC = re.compile(r"\b(tickwire_[a-z0-9_]+|up)\b(?=\s*[{\[)=<>!*+-]|\s*$)")
#: Made by Prometheus itself, not by the exporter.
SERVER_SIDE = {"up"}


def dashboard_exprs():
    out = []

    def walk(panels):
        for p in panels:
            out.extend(t["expr"] for t in p.get("targets", []))
            walk(p.get("panels", []))
    walk(json.loads(DASHBOARD.read_text())["panels"])
    return out


def rules():
    return [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]


def names_in(expr):
    return set(METRIC.findall(expr))


@pytest.fixture(scope="module")
def scraped(tmp_path_factory):
    # with recovery configured (nothing is dialled until a gap), so its metrics exist
    cred = tmp_path_factory.mktemp("cred") / "glimpse.cred"
    cred.write_text("tw:pw")
    cred.chmod(0o600)
    d = ServeDaemon(tmp_path_factory.mktemp("state"),
                    ["--rerequest", "127.0.0.1:9", "--glimpse", "127.0.0.1:9",
                     "--glimpse-credentials", str(cred)])
    try:
        r = d.cli("status")                     # one RPC, so the latency histogram has buckets
        assert r.returncode == 0, r.stderr
        text = urllib.request.urlopen(f"http://127.0.0.1:{d.metrics_port}/metrics",
                                      timeout=10).read().decode()
    finally:
        d.stop()
    return {s.name: s for f in text_string_to_metric_families(text) for s in f.samples}


def test_rules_file_has_the_prometheus_rule_group_shape():
    doc = yaml.safe_load(RULES.read_text())
    assert set(doc) == {"groups"} and doc["groups"]
    for g in doc["groups"]:
        assert isinstance(g["name"], str) and g["rules"]
        for r in g["rules"]:
            assert set(r) <= {"alert", "expr", "for", "labels", "annotations", "keep_firing_for"}
            assert r["alert"][0].isupper() and r["expr"].strip()
            assert r["labels"]["severity"] in ("warning", "critical")
            assert r["annotations"]["summary"]
            if "for" in r:
                assert re.fullmatch(r"\d+[smh]", r["for"])
    alerts = {r["alert"] for r in rules()}
    assert {"TickwireScrapeFailing", "TickwireWatchdogTripped", "TickwireKillEngaged",
            "TickwireGapsIncreasing", "TickwireGapsNotRecovered", "TickwireCardRefused"} <= alerts
    scrape = next(r for r in rules() if r["alert"] == "TickwireScrapeFailing")
    assert re.match(r"up\{.*\}\s*==\s*0", scrape["expr"])


def test_dashboard_is_grafana_json_with_the_promised_panels():
    dash = json.loads(DASHBOARD.read_text())
    titles = {p["title"] for p in dash["panels"]}
    for want in ("Rejects by reason", "Sequence gaps", "Book update rate", "Watchdog tripped",
                 "Kill switch engaged", "Card identity", "Frames received (per port)"):
        assert want in titles
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    for p in dash["panels"]:
        g = p["gridPos"]
        assert 0 <= g["x"] and g["x"] + g["w"] <= 24


def test_every_metric_the_dashboard_and_rules_name_is_exported(scraped):
    exprs = dashboard_exprs() + [r["expr"] for r in rules()]
    named = set().union(*map(names_in, exprs))
    assert {"tickwire_risk_rejects_total", "tickwire_mold_gaps_total",
            "tickwire_watchdog_tripped", "tickwire_card_identity_ok", "up"} <= named
    missing = sorted(n for n in named - SERVER_SIDE if n not in scraped)
    assert not missing, f"named but not exported: {missing}"


def test_card_identity_and_book_gauges_on_the_model_card(scraped):
    assert scraped["tickwire_card_identity_ok"].value == 1
    info = scraped["tickwire_card_info"]
    assert info.value == 1 and info.labels["magic"] == "0x544b5752"
    assert scraped["tickwire_book_unreliable_slots"].value == 0
    assert scraped["tickwire_rpc_latency_seconds_bucket"].labels["method"]
