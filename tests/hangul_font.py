"""Korean drawn with a real font in Chromium, not as boxes (tofu).

Chromium reports, through the DevTools protocol, which platform font drew the glyphs of a node's text
(`CSS.getPlatformFontsForNode`). Without a CJK font the Hangul glyphs come from no font at all (or from the
primary Latin font's .notdef box); with fonts-noto-cjk installed and named in the page's font stack, they come
from Noto Sans CJK KR. A missing font skips locally and fails in CI (CANARIA_REQUIRE_INTEGRATION=1), like any
other real component.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest

from tests.conftest import REQUIRE

__all__ = ["HANGUL_FONT", "check_hangul_fonts", "require_hangul_font"]

HANGUL_FONT = "Noto Sans CJK KR"


def require_hangul_font() -> None:
    """fonts-noto-cjk installed (fontconfig knows Noto Sans CJK KR), or skip/fail with the reason."""
    listed = ""
    if shutil.which("fc-list"):
        listed = subprocess.run(["fc-list", ":", "family"], capture_output=True, text=True, check=False).stdout
    if HANGUL_FONT in listed:
        return
    message = f"{HANGUL_FONT} is not installed (scripts/test.sh installs the Debian package fonts-noto-cjk)"
    if REQUIRE:
        pytest.fail(f"CANARIA_REQUIRE_INTEGRATION=1 but {message}")
    pytest.skip(message)


def check_hangul_fonts(fonts: list[dict[str, Any]], where: str) -> None:
    """`fonts` as CSS.getPlatformFontsForNode returns them for a node whose text is Korean."""
    used = {f["familyName"]: f["glyphCount"] for f in fonts}
    assert used.get(HANGUL_FONT, 0) > 0, f"{where}: Hangul not drawn with {HANGUL_FONT} (fonts used: {used})"


async def platform_fonts_async(page: Any, selector: str) -> list[dict[str, Any]]:
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("DOM.enable")
    await cdp.send("CSS.enable")
    root = await cdp.send("DOM.getDocument", {"depth": -1})
    node = await cdp.send("DOM.querySelector", {"nodeId": root["root"]["nodeId"], "selector": selector})
    assert node["nodeId"], f"no element matches {selector}"
    answer = await cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})
    await cdp.detach()
    return list(answer["fonts"])


def platform_fonts_sync(page: Any, selector: str) -> list[dict[str, Any]]:
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})
    node = cdp.send("DOM.querySelector", {"nodeId": root["root"]["nodeId"], "selector": selector})
    assert node["nodeId"], f"no element matches {selector}"
    answer = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})
    cdp.detach()
    return list(answer["fonts"])
