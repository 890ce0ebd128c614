"""The shipped files read the same through the fast YAML parser as through PyYAML's own."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from services.core.resources import ROOT, read_yaml

SHIPPED_YAML = sorted([*ROOT.glob("rules/**/*.yaml"), *ROOT.glob("data/**/*.yaml")])


def test_the_fast_parser_is_there() -> None:
    assert yaml.__with_libyaml__  # else read_yaml is safe_load itself, and these prove nothing


@pytest.mark.parametrize("path", SHIPPED_YAML, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_yaml_file_reads_as_safe_load_reads_it(path: Path) -> None:
    data = path.read_bytes()
    assert read_yaml(data) == yaml.safe_load(data)


def test_broken_yaml_raises_a_yaml_error() -> None:
    with pytest.raises(yaml.YAMLError):
        read_yaml("a: [1, 2\nb: c")
