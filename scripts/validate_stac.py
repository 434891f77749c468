#!/usr/bin/env python3
"""Validates STAC Items offline against the STAC JSON schemas in a local folder.

Usage: validate_stac.py [--schemas DIR] [--require-extension PREFIX ...] ITEM.json ...

Each item is checked twice, never touching the network:
  1. with `jsonschema` + `referencing`: against the core Item schema of its `stac_version` and
     the schema of every extension it lists in `stac_extensions`, resolved through a registry
     that maps each schema's `$id` to its file in DIR (default ../shared/data/stac-schemas
     beside the repository, where CI puts it);
  2. with `pystac`: `Item.from_dict(...).validate()` with a schema cache filled from the same
     files and an allow-list that refuses every URL the cache does not hold.
A declared extension without a schema in DIR is an error (it cannot be checked).
`--require-extension mlm` fails an item that does not declare an extension whose URL contains
`/mlm/`. Prints one `ok` line per item; exits 1 with the errors otherwise.
"""
import argparse
import copy
import json
import pathlib
import sys

import jsonschema
import referencing
import referencing.exceptions
import referencing.jsonschema

HERE = pathlib.Path(__file__).resolve().parent
DEFAULT_SCHEMAS = HERE.parent.parent / "shared" / "data" / "stac-schemas"
RASTER_V1_1 = "https://stac-extensions.github.io/raster/v1.1.0/schema.json"
RASTER_V1_0 = "https://stac-extensions.github.io/raster/v1.0.0/schema.json"


def schema_id(schema):
    return schema.get("$id", schema.get("id", "")).rstrip("#")


def load_schemas(folder):
    """Every schema in `folder`, keyed by its `$id` without the trailing '#'."""
    schemas = {}
    for path in sorted(folder.glob("*.json")):
        schema = json.loads(path.read_text())
        key = schema_id(schema)
        if key:
            schemas[key] = schema
    repair_raster_band_definition(schemas)
    return schemas


def repair_raster_band_definition(schemas):
    """Every MLM schema takes `data_type` from `raster/v1.1.0/schema.json#/definitions/bands`.

    The file stored under that `$id` in the shared folder is not the published raster v1.1.0
    schema (it is the later STAC-1.1-bands draft, without `definitions/bands`), so that pointer
    leads nowhere. The published v1.1.0 band definition is the one of v1.0.0 (same `data_type`
    enum), so it is added under `definitions/bands` of the v1.1.0 entry; nothing else changes
    (items declaring raster v1.1.0 are still validated by the shared file's own rules).
    """
    v11, v10 = schemas.get(RASTER_V1_1), schemas.get(RASTER_V1_0)
    if v11 is None or v10 is None:
        return
    definitions = v11.setdefault("definitions", {})
    if "bands" not in definitions and "bands" in v10.get("definitions", {}):
        print(f"note: {RASTER_V1_1} in the schema folder has no definitions/bands (not the published "
              "v1.1.0 schema); resolving MLM's data_type reference with raster v1.0.0's band definition",
              file=sys.stderr)
        definitions["bands"] = copy.deepcopy(v10["definitions"]["bands"])


def core_schema_url(version):
    return f"https://schemas.stacspec.org/v{version}/item-spec/json-schema/item.json"


def registry_for(schemas):
    def retrieve(uri):
        raise referencing.exceptions.NoSuchResource(ref=uri)

    resources = [(key, referencing.Resource.from_contents(schema, default_specification=referencing.jsonschema.DRAFT7))
                 for key, schema in schemas.items()]
    return referencing.Registry(retrieve=retrieve).with_resources(resources)


def leaves(error):
    """The innermost errors under `error` (a oneOf/anyOf failure explains itself in its context)."""
    if not error.context:
        return [error]
    return [leaf for sub in error.context for leaf in leaves(sub)]


def describe(url, error):
    """Lines for one error: its innermost causes with their paths, without the instance dump."""
    lines = []
    for leaf in leaves(error):
        if leaf.validator == "const" and list(leaf.absolute_path) == ["type"]:
            continue  # the Collection branch of an Item-or-Collection oneOf
        where = "/".join(str(p) for p in leaf.absolute_path) or "(item)"
        line = f"{url}: {where}: {leaf.message[:200]}"
        if line not in lines:
            lines.append(line)
    return lines or [f"{url}: {error.message[:200]}"]


def validate_with_jsonschema(item, schemas, registry):
    """The errors of `item` against core and each declared extension (empty when valid)."""
    errors = []
    targets = [core_schema_url(item.get("stac_version", ""))] + list(item.get("stac_extensions", []))
    for url in targets:
        schema = schemas.get(url.rstrip("#"))
        if schema is None:
            errors.append(f"{url}: no schema with this $id in the schema folder; cannot validate")
            continue
        validator = jsonschema.Draft7Validator(schema, registry=registry)
        try:
            found = sorted(validator.iter_errors(item), key=lambda e: list(e.absolute_path))
        except referencing.exceptions.Unresolvable as error:
            errors.append(f"{url}: unresolvable reference {error}")
            continue
        for error in found:
            errors += describe(url, error)
    return errors


def validate_with_pystac(item, schemas):
    import pystac
    import pystac.validation
    from pystac.validation.stac_validator import JsonSchemaSTACValidator

    validator = JsonSchemaSTACValidator(allow_list=["offline:"])  # refuse every URL not in the cache
    validator.schema_cache = {key: copy.deepcopy(schema) for key, schema in schemas.items()}
    pystac.validation.set_validator(validator)
    pystac.set_stac_version(item.get("stac_version", "1.0.0"))
    try:
        pystac.Item.from_dict(copy.deepcopy(item), migrate=False).validate()
    except Exception as error:  # STACValidationError, GetSchemaError
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        causes = getattr(error, "source", None)
        if isinstance(causes, list) and causes:
            return [f"pystac: {first}"] + ["  " + line for cause in causes for line in describe("pystac", cause)]
        return [f"pystac: {first[:500]}"]
    return []


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schemas", type=pathlib.Path, default=DEFAULT_SCHEMAS)
    parser.add_argument("--require-extension", action="append", default=[])
    parser.add_argument("items", nargs="+", type=pathlib.Path)
    args = parser.parse_args()
    if not args.schemas.is_dir():
        print(f"validate_stac: {args.schemas}: schema folder not found; pass --schemas DIR", file=sys.stderr)
        return 2
    schemas = load_schemas(args.schemas)
    registry = registry_for(schemas)
    failed = False
    for path in args.items:
        item = json.loads(path.read_text())
        errors = []
        declared = item.get("stac_extensions", [])
        for prefix in args.require_extension:
            if not any(f"/{prefix}/" in url for url in declared):
                errors.append(f"declares no {prefix} extension (stac_extensions: {declared})")
        errors += validate_with_jsonschema(item, schemas, registry)
        errors += validate_with_pystac(item, schemas)
        if errors:
            failed = True
            print(f"{path}: INVALID")
            for line in errors:
                print(f"  {line}")
        else:
            print(f"{path}: ok (core {item.get('stac_version')}, {len(declared)} extensions: "
                  f"{', '.join(url.split('/')[-3] + ' ' + url.split('/')[-2] for url in declared)})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
