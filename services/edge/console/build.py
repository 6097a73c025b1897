"""Copy what the console serves from its npm packages into ``web/vendor/`` (git-ignored).

``make console`` runs ``npm ci`` (exact versions from package-lock.json) and then this:

- Leaflet: ``leaflet.js``, ``leaflet.css`` and its marker images;
- Noto Sans SC (regular and bold): the CSS of each weight, rewritten to name only the
  WOFF2 files (every browser the console supports reads WOFF2), and those files. The CSS
  splits the font into ~100 unicode ranges, so a page downloads only the pieces whose
  characters it shows.

No system font is assumed anywhere: the page's Chinese text renders from these files
even where the machine has no CJK font (headless chromium in the tests).
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODULES = HERE / "node_modules"
VENDOR = HERE / "web" / "vendor"
FONT_WEIGHTS = ("400", "700")


def copy_leaflet() -> None:
    dist = MODULES / "leaflet" / "dist"
    target = VENDOR / "leaflet"
    target.mkdir(parents=True)
    for name in ("leaflet.js", "leaflet.css"):
        shutil.copy2(dist / name, target / name)
    shutil.copytree(dist / "images", target / "images")
    shutil.copy2(MODULES / "leaflet" / "LICENSE", target / "LICENSE")


def copy_font() -> None:
    package = MODULES / "@fontsource" / "noto-sans-sc"
    target = VENDOR / "noto-sans-sc"
    (target / "files").mkdir(parents=True)
    for weight in FONT_WEIGHTS:
        css = (package / f"{weight}.css").read_text(encoding="utf-8")
        # "src: url(a.woff2) format('woff2'), url(a.woff) format('woff');" -> WOFF2 only
        css = re.sub(r",\s*url\([^)]*\.woff\)\s*format\('woff'\)", "", css)
        for name in re.findall(r"url\(\./files/([^)]+\.woff2)\)", css):
            shutil.copy2(package / "files" / name, target / "files" / name)
        (target / f"{weight}.css").write_text(css, encoding="utf-8")
    shutil.copy2(package / "LICENSE", target / "LICENSE")


def main() -> int:
    if not MODULES.is_dir():
        print(f"{MODULES} is missing: run `npm ci` in {HERE} first", file=sys.stderr)
        return 1
    if VENDOR.exists():
        shutil.rmtree(VENDOR)
    copy_leaflet()
    copy_font()
    print(f"console assets copied to {VENDOR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
