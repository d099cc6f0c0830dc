"""Live ingest: what an encoder may write into the media root, and the live state of the streams it writes.

- :mod:`.paths`: which files an ingest URL names (the router's patterns, as data);
- :mod:`.playlist`: a playlist is accepted only if it is one and its URIs stay inside its stream (pure);
- :mod:`.sniff`: a segment is accepted only if it looks like MPEG-TS or ISO-BMFF (pure);
- :mod:`.store`: atomic writes under the media root that never follow a planted symlink (blocking: executor);
- :mod:`.live`: one publisher per stream, the reaper that ends a silent stream, state kept across restarts.

Nothing here knows HTTP: ``web/routes/ingest.py`` asks the gate, streams the body in, and maps the errors.
"""
