"""Retargeting and file formats. Pure Python + numpy; bpy only in exporters/blender_*.py."""
