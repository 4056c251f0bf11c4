"""Flags generated from `DiscoverConfig`'s field declarations: one per setting, grouped by section.

Help, choices and value parsing come from the declarations in `eqlearn.discovery.config`, so every
setting is reachable and the dataclass stays the one source of defaults. That module is torch-free:
generating and checking the flags loads nothing heavy.
"""
from __future__ import annotations

import argparse
from dataclasses import MISSING, fields

from eqlearn.discovery.config import RECIPE_FIELDS, DiscoverConfig, parse_setting
from eqlearn.discovery.recipes import RECIPES
from eqlearn.errors import UserInputError


def add_config_flags(command, names: tuple[str, ...] | None = None, helps: dict[str, str] | None = None,
                     **options) -> None:
    """One flag per `DiscoverConfig` field (or per field in `names`), in a group per section. Every
    flag defaults to None ("not given"); `helps` replaces a field's help text where a command means
    something narrower, and `options` adds argparse options for a field."""
    helps = helps or {}
    groups = {}
    for f in fields(DiscoverConfig):
        if names is not None and f.name not in names:
            continue
        meta, section = f.metadata, f.metadata["section"]
        group = groups.get(section) or groups.setdefault(section, command.add_argument_group(f"{section} settings"))
        default = f.default if f.default is not MISSING else f.default_factory()
        shown = "the recipe's" if f.name in RECIPE_FIELDS and default is None else default
        text = helps.get(f.name, meta["help"]) + ("" if shown is None else f" (default: {shown})")
        if meta.get("flag") == "--quiet":
            group.add_argument("--quiet", dest=f.name, action="store_false", default=None, help="no progress bars")
        elif f.type in ("bool", "bool | None"):
            group.add_argument(flag(f.name), dest=f.name, action=argparse.BooleanOptionalAction, default=None, help=text)
        else:
            choices = list(RECIPES) if meta.get("choices") == "recipes" else meta.get("choices")
            group.add_argument(flag(f.name), dest=f.name, default=None, type=_setting_parser(f.name), help=text,
                               choices=choices, metavar=meta.get("metavar"), **options.get(f.name, {}))


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _setting_parser(name: str):
    """argparse's `type` for a config field: the field's own parsing, its errors as usage errors."""

    def parse(text: str):
        try:
            return parse_setting(name, text, where=flag(name) + " " + text)
        except UserInputError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    parse.__name__ = name  # argparse names the type in its messages
    return parse


def given_settings(args, **settings) -> dict:
    """The config fields given on the command line (flags left out are None), plus `settings`."""
    given = {f.name: getattr(args, f.name) for f in fields(DiscoverConfig) if getattr(args, f.name, None) is not None}
    return {**given, **settings}
