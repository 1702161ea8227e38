// Validates charts rendered by render.go (-o json): every object against the Kubernetes (or
// prometheus-operator) schema of its kind, with unknown fields rejected, each chart's values
// against its values.schema.json, and what the smtp-exporter chart promises (security settings,
// probes, names that refer to each other, rules and dashboards carried verbatim). It writes the
// rendered exporter configs, rule files and container arguments to OUT_DIR, for run.sh to check
// with `smtp_exporter --config.check` and `promtool check rules`.
//
//   node validate.mjs OUT_DIR VARIANT=rendered.json...
//   node validate.mjs --expect-invalid TEXT rendered.json   (exit 0 only if invalid with TEXT)
//
// Dependencies (package.json): kubernetes-models, @kubernetes-models/prometheus-operator, ajv.
// Their validators do not reject unknown fields, so each object is wrapped in a Proxy that records
// which properties the validator reads: a property it never read is not in the schema.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { isDeepStrictEqual } from "node:util";

const require = createRequire(import.meta.url);
const Ajv = require("ajv");
const k8s = path.dirname(require.resolve("kubernetes-models/package.json"));
const promOp = path.dirname(require.resolve("@kubernetes-models/prometheus-operator/package.json"));

const kinds = {
  "apps/v1/Deployment": [k8s, "IoK8sApiAppsV1Deployment"],
  "apps/v1/StatefulSet": [k8s, "IoK8sApiAppsV1StatefulSet"],
  "v1/Service": [k8s, "IoK8sApiCoreV1Service"],
  "v1/ConfigMap": [k8s, "IoK8sApiCoreV1ConfigMap"],
  "v1/Secret": [k8s, "IoK8sApiCoreV1Secret"],
  "v1/ServiceAccount": [k8s, "IoK8sApiCoreV1ServiceAccount"],
  "networking.k8s.io/v1/NetworkPolicy": [k8s, "IoK8sApiNetworkingV1NetworkPolicy"],
  "policy/v1/PodDisruptionBudget": [k8s, "IoK8sApiPolicyV1PodDisruptionBudget"],
  "monitoring.coreos.com/v1/ServiceMonitor": [promOp, "MonitoringCoreosComV1ServiceMonitor"],
  "monitoring.coreos.com/v1/PodMonitor": [promOp, "MonitoringCoreosComV1PodMonitor"],
  "monitoring.coreos.com/v1/PrometheusRule": [promOp, "MonitoringCoreosComV1PrometheusRule"],
};
const validators = {};
for (const [key, [dir, schema]] of Object.entries(kinds)) {
  const mod = await import(pathToFileURL(path.join(dir, "_schemas", `${schema}.js`)).href);
  validators[key] = mod.validate;
}

// Wraps value (recursively) so that reads are recorded; returns [proxy, records].
function tracked(value) {
  const records = [];
  const wrap = (v, where) => {
    if (v === null || typeof v !== "object") return v;
    const accessed = new Set();
    if (!Array.isArray(v)) records.push({ where, value: v, accessed });
    const copy = Array.isArray(v)
      ? v.map((x, i) => wrap(x, `${where}/${i}`))
      : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, wrap(x, `${where}/${k}`)]));
    return new Proxy(copy, {
      get(target, prop, receiver) {
        if (typeof prop === "string") accessed.add(prop);
        return Reflect.get(target, prop, receiver);
      },
    });
  };
  return [wrap(value, ""), records];
}

// The packaged validators are compiled without messages: say what failed from keyword and params.
function describe(e) {
  const p = e.params ?? {};
  switch (e.keyword) {
    case "type": return `must be ${p.type}`;
    case "required": return `lacks required field ${p.missingProperty}`;
    case "enum": return `must be one of ${JSON.stringify(p.allowedValues)}`;
    case "format": return `must match format ${p.format}`;
    case "pattern": return `must match pattern ${p.pattern}`;
    default: return `fails ${e.keyword} ${JSON.stringify(p)}`;
  }
}

// Schema errors of obj, and its fields the schema does not know.
export function schemaProblems(obj) {
  const key = `${obj.apiVersion}/${obj.kind}`;
  const validate = validators[key];
  if (!validate) return [`no schema for ${key}: add it to validate.mjs or render a known kind`];
  const [proxy, records] = tracked(obj);
  const problems = [];
  if (!validate(proxy)) {
    for (const e of validate.errors) problems.push(`${e.instancePath || "/"} ${describe(e)}`);
  }
  for (const r of records) {
    for (const k of Object.keys(r.value)) {
      if (!r.accessed.has(k)) problems.push(`${r.where}/${k}: unknown field`);
    }
  }
  return problems;
}

// What the PrometheusRule and dashboard ConfigMaps must carry verbatim: the chart's rules (as
// JSON, from render -yaml2json) and dashboards, when run.sh names them.
const sources = {};
if (process.env.SMTP_CHART_RULES_JSON) {
  sources.rules = JSON.parse(fs.readFileSync(process.env.SMTP_CHART_RULES_JSON, "utf8"));
}
if (process.env.SMTP_CHART_DASHBOARDS_DIR) {
  sources.dashboards = {};
  for (const f of fs.readdirSync(process.env.SMTP_CHART_DASHBOARDS_DIR)) {
    if (f.endsWith(".json")) sources.dashboards[f] = fs.readFileSync(path.join(process.env.SMTP_CHART_DASHBOARDS_DIR, f), "utf8");
  }
}

const dns1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function metadataProblems(obj) {
  const p = [];
  const m = obj.metadata;
  if (!m || typeof m !== "object") return ["no metadata"];
  if (typeof m.name !== "string" || !dns1123.test(m.name) || m.name.length > 253) {
    p.push(`metadata.name ${JSON.stringify(m.name)} is not a DNS-1123 name`);
  }
  for (const [k, v] of Object.entries(m.labels ?? {})) {
    if (typeof v !== "string") p.push(`label ${k} is not a string`);
    else if (v.length > 63 || !/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(v)) {
      p.push(`label ${k}=${v} is not a valid label value`);
    }
  }
  return p;
}

// Pod-level consistency: mounts, ports, probes.
function podProblems(spec, where) {
  const p = [];
  const volumes = new Set((spec.volumes ?? []).map((v) => v.name));
  const portNames = new Map();
  for (const c of spec.containers ?? []) {
    for (const m of c.volumeMounts ?? []) {
      if (!volumes.has(m.name)) p.push(`${where}: container ${c.name} mounts unknown volume ${m.name}`);
    }
    for (const port of c.ports ?? []) {
      if (!port.name) continue;
      if (port.name.length > 15) p.push(`${where}: port name ${port.name} is longer than 15`);
      if (portNames.has(port.name)) p.push(`${where}: port name ${port.name} used twice in the pod`);
      portNames.set(port.name, port.containerPort);
    }
    for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
      const port = probe?.httpGet?.port;
      if (typeof port === "string" && !(c.ports ?? []).some((x) => x.name === port)) {
        p.push(`${where}: container ${c.name} probes port ${port}, which it does not declare`);
      }
    }
  }
  return p;
}

// What the smtp-exporter chart promises for its container, wherever it runs.
function exporterContainerProblems(c, pod, where) {
  const p = [];
  const sc = c.securityContext ?? {};
  const psc = pod.securityContext ?? {};
  if (!(sc.runAsNonRoot ?? psc.runAsNonRoot)) p.push(`${where}: runAsNonRoot is not set`);
  if (sc.readOnlyRootFilesystem !== true) p.push(`${where}: readOnlyRootFilesystem is not true`);
  if (sc.allowPrivilegeEscalation !== false) p.push(`${where}: allowPrivilegeEscalation is not false`);
  if (!(sc.capabilities?.drop ?? []).includes("ALL")) p.push(`${where}: capabilities do not drop ALL`);
  if (!c.resources?.requests?.memory || !c.resources?.limits?.memory) {
    p.push(`${where}: memory request and limit are not both set`);
  }
  if (c.name === "smtp-exporter") {
    if (c.livenessProbe?.httpGet?.path !== "/-/healthy") p.push(`${where}: liveness is not GET /-/healthy`);
    if (c.readinessProbe?.httpGet?.path !== "/-/ready") p.push(`${where}: readiness is not GET /-/ready`);
    if ((c.args ?? []).some((a) => a.startsWith("--config.file"))) {
      p.push(`${where}: repeats --config.file, which the image's entrypoint sets`);
    }
    if (!(c.volumeMounts ?? []).some((m) => m.mountPath === "/etc/smtp_exporter")) {
      p.push(`${where}: the config is not mounted at /etc/smtp_exporter (the image's --config.file)`);
    }
  }
  if (pod.automountServiceAccountToken !== false) p.push(`${where}: the service-account token is mounted`);
  return p;
}

function selectorMatches(selector, labels) {
  return Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
}

// Per variant: kinds that must (true) or must not (false) be rendered, and extra checks.
const expectations = {
  default: {
    kinds: { Deployment: true, Service: true, ConfigMap: true, Secret: false, ServiceMonitor: false,
      PodMonitor: false, PrometheusRule: false, NetworkPolicy: false, PodDisruptionBudget: false },
    checksum: true,
  },
  "standalone-full": {
    kinds: { Deployment: true, Service: true, ConfigMap: true, Secret: true, ServiceMonitor: true,
      PodMonitor: true, PrometheusRule: true, NetworkPolicy: true, PodDisruptionBudget: true,
      ServiceAccount: true },
    checksum: true,
    dashboards: true,
    extras: true,
  },
  reloader: {
    kinds: { Deployment: true, Service: true, ConfigMap: true, Secret: false, PodDisruptionBudget: true },
    checksum: false,
    reloader: true,
  },
  sidecar: {
    kinds: { Deployment: false, Service: false, ConfigMap: true, Secret: true, ServiceMonitor: false,
      PodMonitor: true, PrometheusRule: true, NetworkPolicy: false, PodDisruptionBudget: false },
    dashboards: true,
  },
  "rules-overrides": {
    kinds: { Deployment: true, Service: true, ConfigMap: true, PrometheusRule: true },
    rulesOverridden: true,
  },
  statefulset: {
    kinds: { StatefulSet: true, Deployment: false, Service: true, ConfigMap: true, ServiceMonitor: true,
      PodMonitor: false, PodDisruptionBudget: true },
    checksum: true,
    sharded: true,
  },
  "existing-configmap": {
    kinds: { Deployment: true, Service: true, ConfigMap: false },
    checksum: false,
  },
  "example-shop": {
    kinds: { Deployment: true, Service: false, ConfigMap: true, PodMonitor: true, PrometheusRule: true },
    sidecarDeployment: true,
  },
};

// ci/rules-overrides.yaml, applied to the chart's rules file: exactly the changes it asks for.
function ruleOverrideProblems(groups, sourceGroups) {
  const p = [];
  const rules = Object.fromEntries(groups.flatMap((g) => g.rules).map((r) => [r.alert, r]));
  const source = Object.fromEntries(sourceGroups.flatMap((g) => g.rules).map((r) => [r.alert, r]));
  if (rules.SMTPSlowGreeting) p.push("SMTPSlowGreeting is still rendered (disabled: true)");
  for (const [name, src] of Object.entries(source)) {
    if (name === "SMTPSlowGreeting") continue;
    const r = rules[name];
    if (!r) { p.push(`${name} is missing`); continue; }
    if (r.labels?.team !== "mail") p.push(`${name}: no additional label team=mail`);
    const want = `https://wiki.example.com/runbooks/smtp#${name.toLowerCase()}`;
    if (r.annotations?.runbook_url !== want) p.push(`${name}: runbook_url ${r.annotations?.runbook_url}, want ${want}`);
    if (r.annotations?.summary !== src.annotations?.summary) p.push(`${name}: summary changed`);
    const expr = name === "SMTPEndpointDown" ? "max without (probe) (smtp_probe_consecutive_failures) >= 5" : src.expr;
    if (r.expr !== expr) p.push(`${name}: expr ${r.expr}`);
    const severity = name === "SMTPTLSCertificateExpiringSoon" ? "info" : src.labels?.severity;
    if (r.labels?.severity !== severity) p.push(`${name}: severity ${r.labels?.severity}, want ${severity}`);
    const wantFor = name === "SMTPTLSCertificateExpiringSoon" ? "1h" : src.for;
    if (r.for !== wantFor) p.push(`${name}: for ${r.for}, want ${wantFor}`);
    if ((r.labels?.pager === "true") !== (name === "SMTPEndpointDown")) p.push(`${name}: pager label misplaced`);
  }
  return p;
}

function checkVariant(variant, rendered, outDir, ajv) {
  const problems = [];
  const add = (list) => problems.push(...list);
  // Values against each chart's schema, as helm install does.
  for (const c of rendered.charts) {
    if (!c.schema) continue;
    const validate = ajv.compile(JSON.parse(fs.readFileSync(c.schema, "utf8")));
    if (!validate(c.values)) {
      for (const e of validate.errors) {
        add([`values of ${c.chart}: ${e.instancePath || "/"} ${e.message}${e.params?.additionalProperty ? ` (${e.params.additionalProperty})` : ""}`]);
      }
    }
  }
  const docs = rendered.documents;
  const byKind = (k) => docs.filter((d) => d.object.kind === k).map((d) => d.object);
  // The objects that run pods: a Deployment, or a StatefulSet in statefulset mode.
  const workloads = () => [...byKind("Deployment"), ...byKind("StatefulSet")];
  const seen = new Set();
  for (const { source, object } of docs) {
    const where = `${source}: ${object.kind}/${object.metadata?.name}`;
    const id = `${object.apiVersion}/${object.kind}/${object.metadata?.namespace}/${object.metadata?.name}`;
    if (seen.has(id)) add([`${where}: rendered twice`]);
    seen.add(id);
    add(schemaProblems(object).map((x) => `${where}: ${x}`));
    add(metadataProblems(object).map((x) => `${where}: ${x}`));
    if (object.kind === "Deployment" || object.kind === "StatefulSet") {
      const pod = object.spec.template.spec;
      if (!selectorMatches(object.spec.selector.matchLabels, object.spec.template.metadata?.labels)) {
        add([`${where}: selector does not match the pod template's labels`]);
      }
      add(podProblems(pod, where));
      for (const c of pod.containers) {
        if (c.name.startsWith("smtp-exporter")) add(exporterContainerProblems(c, pod, `${where} container ${c.name}`));
        if (c.name === "smtp-exporter") {
          // For run.sh: the config the container reads (if rendered here), then its arguments.
          const volume = (pod.volumes ?? []).find((v) => v.name === "smtp-exporter-config");
          const cm = byKind("ConfigMap").find((x) => x.metadata.name === volume?.configMap?.name);
          const config = cm ? path.join(outDir, `${variant}--${cm.metadata.name}.toml`) : "";
          fs.writeFileSync(path.join(outDir, `${variant}--${object.metadata.name}.args`),
            [config, ...(c.args ?? [])].join("\n") + "\n");
        }
      }
    }
    if (object.kind === "Service") {
      const pods = workloads().map((d) => d.spec.template);
      const target = pods.find((t) => selectorMatches(object.spec.selector, t.metadata.labels));
      if (!target) add([`${where}: selects no rendered pod`]);
      for (const port of object.spec.ports) {
        const named = target?.spec.containers.some((c) => (c.ports ?? []).some((x) => x.name === port.targetPort));
        if (target && typeof port.targetPort === "string" && !named) add([`${where}: targetPort ${port.targetPort} is no container port`]);
      }
    }
    if (object.kind === "ServiceMonitor") {
      const svc = byKind("Service").find((s) => selectorMatches(object.spec.selector.matchLabels, s.metadata.labels));
      if (!svc) add([`${where}: selects no rendered Service`]);
      for (const e of object.spec.endpoints) {
        if (svc && !svc.spec.ports.some((p) => p.name === e.port)) add([`${where}: endpoint port ${e.port} is not a port of the Service`]);
      }
    }
    if (object.kind === "ConfigMap" && object.data?.["smtp_exporter.toml"] !== undefined) {
      const file = path.join(outDir, `${variant}--${object.metadata.name}.toml`);
      fs.writeFileSync(file, object.data["smtp_exporter.toml"]);
    }
    if (object.kind === "PrometheusRule") {
      const file = path.join(outDir, `${variant}--${object.metadata.name}.rules.json`);
      fs.writeFileSync(file, JSON.stringify({ groups: object.spec.groups }, null, 2));
      if (expectations[variant]?.rulesOverridden) {
        add(ruleOverrideProblems(object.spec.groups, sources.rules?.groups ?? []).map((x) => `${where}: ${x}`));
      } else if (sources.rules && !isDeepStrictEqual(object.spec.groups, sources.rules.groups)) {
        add([`${where}: spec.groups differ from the groups of the chart's rules file`]);
      }
    }
    if (object.kind === "ConfigMap" && sources.dashboards && object.metadata.labels?.grafana_dashboard) {
      for (const [key, text] of Object.entries(object.data ?? {})) {
        const source = sources.dashboards[key];
        if (source === undefined) add([`${where}: ${key} is not a dashboard of the chart`]);
        else if (text.trimEnd() !== source.trimEnd()) add([`${where}: ${key} differs from the chart's file`]);
      }
    }
  }

  const exp = expectations[variant];
  if (!exp) {
    add([`no expectations for variant ${variant}: add it to validate.mjs`]);
    return problems;
  }
  for (const [kind, wanted] of Object.entries(exp.kinds)) {
    const n = byKind(kind).length;
    if (wanted && n === 0) add([`expected a ${kind}, none rendered`]);
    if (!wanted && n > 0) add([`expected no ${kind}, rendered ${n}`]);
  }
  const exporterPods = workloads().map((d) => d.spec.template)
    .filter((t) => t.spec.containers.some((c) => c.name === "smtp-exporter"));
  if ((exp.kinds.Deployment || exp.kinds.StatefulSet) && exporterPods.length === 0) {
    add(["no Deployment or StatefulSet runs the smtp-exporter container"]);
  }
  if (exp.extras) {
    // serviceAccount.create, envFrom, initContainers and extraContainers reach the pod.
    const sa = byKind("ServiceAccount")[0];
    for (const w of workloads()) {
      const pod = w.spec.template.spec;
      if (pod.serviceAccountName !== sa?.metadata.name) add([`${w.metadata.name}: runs as ${pod.serviceAccountName}, not the rendered ServiceAccount ${sa?.metadata.name}`]);
      if (!(pod.initContainers ?? []).some((c) => c.name === "wait-for-ca")) add([`${w.metadata.name}: init container missing`]);
      if (!pod.containers.some((c) => c.name === "log-shipper")) add([`${w.metadata.name}: extra container missing`]);
      const c = pod.containers.find((x) => x.name === "smtp-exporter");
      if (!(c?.envFrom ?? []).some((e) => e.secretRef?.name === "smtp-credentials")) add([`${w.metadata.name}: envFrom missing`]);
    }
    if (sa && sa.automountServiceAccountToken !== false) add([`ServiceAccount ${sa.metadata.name} mounts its token`]);
  }
  if (exp.sharded) {
    // Each pod probes its share: --shard.count is the replica count, the index is the pod's ordinal,
    // and the StatefulSet's governing Service is the rendered headless one.
    for (const s of byKind("StatefulSet")) {
      const c = s.spec.template.spec.containers.find((x) => x.name === "smtp-exporter");
      const args = c?.args ?? [];
      if (!args.includes(`--shard.count=${s.spec.replicas}`)) add([`StatefulSet ${s.metadata.name}: no --shard.count=${s.spec.replicas} in ${args}`]);
      if (!args.includes("--shard.index-from-hostname")) add([`StatefulSet ${s.metadata.name}: no --shard.index-from-hostname`]);
      const svc = byKind("Service").find((x) => x.metadata.name === s.spec.serviceName);
      if (!svc) add([`StatefulSet ${s.metadata.name}: serviceName ${s.spec.serviceName} is no rendered Service`]);
      else if (svc.spec.clusterIP !== "None") add([`Service ${svc.metadata.name}: the governing Service is not headless`]);
    }
  }
  for (const t of exporterPods) {
    const annotations = t.metadata.annotations ?? {};
    const hasChecksum = Object.keys(annotations).some((k) => k.startsWith("checksum/"));
    if (exp.checksum !== undefined && hasChecksum !== exp.checksum) {
      add([`pod template ${exp.checksum ? "lacks" : "has"} a checksum/ annotation`]);
    }
    const reloader = t.spec.containers.some((c) => c.name === "smtp-exporter-config-reloader");
    if (reloader !== Boolean(exp.reloader)) add([`config reloader container ${reloader ? "present" : "missing"}`]);
    // The config volume points at a rendered ConfigMap with the exporter's config, if one is rendered.
    const cms = byKind("ConfigMap").filter((c) => c.data?.["smtp_exporter.toml"] !== undefined).map((c) => c.metadata.name);
    const vol = t.spec.volumes.find((v) => v.name === "smtp-exporter-config");
    if (!vol) add(["pod has no smtp-exporter-config volume"]);
    else if (cms.length && !cms.includes(vol.configMap?.name)) add([`config volume refers to ConfigMap ${vol.configMap?.name}, rendered: ${cms}`]);
  }
  if (exp.sidecarDeployment) {
    const both = byKind("Deployment").some((d) => {
      const names = d.spec.template.spec.containers.map((c) => c.name);
      return names.includes("smtp-exporter") && names.some((n) => !n.startsWith("smtp-exporter"));
    });
    if (!both) add(["no Deployment has both an application container and the smtp-exporter container"]);
  }
  if (exp.dashboards) {
    const dash = byKind("ConfigMap").filter((c) => c.metadata.labels?.grafana_dashboard === "1");
    if (dash.length === 0) add(["no ConfigMap labelled grafana_dashboard=\"1\""]);
    for (const c of dash) {
      for (const [k, v] of Object.entries(c.data ?? {})) {
        try { JSON.parse(v); } catch (e) { add([`dashboard ${c.metadata.name}/${k} is not JSON: ${e.message}`]); }
      }
    }
  }
  return problems;
}

function selfTest() {
  // The checks must be able to fail: a misspelt container field, a wrong type, a bad value key.
  const deployment = {
    apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "x" },
    spec: { selector: { matchLabels: { a: "b" } }, template: { metadata: { labels: { a: "b" } },
      spec: { containers: [{ name: "c", image: "i", securityContext: { readOnlyRootFileSystem: true } }] } } },
  };
  const unknown = schemaProblems(deployment);
  if (!unknown.some((p) => p.includes("containers/0/securityContext/readOnlyRootFileSystem: unknown field"))) {
    throw new Error(`self-test: unknown container field not reported: ${unknown}`);
  }
  deployment.spec.template.spec.containers[0] = { name: "c", image: "i", ports: [{ containerPort: "9465" }] };
  if (!schemaProblems(deployment).some((p) => p.includes("containerPort must be integer"))) {
    throw new Error("self-test: wrong type not reported");
  }
  deployment.spec.template.spec.containers[0] = { name: "c", image: "i" };
  if (schemaProblems(deployment).length) throw new Error(`self-test: valid Deployment rejected: ${schemaProblems(deployment)}`);
}

function main(argv) {
  const ajv = new Ajv({ allErrors: true, allowUnionTypes: true, strict: true });
  if (argv[0] === "--expect-invalid") {
    const [, text, file] = argv;
    const rendered = JSON.parse(fs.readFileSync(file, "utf8"));
    const tmp = fs.mkdtempSync(path.join(path.dirname(file), "invalid-"));
    const problems = checkVariant("default", rendered, tmp, ajv).filter((p) => !p.startsWith("expected"));
    fs.rmSync(tmp, { recursive: true });
    const hit = problems.find((p) => p.includes(text));
    if (hit) {
      console.log(`ok: rejected as expected: ${hit}`);
      return 0;
    }
    console.log(`FAIL: expected a problem containing ${JSON.stringify(text)}, got: ${JSON.stringify(problems)}`);
    return 1;
  }
  selfTest();
  console.log("ok: validator self-test (unknown fields and wrong types are rejected)");
  const [outDir, ...pairs] = argv;
  fs.mkdirSync(outDir, { recursive: true });
  let failed = 0;
  for (const pair of pairs) {
    const [variant, file] = pair.split("=");
    const rendered = JSON.parse(fs.readFileSync(file, "utf8"));
    const problems = checkVariant(variant, rendered, outDir, ajv);
    const summary = rendered.documents.map((d) => d.object.kind).join(", ");
    if (problems.length) {
      failed++;
      console.log(`FAIL: ${variant}: ${problems.length} problems`);
      for (const p of problems) console.log(`  ${p}`);
    } else {
      console.log(`ok: ${variant}: ${rendered.documents.length} objects valid (${summary})`);
    }
  }
  return failed ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
