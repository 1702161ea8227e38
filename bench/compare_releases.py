#!/usr/bin/python3
"""Driver of bench/compare_releases.sh (run that, not this): the exporter's runtime image of each
Debian release (the same sources built by the Dockerfile with DEBIAN_RELEASE=...), each run in a
container on the host's network against the same postfix, at the same paced rate; the releases
alternate for several rounds. Prints each round, then per release the median CPU per STARTTLS
session with its spread, and the ratio of the medians."""
import argparse
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_blackbox import pct, run_exporter  # noqa: E402


def launch_container(release, image):
    """run_exporter's launcher: the image's entrypoint (uid 65532, --config.file of the image) with
    the bench's config mounted over the image's, the PKI at its own path, the host's loopback."""
    def launch(a, cfg, port):
        name = f"smtp-exporter-bench-{release}-{port}"
        subprocess.run(["podman", "run", "-d", "--name", name, "--network", "host",
                        "-v", f"{cfg}:/etc/smtp_exporter/smtp_exporter.toml:ro",
                        "-v", f"{a.pki}:{a.pki}:ro", image,
                        f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                       check=True, stdout=subprocess.DEVNULL)
        pid = int(subprocess.check_output(["podman", "inspect", "--format", "{{.State.Pid}}", name],
                                          text=True))

        def stop():
            with open(os.path.join(a.work, f"exporter-{release}.log"), "a") as log:
                subprocess.run(["podman", "logs", name], stdout=log, stderr=log)
            subprocess.run(["podman", "rm", "-f", "-t", "5", name],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return pid, stop
    return launch


def openssl_of(image):
    """The version of the image's libssl3 (libssl3t64 on Debian 13); dpkg-query also lists the
    names it only knows of, with no version."""
    out = subprocess.run(["podman", "run", "--rm", "--network", "none", "--entrypoint", "dpkg-query",
                          image, "-W", "-f", "${Package} ${Version}\n", "libssl3*"],
                         capture_output=True, text=True).stdout
    versions = [line.split()[1] for line in out.splitlines() if len(line.split()) == 2]
    return versions[0] if versions else "?"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rate", type=int, default=50)
    p.add_argument("--seconds", type=int, default=20)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--image", action="append", required=True, help="RELEASE=IMAGE, two or more")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pki", required=True)
    p.add_argument("--work", required=True)
    a = p.parse_args()
    images = [tuple(x.split("=", 1)) for x in a.image]
    print(f"rate {a.rate} sessions/s for {a.seconds} s per round, {a.rounds} rounds, against postfix "
          f"127.0.0.1:{a.port} (the host's: STARTTLS, TLS 1.3, tickets on, EC P-256 chain of two)")
    ssl = {release: openssl_of(image) for release, image in images}
    for release, image in images:
        print(f"{release}: {image}, OpenSSL {ssl[release]}")
    rows = {release: [] for release, _ in images}
    for r in range(a.rounds):
        # Alternate the order, so that a drift in the machine's load does not favour one release.
        for release, image in (images if r % 2 == 0 else images[::-1]):
            load = open("/proc/loadavg").read().split()[0]
            row = run_exporter(a, launch_container(release, image), release)
            row["cpu_per"] = row["cpu"] / max(1, row["sessions"]) * 1000
            rows[release].append(row)
            print(f"round {r + 1} {release:10} sessions {row['sessions']:5.0f} fail {row['failures']:3d} "
                  f"CPU {row['cpu_per']:.3f} ms/session  peak RSS {row['rss']:.1f} MiB  anon {row['anon']:.1f} MiB  "
                  f"wall p50 {pct(row['walls'], 50) * 1000:.2f} ms  (load {load})", flush=True)
            time.sleep(1)
    print(f"\n{'release':10} {'OpenSSL':18} {'CPU ms/session: median':>23} {'min':>6} {'max':>6} "
          f"{'spread':>7} {'peak RSS MiB':>13} {'anon MiB':>9} {'wall p50 ms':>12}")
    medians = {}
    for release, _ in images:
        cpu = [x["cpu_per"] for x in rows[release]]
        medians[release] = statistics.median(cpu)
        print(f"{release:10} {ssl[release]:18} {medians[release]:23.3f} {min(cpu):6.3f} {max(cpu):6.3f} "
              f"{(max(cpu) - min(cpu)) / medians[release] * 100:6.1f}% "
              f"{statistics.median(x['rss'] for x in rows[release]):13.1f} "
              f"{statistics.median(x['anon'] for x in rows[release]):9.1f} "
              f"{statistics.median(pct(x['walls'], 50) for x in rows[release]) * 1000:12.2f}")
    first = images[0][0]
    for release, _ in images[1:]:
        print(f"ratio of the medians {release}/{first}: CPU per session {medians[release] / medians[first]:.3f}")
    if any(x["failures"] for rs in rows.values() for x in rs):
        print("note: some sessions failed (see the fail column); their CPU is in the figures")


if __name__ == "__main__":
    main()
