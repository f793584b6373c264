"""The challenge report of a phase (issue #19 item 3): one self-contained HTML page and its PDF."""
