#!/usr/bin/python3
"""Turns the chart's rendered sidecar example into what `podman kube play` runs.

Input: tests/helm/render.go's JSON output (`render -o json`) of helm/examples/shop-with-smtp-exporter.
Output (stdout): a YAML stream (each document written as JSON, which is YAML) of the objects kube
play starts: the exporter's ConfigMap and the application's Deployment. What changes, and why:

- the application container ("shop") runs a sleep loop from the base image instead of the
  example's shop image, which does not exist here; its security context and Secret mount stay;
- a scripted SMTP peer container (perl-base from the same base image, tests/image/smtp_peer.pl)
  joins the pod: it listens on the pod's loopback and checks the password from the Secret;
- `optional: false` on each Secret volume: valid Kubernetes, and podman 4.3 panics without it;
- one replica (a test pod, not a rollout);
- no `ports`: podman 4.3 publishes every containerPort on the host's 0.0.0.0 (Kubernetes only
  documents them) and refuses any port mapping in a pod without a network (`--network none`,
  which keeps the pod on its own loopback). The probes keep their named port; the test resolves
  it from the rendered ports, as the kubelet does (podman's own translation of an httpGet probe
  runs curl inside the container, and the image has none).
Otherwise the exporter container is left as the chart renders it: image, arguments, probes,
resources, security context, config and Secret mounts. Objects kube play cannot run (PodMonitor,
PrometheusRule) are listed on stderr and left out; the chart test validates them
(tests/helm/run.sh).

Usage: sidecar_pod.py RENDERED.json BASE_IMAGE PEER_SCRIPT PEER_PORT PROBES_OUT
PROBES_OUT gets one line per HTTP probe of the exporter container: "KIND PATH PORT" (kind
liveness or readiness, the named port resolved to its number).
"""
import json
import sys

APPLICATION = "shop"
EXPORTER = "smtp-exporter"
PEER = "smtp-peer"
# The application's Secret volume in the example's Deployment (key "password").
APP_SECRET_VOLUME = "shop-smtp"
APP_SECRET_MOUNT = "/run/secrets/shop-smtp"
RUNNABLE = ("ConfigMap", "Deployment")


def fail(message):
    print(f"sidecar_pod.py: {message}", file=sys.stderr)
    sys.exit(1)


def container(spec, name):
    for c in spec["containers"]:
        if c["name"] == name:
            return c
    fail(f"the rendered pod has no container named {name!r}: "
         f"{[c['name'] for c in spec['containers']]}")


def http_probes(exporter):
    """The exporter's HTTP probes as (kind, path, port number), named ports resolved."""
    ports = {p["name"]: p["containerPort"] for p in exporter.get("ports", []) if "name" in p}
    out = []
    for kind in ("liveness", "readiness"):
        probe = exporter.get(f"{kind}Probe")
        if not probe or "httpGet" not in probe:
            continue
        port = probe["httpGet"]["port"]
        if isinstance(port, str):
            if port not in ports:
                fail(f"{kind} probe names port {port!r}, which the container does not declare: {ports}")
            port = ports[port]
        out.append((kind, probe["httpGet"]["path"], port))
    return out


def convert_deployment(deployment, base_image, peer_script, peer_port):
    deployment["spec"]["replicas"] = 1
    spec = deployment["spec"]["template"]["spec"]
    probes = http_probes(container(spec, EXPORTER))
    for c in spec["containers"]:
        c.pop("ports", None)

    app = container(spec, APPLICATION)
    app["image"] = base_image
    app["imagePullPolicy"] = "Never"
    # A stand-in for the application: alive until stopped, and stops at once on SIGTERM.
    app["command"] = ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]

    spec["containers"].append({
        "name": PEER,
        "image": base_image,
        "imagePullPolicy": "Never",
        "command": ["perl", "-e", peer_script, str(peer_port), f"{APP_SECRET_MOUNT}/password"],
        "volumeMounts": [{"name": APP_SECRET_VOLUME, "mountPath": APP_SECRET_MOUNT, "readOnly": True}],
        "securityContext": {
            "runAsUser": 10002,
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    })

    for volume in spec.get("volumes", []):
        if "secret" in volume:
            volume["secret"].setdefault("optional", False)
    return deployment, probes


def main():
    if len(sys.argv) != 6:
        fail("usage: sidecar_pod.py RENDERED.json BASE_IMAGE PEER_SCRIPT PEER_PORT PROBES_OUT")
    rendered_file, base_image, peer_script_file, peer_port, probes_file = sys.argv[1:]
    with open(rendered_file) as f:
        rendered = json.load(f)
    with open(peer_script_file) as f:
        peer_script = f.read()

    out = []
    deployments = 0
    for document in rendered["documents"]:
        obj = document["object"]
        kind = obj.get("kind")
        if kind not in RUNNABLE:
            print(f"sidecar_pod.py: left out {kind} {obj['metadata']['name']} "
                  f"(kube play does not run it; tests/helm validates it)", file=sys.stderr)
            continue
        if kind == "Deployment":
            deployments += 1
            obj, probes = convert_deployment(obj, base_image, peer_script, peer_port)
            with open(probes_file, "w") as f:
                f.writelines(f"{kind} {path} {port}\n" for kind, path, port in probes)
        out.append(obj)
    if deployments != 1:
        fail(f"expected one Deployment in the rendered example, found {deployments}")
    print("\n---\n".join(json.dumps(obj, indent=2) for obj in out))


if __name__ == "__main__":
    main()
