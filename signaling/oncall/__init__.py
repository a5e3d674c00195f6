"""On-demand tutoring (issue 14): teachers on duty, students' calls, the limits.

``calls`` (the switchboard), ``matching`` and ``hours`` are pure; ``passes``,
``presence``, ``journal`` and ``service`` do the I/O around them.
"""
