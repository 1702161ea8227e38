"""YAML text for generated files: the same bytes whatever the PyYAML version, and readable.

emit_node() writes dicts and lists in block style, short ones of plain values in flow style
({type: gt, params: [0]}), multi-line strings as literal blocks (|), long one-line strings as
folded blocks (>-) broken only at single spaces outside {{ ... }} (except under the keys the
caller keeps on one line, e.g. PromQL), and any other string plain when YAML reads it back as
the same string, else single-quoted (JSON-quoted if it has control characters). The caller
reads the text back and compares (scripts/grafana_alerts.py does): a writer bug can change
formatting, never a value.
"""
import json
import re

PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*|[0-9]+(ms|s|m|h|d|w|y)")
YAML11_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}
WIDTH = 100


def inline(value):
    """A one-line scalar: plain when YAML reads it back as the same string, else quoted."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    s = str(value)
    if PLAIN.fullmatch(s) and s.lower() not in YAML11_WORDS:
        return s
    if s.isprintable():  # single quotes: no escapes but '' (PromQL keeps its "...")
        return "'" + s.replace("'", "''") + "'"
    return json.dumps(s, ensure_ascii=False)


def fold_points(s):
    """Indexes of the single spaces outside {{ ... }} where a folded scalar may break."""
    points, depth = [], 0
    for i, c in enumerate(s):
        if s.startswith("{{", i):
            depth += 1
        elif s.startswith("}}", i - 1) and i > 0 and depth:
            depth -= 1
        elif c == " " and not depth and s[i - 1] != " " and s[i + 1:i + 2] not in ("", " "):
            points.append(i)
    return points


def scalar(value, indent, fold=True):
    """A scalar after "key: ": a block scalar for multi-line text, or long text if fold, else
    inline."""
    if not isinstance(value, str):
        return inline(value)
    s, pad = value, " " * indent
    printable = all(c == "\n" or (c.isprintable() and c != "\t") for c in s)
    if printable and "\n" in s and not s.endswith("\n\n"):
        chomp = "" if s.endswith("\n") else "-"
        indicator = "2" if s[:1] == " " else ""
        body = s[:-1] if s.endswith("\n") else s
        lines = [(pad + line) if line else "" for line in body.split("\n")]
        return f"|{indicator}{chomp}\n" + "\n".join(lines)
    if fold and printable and len(s) > WIDTH - indent and s == s.strip():
        lines, start, last = [], 0, None
        for i in fold_points(s) + [len(s)]:
            if i - start > WIDTH - indent and last is not None:
                lines.append(s[start:last])
                start = last + 1
            last = i
        lines.append(s[start:])
        if len(lines) > 1:
            return ">-\n" + "\n".join(pad + x for x in lines)
    return inline(s)


def flow(value):
    """Short dicts and lists of plain values on one line: {type: gt, params: [0]}."""
    if isinstance(value, dict):
        parts = [f"{k}: {flow(v)}" for k, v in value.items()]
        return "{" + ", ".join(parts) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return inline(value)


def flowable(value):
    if isinstance(value, (dict, list)):
        items = value.values() if isinstance(value, dict) else value
        return all(flowable(v) for v in items)
    return not isinstance(value, str) or ("\n" not in value and len(value) < 40)


def emit_entry(prefix, value, indent, keep_lines):
    """prefix ("key:" or "-") and value, whose block lines are indented by indent."""
    if isinstance(value, (dict, list)) and flowable(value) and len(flow(value)) <= 60:
        return f"{prefix} {flow(value)}"
    if isinstance(value, dict) and prefix.endswith("-"):  # "- key: ..." on the dash's line
        return f"{prefix} {emit_node(value, indent, keep_lines)[indent:]}"
    if isinstance(value, (dict, list)):
        return f"{prefix}\n{emit_node(value, indent, keep_lines)}"
    key = prefix.strip().rstrip(":")
    return f"{prefix} {scalar(value, indent, fold=key not in keep_lines)}"


def emit_node(value, indent, keep_lines=frozenset()):
    """value as YAML at indent; strings under the keys in keep_lines are never folded."""
    pad = " " * indent
    if isinstance(value, dict):
        return "\n".join(emit_entry(f"{pad}{k}:", v, indent + 2, keep_lines)
                         for k, v in value.items())
    return "\n".join(emit_entry(f"{pad}-", v, indent + 2, keep_lines) for v in value)
