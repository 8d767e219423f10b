"""The one reader of every JSON or YAML file a user gives a tool: label mappings, argument files (`train.py
args.json`), circumplex files, calibration records.

Strict where a person would be misled: a key given twice in one object (JSON keeps the last silently, so a label
mapped twice would count its texts under the second name), a value of the wrong type, a key the file format does
not have (a typo that would be ignored), bytes that are not UTF-8 text (gzip, UTF-16): each a `DataError` naming
the file, the key and what was expected.

    spec = read_object(path, "label mapping", FIELDS)   # FIELDS: {key: (type or types, required)}
"""

import json
from pathlib import Path

from data import DataError, check_plain_text


class _RepeatedKey(ValueError):
    pass


def _unique(pairs):
    seen = set()
    for key, _ in pairs:
        if key in seen:
            raise _RepeatedKey(key)
        seen.add(key)
    return dict(pairs)


def read_text(path, what: str) -> str:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file (expected a {what})") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder; expected a {what} file") from None
    check_plain_text(path, raw[:4096])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: not UTF-8 ({error.reason} at byte {error.start}); expected a UTF-8 {what}") from None


def read_json(path, what: str):
    """A JSON file's value; a key given twice in one object is an error naming it."""
    text = read_text(path, what)
    try:
        return json.loads(text, object_pairs_hook=_unique)
    except _RepeatedKey as error:
        raise DataError(f"{path}: key {error.args[0]!r} is given twice in one object; expected each key once (JSON "
                        "would keep the last one silently)") from None
    except json.JSONDecodeError as error:
        raise DataError(f"{path}, line {error.lineno} column {error.colno}: not valid JSON ({error.msg}); expected "
                        f"a {what}") from None


def read_yaml(path, what: str):
    """A YAML file's value; a key given twice in one mapping is an error naming it and its line."""
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            seen = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    raise DataError(f"{path}, line {key_node.start_mark.line + 1}: key {key!r} is given twice in one "
                                    "mapping; expected each key once")
                seen.add(key)
            return super().construct_mapping(node, deep)

    text = read_text(path, what)
    try:
        return yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        raise DataError(f"{path}: not valid YAML ({str(error).splitlines()[0]}); expected a {what}") from None


def read_object(path, what: str, fields: dict | None = None):
    """A JSON (or .yaml / .yml) file holding one object, checked against `fields` ({key: (type or types,
    required)}) when given: a missing required key, an unknown key or a value of another type is an error naming
    the file and the key."""
    path = Path(path)
    value = read_yaml(path, what) if path.suffix.lower() in (".yaml", ".yml") else read_json(path, what)
    if not isinstance(value, dict):
        raise DataError(f"{path}: expected a {what} (an object with keys), got {type(value).__name__}")
    if fields is not None:
        check_fields(path, value, fields, what)
    return value


TYPE_NAMES = {str: "a string", int: "a whole number", float: "a number", bool: "true or false", list: "a list",
              dict: "an object", type(None): "null"}


def check_fields(path, value: dict, fields: dict, what: str) -> None:
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise DataError(f"{path}: unknown key(s) {unknown} in a {what}; expected some of {sorted(fields)}")
    for key, (types, required) in fields.items():
        if key not in value:
            if required:
                raise DataError(f"{path}: missing key {key!r}; a {what} needs {sorted(k for k, f in fields.items() if f[1])}")
            continue
        types = types if isinstance(types, tuple) else (types,)
        item = value[key]
        number = float in types and isinstance(item, int) and not isinstance(item, bool)
        if not (number or (isinstance(item, types) and not (isinstance(item, bool) and bool not in types))):
            expected = " or ".join(TYPE_NAMES.get(t, t.__name__) for t in types)
            raise DataError(f"{path}: key {key!r} must be {expected}, got {json.dumps(item)[:60]}")
