"""The Write tab: request, editable plan, streaming sections, meter, stop/continue, revisions, exports.

:class:`~ui.write.tab.WriteTab` assembles it; see that module for the rooms it is built from.
"""

from ui.write.tab import WriteTab

__all__ = ["WriteTab"]
