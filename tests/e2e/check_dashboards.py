#!/usr/bin/python3
"""Structural checks of the Grafana dashboards and the alert rules' documentation.

Usage: check_dashboards.py SOURCE_DIR

Dashboards (dashboards/*.json): valid JSON; a fixed uid, unique across dashboards; a current
schemaVersion; the DS_PROMETHEUS variable of type datasource and the job and target variables
from label_values(...); unique panel ids; every panel and every query on the datasource
${DS_PROMETHEUS} (no hard-coded datasource anywhere); every query has a PromQL expression; grid
positions inside the 24-column grid and not overlapping.

Rules (dashboards/smtp_exporter.rules.yml, read line by line: the stdlib has no YAML parser and
promtool checks the syntax): every alert has severity, summary, description and a runbook_url
whose anchor is a heading of docs/runbook.md; every alert is listed in docs/alerts.md; an
annotation names what the alert is about ($labels.target, .ip, .domain or .instance).

Prints every problem found; exit status 1 if there is any. Stdlib only.
"""
import json
import pathlib
import re
import sys

DS_VAR = "${DS_PROMETHEUS}"
MIN_SCHEMA_VERSION = 36  # Grafana 9.0; the dashboards are written at 39 (Grafana 10.x)
RUNBOOK_BASE = "https://github.com/smtp-exporter/smtp_exporter/blob/main/docs/runbook.md#"
SEVERITIES = {"info", "warning", "critical"}

problems = []


def problem(where, text):
    problems.append(f"{where}: {text}")


def is_ds_var(ds):
    if ds == DS_VAR:
        return True
    return isinstance(ds, dict) and ds.get("uid") == DS_VAR and ds.get("type", "prometheus") == "prometheus"


def walk_panels(panels):
    for p in panels:
        yield p
        yield from walk_panels(p.get("panels", []))  # panels inside a collapsed row


def overlap(a, b):
    return (a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"] and
            a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"])


def check_datasource_values(where, node, path="$"):
    """No datasource anywhere but ${DS_PROMETHEUS} (and Grafana's own annotation source)."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "datasource":
                builtin = isinstance(v, dict) and v.get("uid") == "-- Grafana --"
                if not (is_ds_var(v) or builtin):
                    problem(where, f"{path}.datasource is {json.dumps(v)}, want {DS_VAR}")
            check_datasource_values(where, v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            check_datasource_values(where, v, f"{path}[{i}]")


def check_dashboard(path, uids):
    where = path.name
    try:
        d = json.loads(path.read_text())
    except ValueError as e:
        problem(where, f"invalid JSON: {e}")
        return
    uid = d.get("uid")
    if not isinstance(uid, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", uid):
        problem(where, f"uid {uid!r} is not a fixed uid of 1-40 [A-Za-z0-9_-]")
    elif uid in uids:
        problem(where, f"uid {uid} is also the uid of {uids[uid]}")
    else:
        uids[uid] = where
    if d.get("id") is not None:
        problem(where, "id must be null (Grafana assigns it)")
    if not isinstance(d.get("schemaVersion"), int) or d["schemaVersion"] < MIN_SCHEMA_VERSION:
        problem(where, f"schemaVersion {d.get('schemaVersion')!r} < {MIN_SCHEMA_VERSION}")
    if not d.get("title"):
        problem(where, "no title")

    variables = {v.get("name"): v for v in d.get("templating", {}).get("list", [])}
    ds = variables.get("DS_PROMETHEUS")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        problem(where, "no variable DS_PROMETHEUS of type datasource with query prometheus")
    for name, metric in (("job", "smtp_exporter_build_info"), ("target", "smtp_target_info")):
        v = variables.get(name)
        if not v or v.get("type") != "query":
            problem(where, f"no query variable {name}")
            continue
        q = v.get("query")
        q = q.get("query", "") if isinstance(q, dict) else (q or "")
        if not re.fullmatch(rf"label_values\({metric}(\{{.*\}})?, *{name}\)", q):
            problem(where, f"variable {name}: query {q!r} is not label_values({metric}..., {name})")
        if not is_ds_var(v.get("datasource")):
            problem(where, f"variable {name}: datasource is not {DS_VAR}")
    check_datasource_values(where, d)

    panels = list(walk_panels(d.get("panels", [])))
    if not panels:
        problem(where, "no panels")
    ids = {}
    placed = []
    for p in panels:
        title = p.get("title", "?")
        pw = f"{where}: panel {p.get('id')} {title!r}"
        pid = p.get("id")
        if not isinstance(pid, int):
            problems.append(f"{pw}: id is not an integer")
        elif pid in ids:
            problems.append(f"{pw}: id {pid} is also the id of {ids[pid]!r}")
        else:
            ids[pid] = title
        g = p.get("gridPos", {})
        if not all(isinstance(g.get(k), int) for k in ("x", "y", "w", "h")):
            problems.append(f"{pw}: gridPos {g} lacks x, y, w or h")
            continue
        if g["x"] < 0 or g["y"] < 0 or g["w"] < 1 or g["h"] < 1 or g["x"] + g["w"] > 24:
            problems.append(f"{pw}: gridPos {g} is outside the 24-column grid")
        for other_title, og in placed:
            if overlap(g, og):
                problems.append(f"{pw}: gridPos {g} overlaps {other_title!r} {og}")
        placed.append((title, g))
        if p.get("type") == "row":
            continue  # a row holds no query
        if not is_ds_var(p.get("datasource")):
            problems.append(f"{pw}: datasource {json.dumps(p.get('datasource'))}, want {DS_VAR}")
        targets = p.get("targets", [])
        if not targets:
            problems.append(f"{pw}: no queries")
        refs = set()
        for t in targets:
            ref = t.get("refId")
            if not ref or ref in refs:
                problems.append(f"{pw}: missing or duplicate refId {ref!r}")
            refs.add(ref)
            if not is_ds_var(t.get("datasource")):
                problems.append(f"{pw}: query {ref}: datasource {json.dumps(t.get('datasource'))}, want {DS_VAR}")
            if not str(t.get("expr", "")).strip():
                problems.append(f"{pw}: query {ref}: no expr")
    return len(panels)


def github_anchor(heading):
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    a = heading.strip().lower()
    a = re.sub(r"[^\w\- ]", "", a)
    return a.replace(" ", "-")


def check_rules(src):
    rules_path = src / "dashboards/smtp_exporter.rules.yml"
    text = rules_path.read_text()
    anchors = {github_anchor(m.group(1))
               for m in re.finditer(r"^#{1,6} +(.+)$", (src / "docs/runbook.md").read_text(), re.M)}
    alerts_doc = (src / "docs/alerts.md").read_text()
    blocks = re.split(r"^\s*- alert: *", text, flags=re.M)[1:]
    if not blocks:
        problem(rules_path.name, "no alerts")
    names = []
    for block in blocks:
        name = block.split("\n", 1)[0].strip()
        names.append(name)
        where = f"{rules_path.name}: {name}"
        sev = re.search(r"^\s+severity: *(\S+)", block, re.M)
        if not sev or sev.group(1) not in SEVERITIES:
            problem(where, f"severity must be one of {sorted(SEVERITIES)}")
        for key in ("expr", "summary", "description", "runbook_url"):
            if not re.search(rf"^\s+{key}:", block, re.M):
                problem(where, f"no {key}")
        url = re.search(r'^\s+runbook_url: *"?([^"\s]+)"?', block, re.M)
        if url:
            if not url.group(1).startswith(RUNBOOK_BASE):
                problem(where, f"runbook_url {url.group(1)} does not start with {RUNBOOK_BASE}")
            anchor = url.group(1).rsplit("#", 1)[-1]
            if anchor not in anchors:
                problem(where, f"runbook anchor #{anchor} is not a heading of docs/runbook.md")
        if f"`{name}`" not in alerts_doc:
            problem(where, "not listed in docs/alerts.md")
        # DNSBL and sender alerts are about an IP or a sender domain (neither has a target).
        if not any(f"{{{{ $labels.{l} }}}}" in block for l in ("target", "instance", "ip", "domain")):
            problem(where, "no annotation names the target ($labels.target), the IP, the domain or the exporter")
    if len(set(names)) != len(names):
        problem(rules_path.name, "duplicate alert names")
    return names


def main():
    src = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    uids = {}
    counts = {}
    for name in ("overview.json", "target-detail.json"):
        path = src / "dashboards" / name
        if not path.exists():
            problem(name, "missing")
            continue
        counts[name] = check_dashboard(path, uids)
    names = check_rules(src)
    for p in problems:
        print(p)
    if problems:
        print(f"FAILED: {len(problems)} problem(s)")
        return 1
    print(f"OK: dashboards {counts}, {len(names)} alerts documented")
    return 0


if __name__ == "__main__":
    sys.exit(main())
