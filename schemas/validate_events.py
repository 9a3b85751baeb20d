#!/usr/bin/env python3
"""Validates events against schemas/events/<type>.schema.json with python-jsonschema.

    validate_events.py [--schemas DIR] [FILE]      (FILE or stdin: JSON lines)

Each input line is either an event (expected to be valid) or a case:

    {"name": "...", "event": {...}, "expect": "valid"}
    {"name": "...", "event": {...}, "expect": "invalid", "at": "/data", "keyword": "required"}
    {"name": "...", "event": {...}, "expect": "invalid", "within": "/data/credits"}
    {"name": "...", "event": {...}, "expect": "invalid", "at": "", "says": "'id'"}
    {"name": "...", "event": {...}, "schema": "token.used", "expect": "invalid", "at": "/type"}

The event is validated against the schema of its own `type`, or of the type
named by "schema".

An invalid event is located by jsonschema.exceptions.best_match, the error
python-jsonschema itself raises from validate(): "at" is its exact JSON
pointer, "within" a pointer it must equal or lie below, "keyword" its
failing keyword, "says" a piece of its message. additionalProperties is
reported at the object, with the unexpected name in the message:
{"at": "/data", "keyword": "additionalProperties", "says": "'extra'"}.

Prints one line per input line, "ok N NAME: ..." or "FAIL N NAME: ...".
Exit status: 0 every line ok, 1 some line FAIL, 2 a schema or an input line
is unusable, 3 python3-jsonschema is missing.

Every schema in the directory is loaded first and must pass the draft 2020-12
metaschema (check_schema), use only keywords draft 2020-12 defines (an
unknown or misspelt keyword would otherwise be ignored), and use only formats
that are asserted here: `format` is checked, not just annotated.
"""

import argparse
import datetime
import json
import os
import re
import sys

try:
    import jsonschema
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match
except ImportError as e:
    sys.stderr.write(
        "validate_events.py: python-jsonschema is missing (%s): ./ops/test installs "
        "the Debian package python3-jsonschema (apt-get install python3-jsonschema)\n" % e)
    sys.exit(3)

# Keywords of draft 2020-12 that assert nothing (annotations, identifiers,
# content and meta-data vocabularies); every other keyword must be one
# python-jsonschema validates.
ANNOTATIONS = {
    "$schema", "$id", "$anchor", "$dynamicAnchor", "$vocabulary", "$comment", "$defs",
    "title", "description", "default", "deprecated", "readOnly", "writeOnly", "examples",
    "contentEncoding", "contentMediaType", "contentSchema",
}
KNOWN_KEYWORDS = set(Draft202012Validator.VALIDATORS) | ANNOTATIONS

# Keywords whose value is a schema, a list of schemas, or a map of names to schemas.
ONE_SCHEMA = {"additionalProperties", "unevaluatedProperties", "items", "unevaluatedItems",
              "contains", "propertyNames", "not", "if", "then", "else", "contentSchema"}
SCHEMA_LIST = {"allOf", "anyOf", "oneOf", "prefixItems"}
SCHEMA_MAP = {"properties", "patternProperties", "$defs", "dependentSchemas"}

RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|([+-])(\d{2}):(\d{2}))$")


def format_checker():
    checker = jsonschema.FormatChecker()

    # RFC 3339 date-time. Debian's python3-jsonschema checks it only with
    # rfc3339-validator, which Debian does not package; this is the RFC's
    # grammar (section 5.6) plus calendar ranges.
    @checker.checks("date-time", raises=ValueError)
    def is_date_time(instance):
        if not isinstance(instance, str):
            return True
        m = RFC3339.match(instance)
        if not m:
            return False
        year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
        if second > 60 or (m.group(10) and (int(m.group(10)) > 23 or int(m.group(11)) > 59)):
            return False
        datetime.datetime(year, month, day, hour, minute, min(second, 59))  # ValueError if not
        return True

    return checker


FORMATS = format_checker()


def schema_problems(node, where, out):
    """Unknown keywords and unasserted formats anywhere in a schema."""
    if isinstance(node, bool):
        return
    if not isinstance(node, dict):
        out.append("%s: not a schema" % (where or "/"))
        return
    for key, value in node.items():
        at = "%s/%s" % (where, key)
        if key not in KNOWN_KEYWORDS:
            out.append("%s: keyword %r is not one draft 2020-12 defines" % (at, key))
        elif key == "format" and value not in FORMATS.checkers:
            out.append("%s: format %r is not asserted here" % (at, value))
        elif key in ONE_SCHEMA:
            schema_problems(value, at, out)
        elif key in SCHEMA_LIST and isinstance(value, list):
            for i, sub in enumerate(value):
                schema_problems(sub, "%s/%d" % (at, i), out)
        elif key in SCHEMA_MAP and isinstance(value, dict):
            for name, sub in value.items():
                schema_problems(sub, "%s/%s" % (at, name), out)


def load_schemas(directory):
    """{event type: validator} for every <type>.schema.json; exits 2 on a bad schema."""
    validators, problems = {}, []
    for file in sorted(os.listdir(directory)):
        if not file.endswith(".schema.json"):
            continue
        path = os.path.join(directory, file)
        try:
            with open(path, encoding="utf-8") as f:
                schema = json.load(f)
            Draft202012Validator.check_schema(schema)
        except (OSError, ValueError) as e:
            problems.append("%s: %s" % (file, e))
            continue
        except jsonschema.exceptions.SchemaError as e:
            problems.append("%s: not a valid draft 2020-12 schema: %s at %s"
                            % (file, e.message, pointer(e.absolute_schema_path)))
            continue
        found = []
        schema_problems(schema, "", found)
        problems += ["%s: %s" % (file, p) for p in found]
        validators[file[: -len(".schema.json")]] = Draft202012Validator(
            schema, format_checker=FORMATS)
    if not validators:
        problems.append("no *.schema.json in %s" % directory)
    if problems:
        for p in problems:
            sys.stderr.write("validate_events.py: %s\n" % p)
        sys.exit(2)
    return validators


def pointer(path):
    """RFC 6901 JSON pointer of a python-jsonschema path (a deque of keys)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def within(ptr, prefix):
    return ptr == prefix or ptr.startswith(prefix + "/")


def check(validators, case):
    """(ok, text) for one case."""
    event = case.get("event")
    if not isinstance(event, dict):
        return False, "the event is not an object"
    expect = case.get("expect", "valid")
    type_name = case.get("schema", event.get("type"))
    validator = validators.get(type_name)
    if validator is None:
        # An unknown type is invalid at /type; no schema to say more.
        found = ("/type", "type")
        message = "no schema for type %r" % (type_name,)
    else:
        error = best_match(validator.iter_errors(event))
        if error is None:
            found = None
        else:
            found = (pointer(error.absolute_path), error.validator)
            message = error.message
    if expect == "valid":
        if found is None:
            return True, "valid"
        return False, "expected valid, got invalid at %s [%s]: %s" % (
            json.dumps(found[0]), found[1], message)
    if expect != "invalid":
        return False, "expect must be valid or invalid, not %r" % (expect,)
    want = "invalid"
    if "at" in case:
        want += " at %s" % json.dumps(case["at"])
    if "within" in case:
        want += " within %s" % json.dumps(case["within"])
    if "keyword" in case:
        want += " [%s]" % case["keyword"]
    if "says" in case:
        want += " saying %s" % json.dumps(case["says"])
    if found is None:
        return False, "expected %s, got valid" % want
    got = "invalid at %s [%s]" % (json.dumps(found[0]), found[1])
    if (("at" in case and found[0] != case["at"])
            or ("within" in case and not within(found[0], case["within"]))
            or ("keyword" in case and found[1] != case["keyword"])
            or ("says" in case and case["says"] not in message)):
        return False, "expected %s, got %s: %s" % (want, got, message)
    return True, got


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--schemas", default=os.path.join(os.path.dirname(
        os.path.abspath(__file__)), "events"), help="directory of <type>.schema.json")
    parser.add_argument("file", nargs="?", help="JSON lines (default: stdin)")
    args = parser.parse_args()

    validators = load_schemas(args.schemas)
    lines = open(args.file, encoding="utf-8") if args.file else sys.stdin
    status = 0
    with lines:
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                case = json.loads(line)
            except ValueError as e:
                sys.stderr.write("validate_events.py: line %d is not JSON: %s\n" % (n, e))
                return 2
            if not isinstance(case, dict):
                sys.stderr.write("validate_events.py: line %d is not an object\n" % n)
                return 2
            if "event" not in case:
                case = {"event": case, "expect": "valid"}
            name = case.get("name") or (case["event"].get("type") if isinstance(
                case["event"], dict) else None) or "?"
            ok, text = check(validators, case)
            print("%s %d %s: %s" % ("ok" if ok else "FAIL", n, name, text))
            if not ok:
                status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
