"""mbc-kg: an ontology-backed reasoner for the advanced HR+/HER2- breast cancer treatment pathway."""

__version__ = "0.1.0"
