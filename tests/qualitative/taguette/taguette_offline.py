"""Start Taguette exactly as its `taguette` command does, minus its news-feed request.

Taguette asks https://msg.taguette.org for announcements at start-up and every day. Tests may
touch no address but 127.0.0.1, so this launcher (run with the server's own Python, in
.venv-taguette/) turns that one request off and then hands over to Taguette's main().
"""

import logging
import sys

import taguette.web.base as taguette_web_base


def _no_news(self):
    self.messages = []
    logging.getLogger("taguette-test").info("news feed disabled for tests")


taguette_web_base.Application.check_messages = _no_news

from taguette.main import main  # noqa: E402  (after the patch, which main's app uses)

if __name__ == "__main__":
    sys.argv[0] = "taguette"
    main()
