"""The example styles and contents shipped inside the package (``assets/catalog.json``).

Items are looked up by id in a fixed table read at start-up, never by a path from the request,
so a request cannot name any other file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

__all__ = ["CatalogItem", "Catalog", "load_catalog"]


@dataclass(frozen=True)
class CatalogItem:
    """One bundled image (and, for contents, its optional depth map)."""

    id: str
    title: str
    path: Path
    credit: str
    depth_path: Path | None = None
    depth_kind: str = "depth"

    def public(self, kind: str) -> dict:
        """The JSON description served by the API (no file-system paths)."""
        out = {"id": self.id, "title": self.title, "credit": self.credit,
               "url": f"/api/{kind}/{self.id}/image"}
        if kind == "examples":
            out["has_depth"] = self.depth_path is not None
            out["depth_kind"] = self.depth_kind if self.depth_path is not None else None
        return out


@dataclass(frozen=True)
class Catalog:
    """Bundled ``styles`` and example ``contents``, each keyed by id."""

    styles: dict[str, CatalogItem]
    contents: dict[str, CatalogItem]


def load_catalog() -> Catalog:
    """Read the catalogue that ships with the package."""
    root = Path(str(resources.files("depthstyle") / "assets"))
    data = json.loads((root / "catalog.json").read_text(encoding="utf-8"))

    def items(key: str) -> dict[str, CatalogItem]:
        out = {}
        for d in data[key]:
            depth = root / d["depth"] if d.get("depth") else None
            out[d["id"]] = CatalogItem(d["id"], d["title"], root / d["file"], d["credit"], depth,
                                       d.get("depth_kind", "depth"))
        return out

    return Catalog(styles=items("styles"), contents=items("contents"))
