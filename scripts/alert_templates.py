"""Prometheus alert templates made into Grafana alert templates.

Grafana expands annotation templates with Prometheus' own template expander, with two
differences that matter here (grafana/grafana pkg/services/ngalert/state/template/template.go):
- `query` is a no-op that returns an empty result ("query() is not supported in Grafana"): a
  `{{ with ... | query }}` or `{{ range ... | query }}` block never runs (its `else`, if any, does);
- `$value` is the "value string" (`[ var='query' labels={...} value=3 ]`) on Grafana before 12,
  and a number only when one data source is queried; the query's number is `$values.query.Value`
  (`query` being the refId of the PromQL query in the rules this project generates).

translate() rewrites a template accordingly: blocks that only run on a query() result are
removed (Grafana would render nothing for them, or their else branch), and `$value` becomes
`$values.query.Value`. What cannot be translated faithfully raises TranslationError: a variable
whose value comes from query() and is used afterwards (the text would silently take a wrong
branch), query() anywhere else. Such annotations need a Grafana text of their own.

The lexer follows Go's text/template/parse: actions between "{{" and "}}", optional trim
markers "{{- " and " -}}", strings ("..." with escapes, `...` raw) that may contain "}}".
"""
import re

QUERY_REF = "query"  # refId of the PromQL query in the generated rules
VALUE_REPLACEMENT = f"$values.{QUERY_REF}.Value"


class TranslationError(Exception):
    pass


class Action:
    """One {{ ... }}: raw is the exact source text, body the pipeline inside the delimiters."""

    def __init__(self, raw):
        self.raw = raw
        inner = raw[2:-2]
        self.ltrim = inner.startswith("- ")
        self.rtrim = inner.endswith(" -")
        self.body = inner[2 if self.ltrim else 0:len(inner) - (2 if self.rtrim else 0)].strip()
        words = self.body.split(None, 1)
        self.keyword = words[0] if words and words[0] in KEYWORDS else None

    def with_body(self, body):
        left, right = ("{{- " if self.ltrim else "{{ "), (" -}}" if self.rtrim else " }}")
        return Action(left + body + right)


KEYWORDS = {"if", "else", "end", "range", "with", "define", "block", "template", "break",
            "continue"}


def lex(text):
    """Splits a template into text (str) and Action tokens."""
    tokens, pos = [], 0
    while True:
        start = text.find("{{", pos)
        if start < 0:
            if pos < len(text):
                tokens.append(text[pos:])
            return tokens
        if start > pos:
            tokens.append(text[pos:start])
        i = start + 2
        if text.startswith("/*", i) or text.startswith("- /*", i):
            end = text.find("*/", i)
            close = text.find("}}", end) if end >= 0 else -1
            if close < 0:
                raise TranslationError("unclosed comment")
            tokens.append(Action(text[start:close + 2]))
            pos = close + 2
            continue
        while True:
            if i >= len(text):
                raise TranslationError(f"unclosed action at offset {start}")
            c = text[i]
            if c in "\"'":
                i += 1
                while i < len(text) and text[i] != c:
                    i += 2 if text[i] == "\\" else 1
                i += 1
            elif c == "`":
                i = text.find("`", i + 1)
                if i < 0:
                    raise TranslationError("unclosed raw string")
                i += 1
            elif text.startswith("}}", i):
                tokens.append(Action(text[start:i + 2]))
                pos = i + 2
                break
            else:
                i += 1


def code_parts(body):
    """The pipeline's parts outside string literals (strings replaced by a placeholder)."""
    return re.sub(r'"(?:[^"\\]|\\.)*"|`[^`]*`|\'(?:[^\'\\]|\\.)*\'', '""', body)


def calls_query(body):
    return re.search(r"(?<![\w.$])query\b", code_parts(body)) is not None


# Commands that return an empty query() result empty (what follows `query` in a pipeline).
KEEPS_EMPTY = {"sortByLabel"}


def ends_in_query(body):
    """True if the pipeline's value is query()'s result: `query`, then only KEEPS_EMPTY."""
    commands = [c.split() for c in code_parts(body).split("|")]
    for i, words in enumerate(commands):
        if words[:1] == ["query"]:
            return all(c[:1] and c[0] in KEEPS_EMPTY for c in commands[i + 1:])
    return False


class Block:
    """{{ if|with|range }} ... [{{ else [if|with] }} ...] {{ end }}: branches of (head, nodes)."""

    def __init__(self, head):
        self.branches = [(head, [])]
        self.end = None


def parse(tokens):
    root, stack = [], []
    current = root
    for t in tokens:
        if isinstance(t, str) or t.keyword is None:
            current.append(t)
        elif t.keyword in ("if", "with", "range"):
            block = Block(t)
            current.append(block)
            stack.append(block)
            current = block.branches[0][1]
        elif t.keyword == "else":
            if not stack:
                raise TranslationError("else outside a block")
            stack[-1].branches.append((t, []))
            current = stack[-1].branches[-1][1]
        elif t.keyword == "end":
            if not stack:
                raise TranslationError("end outside a block")
            stack.pop().end = t
            current = stack[-1].branches[-1][1] if stack else root
        else:
            raise TranslationError(f"{{{{ {t.keyword} }}}} is not supported here")
    if stack:
        raise TranslationError("block without end")
    return root


def branch_pipeline(action, first):
    """The condition of a branch: 'with X' -> X, 'else if X' -> X, plain 'else' -> None."""
    words = action.body.split(None, 2)
    if first:
        return action.body.split(None, 1)[1] if len(words) > 1 else ""
    if len(words) >= 2 and words[1] in ("if", "with"):
        return words[2] if len(words) > 2 else ""
    return None


ASSIGN = re.compile(r"^\$(\w+)\s*:?=")


class Translator:
    def __init__(self):
        self.removed_assignments = set()

    def note_removed(self, nodes):
        for n in nodes:
            if isinstance(n, Action):
                m = ASSIGN.match(n.body)
                if m:
                    self.removed_assignments.add(m.group(1))
            elif isinstance(n, Block):
                for head, body in n.branches:
                    self.note_removed([head])
                    self.note_removed(body)

    def nodes(self, nodes):
        out = []
        for n in nodes:
            if isinstance(n, str):
                out.append(n)
            elif isinstance(n, Action):
                if calls_query(n.body):
                    raise TranslationError(f"{n.raw} calls query() outside a with/range/if block")
                out.append(n)
            else:
                out.extend(self.block(n))
        return out

    def block(self, block):
        """The block without the branches Grafana never takes (their condition is query()'s
        empty result), as a list of nodes."""
        kept = []
        for i, (head, body) in enumerate(block.branches):
            pipeline = branch_pipeline(head, i == 0)
            if pipeline is not None and calls_query(pipeline):
                if not ends_in_query(pipeline):
                    raise TranslationError(f"{head.raw}: query() inside a condition")
                self.note_removed([head])
                self.note_removed(body)
                continue
            kept.append((head, pipeline, body))
        if not kept:
            return []
        first_head, first_pipeline, first_body = kept[0]
        if first_pipeline is None:  # only the plain else is left: it always runs
            return self.nodes(first_body)
        kind = block.branches[0][0].keyword
        words = first_head.body.split(None, 2)
        if first_head.keyword == "else":  # "else if X" is now the first branch: "if X"
            kind = words[1]
        result = [first_head.with_body(f"{kind} {first_pipeline}") if first_head.keyword == "else"
                  else first_head]
        result.extend(self.nodes(first_body))
        for head, _, body in kept[1:]:
            result.append(head)
            result.extend(self.nodes(body))
        result.append(block.end)
        return result


def serialize(nodes):
    return "".join(n if isinstance(n, str) else n.raw for n in nodes)


def replace_value(action):
    """$value -> $values.query.Value, outside string literals."""
    pieces = re.split(r'("(?:[^"\\]|\\.)*"|`[^`]*`)', action.body)
    for i in range(0, len(pieces), 2):
        pieces[i] = re.sub(r"\$value(?![\w])", VALUE_REPLACEMENT, pieces[i])
    body = "".join(pieces)
    return action if body == action.body else action.with_body(body)


def translate(text):
    """The Grafana form of a Prometheus annotation template (see the module comment)."""
    translator = Translator()
    nodes = translator.nodes(parse(lex(text)))
    # A variable that only query() set: its later uses read the placeholder value.
    for name in sorted(translator.removed_assignments):
        uses = [n for n in nodes if isinstance(n, Action) and not ASSIGN.match(n.body)
                and re.search(rf"\${name}(?![\w])", code_parts(n.body))]
        if uses:
            raise TranslationError(f"${name} is set from query() and used in {uses[0].raw}")
    nodes = [replace_value(n) if isinstance(n, Action) else n for n in nodes]
    # Declarations left without any use (their query() assignment is gone) are dropped.
    out = []
    for n in nodes:
        m = isinstance(n, Action) and ASSIGN.match(n.body)
        if m and m.group(1) in translator.removed_assignments:
            continue
        out.append(n)
    return serialize(out)
