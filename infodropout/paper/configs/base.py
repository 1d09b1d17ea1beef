"""What every experiment's config is: a frozen dataclass of its settings, each with its default, its one-line
description (what ``print_config`` shows) and its rule, validated once, when the config is made.

A config reads as attributes (``config.beta``) and as a read-only mapping (``config["beta"]``, ``dict(config)``,
``{**config, "beta": 1.0}``), the form in which the training code, the run names and the run registry take it, so
that a config made in Python and one made from sacred's command line go down the same path.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any, ClassVar

from infodropout.paper.configs.rules import Rule, validate


@dataclasses.dataclass(frozen=True)
class Setting:
    """One field of a config: its key, its default, what it means and the values it takes (None: any)."""

    name: str
    default: Any
    description: str
    rule: Rule | None = None

    def with_default(self, default: Any) -> "Setting":
        """The same setting with another default (an experiment's own protocol or sweep)."""
        return dataclasses.replace(self, default=default)

    def described(self, description: str) -> "Setting":
        """The same setting with the meaning it has in one experiment."""
        return dataclasses.replace(self, description=description)


class ExperimentConfig(Mapping):
    """The base of every experiment's config class (made by :func:`config_class`): the fields are the settings.

    Lists are kept as lists (a tuple given is turned into one), as sacred and JSON give them, so that a value is
    the same whichever way the config was made, and so is the run's name.
    """

    experiment: ClassVar[str] = ""
    settings: ClassVar[tuple[Setting, ...]] = ()
    named_configs: ClassVar[Mapping[str, Mapping[str, Any]]] = MappingProxyType({})
    # The narrowest layer of the experiment's network, against which a share of the filters is checked.
    smallest_width: ClassVar[int | None] = None

    def __post_init__(self) -> None:
        for setting in self.settings:
            value = getattr(self, setting.name)
            if isinstance(value, tuple):
                object.__setattr__(self, setting.name, list(value))
        self.warnings()  # raises ValueError on the first value that breaks its rule

    # The read-only mapping.
    def __getitem__(self, key: str) -> Any:
        if key not in self.field_names():
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.field_names())

    def __len__(self) -> int:
        return len(self.settings)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(setting.name for setting in cls.settings)

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Every key's default, lists as lists (a fresh dict each call)."""
        return {setting.name: _copied(setting.default) for setting in cls.settings}

    @classmethod
    def rules(cls) -> dict[str, Rule]:
        return {setting.name: setting.rule for setting in cls.settings if setting.rule is not None}

    @classmethod
    def descriptions(cls) -> dict[str, str]:
        return {setting.name: setting.description for setting in cls.settings}

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> "ExperimentConfig":
        """The config of ``values`` (every key a field; those left out keep their defaults)."""
        unknown = sorted(set(values) - set(cls.field_names()))
        if unknown:
            raise TypeError(f"{cls.experiment} has no config key {unknown[0]!r} ({', '.join(cls.field_names())})")
        return cls(**values)

    def replace(self, **changes: Any) -> "ExperimentConfig":
        """A copy with ``changes``, validated again."""
        return dataclasses.replace(self, **changes)

    def warnings(self) -> list[str]:
        """The rules' checks (ValueError on a value that breaks one) and their warnings, one line each."""
        return validate(self, self.rules(), self.defaults(), self.smallest_width)

    def to_dict(self) -> dict[str, Any]:
        return {key: _copied(getattr(self, key)) for key in self.field_names()}


def _copied(value: Any) -> Any:
    return list(value) if isinstance(value, (list, tuple)) else value


def config_class(experiment: str, settings: Sequence[Setting], *, module: str, doc: str,
                 named_configs: Mapping[str, Mapping[str, Any]] | None = None,
                 smallest_width: int | None = None) -> type[ExperimentConfig]:
    """The frozen dataclass ``Config`` of ``experiment``: one field per setting, typed by its default, each field's
    description and rule in its metadata. ``module`` is where the class is defined, so that it pickles by name."""
    names = [setting.name for setting in settings]
    if len(set(names)) != len(names):
        raise ValueError(f"{experiment}: a setting given twice in {names}")
    fields = [(setting.name, _annotation(setting.default),
               dataclasses.field(default=tuple(setting.default) if isinstance(setting.default, list)
                                 else setting.default,
                                 metadata={"description": setting.description, "rule": setting.rule}))
              for setting in settings]
    listing = "\n".join(f"    {s.name} = {s.default!r}: {s.description}" for s in settings)
    namespace = {"experiment": experiment, "settings": tuple(settings), "smallest_width": smallest_width,
                 "named_configs": MappingProxyType({name: MappingProxyType(dict(values))
                                                    for name, values in (named_configs or {}).items()}),
                 "__doc__": f"{doc}\n\nFields (key = default: meaning):\n{listing}\n"}
    cls = dataclasses.make_dataclass("Config", fields, bases=(ExperimentConfig,), namespace=namespace, frozen=True)
    cls.__module__ = module
    return cls


def _annotation(default: Any) -> type:
    """The type a field is annotated with: its default's (a list's items are not checked by it; the rule is)."""
    if isinstance(default, bool):
        return bool
    if isinstance(default, float):
        return float
    return type(default)
