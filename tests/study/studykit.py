"""A small study on disk: three methods' outputs, photos and paintings."""

from pathlib import Path

from conftest import make_image
from depthstyle.io import save_image

METHODS = ("adain", "depth", "learned")
CONTENTS = ("books", "street")
STYLES = ("muse", "wave")


def write_study_files(root: Path, methods=METHODS, contents=CONTENTS, styles=STYLES) -> Path:
    for i, c in enumerate(contents):
        save_image(make_image(60, 80, i), root / "contents" / f"{c}.png")
    for i, s in enumerate(styles):
        save_image(make_image(48, 48, 10 + i), root / "styles" / f"{s}.jpg")
    for m_i, m in enumerate(methods):
        for c_i, c in enumerate(contents):
            for s_i, s in enumerate(styles):
                save_image(make_image(60, 80, 100 * m_i + 10 * c_i + s_i),
                           root / m / f"{c}__{s}.png")
    return root
