#!/usr/bin/python3
"""Fails when a source file includes a layer its folder may not depend on.

The layers and what each may include are the table below (docs/architecture.md draws it). A rule
names folder prefixes; the longest prefix that matches a file decides. Usage:
    check_includes.py SOURCE_DIR
Exit 0 when every include follows the table, 1 with one line per forbidden include otherwise.
"""
import pathlib
import re
import sys

PROBES = ["probes/core", "probes/tls", "probes/dns", "probes/oauth", "probes/imap", "probes/smtp"]
# folder -> folders whose headers it may include (its own folder always).
ALLOWED = {
    "common": [],
    "config": ["common"],
    "probes/core": ["common"],
    "probes/tls": ["probes/core", "common"],
    "probes/dns": ["common"],
    # OAuth 2.0 tokens: an HTTPS client on probes/tls's contexts; SMTP's SASL uses the tokens.
    "probes/oauth": ["probes/core", "probes/tls", "common"],
    # IMAP for the delivery probe (issue 21): TLS contexts, OAuth bearer tokens; never SMTP.
    "probes/imap": ["probes/core", "probes/tls", "probes/oauth", "common"],
    "probes/smtp": PROBES + ["common"],
    "exporter/runtime": ["common"],
    # The web layer serves HTTP; it never reaches into scheduling or what is rendered.
    "exporter/web": ["exporter/runtime", "config", "common"],
    "exporter/schedule": ["exporter/runtime", "config", "common"] + PROBES,
    "exporter/render": ["exporter/schedule", "exporter/runtime", "config", "common"] + PROBES,
    "exporter/views": ["exporter/schedule", "exporter/runtime", "config", "common"] + PROBES,
    # A kind of check (DNSBL; sender readiness: reverse DNS, SPF, DMARC): its runner, metrics, page section
    # and diagnose section; it knows the scheduler and the views, never another kind.
    "exporter/dnsbl": ["exporter/views", "exporter/render", "exporter/schedule",
                       "exporter/runtime", "config", "common"] + PROBES,
    "exporter/sender": ["exporter/views", "exporter/render", "exporter/schedule",
                        "exporter/runtime", "config", "common"] + PROBES,
    # The registry of check kinds: the one place that names each (a line per kind).
    "exporter/checks": ["exporter/dnsbl", "exporter/sender", "exporter/schedule", "exporter/runtime", "config",
                        "common"] + PROBES,
    # app wires every layer but the command line.
    "exporter/app": ["exporter/web", "exporter/dnsbl", "exporter/checks", "exporter/views",
                     "exporter/render", "exporter/schedule", "exporter/runtime", "config",
                     "common"] + PROBES,
    "exporter/cli": ["exporter/app", "exporter/web", "exporter/dnsbl", "exporter/checks",
                     "exporter/views", "exporter/render", "exporter/schedule",
                     "exporter/runtime", "config", "common"] + PROBES,
}
LAYER_ROOTS = ("common", "config", "probes", "exporter")
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')


def layer_of(path: str):
    """The rule's folder for a path relative to the source root, or None outside the layers."""
    best = None
    for folder in ALLOWED:
        if path == folder or path.startswith(folder + "/"):
            if best is None or len(folder) > len(best):
                best = folder
    return best


def main(root: pathlib.Path) -> int:
    problems = []
    checked = 0
    for top in LAYER_ROOTS:
        for source in sorted((root / top).rglob("*")):
            if source.suffix not in (".cpp", ".hpp", ".h") or not source.is_file():
                continue
            rel = source.relative_to(root).as_posix()
            folder = layer_of(rel)
            if folder is None:
                problems.append(f"{rel}: in no layer of tests/layering/check_includes.py")
                continue
            checked += 1
            for number, line in enumerate(source.read_text(errors="replace").splitlines(), 1):
                match = INCLUDE.match(line)
                if not match:
                    continue
                target = match.group(1)
                if not target.startswith(tuple(t + "/" for t in LAYER_ROOTS)):
                    continue  # a header of a library, or a sibling file
                target_folder = layer_of(target)
                if target_folder == folder or target_folder in ALLOWED[folder]:
                    continue
                problems.append(f"{rel}:{number}: {folder} may not include {target}")
    for p in problems:
        print(p)
    if checked == 0:
        print(f"no sources found under {root}")
        return 1
    print(f"{checked} files checked, {len(problems)} forbidden includes")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")))
