"""Media stage: sniff types, read metadata, sample video frames, forensic indicators."""

# Importing pixels sets Pillow's pixel limit (MAX_IMAGE_PIXELS) for every decoder of ours.
from osintkit.media import pixels as _pixels  # noqa: F401
