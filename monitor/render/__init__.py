"""The render stage: article pages loaded in headless Chromium (``render: browser``).

For sources whose pages build their article with JavaScript and ship no copy of it in
JSON (see ``extract._state``). ``Renderer.render(url, fetch)`` returns the page's HTML
after its scripts ran; every request the browser makes is answered by ``fetch`` (the
pipeline's ``Fetcher.get``, with the address guard and robots.txt), or refused.
Playwright is an optional extra (``news-monitor[browser]``) and Chromium is the
system's; without them a render raises ``RenderUnavailable`` saying how to install.
"""

from monitor.render._pool import INSTALL_HINT, Rendered, Renderer, RenderSettings
from monitor.render._route import PageFetch

__all__ = ["INSTALL_HINT", "PageFetch", "RenderSettings", "Rendered", "Renderer"]
