"""The one place the version lives; pyproject.toml and the Blender manifest read it."""

__version__ = "0.1.0"
