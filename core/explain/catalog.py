"""``python -m core explainers``: every registered explainer with what it declares (inputs, needs, parameters).

The listing is read from the classes' declarations (:mod:`core.explain.base`), so an explainer
registered by a user's module shows up here as the built-in ones do.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Sequence

from core.cli_common import run_cli


def describe_explainers(kind: str | None = None) -> list[dict[str, Any]]:
    """One JSON-ready record per registered explainer (of ``kind``: ``"text"``, ``"pair"``, or all).

    Each record: ``name``, ``label``, ``supports`` (sorted list), ``requires_mask``, ``needs_likelihood``,
    ``deterministic``, ``signed`` and ``parameters`` (``[{"name", "default", "type", "help"}]``).
    """
    from core.explain.registry import explainers_for

    records = []
    for name, cls in explainers_for(kind).items():
        records.append({"name": name, "label": cls.label, "supports": sorted(cls.supports),
                        "requires_mask": cls.requires_mask, "needs_likelihood": cls.needs_likelihood,
                        "deterministic": cls.deterministic, "signed": cls.signed,
                        "parameters": [parameter_record(p) for p in cls.parameters()]})
    return records


def parameter_record(param) -> dict[str, Any]:
    """A :class:`~core.explain.base.Param` as JSON (a default that is not a plain value as its repr)."""
    plain = param.default is None or isinstance(param.default, (bool, int, float, str))
    return {"name": param.name, "default": param.default if plain else repr(param.default), "type": param.type,
            "help": param.help}


def text_listing(records: list[dict[str, Any]]) -> str:
    """Plain text: a header line per explainer, then one line per parameter."""
    blocks = []
    for r in records:
        needs = [word for word, flag in (("mask model", r["requires_mask"]), ("likelihood", r["needs_likelihood"]))
                 if flag]
        header = (f"{r['name']}: {r['label']}  [{', '.join(r['supports'])}; "
                  f"{'deterministic' if r['deterministic'] else 'seeded'}; {'signed' if r['signed'] else 'unsigned'}"
                  f"{'; needs ' + ' and '.join(needs) if needs else ''}]")
        lines = [header] + [f"    {p['name']} = {p['default']!r}: {p['help']}" for p in r["parameters"]]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the explainers (``--kind text|pair``, ``--format table|json``); returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m core explainers", description=__doc__.split("\n")[0])
    parser.add_argument("--kind", choices=("text", "pair"), help="only explainers of single texts or of pairs")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args(argv)
    records = describe_explainers(args.kind)
    print(json.dumps(records, indent=2) if args.format == "json" else text_listing(records))
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
