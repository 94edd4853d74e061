"""Media stage: sniff types, read metadata, sample video frames, forensic indicators."""
