"""Credits: intervals, calendar, policy, the rules, statements, the timeline picture.

Pure: standard library only, no I/O (a test checks the imports)."""
