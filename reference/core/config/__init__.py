"""Configuration: one typed, immutable :class:`Config` loaded from YAML or upstream XML.

``load_config(path)`` is what programs call; ``load_config_text`` serves tests and the
conformance suite, which write configs in memory; ``dump_yaml``/``dump_xml``/``dump_pdi``
write one back (the last in the grammar of PDI's Damaris plugin).
Every problem is a :class:`ConfigError` whose message names the file, line, key path, the bad
value and what is allowed. See docs/config.md for the format.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from .errors import ConfigError
from .model import Architecture, Config, Layout, Parameter, PyScript, Variable
from .overrides import RANKS_PER_NODE_VARIABLE, apply_environment
from .pdi_grammar import PdiConfig, load_pdi_text
from .pdi_writer import PdiFormError, dump_pdi, pdi_losses
from .schema import SCHEMA_PATH, load_schema
from .writers import dump_xml, dump_yaml
from .xml_loader import load_xml_text
from .yaml_loader import load_yaml_text

__all__ = [
    "RANKS_PER_NODE_VARIABLE",
    "SCHEMA_PATH",
    "Architecture",
    "Config",
    "ConfigError",
    "Layout",
    "Parameter",
    "PdiConfig",
    "PdiFormError",
    "PyScript",
    "Variable",
    "apply_environment",
    "dump_pdi",
    "dump_xml",
    "dump_yaml",
    "load_architecture",
    "load_config",
    "load_config_text",
    "load_pdi_file",
    "load_schema",
    "pdi_losses",
]

_LOADERS = {"yaml": load_yaml_text, "yml": load_yaml_text, "xml": load_xml_text}


def load_config(
    path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None
) -> Config:
    """Load a ``.yml``/``.yaml``/``.xml`` file (other names: sniffed from the first character).

    ``environ`` (default ``os.environ``) may override ``ranks_per_node``; pass ``{}`` to load
    exactly what the file says.
    """
    text, fmt = _read(Path(path))
    return load_config_text(text, fmt, source_path=path, environ=environ)


def load_architecture(
    path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None
) -> Architecture:
    """The architecture of a config file, to size a job before it starts.

    Unlike :func:`load_config`, a PDI file's ``depends_on`` expressions are not refused: only a
    PDI program can evaluate them, and they size layouts, never the ranks.
    """
    source = Path(path)
    text, fmt = _read(source)
    if fmt == "xml":
        return load_config_text(text, fmt, source_path=source, environ=environ).architecture
    with _collector_paused():
        environ = os.environ if environ is None else environ
        return load_yaml_text(text, source, environ, static=False).architecture


def load_pdi_file(
    path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None
) -> PdiConfig:
    """Load a PDI file as ``damaris_ref.pdi.init`` does: a whole file with a ``pdi:`` key, or
    the tree alone; its ``depends_on`` expressions are kept for the PDI API to evaluate."""
    source = Path(path)
    text, _ = _read(source)
    with _collector_paused():
        return load_pdi_text(text, source, environ)


def _read(path: Path) -> tuple[str, str]:
    """The text of a config file and its format: the suffix, else sniffed from the text."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the config file: {exc}", file=path) from None
    suffix = path.suffix.lower().lstrip(".")
    fmt = suffix if suffix in _LOADERS else ("xml" if text.lstrip().startswith("<") else "yaml")
    return text, fmt


def load_config_text(
    text: str,
    fmt: str,
    source_path: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Load config ``text`` in format ``fmt`` (``"yaml"``/``"yml"``/``"xml"``).

    ``source_path`` stands for the file the text came from: it names it in messages, anchors
    relative script paths and gives the default simulation name. ``environ`` as in
    :func:`load_config`.
    """
    loader = _LOADERS.get(fmt.lower())
    source = Path(source_path) if source_path is not None else None
    if loader is None:
        raise ConfigError(
            f"unknown config format {fmt!r}; allowed: {', '.join(_LOADERS)}", file=source
        )
    with _collector_paused():
        return loader(text, source, os.environ if environ is None else environ)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a config is loaded.

    Loading makes millions of containers for a 10 MB file and none of them form cycles; the
    collector's repeated passes over them took longer than the parse itself (3x on 10 MB).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
