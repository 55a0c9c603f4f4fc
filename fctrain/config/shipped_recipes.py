"""Where the shipped recipes are: fctrain/recipes/ in an installed wheel, else the checkout's recipes/.

recipes/ is data, not a Python package (so it can never shadow an installed `recipes` module): a wheel
copies it to fctrain/recipes/, an editable install leaves it beside the fctrain/ folder.
"""

from __future__ import annotations

from pathlib import Path

from fctrain.errors import ConfigError


def recipes_root() -> Path:
    package = Path(__file__).resolve().parents[1]
    for root in (package / "recipes", package.parent / "recipes"):
        if (root / "deepspeed").is_dir():
            return root
    raise ConfigError(f"the shipped recipes are missing: neither {package / 'recipes'} nor "
                      f"{package.parent / 'recipes'} holds deepspeed/; reinstall fctrain")
