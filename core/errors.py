"""The one exception type for mistakes a student can make, carrying a teaching sentence in both languages."""

from __future__ import annotations


class UserError(ValueError):
    """A problem caused by input (a slider combination, an upload, a missing model), not by a bug.

    `core` cannot use the app's i18n table (it never imports the UI), so the sentence travels in both
    languages. `str(err)` is the English sentence, for notebooks and logs.
    """

    def __init__(self, en: str, zh: str | None = None):
        super().__init__(en)
        self.en = en
        self.zh = zh or en

    def text(self, lang: str) -> str:
        """The sentence in `lang` ("zh" or "en")."""
        return self.zh if lang == "zh" else self.en
