"""Numbers as a visitor reads them in their language."""


def number_text(number: int, language: str | None) -> str:
    """5,000 in English, 5.000 in German."""
    grouped = f"{number:,}"
    return grouped.replace(",", ".") if language == "de" else grouped
