"""SQL text that comes from a model file, checked before `sample --target` runs it in a database.

A model file holds no pickle, but its schema holds SQL (CHECKs, DEFAULTs, generated columns, index
expressions, partition bounds, policies, views, triggers) that the writer sends to the target as it
is: a hand-edited CHECK calling lo_import() ran on every row (6,000 server files read into the
target). Unless the user says the file is theirs (--trust-model-sql), an object whose SQL calls a
function outside a small list of side-effect-free built-ins, or runs a statement, is not created and
is listed under "not recreated"; a trigger is code and is never created from an untrusted file. A
second statement smuggled into an expression (`...); DROP TABLE t; --`) is refused in one line
either way. ``synthesize`` reads its schema live from the source and is not checked here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from relsynth.dialects import MODEL_SQL
from relsynth.errors import RelsynthError

if TYPE_CHECKING:
    from relsynth.schema import Column, Schema, Table


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


TRUST = "sample --trust-model-sql runs it: only for model files you made"

# Side-effect-free built-ins (and type names written with a modifier: varchar(10)).
ALLOWED = _words(
    """
    abs round floor ceil ceiling trunc sign mod power sqrt greatest least coalesce nullif ifnull isnull
    lower upper length char_length character_length octet_length bit_length substr substring trim
    ltrim rtrim btrim left right replace position strpos instr concat concat_ws lpad rpad reverse
    initcap split_part starts_with now current_date current_time current_timestamp localtime
    localtimestamp date_trunc date_part extract age make_date make_time make_interval to_char
    to_date to_timestamp to_number date datetime time julianday strftime unixepoch timestamp
    json_valid json_type json_extract jsonb_typeof json_typeof jsonb_array_length json_array_length
    regexp_like regexp_match regexp_matches char_length cast convert iif if count sum avg min max
    array_length cardinality num_nonnulls num_nulls current_setting random gen_random_uuid uuid
    curdate curtime utc_date utc_time utc_timestamp sysdate date_format
    """
    # What CHECKs and DEFAULTs of PostgreSQL, MariaDB and SQLite call besides (round 45: printf,
    # typeof, md5, clock_timestamp and string_agg were refused): text, numbers, hashes, JSON, times
    # (the clock is the only server state read), ranges and arrays built from their arguments. Never
    # one that reads a file, runs code, sleeps, locks, reads another table or the server's state
    # (pg_read_file, load_extension, lo_import, dblink, pg_sleep, sleep, benchmark, sys_exec,
    # get_lock, load_file, currval, setval, version, database, user).
    + """
    printf format typeof quote hex unhex char unicode glob likely unlikely likelihood soundex total
    group_concat string_agg array_agg json_group_array json_group_object json_object json_array
    json_quote json_insert json_replace json_set json_remove json_patch json_each json_tree jsonb
    json_array_insert json_contains json_contains_path json_length json_keys json_depth json_unquote
    json_search json_overlaps json_value json_query json_exists json_normalize json_compact
    json_build_object jsonb_build_object json_build_array jsonb_build_array to_json to_jsonb
    json_extract_path json_extract_path_text jsonb_extract_path jsonb_extract_path_text
    jsonb_path_exists jsonb_path_match jsonb_path_query_first jsonb_strip_nulls jsonb_set jsonb_insert
    jsonb_object_keys json_object_keys jsonb_array_elements json_array_elements jsonb_exists
    md5 sha sha1 sha2 sha224 sha256 sha384 sha512 crc32 digest convert_to convert_from
    clock_timestamp statement_timestamp transaction_timestamp timeofday timezone date_bin
    justify_days justify_hours justify_interval make_timestamp make_timestamptz isfinite age
    date_add date_sub adddate subdate addtime subtime datediff timediff timestampdiff timestampadd
    dayofweek dayofmonth dayofyear weekday week weekofyear yearweek year month day hour minute second
    microsecond quarter monthname dayname last_day from_days to_days to_seconds from_unixtime
    unix_timestamp str_to_date makedate maketime sec_to_time time_to_sec period_add period_diff
    time_format get_format localtime localtimestamp
    string_to_array array_to_string array_position array_positions array_append array_prepend
    array_cat array_remove array_replace array_lower array_upper array_ndims array_dims unnest
    regexp_replace regexp_split_to_array regexp_substr regexp_instr regexp_count regexp
    translate quote_ident quote_literal quote_nullable chr ascii repeat space encode decode to_hex
    lcase ucase mid locate field find_in_set elt bin oct conv normalize casefold strcmp
    acos asin atan atan2 cos cosh cot sin sinh tan tanh exp ln log log2 log10 pi pow radians degrees
    cbrt div gcd lcm factorial width_bucket scale min_scale trim_scale truncate bit_count rand
    int4range int8range numrange tsrange tstzrange daterange lower_inc upper_inc lower_inf upper_inf
    isempty range_merge host masklen network family broadcast netmask inet_aton inet_ntoa
    inet6_aton inet6_ntoa is_ipv4 is_ipv6 uuid_generate_v4 pg_typeof
    varchar char character nchar nvarchar numeric decimal float double real int integer bigint
    smallint tinyint mediumint bit varbit varying interval timestamptz timetz binary varbinary text blob
    """
)
DEFAULTS = frozenset({"nextval"})  # a DEFAULT may draw from a sequence (of the target's, by its name)
# MySQL/MariaDB's DEFAULT ... ON UPDATE CURRENT_TIMESTAMP[(n)] (now(), localtime, localtimestamp
# alike): the only clause ON UPDATE takes there, a clock, no statement. Its UPDATE was read as one:
# the DEFAULT of every such column was dropped from a model file (OpenEMR's lists.modifydate).
_ON_UPDATE_NOW = re.compile(
    r"\s+on\s+update\s+(?:current_timestamp|now|localtime|localtimestamp)(?:\s*\(\s*\d*\s*\))?\s*$",
    re.IGNORECASE,
)
# Words that open or run a statement: never in an expression, a view or a partition bound.
STATEMENTS = _words(
    "insert update delete merge copy call execute drop alter grant revoke truncate create perform"
)
# Not function names though followed by "(": keywords of expressions and DDL.
KEYWORDS = _words(
    """
    and or not in is exists any all some as values array row over filter within from to with using
    on where select case when then else end like ilike similar between default distinct partition by
    range list hash modulus remainder null check for each of asc desc nulls first last collate
    escape union intersect except join left right inner outer cross lateral group order having limit
    offset include key primary unique references match full less than maxvalue columns linear
    subpartition subpartitions partitions
    """
)


def _tokens(backslash: bool) -> re.Pattern[str]:
    """Tokens of SQL, with a backslash escaping the next character in a quoted text (MySQL, and
    PostgreSQL's E'...') or not (the standard): a text is scanned both ways, so that no reading of
    it hides a call inside what the other took for a string."""
    bs = "\\\\" if backslash else ""  # a backslash, for the character classes
    esc = "|\\\\." if backslash else ""  # and a backslash with the character it escapes
    return re.compile(
        "(?P<str>'(?:[^'" + bs + "]|''" + esc + ")*')"
        r"|(?P<dollar>\$(?:[A-Za-z_]\w*)?\$)"
        # SQLite quotes a name in brackets too: [load_extension](...) is a call (a bracket of a
        # name's characters only: ARRAY['a'] and arr[1] stay what they are, their insides scanned)
        '|(?P<quoted>"(?:[^"' + bs + ']|""' + esc + ')*"|`(?:[^`]|``)*`|\\[[A-Za-z_][\\w$ ]*\\])'
        r"|(?P<word>[A-Za-z_][\w$]*)"
        r"|(?P<semi>;)|(?P<open>\()|(?P<dot>\.)|(?P<comment>--|/\*|\#)|(?P<other>\S)",
        re.S,
    )


_TOKENS = (_tokens(False), _tokens(True))


def _problem(sql: str, *, view: bool = False, extra: frozenset[str] = frozenset()) -> tuple[str, bool]:
    """("", False) where the text only calls allowed built-ins; else (what it calls, runs or holds:
    "f()", "DROP", "a comment"; said with its verb by ``doing``; a second statement). Read both
    with and without backslash escapes in its quoted texts."""
    for pattern in _TOKENS:
        found = _scan([(m.lastgroup or "", m.group()) for m in pattern.finditer(sql)], view, extra)
        if found[0]:
            return found
    return "", False


def _scan(tokens: list[tuple[str, str]], view: bool, extra: frozenset[str]) -> tuple[str, bool]:
    """A view's text may open with CREATE ... VIEW ... AS (SQLite's, MariaDB's)."""
    while tokens and tokens[-1][0] == "semi":  # a trailing ';' is one statement still
        tokens.pop()
    if any(kind == "semi" for kind, _ in tokens):
        return "a second statement", True
    first = 0
    if view and tokens and tokens[0][1].lower() == "create":
        first = next((i + 1 for i, (k, v) in enumerate(tokens) if k == "word" and v.lower() == "as"), 0)
    for i, (kind, text) in enumerate(tokens[first:], start=first):
        if kind == "dollar":
            return "a $$ text", False
        if kind == "comment":  # dialects read comments differently (MySQL's /*! ... */ runs)
            return "a comment", False
        if kind not in {"word", "quoted"}:
            continue
        word = text.lower() if kind == "word" else text[1:-1].lower()
        if kind == "word" and word in STATEMENTS:
            return word.upper(), False
        follows = tokens[i + 1][0] if i + 1 < len(tokens) else None
        if follows == "dot":  # schema.function( : the qualified name is the function's
            continue
        qualified = i > 0 and tokens[i - 1][0] == "dot"
        if follows == "open" and (qualified or kind == "quoted" or word not in ALLOWED | KEYWORDS | extra):
            return f"{word}()", False
    return "", False


# A column's or a domain's type spelled by the model file goes into CREATE TABLE as it is.
_NOT_IN_TYPES = _words("check default references generated constraint as null not primary unique key")


def _type_problem(native: str) -> tuple[str, bool]:
    """What is wrong with a type's text: a call (but for the type's own name, geometry(Point,4326)
    or MySQL's enum('a','b')), a constraint or default riding along, a second statement."""
    for pattern in _TOKENS:
        tokens = [(m.lastgroup or "", m.group()) for m in pattern.finditer(native)]
        if any(k == "semi" for k, _ in tokens):
            return "a second statement", True
        for i, (kind, text) in enumerate(tokens):
            if kind in {"comment", "dollar"}:
                return "a comment" if kind == "comment" else "a $$ text", False
            if kind == "word" and text.lower() in _NOT_IN_TYPES:
                return text.upper(), False
            follows = tokens[i + 1][0] if i + 1 < len(tokens) else None
            own = i == 0 or (i == 2 and tokens[1][0] == "dot")  # the type's name, or schema.name
            if follows == "open" and kind in {"word", "quoted"} and not own and text.lower() not in ALLOWED:
                return f"{text.lower()}()", False
    return "", False


def doing(found: str) -> str:
    """What ``_problem`` found, with its verb: a model file "calls lo_import()", "runs DROP",
    "holds a comment" (it said "calls a comment")."""
    if found.endswith("()"):
        return f"calls {found}"
    if found.lower() in STATEMENTS:
        return f"runs {found}"
    return f"holds {found}"


def _type_first(native: str, what: str, trust: bool) -> str:
    found, stacked = _type_problem(native or "")
    if stacked:
        raise _stacked(what)
    return "" if trust else found


def checked(schema: Schema, *, trust: bool = False) -> Schema:
    """The schema the writer is given: a model file's with what its SQL may not run left out, each
    said in schema.notes (listed under "not recreated"); the model samples as it was fitted. A
    stacked statement is refused in one line, trusted or not."""
    notes: list[str] = []
    tables = tuple(_table(t, notes, trust) for t in schema.tables)
    views = []
    for v in schema.views:
        found, stacked = _problem(v.sql, view=True)
        if stacked:
            raise _stacked(f"view {v.name}")
        if found and not trust:
            notes.append(f"{MODEL_SQL} {doing(found)}: view {v.name} ({TRUST})")
        else:
            views.append(v)
    domains = []
    for d in schema.domains:
        found = _type_first(d.type.native, f"domain {d.name}", trust)
        found = found or _first(list(d.checks), f"domain {d.name}", trust)
        found = found or _first([d.default or ""], f"domain {d.name}", trust, DEFAULTS)
        if found:
            raise _refused(f"domain {d.name}", found)
        domains.append(d)
    if not notes and tables == schema.tables and len(views) == len(schema.views):
        return schema
    return replace(
        schema, tables=tables, views=tuple(views), domains=tuple(domains), notes=(*schema.notes, *notes)
    )


def _first(texts: list[str], what: str, trust: bool, extra: frozenset[str] = frozenset()) -> str:
    """What the first of ``texts`` calls that is not allowed ("" for none); a stacked one is refused."""
    for sql in texts:
        found, stacked = _problem(sql, extra=extra)
        if stacked:
            raise _stacked(what)
        if found and not trust:
            return found
    return ""


def _stacked(what: str) -> RelsynthError:
    return RelsynthError(
        f"The model file's {what} holds a second SQL statement: refused (edited by hand?); "
        "make the model again with relsynth fit"
    )


def _refused(what: str, found: str) -> RelsynthError:
    return RelsynthError(
        f"The model file's {what} is SQL that {doing(found)}, which relsynth does not run from a model "
        f"file ({TRUST})"
    )


def _column(table: Table, col: Column, notes: list[str], trust: bool) -> Column:
    what = f"{table.name}.{col.name}"
    found = _type_first(col.type.native, f"column {what}", trust)
    found = found or _first([col.computed or ""], f"column {what}", trust)
    if found:  # its type or its generation: the table cannot be made without them
        raise _refused(f"column {what}", found)
    found = _first([_ON_UPDATE_NOW.sub("", col.default or "")], f"DEFAULT of {what}", trust, DEFAULTS)
    if found:
        notes.append(f"{MODEL_SQL} {doing(found)}: DEFAULT of {what} ({TRUST})")
        return replace(col, default=None)
    return col


def _table(table: Table, notes: list[str], trust: bool) -> Table:
    name = table.name
    columns = tuple(_column(table, c, notes, trust) for c in table.columns)

    def keep(items: tuple[Any, ...], what: str, texts: Callable[[Any], list[str]]) -> tuple[Any, ...]:
        out = []
        for item in items:
            label = f"{what} {getattr(item, 'name', None) or ''} of {name}".replace("  ", " ")
            found = _first([s for s in texts(item) if s], label, trust)
            if found:
                notes.append(f"{MODEL_SQL} {doing(found)}: {label} ({TRUST})")
            else:
                out.append(item)
        return tuple(out)

    checks = keep(table.checks, "CHECK", lambda c: [c.sql])
    indexes = keep(table.indexes, "index", lambda ix: [*ix.expressions, ix.where])
    exclusions = keep(table.exclusions, "EXCLUDE constraint", lambda x: [x.sql, x.where or ""])
    policies = keep(table.policies, "policy", lambda p: [p.using or "", p.check or ""])
    triggers = table.triggers
    if triggers and not trust:
        for t in triggers:
            notes.append(f"{MODEL_SQL} runs code: trigger {t.name} of {name} ({TRUST})")
        triggers = ()
    if table.partitioning is not None:
        p = table.partitioning
        found = _first([p.key, *[b for _, b in p.partitions]], f"partitioning of {name}", trust)
        if found:
            raise _refused(f"partitioning of {name}", found)
        sec = tuple(
            replace(
                s,
                policies=keep(
                    s.policies, f"policy of partition {s.partition}", lambda q: [q.using or "", q.check or ""]
                ),
            )
            for s in p.security
        )
        table = replace(table, partitioning=replace(p, security=sec))
    return replace(
        table,
        columns=columns,
        checks=checks,
        indexes=indexes,
        exclusions=exclusions,
        policies=policies,
        triggers=triggers,
    )
