"""tranquillite — plateforme Big Data de la Tranquillité Publique (Ville de Marseille)."""

__version__ = "0.1.0"
