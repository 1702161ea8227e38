#!/usr/bin/python3
"""Checks Grafana-managed alert rules: the committed file, or the Helm chart's ConfigMaps.

  check_grafana_alerts.py SOURCE_DIR                 dashboards/smtp_exporter.grafana-alerts.yml
  check_grafana_alerts.py SOURCE_DIR --rendered F... the grafana_alert ConfigMaps of charts rendered
                                                     by tests/helm/render.go -o json (run.sh)
  check_grafana_alerts.py SOURCE_DIR --self-test     each check below refuses a wrong file

No Grafana binary is packaged, so the file is checked against what Grafana reads:
- the schema tests/e2e/grafana_alert_rules.schema.json (written from Grafana's provisioning docs
  and the fields its provisioning code reads);
- targeted checks: unique uids and titles, the condition and every expression referring to an
  existing refId, the Prometheus query on the data source placeholder (or, rendered, on the uid
  the chart's values give), expressions on Grafana's __expr__, `for` a multiple of the group
  interval, no "${" or "$$" where Grafana expands environment variables;
- against dashboards/smtp_exporter.rules.yml, independently of the generator: the same alerts in
  the same order, each with the same expression, `for`, labels, summary (with $value read as
  $values.query.Value) and runbook_url; a description either the source's or a Grafana text that
  names no label the source does not;
- every annotation template parses and runs as Grafana runs it (grafana_templates.go, with `go`).
Rendered: the ConfigMap exists exactly when grafanaAlerts.enabled, carries the sidecar's label and a
.yml key, and holds the committed rules with the chart's values applied (folder, orgId, data source
uid, and prometheusRule's per-alert overrides), as computed here from the values.

Needs /usr/bin/python3 with python3-yaml and python3-jsonschema, and go (golang-go).
"""
import copy
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

import jsonschema
import yaml

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "scripts"))
import grafana_alerts  # noqa: E402  (differences(), to say which rule and field differ)
PLACEHOLDER = "${SMTP_EXPORTER_DATASOURCE_UID}"
SEVERITIES = {"info", "warning", "critical"}
EXPR_UID = "__expr__"
DURATION = re.compile(r"([0-9]+)(ms|s|m|h|d|w|y)")
UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def seconds(d):
    if d in (None, "0"):
        return 0
    parts = DURATION.findall(d)
    if "".join(n + u for n, u in parts) != d:
        raise ValueError(f"not a duration: {d!r}")
    return sum(int(n) * UNITS[u] for n, u in parts)


def rules_of(doc):
    return [(g, r) for g in doc.get("groups", []) for r in g.get("rules", [])]


def schema_problems(doc):
    schema = json.loads((HERE / "grafana_alert_rules.schema.json").read_text())
    errors = jsonschema.Draft202012Validator(schema).iter_errors(doc)
    return [f"schema: /{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in sorted(errors, key=lambda e: list(e.absolute_path))]


def data_problems(where, rule, datasource_uid):
    """Each refId used is defined before; the query is an instant query on datasource_uid."""
    problems = []
    refs = [q["refId"] for q in rule["data"]]
    if len(set(refs)) != len(refs):
        problems.append(f"{where}: refIds repeat: {refs}")
    if rule["condition"] not in refs:
        problems.append(f"{where}: condition {rule['condition']} is not a refId of data {refs}")
    for i, q in enumerate(rule["data"]):
        m, ref = q["model"], q["refId"]
        if q["datasourceUid"] != EXPR_UID:
            if q["datasourceUid"] != datasource_uid:
                problems.append(f"{where}: {ref} queries data source {q['datasourceUid']!r}, "
                                f"want {datasource_uid!r}")
            if m.get("instant") is not True or m.get("range") is not False:
                problems.append(f"{where}: {ref} is not an instant query")
            continue
        used = (re.findall(r"\$\{?(\w+)", m.get("expression", "")) if m["type"] == "math"
                else [m.get("expression")])
        for name in used:
            if name not in refs[:i]:
                problems.append(f"{where}: {ref} uses {name}, not an earlier refId of {refs[:i]}")
        if m.get("refId", ref) != ref:
            problems.append(f"{where}: {ref}: model.refId is {m.get('refId')}")
    return problems


def rule_problems(group, rule):
    """States, durations, labels and annotations of one rule."""
    where, problems = rule["title"], []
    interval, pending = seconds(group["interval"]), seconds(rule.get("for", "0s"))
    if pending and (pending < interval or pending % interval):
        problems.append(f"{where}: for {rule['for']} is not a multiple of the group interval "
                        f"{group['interval']}")
    if rule.get("noDataState") != "OK":
        problems.append(f"{where}: noDataState {rule.get('noDataState')}: no series is the "
                        "healthy state, want OK")
    if rule.get("execErrState") != "Error":
        problems.append(f"{where}: execErrState {rule.get('execErrState')}: a failing query "
                        "must show, want Error")
    severity = rule.get("labels", {}).get("severity")
    if severity not in SEVERITIES:
        problems.append(f"{where}: severity {severity!r} not in {sorted(SEVERITIES)}")
    annotations = rule.get("annotations", {})
    for key in ("summary", "description", "runbook_url"):
        if not annotations.get(key):
            problems.append(f"{where}: no {key} annotation")
    for key, text in annotations.items():
        if "${" in text or "$$" in text:  # Grafana expands ${VAR} and $$ in annotations
            problems.append(f"{where}: annotation {key} contains ${{ or $$")
        if re.search(r"\$value(?!s)\b", text):
            problems.append(f"{where}: annotation {key} uses $value, a string in Grafana: "
                            "use $values.query.Value")
    for field in [rule["uid"], rule["title"], *rule.get("labels", {}).values()]:
        if "$" in field:  # Grafana expands it as an environment variable
            problems.append(f"{where}: {field!r} contains $")
    return problems


def structure_problems(doc, datasource_uid):
    """Schema and the targeted checks; datasource_uid is what the Prometheus query must use."""
    problems = schema_problems(doc)
    if problems:
        return problems
    uids, titles = {}, set()
    for g, r in rules_of(doc):
        where = r["title"]
        if r["uid"] in uids:
            problems.append(f"{where}: uid {r['uid']} is also the uid of {uids[r['uid']]}")
        uids[r["uid"]] = where
        if (g.get("orgId", 1), g["folder"], where) in titles:
            problems.append(f"{where}: two rules with this title in folder {g['folder']}")
        titles.add((g.get("orgId", 1), g["folder"], where))
        problems += data_problems(where, r, datasource_uid) + rule_problems(g, r)
    return problems


def label_names(text):
    return set(re.findall(r"\$labels\.(\w+)", text or ""))


def source_problems(doc, source):
    """The Grafana rules say what the Prometheus rules say, whatever the generator did."""
    problems = []
    want = [r for g in source["groups"] for r in g["rules"] if "alert" in r]
    have = {r["title"]: r for _, r in rules_of(doc)}
    titles = [r["title"] for _, r in rules_of(doc)]
    if titles != [r["alert"] for r in want]:
        problems.append(f"alerts differ from the source: {titles} vs {[r['alert'] for r in want]}")
    for p in want:
        name, g = p["alert"], have.get(p["alert"])
        if g is None:
            continue
        expr = next(q["model"]["expr"] for q in g["data"] if q["datasourceUid"] != EXPR_UID)
        if expr != p["expr"]:
            problems.append(f"{name}: expression differs from the source's")
        if seconds(g.get("for")) != seconds(p.get("for")):
            problems.append(f"{name}: for {g.get('for')} differs from the source's "
                            f"{p.get('for', '0s')}")
        if g.get("labels") != p.get("labels", {}):
            problems.append(f"{name}: labels {g.get('labels')} differ from the source's "
                            f"{p.get('labels')}")
        for key, text in p.get("annotations", {}).items():
            got = g.get("annotations", {}).get(key)
            if got == re.sub(r"\$value(?![\w])", "$values.query.Value", text):
                continue
            extra = label_names(got) - label_names(text)
            if key != "description":
                problems.append(f"{name}: {key} differs from the source's")
            elif extra:
                problems.append(f"{name}: description names labels the source's does not: "
                                f"{sorted(extra)}")
            elif "query" not in text:
                problems.append(f"{name}: description differs from the source's, which Grafana "
                                "can expand")
    return problems


def template_problems(doc, verbose=False):
    inputs = []
    for _, r in rules_of(doc):
        for key, text in r.get("annotations", {}).items():
            names = set(re.findall(r"\$labels\.(\w+)", text))
            inputs.append({"name": f"{r['title']}/{key}", "template": text,
                           "labels": {n: f"sample-{n}" for n in names}})
    env = dict(os.environ, GO111MODULE="off", GOFLAGS="")
    env.setdefault("GOCACHE", os.path.join(tempfile.gettempdir(), "smtp-exporter-gocache"))
    cmd = ["go", "run", str(HERE / "grafana_templates.go")] + (["-v"] if verbose else [])
    try:
        run = subprocess.run(cmd, input=json.dumps(inputs), capture_output=True, text=True,
                             env=env, timeout=240)
    except FileNotFoundError:
        return ["go not found: install golang-go (scripts/install-deps.sh --test)"]
    if verbose:
        print(run.stdout, end="")
    if run.returncode != 0:
        output = (run.stdout + run.stderr).splitlines()
        return [line for line in output if not line.startswith("ok ")]
    return []


def sprig_merge(*dicts):
    """sprig's merge: the first dict that has a key wins."""
    out = {}
    for d in reversed(dicts):
        out.update(copy.deepcopy(d or {}))
    return out


def expected_from_values(committed, values):
    """What templates/grafana-alerts.yaml renders from the committed file and the values."""
    ga, pr = values["grafanaAlerts"], values.get("prometheusRule", {})
    doc = copy.deepcopy(committed)
    for g in doc["groups"]:
        g["folder"], g["orgId"] = ga["folder"], ga["orgId"]
        kept = []
        for r in g["rules"]:
            o = (pr.get("rules") or {}).get(r["title"]) or {}
            if o.get("disabled"):
                continue
            for q in r["data"]:
                if q["datasourceUid"] == PLACEHOLDER:
                    q["datasourceUid"] = ga["datasourceUid"]
                    if o.get("expr"):
                        q["model"]["expr"] = o["expr"]
            if "for" in o:
                r["for"] = o["for"]
            r["labels"] = sprig_merge(o.get("labels"), pr.get("additionalLabels"), r.get("labels"))
            if o.get("severity"):
                r["labels"]["severity"] = o["severity"]
            r["annotations"] = sprig_merge(o.get("annotations"), r.get("annotations"))
            if pr.get("runbookBaseURL"):
                base = pr["runbookBaseURL"].rstrip("/")
                r["annotations"]["runbook_url"] = f"{base}#{r['title'].lower()}"
            kept.append(r)
        g["rules"] = kept
    doc["groups"] = [g for g in doc["groups"] if g["rules"]]
    return doc


def rendered_problems(path, committed):
    rendered = json.loads(pathlib.Path(path).read_text())
    name = pathlib.Path(path).stem
    chart = next((c for c in rendered["charts"] if c["chart"] == "smtp-exporter"), None)
    if chart is None:
        return [], 0
    ga = chart["values"]["grafanaAlerts"]
    maps = [d["object"] for d in rendered["documents"] if d["object"].get("kind") == "ConfigMap"
            and any(k.endswith("grafana-alerts.yml") for k in (d["object"].get("data") or {}))]
    names = [m["metadata"]["name"] for m in maps]
    if not ga["enabled"]:
        return ([f"{name}: grafanaAlerts is off, yet rendered {names}"] if maps else []), 0
    if len(maps) != 1:
        return [f"{name}: grafanaAlerts is on: want one ConfigMap of rules, rendered {names}"], 0
    cm, problems = maps[0], []
    meta = cm["metadata"]
    if meta.get("labels", {}).get(ga["label"]) != ga["labelValue"]:
        problems.append(f"{name}: ConfigMap {meta['name']} lacks label "
                        f"{ga['label']}={ga['labelValue']!r}")
    if ga.get("namespace") and meta.get("namespace") != ga["namespace"]:
        problems.append(f"{name}: ConfigMap in namespace {meta.get('namespace')}, "
                        f"want {ga['namespace']}")
    (key, text), = cm["data"].items()
    doc = yaml.safe_load(text)
    problems += [f"{name}: {p}" for p in structure_problems(doc, ga["datasourceUid"])]
    want = expected_from_values(committed, chart["values"])
    if doc != want:
        detail = grafana_alerts.differences(doc, want, ("rendered", "want"))
        problems.append(f"{name}: {key} is not the committed rules with the values applied: "
                        f"{detail[:5]}")
    problems += [f"{name}: {p}" for p in template_problems(doc)]
    return problems, len(rules_of(doc))


def self_test(committed, source):
    """Each kind of check fails on a file edited to be wrong in that way."""
    def edited(title, edit):
        doc = copy.deepcopy(committed)
        edit(next(r for _, r in rules_of(doc) if r["title"] == title))
        return doc
    prom = {r["alert"]: r for g in source["groups"] for r in g["rules"]}
    first, second = rules_of(committed)[0][1]["title"], rules_of(committed)[1][1]["title"]
    cases = {
        "schema: /groups/0/rules/0: Additional properties":
            edited(first, lambda r: r.update(bogus=1)),
        f"{first}: condition": edited(first, lambda r: r.update(condition="C")),
        f"{first}: query queries data source":
            edited(first, lambda r: r["data"][0].update(datasourceUid="x")),
        f"{first}: noDataState": edited(first, lambda r: r.update(noDataState="NoData")),
        f"{first}: expression differs":
            edited(first, lambda r: r["data"][0]["model"].update(expr="vector(1)")),
        f"{first}: for": edited(first, lambda r: r.update({"for": "7m"})),
        f"{second}: labels": edited(second, lambda r: r["labels"].update(severity="info")),
    }
    failures = []
    for expect, doc in cases.items():
        found = structure_problems(doc, PLACEHOLDER) + source_problems(doc, source)
        if not any(p.startswith(expect) for p in found):
            failures.append(f"not refused ({expect}): {found}")
    # Templates Grafana cannot run: query() left in, $value fed to a function that wants a number.
    untranslated = {"name": "untranslated", "labels": {"target": "t", "instance": "i"},
                    "template": prom["SMTPAuthFailing"]["annotations"]["description"]}
    doc = edited(first, lambda r: r["annotations"].update(
        description=untranslated["template"], summary="{{ $value | humanizeDuration }}"))
    found = template_problems(doc)
    for expect in ("function \"query\" not defined", "error calling humanizeDuration"):
        if not any(expect in p for p in found):
            failures.append(f"template not refused ({expect}): {found}")
    return failures


def main(argv):
    root = pathlib.Path(argv[1])
    committed = yaml.safe_load((root / "dashboards/smtp_exporter.grafana-alerts.yml").read_text())
    source = yaml.safe_load((root / "dashboards/smtp_exporter.rules.yml").read_text())
    if argv[2:3] == ["--rendered"]:
        problems, summary = [], []
        for path in argv[3:]:
            found, count = rendered_problems(path, committed)
            problems += found
            if count:
                summary.append(f"{pathlib.Path(path).stem} ({count} rules)")
        for p in problems:
            print(f"FAIL: {p}")
        if not problems:
            print(f"ok: Grafana alert rule ConfigMaps: {', '.join(summary) or 'none enabled'}")
        return 1 if problems else 0
    if argv[2:3] == ["--self-test"]:
        failures = self_test(committed, source)
        for f in failures:
            print(f"FAIL: {f}")
        if not failures:
            print("check_grafana_alerts: every check refuses a file made wrong for it")
        return 1 if failures else 0
    verbose = "-v" in argv[2:]
    problems = structure_problems(committed, PLACEHOLDER) + source_problems(committed, source)
    problems += template_problems(committed, verbose)
    for p in problems:
        print(p)
    print(f"check_grafana_alerts: {len(rules_of(committed))} rules, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
