#!/usr/bin/env python3
"""Reads an OpenAPI document with a YAML parser (python3-yaml).

    openapi_operations.py [FILE]               the operations under `paths`,
                                               "GET /v1/tokens/{id}", one a line
    openapi_operations.py --event-refs [FILE]  the event types whose schema
                                               (./events/<type>.schema.json)
                                               components.schemas.Event refers to

FILE defaults to openapi.yaml beside this script. A key repeated in one
mapping is an error (YAML parsers otherwise keep the last one silently, and a
repeated path or method would hide an operation), and so is a path item key
that is neither an operation nor one of OpenAPI 3.1's other path item fields.
Exit status: 0 done, 2 the document is unusable, 3 python3-yaml is missing.
"""

import os
import re
import sys

try:
    import yaml
except ImportError as e:
    sys.stderr.write(
        "openapi_operations.py: python3-yaml is missing (%s): ./ops/test installs the "
        "Debian package python3-yaml (apt-get install python3-yaml)\n" % e)
    sys.exit(3)

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
OTHER_PATH_ITEM_FIELDS = {"summary", "description", "servers", "parameters"}
EVENT_REF = re.compile(r"^\./events/([a-z_.]+)\.schema\.json$")


class Unusable(Exception):
    pass


class UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key repeated in one mapping."""

    def construct_mapping(self, node, deep=False):
        self.flatten_mapping(node)
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark,
                    "found the key %r twice" % (key,), key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


def operations(doc):
    paths = doc.get("paths")
    if not isinstance(paths, dict):
        raise Unusable("no `paths` mapping")
    out = []
    for path, item in paths.items():
        if not isinstance(path, str) or not path.startswith("/"):
            raise Unusable("paths key %r is not a path" % (path,))
        if not isinstance(item, dict):
            raise Unusable("%s: not a path item mapping" % path)
        for key in item:
            if key == "$ref":
                raise Unusable("%s: a $ref path item is not read here; describe it inline" % path)
            if key in METHODS:
                out.append("%s %s" % (key.upper(), path))
            elif key not in OTHER_PATH_ITEM_FIELDS and not str(key).startswith("x-"):
                raise Unusable("%s: %r is not an operation or a path item field" % (path, key))
    return out


def event_refs(doc):
    try:
        event = doc["components"]["schemas"]["Event"]
    except (KeyError, TypeError):
        raise Unusable("no components.schemas.Event")
    found, todo = [], [event]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and EVENT_REF.match(ref):
                found.append(EVENT_REF.match(ref).group(1))
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    return sorted(found)


def main(argv):
    args = [a for a in argv if a != "--event-refs"]
    if len(args) > 1 or any(a.startswith("-") for a in args):
        sys.stderr.write(__doc__)
        return 2
    path = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                             "openapi.yaml")
    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.load(f, Loader=UniqueKeyLoader)
        if not isinstance(doc, dict):
            raise Unusable("not a mapping")
        lines = event_refs(doc) if "--event-refs" in argv else operations(doc)
    except (OSError, yaml.YAMLError, Unusable) as e:
        sys.stderr.write("openapi_operations.py: %s: %s\n" % (path, e))
        return 2
    for line in lines:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
